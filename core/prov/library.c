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
};

static int stem_is(const struct node *n, const char *name)
{
	size_t k = strlen(n->name);

	return k == strlen(name) + 3 && strncmp(n->name, name, k - 3) == 0;
}

/* The first skill under `dir` whose id (else file stem) is f->name. */
static void find_in(struct ns *ns, struct node *dir, struct find *f)
{
	for (struct node *n = dir->child; n && !f->by_id; n = n->next) {
		const struct blob_xattr *id;

		if (S_ISDIR(n->mode)) {
			find_in(ns, n, f);
			continue;
		}
		if (!area_skill_is(n))
			continue;
		pthread_mutex_lock(&n->mu);
		if (area_skill_cache(ns, n) == 0) {
			id = library_field(n, "id");
			if (id && strcmp(id->value, f->name) == 0)
				f->by_id = n;
		}
		pthread_mutex_unlock(&n->mu);
		if (!f->by_stem && stem_is(n, f->name))
			f->by_stem = n;
	}
}

static struct node *find_skill(struct ns *ns, struct node *vol,
			       const char *name)
{
	struct node *skills = node_child(ns, vol, "skills");
	struct find f = { name, NULL, NULL };

	if (skills)
		find_in(ns, skills, &f);
	return f.by_id ? f.by_id : f.by_stem;
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
