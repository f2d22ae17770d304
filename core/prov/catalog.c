/* core/prov/catalog.c: catalog.json, made for the caller at each open.
 *
 * <volume>/catalog.json lists that volume's skills; MOUNT/catalog.json
 * lists every skill the caller may use, resolved as DESIGN.md section 4
 * says: the caller's own volume, then the caller's teams in name order,
 * then system; the first skill with an id wins and the others are listed
 * as shadowed. Within one volume, two skills with one id are both listed
 * and both warned about; the one whose path sorts first (byte order)
 * wins, here and when a graph names it (ns_resolve_skill()). Each skill's
 * fields come from its parse cache (area_xattr.c), so unchanged files are
 * not parsed again. */
#include "core/prov/area.h"
#include "core/prov/library.h"
#include "core/util/name.h"
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
		const struct blob_xattr *x = library_field(n, text[i]);

		if (!(rc = put(b, ",\"")) && !(rc = put(b, text[i])) &&
		    !(rc = put(b, "\":")))
			rc = x ? skill_json_str(b, x->value, x->len) :
				 put(b, "null");
	}
	for (size_t i = 0; !rc && i < sizeof(json) / sizeof(*json); i++) {
		const struct blob_xattr *x = library_field(n, json[i]);

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
	const struct blob_xattr *id = library_field(n, "id");
	const struct blob_xattr *w = library_field(n, "warning");
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
		if (!area_skill_is(n))
			continue;
		pthread_mutex_lock(&n->mu);
		rc = area_skill_cache(ns, n);
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
	rc = collect(ns, skills, c, library_vol_name(v, name, sizeof(name)),
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
			if (library_dup_message(&msg, e->path, e->id, o->path,
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

static int catalog_build(struct ns *ns, struct caller *c, struct node *n,
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
		    !(rc = put_str(out, library_vol_name(v, name, sizeof(name)))) &&
		    !(rc = put(out, ",\n \"skills\":[\n  ")) &&
		    !(rc = write_all(out, &cat)))
			rc = put(out, "]}\n");
		cat_release(&cat);
		return rc;
	}
	nv = library_order(ns, c, order, sizeof(order) / sizeof(*order));
	for (size_t i = 0; i < nv && !rc; i++)
		rc = collect_volume(ns, order[i], &cat, 1);
	if (!rc)
		rc = resolve(&cat);
	if (!rc)
		rc = cat_finish(&cat);
	if (!rc && !(rc = put(out, "{\"resolution\":[")))
		for (size_t i = 0; i < nv && !rc; i++)
			if (!(rc = put(out, i ? "," : "")))
				rc = put_str(out, library_vol_name(order[i], name,
							   sizeof(name)));
	if (!rc && !(rc = put(out, "],\n \"skills\":[\n  ")) &&
	    !(rc = write_list(out, &cat, 0)) &&
	    !(rc = put(out, "],\n \"shadowed\":[\n  ")) &&
	    !(rc = write_list(out, &cat, 1)))
		rc = put(out, "]}\n");
	cat_release(&cat);
	return rc;
}

/* --- the provider ---------------------------------------------------------- */

/* A catalog is made for the caller when opened; reads see that snapshot. */
static int catalog_open(struct ns *ns, struct caller *c, struct node *n,
			int flags, struct ns_file **out, int *keep_cache)
{
	struct buf *b;
	int rc;

	*keep_cache = 0;
	pthread_rwlock_rdlock(&ns->tree);
	if (!node_visible(ns, c, n)) {
		rc = -ENOENT;
		goto out;
	}
	if (file_wants_write(flags)) {
		rc = -EACCES;
		goto out;
	}
	b = malloc(sizeof(*b));
	if (!b) {
		rc = -ENOMEM;
		goto out;
	}
	buf_init(b, 0);
	rc = catalog_build(ns, c, n, b);
	if (!rc) {
		pthread_mutex_lock(&n->mu);
		rc = file_handle_new(n, c, flags, out);
		pthread_mutex_unlock(&n->mu);
	}
	if (rc) {
		buf_release(b);
		free(b);
		goto out;
	}
	(*out)->snap = b;
out:
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

/* Made anew at each open: its times are now, and its size what an open
 * now would give the caller (so that sendfile and copy_file_range, which
 * trust the size, copy it whole). */
static void catalog_stat(struct ns *ns, struct caller *c, struct node *n,
			 struct stat *st)
{
	struct buf b;

	buf_init(&b, 0);
	if (catalog_build(ns, c, n, &b) == 0) {
		st->st_size = (off_t)b.len;
		st->st_blocks = (st->st_size + 511) / 512;
	}
	buf_release(&b);
	ns_now(&n->mtime);
	st->st_mtim = n->mtime;
	st->st_atim = n->mtime;
	st->st_ctim = n->mtime;
}

static int catalog_direct_io(const struct ns_file *f)
{
	(void)f;
	return 1;
}

const struct prov_ops catalog_prov = {
	.name = "catalog",
	.stat = catalog_stat,
	.open = catalog_open,
	.direct_io = catalog_direct_io,
	.read = ns_snap_read,
};
