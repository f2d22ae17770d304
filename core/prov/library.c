/* core/prov/library.c: the skills a caller can use, across volumes
 * (DESIGN.md section 4): the order of resolution and the resolution of a
 * skill's name (library.h). */
#include "core/prov/area.h"
#include "core/prov/library.h"
#include "core/skill/skill_xattr.h"
#include "core/util/name.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct blob_xattr *library_field(const struct node *n, const char *f)
{
	size_t k = strlen(SKILL_XATTR_PREFIX);

	for (size_t i = 0; i < n->skill_x.n; i++)
		if (strcmp(n->skill_x.v[i].name + k, f) == 0)
			return &n->skill_x.v[i];
	return NULL;
}

/* "system", "team/eng", "user/alice" */
const char *library_vol_name(const struct node *v, char *out, size_t cap)
{
	snprintf(out, cap, "%s", v->vol->prefix + strlen("volumes/"));
	return out;
}

/* The volumes the caller resolves through, in order. */
size_t library_order(struct ns *ns, struct caller *c,
			       struct node **out, size_t cap)
{
	struct node *teams[CONFIG_MAX_LIST];
	struct ident_user u;
	size_t n = 0, nt = 0;
	uint64_t mask = 0;

	if (ident_user_by_uid(ns->id, c->uid, &u) == 0) {
		struct node *v = node_child(ns, ns->user, u.name);

		if (v && n < cap)
			out[n++] = v;
	}
	acl_load_groups(c);
	mask = ident_teams_of(ns->id, c->groups, (size_t)c->ngroups);
	for (struct node *t = ns->team->child; t; t = t->next) {
		int idx;

		if (nt < CONFIG_MAX_LIST &&
		    ident_team(ns->id, t->name, &idx, NULL) == 0 &&
		    (mask & ((uint64_t)1 << idx)))
			teams[nt++] = t;
	}
	/* name order */
	for (size_t i = 1; i < nt; i++)
		for (size_t j = i; j > 0 &&
		     strcmp(teams[j - 1]->name, teams[j]->name) > 0; j--) {
			struct node *tmp = teams[j];

			teams[j] = teams[j - 1];
			teams[j - 1] = tmp;
		}
	for (size_t i = 0; i < nt && n < cap; i++)
		out[n++] = teams[i];
	if (n < cap)
		out[n++] = node_child(ns, ns->root, "system");
	return n;
}

/* --- resolution -------------------------------------------------------- */

struct find {
	const char *name;
	struct node *by_id, *by_stem;
	char id_key[PATH_MAX];		/* by_id's store key */
};

static int stem_is(const struct node *n, const char *name)
{
	size_t k = strlen(n->name);

	return k == strlen(name) + 3 && strncmp(n->name, name, k - 3) == 0;
}

/* The skill under `dir` whose id (else file stem) is f->name; of several
 * with that id, the one whose path sorts first, as in the catalog. */
static void find_in(struct ns *ns, struct node *dir, struct find *f)
{
	char key[PATH_MAX];

	for (struct node *n = dir->child; n; n = n->next) {
		const struct blob_xattr *id;
		int hit = 0;

		if (S_ISDIR(n->mode)) {
			find_in(ns, n, f);
			continue;
		}
		if (!area_skill_is(n))
			continue;
		pthread_mutex_lock(&n->mu);
		if (area_skill_cache(ns, n) == 0) {
			id = library_field(n, "id");
			hit = id && strcmp(id->value, f->name) == 0 &&
			      node_key(n, key, sizeof(key)) == 0;
		}
		pthread_mutex_unlock(&n->mu);
		if (hit && (!f->by_id || strcmp(key, f->id_key) < 0)) {
			f->by_id = n;
			memcpy(f->id_key, key, strlen(key) + 1);
		}
		if (!f->by_stem && stem_is(n, f->name))
			f->by_stem = n;
	}
}

static struct node *find_skill(struct ns *ns, struct node *vol,
			       const char *name)
{
	struct node *skills = node_child(ns, vol, "skills");
	struct find f = { .name = name };

	if (skills)
		find_in(ns, skills, &f);
	return f.by_id ? f.by_id : f.by_stem;
}

int library_dup_message(char **out, const char *path, const char *id,
			const char *other, int wins)
{
	return asprintf(out, "%s:1: skill_id: '%s' is also the id of %s in "
			"this volume: %s wins, as the path that sorts first "
			"(rename one, or set skill_id)", path, id, other,
			wins ? path : other);
}

/* The ids of the other skills of the volume, for library_dup_warnings(). */
static int dup_scan(struct ns *ns, struct node *dir, struct node *self,
		    const char *self_key, const char *id, struct buf *out)
{
	char key[PATH_MAX];
	int rc = 0;

	for (struct node *n = dir->child; n && !rc; n = n->next) {
		const struct blob_xattr *x;
		size_t pre = strlen(n->vol->prefix) + 1;
		char *msg;
		int hit = 0;

		if (S_ISDIR(n->mode)) {
			rc = dup_scan(ns, n, self, self_key, id, out);
			continue;
		}
		if (n == self || !area_skill_is(n))
			continue;
		pthread_mutex_lock(&n->mu);
		if (area_skill_cache(ns, n) == 0) {
			x = library_field(n, "id");
			hit = x && strcmp(x->value, id) == 0 &&
			      node_key(n, key, sizeof(key)) == 0;
		}
		pthread_mutex_unlock(&n->mu);
		if (!hit)
			continue;
		if (library_dup_message(&msg, self_key + pre, id, key + pre,
					strcmp(self_key, key) < 0) < 0)
			return -ENOMEM;
		if (out->len)
			rc = buf_append(out, "\n", 1);
		if (!rc)
			rc = buf_append(out, msg, strlen(msg));
		free(msg);
	}
	return rc;
}

int library_dup_warnings(struct ns *ns, struct node *n, const char *id,
			 struct buf *out)
{
	char self_key[PATH_MAX];
	struct node *v = n, *skills;

	while (v && !v->owns_vol)
		v = v->parent;
	skills = v ? node_child(ns, v, "skills") : NULL;
	if (!skills || node_key(n, self_key, sizeof(self_key)))
		return 0;
	return dup_scan(ns, skills, n, self_key, id, out);
}

/* "system/x", "team/t/x", "user/u/x": the volume, and the name after. */
static struct node *qualified(struct ns *ns, const char *q, const char **rest)
{
	const char *slash;
	char owner[IDENT_NAME_MAX];
	struct node *cls;
	size_t k;

	if (strncmp(q, "system/", 7) == 0) {
		*rest = q + 7;
		return node_child(ns, ns->root, "system");
	}
	if (strncmp(q, "team/", 5) == 0)
		cls = ns->team, q += 5;
	else if (strncmp(q, "user/", 5) == 0)
		cls = ns->user, q += 5;
	else
		return NULL;
	slash = strchr(q, '/');
	k = slash ? (size_t)(slash - q) : 0;
	if (!slash || k == 0 || k >= sizeof(owner))
		return NULL;
	memcpy(owner, q, k);
	owner[k] = '\0';
	*rest = slash + 1;
	return node_child(ns, cls, owner);
}

int ns_resolve_skill(struct ns *ns, struct caller *c, const char *name,
		     char *path, size_t cap)
{
	struct node *order[CONFIG_MAX_LIST + 2], *hit = NULL, *v;
	const char *rest = name;
	char key[PATH_MAX];
	size_t nv;
	int rc = -ENOENT;

	if (strlen(name) > PATH_MAX_BYTES)
		return -ENAMETOOLONG;
	pthread_rwlock_rdlock(&ns->tree);
	v = strchr(name, '/') ? qualified(ns, name, &rest) : NULL;
	if (v && *rest && !strchr(rest, '/') &&
	    (node_rights(ns, c, v) & ACL_R)) {
		hit = find_skill(ns, v, rest);
	} else if (!strchr(name, '/') && *name) {
		nv = library_order(ns, c, order,
				      sizeof(order) / sizeof(*order));
		for (size_t i = 0; i < nv && !hit; i++)
			hit = find_skill(ns, order[i], name);
	}
	if (hit && !(rc = node_key(hit, key, sizeof(key)))) {
		const char *p = key + strlen("volumes/");

		rc = strlen(p) < cap ? 0 : -ENAMETOOLONG;
		if (!rc)
			memcpy(path, p, strlen(p) + 1);
	}
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

/* --- every skill of a caller ---------------------------------------------- */

struct each_ent {
	char *key;
	char *id;
	struct node *n;
};

struct each {
	struct each_ent *v;
	size_t n, alloc;
	char **seen;
	size_t nseen, aseen;
};

static int each_gather(struct ns *ns, struct node *dir, struct each *e)
{
	char key[PATH_MAX];
	int rc = 0;

	for (struct node *n = dir->child; n && !rc; n = n->next) {
		const struct blob_xattr *id;
		struct each_ent *x;

		if (S_ISDIR(n->mode)) {
			rc = each_gather(ns, n, e);
			continue;
		}
		if (!area_skill_is(n))
			continue;
		if (e->n == e->alloc) {
			size_t k = e->alloc ? 2 * e->alloc : 32;

			x = realloc(e->v, k * sizeof(*x));
			if (!x)
				return -ENOMEM;
			e->v = x;
			e->alloc = k;
		}
		x = &e->v[e->n];
		x->n = n;
		x->id = x->key = NULL;
		pthread_mutex_lock(&n->mu);
		if (area_skill_cache(ns, n) == 0 &&
		    (id = library_field(n, "id")) &&
		    node_key(n, key, sizeof(key)) == 0) {
			x->id = strdup(id->value);
			x->key = strdup(key);
			if (!x->id || !x->key)
				rc = -ENOMEM;
		}
		pthread_mutex_unlock(&n->mu);
		if (x->id && x->key) {
			e->n++;
		} else {
			free(x->id);
			free(x->key);
		}
	}
	return rc;
}

static int by_key(const void *a, const void *b)
{
	return strcmp(((const struct each_ent *)a)->key,
		      ((const struct each_ent *)b)->key);
}

static int seen_add(struct each *e, const char *id)
{
	for (size_t i = 0; i < e->nseen; i++)
		if (strcmp(e->seen[i], id) == 0)
			return 1;
	if (e->nseen == e->aseen) {
		size_t k = e->aseen ? 2 * e->aseen : 32;
		char **v = realloc(e->seen, k * sizeof(*v));

		if (!v)
			return -ENOMEM;
		e->seen = v;
		e->aseen = k;
	}
	e->seen[e->nseen] = strdup(id);
	if (!e->seen[e->nseen])
		return -ENOMEM;
	e->nseen++;
	return 0;
}

int library_each(struct ns *ns, struct caller *c,
		 int (*fn)(void *arg, const char *id, struct node *n),
		 void *arg)
{
	struct node *order[CONFIG_MAX_LIST + 2];
	struct each e = { 0 };
	size_t nv = library_order(ns, c, order, sizeof(order) / sizeof(*order));
	int rc = 0;

	for (size_t i = 0; i < nv && !rc; i++) {
		struct node *skills = node_child(ns, order[i], "skills");

		e.n = 0;
		if (skills)
			rc = each_gather(ns, skills, &e);
		if (!rc && e.n)
			qsort(e.v, e.n, sizeof(*e.v), by_key);
		for (size_t k = 0; k < e.n; k++) {
			int s = rc ? 1 : seen_add(&e, e.v[k].id);

			if (s < 0)
				rc = s;
			else if (s == 0)
				rc = fn(arg, e.v[k].id, e.v[k].n);
			free(e.v[k].id);
			free(e.v[k].key);
		}
	}
	free(e.v);
	for (size_t i = 0; i < e.nseen; i++)
		free(e.seen[i]);
	free(e.seen);
	return rc;
}
