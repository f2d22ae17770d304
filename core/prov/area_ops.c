/* core/prov/area_ops.c: what changes names and attributes in skills/ and
 * workflows/: mkdir, unlink, rmdir, rename, setattr (area.h). */
#include "core/prov/area.h"
#include "core/util/log.h"
#include "core/util/name.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int area_mkdir(struct ns *ns, struct caller *c, struct node *parent,
	       const char *name, mode_t mode, struct node **out,
	       struct stat *st)
{
	struct blob_meta m;
	char key[PATH_MAX];
	struct node *n;
	int rc;

	pthread_rwlock_wrlock(&ns->tree);
	rc = area_check_dir_write(ns, c, parent);
	if (!rc)
		rc = area_check_new_name(parent, name);
	if (rc)
		goto out;
	if (node_child(ns, parent, name)) {
		rc = -EEXIST;
		goto out;
	}
	n = node_new(ns, parent, name, &area_prov, AREA_DIR,
		     S_IFDIR | (mode & 0777));
	if (!n) {
		rc = -ENOMEM;
		goto out;
	}
	n->uid = c->uid;
	n->gid = c->gid;
	node_meta(n, &m);
	rc = node_key(n, key, sizeof(key));
	if (!rc)
		rc = ns->blob->ops->mkdir(ns->blob, key, &m);
	if (rc == -EEXIST)	/* left in the store, unknown to us */
		rc = ns->blob->ops->setmeta(ns->blob, key, &m);
	if (rc) {
		node_detach(ns, n);
		goto out;
	}
	n->stored = 1;
	n->nlookup = 1;
	parent->mtime = n->mtime;
	parent->ctime = n->mtime;
	area_dir_store_meta(ns, parent);
	area_note_node(ns, n, HISTORY_MKDIR, c->uid);
	node_stat(ns, c, n, st);
	*out = n;
out:
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

#define KEEP_SMALL_MAX (64u << 10)

/* Before a name goes away, give its node what to keep, as its key will
 * name another file or none: open files must go on reading and writing,
 * content and xattrs. A node the kernel still knows may be opened by a
 * reader that looked it up just before: a small file keeps its content;
 * for a larger one the open answers ESTALE, the kernel walks the path
 * again (stale_note()), and should the node it finds then go too before
 * its open, that one keeps its content and xattrs (keep_late). */
static int keep_for_open_files(struct ns *ns, struct node *n)
{
	uint64_t known = __atomic_load_n(&n->nlookup, __ATOMIC_SEQ_CST);
	int rc = 0;

	if (n->sub != AREA_FILE && n->sub != AREA_DIR)
		return 0;
	if (n->opens) {		/* a failure stops the removal */
		rc = area_xattrs_load(ns, n);
		if (!rc && n->sub == AREA_FILE)
			rc = area_load_content(ns, n, n->uid, 1);
		return rc;
	}
	if (known && n->keep_late)
		rc = area_xattrs_load(ns, n);
	if (!rc && known && n->sub == AREA_FILE &&
	    (n->keep_late || n->size <= KEEP_SMALL_MAX))
		rc = area_load_content(ns, n, n->uid, 1);
	if (rc) {
		char esc[128];

		log_debug("could not keep '%s' for a late reader: %s",
			  log_escape(esc, sizeof(esc), n->name),
			  strerror(-rc));
	}
	return 0;
}

static int remove_checks(struct ns *ns, struct caller *c, struct node *parent,
			 const char *name, struct node **out)
{
	int rc = area_check_dir_write(ns, c, parent);

	if (rc)
		return rc;
	if (strlen(name) > NAME_MAX_BYTES)
		return -ENAMETOOLONG;
	*out = node_child(ns, parent, name);
	return *out ? 0 : -ENOENT;
}

/* Take `n` out of the store and the tree, as `uid`; the tree is held for
 * writing. */
static int remove_node(struct ns *ns, struct node *parent, struct node *n,
		       uid_t uid)
{
	char key[PATH_MAX];
	int rc = keep_for_open_files(ns, n);

	if (!rc)
		rc = node_key(n, key, sizeof(key));
	if (!rc && n->stored)
		rc = !S_ISDIR(n->mode) ? ns->blob->ops->del(ns->blob, key) :
					  ns->blob->ops->rmdir(ns->blob, key);
	if (rc && rc != -ENOENT)
		return rc;
	ns_now(&parent->mtime);
	parent->ctime = parent->mtime;
	area_dir_store_meta(ns, parent);
	if (n->stored)
		area_note_node(ns, n, S_ISDIR(n->mode) ? HISTORY_RMDIR :
				      HISTORY_UNLINK, uid);
	node_detach(ns, n);
	return 0;
}

int area_unlink(struct ns *ns, struct caller *c, struct node *parent,
		const char *name)
{
	struct node *n;
	int rc;

	pthread_rwlock_wrlock(&ns->tree);
	rc = remove_checks(ns, c, parent, name, &n);
	if (!rc && S_ISDIR(n->mode))
		rc = -EISDIR;
	if (!rc)
		rc = remove_node(ns, parent, n, c->uid);
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

int area_rmdir(struct ns *ns, struct caller *c, struct node *parent,
	       const char *name)
{
	struct node *n;
	int rc;

	pthread_rwlock_wrlock(&ns->tree);
	rc = remove_checks(ns, c, parent, name, &n);
	if (!rc && !S_ISDIR(n->mode))
		rc = -ENOTDIR;
	else if (!rc && n->nchildren)
		rc = -ENOTEMPTY;
	if (!rc)
		rc = remove_node(ns, parent, n, c->uid);
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

/* The area (skills/ or workflows/) a data node lies in. */
static struct node *area_of(struct node *n)
{
	while (n && n->sub != AREA_TOP)
		n = n->parent;
	return n;
}

static int is_ancestor(const struct node *a, const struct node *n)
{
	for (; n; n = n->parent)
		if (n == a)
			return 1;
	return 0;
}

static int rename_checks(struct node *src, struct node *dst,
			 struct node *newparent, unsigned flags)
{
	if (src->sub == AREA_DIR && is_ancestor(src, newparent))
		return -EINVAL;
	if (!dst)
		return 0;
	if (flags & RENAME_NOREPLACE)
		return -EEXIST;
	if (S_ISDIR(src->mode) && !S_ISDIR(dst->mode))
		return -ENOTDIR;
	if (!S_ISDIR(src->mode) && S_ISDIR(dst->mode))
		return -EISDIR;
	if (dst->nchildren)
		return -ENOTEMPTY;
	return 0;
}

/* The keys `from` and `to` as paths of the volume of `n`. */
static void note_rename(struct ns *ns, const struct node *n,
			const char *from, const char *to, uid_t uid)
{
	size_t pre = strlen(n->vol->prefix) + 1;
	struct history_change ch = { .op = HISTORY_RENAME };

	ch.path = from + pre;
	ch.to = to + pre;
	area_note(ns, n->vol->prefix + strlen("volumes/"), uid, &ch);
}

int area_rename(struct ns *ns, struct caller *c, struct node *parent,
		const char *name, struct node *newparent,
		const char *newname, unsigned flags)
{
	char from[PATH_MAX], to[PATH_MAX], *copy = NULL;
	struct node *src, *dst;
	int rc;

	pthread_rwlock_wrlock(&ns->tree);
	rc = remove_checks(ns, c, parent, name, &src);
	if (!rc)
		rc = area_check_dir_write(ns, c, newparent);
	if (rc)
		goto out;
	if (area_of(parent) != area_of(newparent)) {
		rc = -EXDEV;
		goto out;
	}
	rc = area_check_new_name(newparent, newname);
	if (rc)
		goto out;
	dst = node_child(ns, newparent, newname);
	if (dst == src)
		goto out;
	rc = rename_checks(src, dst, newparent, flags);
	if (rc)
		goto out;
	copy = strdup(newname);
	if (!copy) {
		rc = -ENOMEM;
		goto out;
	}
	/* The store must hold the source before it can move it. */
	if (src->sub == AREA_FILE && !src->stored &&
	    !(rc = area_store(ns, src, 0)))
		area_note_node(ns, src, HISTORY_CREATE, c->uid);
	if (!rc && dst)
		rc = keep_for_open_files(ns, dst);
	if (!rc)
		rc = node_key(src, from, sizeof(from));
	if (!rc)
		rc = node_key(newparent, to, sizeof(to));
	if (!rc && strlen(to) + strlen(newname) + 2 > sizeof(to))
		rc = -ENAMETOOLONG;
	if (!rc) {
		size_t k = strlen(to);

		snprintf(to + k, sizeof(to) - k, "/%s", newname);
	}
	if (!rc)
		rc = ns->blob->ops->rename(ns->blob, from, to);
	if (rc)
		goto out;
	if (src->sub != AREA_LINK)
		note_rename(ns, src, from, to, c->uid);
	if (dst)
		node_detach(ns, dst);
	node_move(ns, src, newparent, copy);
	copy = NULL;
	ns_now(&src->ctime);
	parent->mtime = src->ctime;
	parent->ctime = src->ctime;
	newparent->mtime = src->ctime;
	newparent->ctime = src->ctime;
	area_dir_store_meta(ns, parent);
	if (newparent != parent)
		area_dir_store_meta(ns, newparent);
	if (src->sub == AREA_DIR)
		area_dir_store_meta(ns, src);	/* its mtime moved with it */
out:
	free(copy);
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

/* --- setattr ------------------------------------------------------------- */

static int chown_allowed(struct ns *ns, struct caller *c, struct node *n,
			 const struct stat *want, unsigned what)
{
	int admin = acl_is_admin(ns->id, c);

	if ((what & NS_SET_UID) && want->st_uid != n->uid && !admin)
		return -EPERM;
	if ((what & NS_SET_GID) && want->st_gid != n->gid && !admin) {
		if (c->uid != n->uid)
			return -EPERM;
		for (int i = 0; i < c->ngroups; i++)
			if (c->groups[i] == want->st_gid)
				return 0;
		return -EPERM;
	}
	return 0;
}

/* Persist attributes of a node that is not dirty. n->mu held. */
static int store_meta(struct ns *ns, struct node *n)
{
	struct blob_meta m;
	char key[PATH_MAX];
	int rc = node_key(n, key, sizeof(key));

	if (rc)
		return rc;
	node_meta(n, &m);
	if (n->sub == AREA_FILE) {
		if (n->dirty)
			return 0;	/* goes with the content */
		rc = ns->blob->ops->setmeta(ns->blob, key, &m);
		if (!rc) {
			n->saved = m;
			n->atime_dirty = 0;
		}
		return rc;
	}
	rc = ns->blob->ops->setmeta(ns->blob, key, &m);
	if (rc == -ENOENT && n->sub == AREA_TOP)
		rc = ns->blob->ops->mkdir(ns->blob, key, &m);
	if (!rc)
		n->stored = 1;
	return rc;
}

static int apply_size(struct ns *ns, struct node *n, struct ns_file *f,
		      uid_t uid, uint64_t size)
{
	struct timespec mtime = n->mtime, ctime = n->ctime;
	uint64_t old_size = n->size;
	unsigned dirty = n->dirty;
	struct buf keep;
	int rc;

	if (n->sub != AREA_FILE)
		return S_ISDIR(n->mode) ? -EISDIR : -EINVAL;
	if (size > ns->cfg->max_file_size)
		return -EFBIG;
	if (n->detached && !n->loaded) {
		/* A truncate by a name since removed, of a file whose
		 * content went with it (nothing can read it now): it was
		 * truncated before it went. */
		n->size = size;
		ns_now(&n->mtime);
		n->ctime = n->mtime;
		return 0;
	}
	rc = area_load_content(ns, n, uid, 0);
	if (rc)
		return rc;
	/* truncate(2) by name is complete when it returns, or changes
	 * nothing: keep the content to put it back on failure. */
	buf_init(&keep, n->data.cap);
	if (!f && !n->detached && size < n->data.len &&
	    (rc = buf_append(&keep, n->data.data, n->data.len)))
		return rc;
	if (size >= n->data.alloc &&
	    (rc = node_charge(ns, n, uid, (size_t)size + 1, 0)))
		goto out;
	rc = buf_resize(&n->data, (size_t)size);
	node_charge(ns, n, uid, n->data.alloc, 1);
	if (rc)
		goto out;
	n->size = size;
	n->dirty = 1;
	ns_now(&n->mtime);
	n->ctime = n->mtime;
	if (!f && !n->detached) {
		rc = area_store(ns, n, 0);
		if (rc) {
			if (keep.len)
				buf_pwrite(&n->data, keep.data + size,
					   keep.len - (size_t)size,
					   (size_t)size);
			else
				buf_resize(&n->data, (size_t)old_size);
			n->size = old_size;
			n->dirty = dirty;
			n->mtime = mtime;
			n->ctime = ctime;
		} else {
			area_note_node(ns, n, HISTORY_WRITE, uid);
		}
		if (!n->opens && !n->dirty) {
			/* Nobody has it open: the store has it. */
			node_data_release(ns, n);
			n->loaded = 0;
		}
	}
out:
	buf_release(&keep);
	return rc;
}

int area_setattr(struct ns *ns, struct caller *c, struct node *n,
		 struct ns_file *f, const struct stat *want, unsigned what,
		 struct stat *st)
{
	mode_t old_mode;
	unsigned r;
	int rc = 0;

	pthread_rwlock_rdlock(&ns->tree);
	r = node_rights(ns, c, n);
	if (!(r & ACL_R))
		rc = -ENOENT;
	else if (!(r & ACL_W))
		rc = -EACCES;
	else
		rc = chown_allowed(ns, c, n, want, what);
	if (rc)
		goto out;
	pthread_mutex_lock(&n->mu);
	old_mode = n->mode;
	if (what & NS_SET_SIZE)
		rc = apply_size(ns, n, f, c->uid, (uint64_t)want->st_size);
	if (!rc && (what & (NS_SET_MODE | NS_SET_UID | NS_SET_GID |
			    NS_SET_MTIME | NS_SET_MTIME_NOW | NS_SET_ATIME |
			    NS_SET_ATIME_NOW))) {
		struct blob_meta before;

		node_meta(n, &before);
		if (what & NS_SET_MODE)
			n->mode = (n->mode & S_IFMT) | (want->st_mode & 0777);
		if (what & NS_SET_UID)
			n->uid = want->st_uid;
		if (what & NS_SET_GID)
			n->gid = want->st_gid;
		if (what & NS_SET_MTIME)
			n->mtime = want->st_mtim;
		if (what & NS_SET_MTIME_NOW)
			ns_now(&n->mtime);
		if (what & NS_SET_ATIME)
			n->atime = want->st_atim;
		if (what & NS_SET_ATIME_NOW)
			ns_now(&n->atime);
		if (!n->detached)
			rc = store_meta(ns, n);
		if (rc) {
			n->mode = old_mode;
			n->uid = before.uid;
			n->gid = before.gid;
			n->mtime = before.mtime;
			n->atime = before.atime;
		} else {
			ns_now(&n->ctime);
			if ((what & NS_SET_MODE) && n->mode != old_mode &&
			    !n->dirty && !S_ISDIR(n->mode))
				area_note_node(ns, n, HISTORY_CHMOD, c->uid);
		}
	}
	pthread_mutex_unlock(&n->mu);
	if (!rc)
		node_stat(ns, c, n, st);
out:
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

/* --- symbolic links ------------------------------------------------------ */

/* A link is stored at once, as an object whose content is its target;
 * nothing of the daemon ever follows it (a skill or a run's file input
 * named through a link is not found: only the kernel follows it, with the
 * rights of whoever walks it). */
int area_symlink(struct ns *ns, struct caller *c, struct node *parent,
		 const char *name, const char *target, struct node **out,
		 struct stat *st)
{
	size_t len = strlen(target);
	struct blob_meta m;
	char key[PATH_MAX];
	struct node *n;
	int rc;

	if (len == 0 || len >= PATH_MAX)
		return len ? -ENAMETOOLONG : -ENOENT;
	pthread_rwlock_wrlock(&ns->tree);
	rc = area_check_dir_write(ns, c, parent);
	if (!rc)
		rc = area_check_new_name(parent, name);
	if (!rc && node_child(ns, parent, name))
		rc = -EEXIST;
	if (rc)
		goto out;
	n = node_new(ns, parent, name, &area_prov, AREA_LINK,
		     S_IFLNK | 0777);
	if (!n) {
		rc = -ENOMEM;
		goto out;
	}
	n->uid = c->uid;
	n->gid = c->gid;
	n->size = len;
	node_meta(n, &m);
	rc = node_key(n, key, sizeof(key));
	if (!rc)
		rc = ns->blob->ops->put(ns->blob, key, target, len, &m, NULL,
					0);
	if (rc) {
		node_detach(ns, n);
		goto out;
	}
	n->stored = 1;
	n->saved = m;
	n->nlookup = 1;
	parent->mtime = n->mtime;
	parent->ctime = n->mtime;
	area_dir_store_meta(ns, parent);
	node_stat(ns, c, n, st);
	*out = n;
out:
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

ssize_t area_readlink(struct ns *ns, struct caller *c, struct node *n,
		      char *buf, size_t size)
{
	char key[PATH_MAX];
	struct buf t;
	ssize_t rc;

	buf_init(&t, PATH_MAX);
	pthread_rwlock_rdlock(&ns->tree);
	if (!node_visible(ns, c, n))
		rc = -ENOENT;
	else if (n->sub != AREA_LINK)
		rc = -EINVAL;
	else if (n->detached)
		rc = -ENOENT;
	else
		rc = node_key(n, key, sizeof(key));
	if (!rc) {
		pthread_mutex_lock(&n->mu);
		rc = ns->blob->ops->get(ns->blob, key, &t);
		pthread_mutex_unlock(&n->mu);
	}
	pthread_rwlock_unlock(&ns->tree);
	if (!rc) {
		rc = (ssize_t)(t.len < size ? t.len : size);
		memcpy(buf, t.data, (size_t)rc);
	}
	buf_release(&t);
	return rc;
}
