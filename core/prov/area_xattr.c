/* core/prov/area_xattr.c: user.* extended attributes of files and
 * folders, kept with the node and written to the store with it; and the
 * read-only user.skill.* fields of skills (area.h). */
#include "core/prov/area.h"
#include "core/prov/library.h"
#include "core/skill/skill.h"
#include "core/skill/skill_xattr.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#define XATTR_TOTAL_MAX 65536	/* names and values of one file */

/* A Markdown file under a skills/ folder: a skill, whose parsed fields
 * are the read-only user.skill.* xattrs. */
int area_skill_is(const struct node *n)
{
	const struct node *a = n;
	size_t k = strlen(n->name);

	if (n->ops != &area_prov || n->sub != AREA_FILE || k < 4 ||
	    strcmp(n->name + k - 3, ".md"))
		return 0;
	while (a && a->sub != AREA_TOP)
		a = a->parent;
	return a && strcmp(a->name, "skills") == 0;
}

static int skill_cache_fresh(const struct node *n)
{
	return n->skill_name && strcmp(n->skill_name, n->name) == 0 &&
	       n->skill_size == n->size &&
	       n->skill_mtime.tv_sec == n->mtime.tv_sec &&
	       n->skill_mtime.tv_nsec == n->mtime.tv_nsec;
}

/* Parse the skill `n` into n->skill_x unless that is current. n->mu held.
 * The content is the open file's, or read from the store for the parse
 * only. */
int area_skill_cache(struct ns *ns, struct node *n)
{
	char key[PATH_MAX], *name;
	struct blob_xattrs x;
	struct buf tmp;
	const char *file;
	int rc;

	if (skill_cache_fresh(n))
		return 0;
	if (n->detached && !n->loaded)
		return stale_note(ns, n);	/* the key names another file */
	rc = node_key(n, key, sizeof(key));
	if (rc)
		return rc;
	file = key + strlen(n->vol->prefix) + 1;	/* "skills/x.md" */
	buf_init(&tmp, SKILL_MAX_FILE);
	if (n->loaded) {
		rc = skill_xattrs_build(&x, file, n->data.data, n->data.len);
	} else if (n->size > SKILL_MAX_FILE || !n->stored) {
		rc = skill_xattrs_build(&x, file, "", n->stored ? n->size : 0);
	} else {
		rc = ns->blob->ops->get(ns->blob, key, &tmp);
		if (!rc)
			rc = skill_xattrs_build(&x, file, tmp.data ? tmp.data :
						"", tmp.len);
	}
	buf_release(&tmp);
	if (rc)
		return rc;
	name = strdup(n->name);
	if (!name) {
		blob_xattrs_release(&x);
		return -ENOMEM;
	}
	blob_xattrs_release(&n->skill_x);
	free(n->skill_name);
	n->skill_x = x;
	n->skill_name = name;
	n->skill_size = n->size;
	n->skill_mtime = n->mtime;
	return 0;
}


static struct blob_xattr *find_in(const struct blob_xattrs *set,
				   const char *name)
{
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->v[i].name, name) == 0)
			return &set->v[i];
	return NULL;
}

static struct blob_xattr *find(struct node *n, const char *name)
{
	return find_in(&n->xattrs, name);
}

static size_t total_size(const struct node *n)
{
	size_t t = 0;

	for (size_t i = 0; i < n->xattrs.n; i++)
		t += strlen(n->xattrs.v[i].name) + 1 + n->xattrs.v[i].len;
	return t;
}

/* Write the xattrs to the store, or leave them to the next store of the
 * content. n->mu held. */
static int xattrs_store(struct ns *ns, struct node *n)
{
	char key[PATH_MAX];
	int rc;

	/* Not in the store yet: it goes with the content, if it fits.
	 * Removed: its key names another file or none, the set stays in
	 * memory with it. */
	if ((n->sub == AREA_FILE && !n->stored) || n->detached)
		return ns->blob->ops->fitxattrs(ns->blob, &n->xattrs);
	rc = node_key(n, key, sizeof(key));
	if (rc)
		return rc;
	rc = ns->blob->ops->setxattrs(ns->blob, key, &n->xattrs);
	if (rc == -ENOENT && n->sub == AREA_TOP) {
		struct blob_meta m;

		node_meta(n, &m);
		rc = ns->blob->ops->mkdir(ns->blob, key, &m);
		if (!rc)
			rc = ns->blob->ops->setxattrs(ns->blob, key,
						      &n->xattrs);
	}
	if (!rc)
		n->stored = 1;
	return rc;
}

/* Lock the tree and n->mu after checking rights; `write` asks for the
 * write right. Returns 0 with both held. */
static int xattr_begin(struct ns *ns, struct caller *c, struct node *n,
		       int write)
{
	unsigned r;
	int rc = 0;

	pthread_rwlock_rdlock(&ns->tree);
	r = node_rights(ns, c, n);
	if (!(r & ACL_R))
		rc = -ENOENT;
	else if (write && !(r & ACL_W))
		rc = -EACCES;
	if (rc) {
		pthread_rwlock_unlock(&ns->tree);
		return rc;
	}
	pthread_mutex_lock(&n->mu);
	rc = area_xattrs_load(ns, n);
	if (rc == -ESTALE)	/* removed, and its set with its key */
		rc = stale_note(ns, n);
	if (rc) {
		pthread_mutex_unlock(&n->mu);
		pthread_rwlock_unlock(&ns->tree);
	}
	return rc;
}

static void xattr_end(struct ns *ns, struct node *n)
{
	pthread_mutex_unlock(&n->mu);
	pthread_rwlock_unlock(&ns->tree);
}

/* After a failed store the store's set is the truth: reread it. */
static void xattrs_drop(struct node *n)
{
	blob_xattrs_release(&n->xattrs);
	n->xattrs_loaded = !n->stored;
}

/* user.skill.* are parsed from the content: a write of one (cp -a,
 * rsync -X, tar --xattrs and mv copy them back with the file) succeeds
 * where the caller may write, and changes nothing. */
static int derived_write(struct ns *ns, struct caller *c, struct node *n)
{
	int rc = xattr_begin(ns, c, n, 1);

	if (!rc)
		xattr_end(ns, n);
	return rc;
}

int area_setxattr(struct ns *ns, struct caller *c, struct node *n,
		  const char *name, const char *value, size_t size, int flags)
{
	struct blob_xattr *x, *v;
	char *val, *old = NULL;
	size_t old_len = 0;
	int rc;

	if (skill_xattr_reserved(name))
		return derived_write(ns, c, n);
	if (size > XATTR_TOTAL_MAX)
		return -E2BIG;
	rc = xattr_begin(ns, c, n, 1);
	if (rc)
		return rc;
	x = find(n, name);
	if ((flags & XATTR_CREATE) && x)
		rc = -EEXIST;
	else if ((flags & XATTR_REPLACE) && !x)
		rc = -ENODATA;
	else if (total_size(n) - (x ? x->len : 0) + size +
		 (x ? 0 : strlen(name) + 1) > XATTR_TOTAL_MAX)
		rc = -ENOSPC;
	if (rc)
		goto out;
	val = malloc(size + 1);
	if (!val) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(val, value, size);
	if (!x) {
		v = realloc(n->xattrs.v, (n->xattrs.n + 1) * sizeof(*v));
		if (!v || !(v[n->xattrs.n].name = strdup(name))) {
			if (v)
				n->xattrs.v = v;
			free(val);
			rc = -ENOMEM;
			goto out;
		}
		n->xattrs.v = v;
		x = &v[n->xattrs.n++];
	} else {
		old = x->value;
		old_len = x->len;
	}
	x->value = val;
	x->len = size;
	rc = xattrs_store(ns, n);
	if (!rc) {
		free(old);
		ns_now(&n->ctime);
	} else if (n->stored && !n->detached) {
		free(old);
		xattrs_drop(n);
	} else if (old) {
		/* Not stored yet (or no longer): put the set back as it
		 * was. */
		free(x->value);
		x->value = old;
		x->len = old_len;
	} else {
		free(x->name);
		free(x->value);
		n->xattrs.n--;
	}
out:
	xattr_end(ns, n);
	return rc;
}

#define SKILL_WARNING SKILL_XATTR_PREFIX "warning"

/* user.skill.warning: the file's own warnings, then one for each other
 * skill of its volume with its id (catalog_dup_warnings()), into `out`.
 * As xattr_begin() left it; n->mu is let go during the scan of the
 * volume, which locks the other skills one at a time. */
static int skill_warning(struct ns *ns, struct node *n, struct buf *out)
{
	const struct blob_xattr *w, *id;
	struct buf dup;
	char *idc;
	int rc = area_skill_cache(ns, n);

	if (rc)
		return rc;
	w = find_in(&n->skill_x, SKILL_WARNING);
	id = find_in(&n->skill_x, SKILL_XATTR_PREFIX "id");
	if (w && (rc = buf_append(out, w->value, w->len)))
		return rc;
	if (!id)
		return 0;
	idc = strdup(id->value);
	if (!idc)
		return -ENOMEM;
	buf_init(&dup, 0);
	pthread_mutex_unlock(&n->mu);
	rc = library_dup_warnings(ns, n, idc, &dup);
	pthread_mutex_lock(&n->mu);
	if (!rc && dup.len && out->len)
		rc = buf_append(out, "\n", 1);
	if (!rc && dup.len)
		rc = buf_append(out, dup.data, dup.len);
	buf_release(&dup);
	free(idc);
	return rc;
}

ssize_t area_getxattr(struct ns *ns, struct caller *c, struct node *n,
		      const char *name, char *value, size_t size)
{
	struct blob_xattr *x, warn;
	struct buf wb;
	ssize_t rc = xattr_begin(ns, c, n, 0);

	if (rc)
		return rc;
	x = NULL;
	buf_init(&wb, XATTR_TOTAL_MAX);
	if (!skill_xattr_reserved(name)) {
		x = find(n, name);
	} else if (area_skill_is(n) && !strcmp(name, SKILL_WARNING)) {
		rc = skill_warning(ns, n, &wb);
		warn.value = wb.data;
		warn.len = wb.len;
		x = wb.len ? &warn : NULL;
	} else if (area_skill_is(n) && !(rc = area_skill_cache(ns, n))) {
		x = find_in(&n->skill_x, name);
	}
	if (rc)
		goto out;
	if (!x)
		rc = -ENODATA;
	else if (size && size < x->len)
		rc = -ERANGE;
	else {
		if (size)
			memcpy(value, x->value, x->len);
		rc = (ssize_t)x->len;
	}
out:
	buf_release(&wb);
	xattr_end(ns, n);
	return rc;
}

ssize_t area_listxattr(struct ns *ns, struct caller *c, struct node *n,
		       char *list, size_t size)
{
	size_t need = 0;
	const struct blob_xattrs *sets[2];
	const char *extra = NULL;	/* user.skill.warning, duplicates */
	ssize_t rc = xattr_begin(ns, c, n, 0);
	struct buf wb;

	if (rc)
		return rc;
	sets[0] = &n->xattrs;
	sets[1] = NULL;
	buf_init(&wb, XATTR_TOTAL_MAX);
	if (area_skill_is(n)) {
		rc = skill_warning(ns, n, &wb);
		if (!rc && wb.len && !find_in(&n->skill_x, SKILL_WARNING))
			extra = SKILL_WARNING;
		sets[1] = &n->skill_x;
	}
	for (int s = 0; s < 2 && sets[s] && !rc; s++)
		for (size_t i = 0; i < sets[s]->n; i++)
			need += strlen(sets[s]->v[i].name) + 1;
	if (extra)
		need += strlen(extra) + 1;
	if (!rc && size && size < need) {
		rc = -ERANGE;
	} else if (!rc) {
		char *p = list;

		for (int s = 0; s < 2 && sets[s] && size; s++) {
			for (size_t i = 0; i < sets[s]->n; i++) {
				size_t k = strlen(sets[s]->v[i].name) + 1;

				memcpy(p, sets[s]->v[i].name, k);
				p += k;
			}
		}
		if (extra && size)
			memcpy(p, extra, strlen(extra) + 1);
		rc = (ssize_t)need;
	}
	buf_release(&wb);
	xattr_end(ns, n);
	return rc;
}

int area_removexattr(struct ns *ns, struct caller *c, struct node *n,
		     const char *name)
{
	struct blob_xattr *x;
	int rc;

	if (skill_xattr_reserved(name))
		return derived_write(ns, c, n);
	rc = xattr_begin(ns, c, n, 1);
	if (rc)
		return rc;
	x = find(n, name);
	if (!x) {
		rc = -ENODATA;
		goto out;
	}
	free(x->name);
	free(x->value);
	*x = n->xattrs.v[--n->xattrs.n];
	rc = xattrs_store(ns, n);
	if (rc)
		xattrs_drop(n);
	else
		ns_now(&n->ctime);
out:
	xattr_end(ns, n);
	return rc;
}
