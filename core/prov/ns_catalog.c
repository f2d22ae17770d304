/* core/prov/ns_catalog.c: catalog.json, made for the caller at each open.
 *
 * <volume>/catalog.json lists that volume's skills; MOUNT/catalog.json
 * lists every skill the caller may use, resolved as DESIGN.md section 4
 * says: the caller's own volume, then the caller's teams in name order,
 * then system; the first skill with an id wins and the others are listed
 * as shadowed. Within one volume, two skills with one id are both listed
 * and both warned about; the one whose path sorts first (byte order)
 * wins, here and when a graph names it (ns_resolve_skill()). Each skill's
 * fields come from its parse cache (ns_xattr.c), so unchanged files are
 * not parsed again. */
#include "core/util/name.h"
#include "core/ns/ns_int.h"
#include "core/skill/skill.h"
#include "core/skill/skill_xattr.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cat_entry {
	char *path;		/* "skills/x.md" */
	char *id;
	char *qid;		/* "user/alice/fibonacci" */
	char *warning;		/* the file's own warnings, a line each */
	const struct volume *vol;	/* its volume */
	size_t order;
	int shadowed_by;	/* index of the winner, or -1 */
	int same_vol;		/* another skill of its volume has its id */
	struct buf obj;		/* the JSON object, not closed */
};

struct cat {
	struct cat_entry *v;
	size_t n, alloc;
};

static void cat_release(struct cat *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].path);
		free(c->v[i].id);
		free(c->v[i].qid);
		free(c->v[i].warning);
		buf_release(&c->v[i].obj);
	}
	free(c->v);
}

static int put(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

static int put_str(struct buf *b, const char *s)
{
	return skill_json_str(b, s, strlen(s));
}

static const struct blob_xattr *field(const struct node *n, const char *f)
{
	size_t k = strlen(SKILL_XATTR_PREFIX);

	for (size_t i = 0; i < n->skill_x.n; i++)
		if (strcmp(n->skill_x.v[i].name + k, f) == 0)
			return &n->skill_x.v[i];
	return NULL;
}

/* One skill's object, left open for its warnings (cat_finish()); `vol`
 * and `qid` only for the mount's catalog. `runner` says what runs it as
 * a node, "context" when nothing does, null when it has errors. */
static int skill_obj(struct buf *b, const struct node *n, const char *path,
		     const char *vol, const char *qid)
{
	static const char *const text[] = { "id", "name", "description",
					     "category", "type", "runner",
					     "error" };
	static const char *const json[] = { "inputs", "outputs" };
	int rc = put(b, "{\"path\":");

	if (!rc)
		rc = put_str(b, path);
	if (!rc && vol && !(rc = put(b, ",\"volume\":")))
		rc = put_str(b, vol);
	if (!rc && qid && !(rc = put(b, ",\"qualified_id\":")))
		rc = put_str(b, qid);
	for (size_t i = 0; !rc && i < sizeof(text) / sizeof(*text); i++) {
		const struct blob_xattr *x = field(n, text[i]);

		if (!(rc = put(b, ",\"")) && !(rc = put(b, text[i])) &&
		    !(rc = put(b, "\":")))
			rc = x ? skill_json_str(b, x->value, x->len) :
				 put(b, "null");
	}
	for (size_t i = 0; !rc && i < sizeof(json) / sizeof(*json); i++) {
		const struct blob_xattr *x = field(n, json[i]);

		if (!(rc = put(b, ",\"")) && !(rc = put(b, json[i])) &&
		    !(rc = put(b, "\":")))
			rc = x ? buf_append(b, x->value, x->len) :
				 put(b, "[]");
	}
	return rc;
}

static int cat_add(struct cat *c, const struct node *n, const char *path,
		   const char *vol, int qualified)
{
	const struct blob_xattr *id = field(n, "id");
	const struct blob_xattr *w = field(n, "warning");
	struct cat_entry *e;
	int rc;

	if (c->n == c->alloc) {
		size_t k = c->alloc ? c->alloc * 2 : 64;

		e = realloc(c->v, k * sizeof(*e));
		if (!e)
			return -ENOMEM;
		c->v = e;
		c->alloc = k;
	}
	e = &c->v[c->n];
	memset(e, 0, sizeof(*e));
	buf_init(&e->obj, 0);
	e->order = c->n;
	e->shadowed_by = -1;
	e->id = strdup(id ? id->value : n->name);
	e->path = strdup(path);
	e->warning = w ? strndup(w->value, w->len) : NULL;
	e->vol = n->vol;
	if (!e->id || !e->path || (w && !e->warning) ||
	    asprintf(&e->qid, "%s/%s", vol, e->id) < 0) {
		free(e->id);
		free(e->path);
		free(e->warning);
		return -ENOMEM;
	}
	c->n++;
	rc = skill_obj(&e->obj, n, path, qualified ? vol : NULL,
		       qualified ? e->qid : NULL);
	return rc;
}

/* Every skill under `dir` (a skills/ folder or below), parents first. */
static int collect(struct ns *ns, struct node *dir, struct cat *c,
		   const char *vol, int qualified)
{
	char key[PATH_MAX];
	int rc = 0;

	for (struct node *n = dir->child; n && !rc; n = n->next) {
		if (S_ISDIR(n->mode)) {
			rc = collect(ns, n, c, vol, qualified);
			continue;
		}
		if (!skill_is(n))
			continue;
		pthread_mutex_lock(&n->mu);
		rc = skill_cache(ns, n);
		if (!rc)
			rc = node_key(n, key, sizeof(key));
		if (!rc)
			rc = cat_add(c, n, key + strlen(n->vol->prefix) + 1,
				     vol, qualified);
		pthread_mutex_unlock(&n->mu);
		if (rc == -EIO || rc == -ENOENT)
			rc = 0;	/* unreadable now: left out, not fatal */
	}
	return rc;
}

/* "system", "team/eng", "user/alice" */
static const char *vol_name(const struct node *v, char *out, size_t cap)
{
	snprintf(out, cap, "%s", v->vol->prefix + strlen("volumes/"));
	return out;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct cat_entry *)a)->path,
		      ((const struct cat_entry *)b)->path);
}

/* A volume's skills, in path order. */
static int collect_volume(struct ns *ns, struct node *v, struct cat *c,
			  int qualified)
{
	struct node *skills = node_child(ns, v, "skills");
	size_t first = c->n;
	char name[96];
	int rc;

	if (!skills)
		return 0;
	rc = collect(ns, skills, c, vol_name(v, name, sizeof(name)),
		     qualified);
	if (rc)
		return rc;
	if (c->n > first)
		qsort(c->v + first, c->n - first, sizeof(*c->v), by_path);
	for (size_t i = first; i < c->n; i++)
		c->v[i].order = i;
	return 0;
}

static int by_id(const void *a, const void *b)
{
	const struct cat_entry *x = *(const struct cat_entry *const *)a;
	const struct cat_entry *y = *(const struct cat_entry *const *)b;
	int k = strcmp(x->id, y->id);

	return k ? k : (x->order > y->order) - (x->order < y->order);
}

/* Mark every entry whose id an earlier volume already has. */
static int resolve(struct cat *c)
{
	struct cat_entry **idx = malloc((c->n ? c->n : 1) * sizeof(*idx));

	if (!idx)
		return -ENOMEM;
	for (size_t i = 0; i < c->n; i++)
		idx[i] = &c->v[i];
	if (c->n)
		qsort(idx, c->n, sizeof(*idx), by_id);
	for (size_t i = 1; i < c->n; i++) {
		if (strcmp(idx[i]->id, idx[i - 1]->id))
			continue;
		idx[i]->shadowed_by = idx[i - 1]->shadowed_by >= 0 ?
			idx[i - 1]->shadowed_by : (int)idx[i - 1]->order;
		if (idx[i]->vol == c->v[idx[i]->shadowed_by].vol)
			idx[i]->same_vol = c->v[idx[i]->shadowed_by].same_vol
				= 1;
	}
	free(idx);
	return 0;
}

/* ,"warnings":[...] and the end of each object: the file's own warnings,
 * and a line for each other skill of its volume with its id. */
static int cat_finish(struct cat *c)
{
	int rc = 0;

	for (size_t i = 0; i < c->n && !rc; i++) {
		struct cat_entry *e = &c->v[i];
		struct buf *b = &e->obj;
		int first = 1;

		rc = put(b, ",\"warnings\":[");
		for (const char *w = e->warning; !rc && w && *w;) {
			size_t k = strcspn(w, "\n");

			if (!(rc = put(b, first ? "" : ",")))
				rc = skill_json_str(b, w, k);
			first = 0;
			w += k + (w[k] ? 1 : 0);
		}
		for (size_t j = 0; !rc && e->same_vol && j < c->n; j++) {
			const struct cat_entry *o = &c->v[j];
			char *msg;

			if (j == i || o->vol != e->vol || strcmp(o->id, e->id))
				continue;
			if (catalog_dup_message(&msg, e->path, e->id, o->path,
						e->shadowed_by < 0) < 0)
				return -ENOMEM;
			if (!(rc = put(b, first ? "" : ",")))
				rc = put_str(b, msg);
			first = 0;
			free(msg);
		}
		if (!rc)
			rc = put(b, "]}");
	}
	return rc;
}

int catalog_dup_message(char **out, const char *path, const char *id,
			const char *other, int wins)
{
	return asprintf(out, "%s:1: skill_id: '%s' is also the id of %s in "
			"this volume: %s wins, as the path that sorts first "
			"(rename one, or set skill_id)", path, id, other,
			wins ? path : other);
}

static int write_list(struct buf *b, const struct cat *c, int shadowed)
{
	int rc = 0, first = 1;

	for (size_t i = 0; i < c->n && !rc; i++) {
		const struct cat_entry *e = &c->v[i];

		if ((e->shadowed_by >= 0) != shadowed)
			continue;
		if (!first)
			rc = put(b, ",\n  ");
		first = 0;
		if (!rc && !shadowed)
			rc = buf_append(b, e->obj.data, e->obj.len);
		if (!rc && shadowed && !(rc = put(b, "{\"qualified_id\":")) &&
		    !(rc = put_str(b, e->qid)) &&
		    !(rc = put(b, ",\"path\":")) &&
		    !(rc = put_str(b, e->path)) &&
		    !(rc = put(b, ",\"shadowed_by\":")) &&
		    !(rc = put_str(b, c->v[e->shadowed_by].qid)) &&
		    !(rc = put(b, ",\"shadowed_by_path\":")) &&
		    !(rc = put_str(b, c->v[e->shadowed_by].path)))
			rc = put(b, "}");
	}
	return rc;
}

/* A volume's catalog: every skill, each with its path. */
static int write_all(struct buf *b, const struct cat *c)
{
	int rc = 0;

	for (size_t i = 0; i < c->n && !rc; i++)
		if (!(rc = put(b, i ? ",\n  " : "")))
			rc = buf_append(b, c->v[i].obj.data, c->v[i].obj.len);
	return rc;
}

/* The volumes the caller resolves through, in order. */
static size_t resolution_order(struct ns *ns, struct caller *c,
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

		if (t->kind == NK_VOLUME && nt < CONFIG_MAX_LIST &&
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

int catalog_build(struct ns *ns, struct caller *c, struct node *n,
		  struct buf *out)
{
	struct node *order[CONFIG_MAX_LIST + 2];
	struct cat cat = { NULL, 0, 0 };
	char name[96];
	size_t nv;
	int rc = 0;

	if (n->vol) {
		/* <volume>/catalog.json */
		struct node *v = n->parent;

		rc = collect_volume(ns, v, &cat, 0);
		if (!rc)
			rc = resolve(&cat);
		if (!rc)
			rc = cat_finish(&cat);
		if (!rc && !(rc = put(out, "{\"volume\":")) &&
		    !(rc = put_str(out, vol_name(v, name, sizeof(name)))) &&
		    !(rc = put(out, ",\n \"skills\":[\n  ")) &&
		    !(rc = write_all(out, &cat)))
			rc = put(out, "]}\n");
		cat_release(&cat);
		return rc;
	}
	nv = resolution_order(ns, c, order, sizeof(order) / sizeof(*order));
	for (size_t i = 0; i < nv && !rc; i++)
		rc = collect_volume(ns, order[i], &cat, 1);
	if (!rc)
		rc = resolve(&cat);
	if (!rc)
		rc = cat_finish(&cat);
	if (!rc && !(rc = put(out, "{\"resolution\":[")))
		for (size_t i = 0; i < nv && !rc; i++)
			if (!(rc = put(out, i ? "," : "")))
				rc = put_str(out, vol_name(order[i], name,
							   sizeof(name)));
	if (!rc && !(rc = put(out, "],\n \"skills\":[\n  ")) &&
	    !(rc = write_list(out, &cat, 0)) &&
	    !(rc = put(out, "],\n \"shadowed\":[\n  ")) &&
	    !(rc = write_list(out, &cat, 1)))
		rc = put(out, "]}\n");
	cat_release(&cat);
	return rc;
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
		if (!skill_is(n))
			continue;
		pthread_mutex_lock(&n->mu);
		if (skill_cache(ns, n) == 0) {
			id = field(n, "id");
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

/* The ids of the other skills of the volume, for catalog_dup_warnings(). */
static int dup_scan(struct ns *ns, struct node *dir, struct node *self,
		    const char *self_key, const char *id, struct buf *out)
{
	char key[PATH_MAX];
	int rc = 0;

	for (struct node *n = dir->child; n && !rc; n = n->next) {
		const struct blob_xattr *x;
		char *msg;
		int hit = 0;

		if (S_ISDIR(n->mode)) {
			rc = dup_scan(ns, n, self, self_key, id, out);
			continue;
		}
		if (n == self || !skill_is(n))
			continue;
		pthread_mutex_lock(&n->mu);
		if (skill_cache(ns, n) == 0) {
			x = field(n, "id");
			hit = x && strcmp(x->value, id) == 0 &&
			      node_key(n, key, sizeof(key)) == 0;
		}
		pthread_mutex_unlock(&n->mu);
		if (!hit)
			continue;
		{
			size_t pre = strlen(n->vol->prefix) + 1;

			if (catalog_dup_message(&msg, self_key + pre, id,
						key + pre,
						strcmp(self_key, key) < 0) < 0)
				return -ENOMEM;
		}
		if (out->len)
			rc = buf_append(out, "\n", 1);
		if (!rc)
			rc = buf_append(out, msg, strlen(msg));
		free(msg);
	}
	return rc;
}

int catalog_dup_warnings(struct ns *ns, struct node *n, const char *id,
			 struct buf *out)
{
	char self_key[PATH_MAX];
	struct node *v = n, *skills;

	while (v && v->kind != NK_VOLUME)
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
		nv = resolution_order(ns, c, order,
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
