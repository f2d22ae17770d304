/* core/prov/run_submit.c: a closed run/<name>.json becomes a run: parse the
 * graph, resolve each node's skill as the caller (DESIGN.md section 4),
 * snapshot the skill files, check, and hand it to the engine; or keep a
 * record whose `error` says what is wrong and where. */
#include "core/run/engine.h"
#include "core/util/log.h"
#include "core/prov/area.h"
#include "core/prov/run.h"

#include <errno.h>
#include <limits.h>
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

static int add_skill(struct submit *s, const char *path, struct buf *data,
		     const struct skill **out)
{
	struct skill_errors errs;
	struct run_skill *rs;
	struct skill *sk;
	int rc, lost;

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
	lost = errs.n && !s->first_error[s->skills.n];
	s->nfirst = s->skills.n + 1;
	skill_errors_release(&errs);
	if (!rs->path || lost) {
		free(rs->path);
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
	rc = area_file_content(s->ns, s->c, path, &data);
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

static const struct skill_port *input_port(const struct skill *sk,
					   const char *name)
{
	for (size_t i = 0; sk && i < sk->ninputs; i++)
		if (sk->inputs[i].name && strcmp(sk->inputs[i].name, name) == 0)
			return &sk->inputs[i];
	return NULL;
}

/* One literal file input: read `path` (from the mount) as the caller. */
static int stage_file(struct submit *s, size_t node, const char *port,
		      const char *path, struct graph_errors *errs,
		      const char *id)
{
	struct run_skills *rs = &s->skills;
	const char *name = strrchr(path, '/');
	struct run_file *v, *f;
	char q[80];
	struct buf data;
	int rc;

	while (*path == '/')
		path++;
	/* The port names a folder of the record and of /work/in. */
	if (!*port || strchr(port, '/') || !strcmp(port, ".") ||
	    !strcmp(port, "..")) {
		graph_errors_addf(errs, "node '%s': input '%s': a file input's "
				  "name must not contain '/' nor be '.' or "
				  "'..' (rename the port in the skill)", id,
				  graph_quote(q, sizeof(q), port));
		return 0;
	}
	graph_quote(q, sizeof(q), path);
	name = name ? name + 1 : path;
	buf_init(&data, (size_t)s->ns->cfg->max_file_size);
	rc = area_file_content(s->ns, s->c, path, &data);
	if (rc == -ENOENT || (rc == 0 && !*name)) {
		graph_errors_addf(errs, "node '%s': input '%s': no file '%s' "
				  "that you may read (give a path from the "
				  "mount, such as user/alice/skills/data.csv)",
				  id, port, q);
		rc = 0;
		goto out;
	}
	if (rc == -EFBIG) {
		graph_errors_addf(errs, "node '%s': input '%s': '%s' is larger "
				  "than max_file_size", id, port, q);
		rc = 0;
		goto out;
	}
	if (rc)
		goto out;
	v = realloc(rs->files, (rs->nfiles + 1) * sizeof(*v));
	if (!v) {
		rc = -ENOMEM;
		goto out;
	}
	rs->files = v;
	f = &v[rs->nfiles];
	memset(f, 0, sizeof(*f));
	f->node = node;
	f->port = strdup(port);
	f->name = strdup(name);
	f->len = data.len;
	f->data = malloc(data.len ? data.len : 1);
	rs->nfiles++;
	if (!f->port || !f->name || !f->data) {
		rc = -ENOMEM;
		goto out;
	}
	if (data.len)
		memcpy(f->data, data.data, data.len);
out:
	buf_release(&data);
	return rc;
}

/* File-typed inputs given as literals are paths from the mount: their
 * content is taken now, as the caller may read it. */
static int stage_files(struct submit *s, const struct graph *g,
		       struct graph_errors *errs)
{
	for (size_t i = 0; i < g->nnodes; i++) {
		const struct graph_node *n = &g->nodes[i];
		char id[80];

		graph_quote(id, sizeof(id), n->id);
		for (size_t k = 0; k < n->ninputs; k++) {
			const struct graph_input *in = &n->inputs[k];
			const struct skill_port *p = input_port(n->sk,
								in->port);
			json_t *v;
			int rc;

			if (!in->literal || !p || p->type != SKILL_PORT_FILE)
				continue;
			v = json_loads(in->literal, JSON_DECODE_ANY, NULL);
			if (!json_is_string(v)) {
				json_decref(v);
				continue;	/* graph_check said so */
			}
			rc = stage_file(s, i, in->port, json_string_value(v),
					errs, id);
			json_decref(v);
			if (rc)
				return rc;
		}
	}
	return 0;
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
	struct ident_user u;
	struct graph *g = NULL;
	char esc[160];
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
		rc = stage_files(&s, g, &errs);
		if (!rc && errs.n + errs.dropped > before)
			rc = -EINVAL;
	}
	if (rc == -EINVAL) {
		char *msg = join_errors(&errs);
		int r2;

		r2 = engine_reject(ns->engine, runs->vol->owner, name, json,
				   len, msg ? msg : "the graph is not valid\n");
		free(msg);
		if (r2 && r2 != -EEXIST)
			log_err("run '%s' of %s: could not keep the rejected "
				"record: %s", log_escape(esc, sizeof(esc), name),
				runs->vol->owner, strerror(-r2));
		else
			log_info("run '%s' of %s rejected: %s",
				 log_escape(esc, sizeof(esc), name),
				 runs->vol->owner, errs.n ? errs.v[0] : "?");
		/* EINVAL promises a record whose error says why. */
		rc = r2 ? r2 : -EINVAL;
		goto out;
	}
	if (rc)
		goto out;
	rc = ident_user(ns->id, runs->vol->owner, &u);
	if (rc)
		goto out;
	owner.user = runs->vol->owner;
	owner.uid = u.uid;
	owner.gid = u.gid;
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
