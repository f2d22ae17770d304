/* core/ns_submit.c: a closed run/<name>.json becomes a run: parse the
 * graph, resolve each node's skill as the caller (DESIGN.md section 4),
 * snapshot the skill files, check, and hand it to the engine; or keep a
 * record whose `error` says what is wrong and where. */
#include "core/engine.h"
#include "core/log.h"
#include "core/ns_int.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct submit {
	struct ns *ns;
	struct caller *c;
	struct run_skills skills;
	char **first_error;	/* per skill: its first parse error */
	size_t alloc;
	size_t nfirst;		/* entries of first_error set */
};

/* The node at `path` from the mount ("team/eng/skills/x.md"). The tree is
 * held. */
static struct node *node_at(struct ns *ns, const char *path)
{
	char comp[NAME_MAX + 1];
	struct node *n = ns->root;

	while (n && *path) {
		const char *slash = strchr(path, '/');
		size_t k = slash ? (size_t)(slash - path) : strlen(path);

		if (k == 0 || k > NAME_MAX)
			return NULL;
		memcpy(comp, path, k);
		comp[k] = '\0';
		n = node_child(ns, n, comp);
		path += k + (slash ? 1 : 0);
	}
	return n;
}

/* The content the caller would read at `path`. */
static int skill_content(struct ns *ns, struct caller *c, const char *path,
			 struct buf *out)
{
	char key[PATH_MAX];
	struct node *n;
	int rc = 0;

	pthread_rwlock_rdlock(&ns->tree);
	n = node_at(ns, path);
	if (!n || n->kind != NK_FILE || !(node_rights(ns, c, n) & ACL_R)) {
		rc = -ENOENT;
		goto out;
	}
	pthread_mutex_lock(&n->mu);
	if (n->loaded)
		rc = buf_append(out, n->data.data, n->data.len);
	else if (!n->stored)
		rc = 0;
	else if (!(rc = node_key(n, key, sizeof(key))))
		rc = ns->blob->ops->get(ns->blob, key, out);
	pthread_mutex_unlock(&n->mu);
out:
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

static int add_skill(struct submit *s, const char *path, struct buf *data,
		     const struct skill **out)
{
	struct skill_errors errs;
	struct run_skill *rs;
	struct skill *sk;
	int rc;

	if (s->skills.n == s->alloc) {
		size_t k = s->alloc ? 2 * s->alloc : 8;
		struct run_skill *v = realloc(s->skills.v, k * sizeof(*v));
		char **e;

		if (!v)
			return -ENOMEM;
		s->skills.v = v;
		e = realloc(s->first_error, k * sizeof(*e));
		if (!e)
			return -ENOMEM;
		s->first_error = e;
		s->alloc = k;
	}
	skill_errors_init(&errs);
	rc = skill_parse(&sk, path, data->data ? data->data : "", data->len,
			 &errs);
	if (rc) {
		skill_errors_release(&errs);
		return rc;
	}
	rs = &s->skills.v[s->skills.n];
	rs->path = strdup(path);
	rs->sk = sk;
	sha256(data->data ? data->data : "", data->len, rs->hash);
	s->first_error[s->skills.n] = errs.n ? strdup(errs.v[0].msg) : NULL;
	s->nfirst = s->skills.n + 1;
	skill_errors_release(&errs);
	if (!rs->path) {
		skill_free(sk);
		return -ENOMEM;
	}
	s->skills.n++;
	*out = sk;
	return 0;
}

static int lookup(void *arg, const char *name, const struct skill **out)
{
	struct submit *s = arg;
	char path[PATH_MAX];
	struct buf data;
	int rc;

	rc = ns_resolve_skill(s->ns, s->c, name, path, sizeof(path));
	if (rc)
		return rc == -ENAMETOOLONG ? -ENOENT : rc;
	for (size_t i = 0; i < s->skills.n; i++) {
		if (strcmp(s->skills.v[i].path, path) == 0) {
			*out = s->skills.v[i].sk;
			return 0;
		}
	}
	buf_init(&data, SKILL_MAX_FILE + 1);
	rc = skill_content(s->ns, s->c, path, &data);
	if (rc == -EFBIG)
		rc = buf_resize(&data, SKILL_MAX_FILE + 1);	/* parse says */
	if (!rc)
		rc = add_skill(s, path, &data, out);
	buf_release(&data);
	return rc;
}

/* Skills that parse with errors, or have nothing to run. */
static void check_runnable(struct submit *s, const struct graph *g,
			   struct graph_errors *errs)
{
	for (size_t i = 0; i < g->nnodes; i++) {
		const struct graph_node *n = &g->nodes[i];
		char id[80];

		for (size_t k = 0; n->sk && k < s->skills.n; k++) {
			if (s->skills.v[k].sk != n->sk)
				continue;
			if (s->first_error[k])
				graph_errors_addf(errs, "node '%s': skill '%s' "
						  "has errors: %s",
						  graph_quote(id, sizeof(id),
							      n->id),
						  s->skills.v[k].path,
						  s->first_error[k]);
			else if (!n->sk->code)
				graph_errors_addf(errs, "node '%s': skill '%s' "
						  "has no code block to run "
						  "(python, sh or spice)",
						  graph_quote(id, sizeof(id),
							      n->id),
						  s->skills.v[k].path);
		}
	}
}

static char *join_errors(const struct graph_errors *errs)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	for (size_t i = 0; i < errs->n; i++)
		if (buf_append(&b, errs->v[i], strlen(errs->v[i])) ||
		    buf_append(&b, "\n", 1))
			break;
	if (errs->dropped) {
		char more[64];

		snprintf(more, sizeof(more), "(and %zu more)\n",
			 errs->dropped);
		buf_append(&b, more, strlen(more));
	}
	if (!b.data)
		return strdup("the graph is not valid\n");
	return b.data;
}

int run_submit(struct ns *ns, struct caller *c, struct node *runs,
	       const char *name, const char *json, size_t len)
{
	struct submit s = { .ns = ns, .c = c };
	struct graph_errors errs;
	struct run_owner owner;
	struct passwd pw, *pwp = NULL;
	struct graph *g = NULL;
	char pwbuf[4096], esc[160];
	int rc;

	if (!ns->engine)
		return -EIO;
	graph_errors_init(&errs);
	rc = graph_parse(&g, name, json, len, &errs);
	if (!rc)
		rc = graph_check(g, lookup, &s, &errs);
	if (!rc) {
		size_t before = errs.n + errs.dropped;

		check_runnable(&s, g, &errs);
		if (errs.n + errs.dropped > before)
			rc = -EINVAL;
	}
	if (rc == -EINVAL) {
		char *msg = join_errors(&errs);
		int r2;

		r2 = engine_reject(ns->engine, runs->vol->owner, name, json,
				   len, msg ? msg : "the graph is not valid\n");
		log_info("run '%s' of %s rejected: %s",
			 log_escape(esc, sizeof(esc), name), runs->vol->owner,
			 errs.n ? errs.v[0] : "?");
		free(msg);
		rc = r2 == -EEXIST ? -EEXIST : -EINVAL;
		goto out;
	}
	if (rc)
		goto out;
	getpwnam_r(runs->vol->owner, &pw, pwbuf, sizeof(pwbuf), &pwp);
	if (!pwp) {
		rc = -ENOENT;
		goto out;
	}
	owner.user = runs->vol->owner;
	owner.uid = pwp->pw_uid;
	owner.gid = pwp->pw_gid;
	rc = engine_submit(ns->engine, &owner, name, g, &s.skills, json, len);
	g = NULL;
	if (!rc)
		log_info("run '%s' of %s started",
			 log_escape(esc, sizeof(esc), name), owner.user);
out:
	graph_free(g);
	run_skills_release(&s.skills);
	for (size_t i = 0; i < s.nfirst; i++)
		free(s.first_error[i]);
	free(s.first_error);
	graph_errors_release(&errs);
	return rc;
}
