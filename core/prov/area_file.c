/* core/prov/area_file.c: open files of skills/ and workflows/: content in
 * memory while open, written back to the store on flush (close) and
 * fsync (area.h). */
#include "core/prov/area.h"
#include "core/util/log.h"
#include "core/util/name.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Callers hold n->mu (or the tree for writing). */
int area_load_content(struct ns *ns, struct node *n, uid_t uid, int force)
{
	char key[PATH_MAX];
	int rc;

	if (n->loaded)
		return 0;
	if (n->detached)
		return -ENOENT;	/* its key now names another file, or none */
	if (!n->stored) {
		n->loaded = 1;
		return buf_resize(&n->data, 0);
	}
	rc = node_key(n, key, sizeof(key));
	if (!rc)
		rc = node_charge(ns, n, uid, (size_t)n->size + 1, force);
	if (!rc) {
		rc = ns->blob->ops->get(ns->blob, key, &n->data);
		node_charge(ns, n, uid, n->data.alloc, 1);
	}
	if (rc == -ENOENT) {
		char esc[256];

		log_err("'%s' vanished from the store",
			log_escape(esc, sizeof(esc), key));
		rc = -EIO;
	}
	if (rc)
		return rc;
	n->loaded = 1;
	n->size = n->data.len;
	return 0;
}

int area_xattrs_load(struct ns *ns, struct node *n)
{
	char key[PATH_MAX];
	int rc;

	if (n->xattrs_loaded)
		return 0;
	if (n->detached)
		return -ESTALE;	/* its key now names another file, or none */
	if (!n->stored) {
		n->xattrs_loaded = 1;
		return 0;
	}
	rc = node_key(n, key, sizeof(key));
	if (!rc)
		rc = ns->blob->ops->getxattrs(ns->blob, key, &n->xattrs);
	if (rc == -ENOENT)
		rc = 0;	/* an area folder not made yet */
	if (!rc)
		n->xattrs_loaded = 1;
	return rc;
}

/* Write the content, attributes and xattrs of `n` to the store. Callers
 * hold n->mu (or the tree for writing). */
int area_store(struct ns *ns, struct node *n, unsigned flags)
{
	struct blob_meta m;
	char key[PATH_MAX];
	int rc;

	rc = node_key(n, key, sizeof(key));
	if (!rc)
		rc = area_load_content(ns, n, n->uid, 1);
	if (!rc)
		rc = area_xattrs_load(ns, n);
	if (rc)
		return rc;
	node_meta(n, &m);
	rc = ns->blob->ops->put(ns->blob, key, n->data.data, n->data.len, &m,
				&n->xattrs, flags);
	if (rc)
		return rc;
	n->dirty = 0;
	n->atime_dirty = 0;
	n->stored = 1;
	n->saved = m;
	if (n->parent && !n->detached) {
		/* The put renamed into the folder: its time is ours. */
		pthread_mutex_lock(&n->parent->mu);
		area_dir_store_meta(ns, n->parent);
		pthread_mutex_unlock(&n->parent->mu);
	}
	return 0;
}

/* Forget unstored changes: the store's content is the truth again. */
static void file_revert(struct ns *ns, struct node *n)
{
	node_data_release(ns, n);
	blob_xattrs_release(&n->xattrs);
	n->xattrs_loaded = !n->stored;
	n->loaded = 0;
	n->dirty = 0;
	n->cache_stale = 1;
	if (n->stored) {
		n->size = n->saved.size;
		n->mtime = n->saved.mtime;
		n->atime = n->saved.atime;
		n->mode = n->saved.mode;
	} else {
		n->size = 0;
		n->dirty = 1;	/* an empty file still to be stored */
	}
}

/* Open a file; the tree is held, for reading or writing. */
static int open_locked(struct ns *ns, struct caller *c, struct node *n,
		       int flags, struct ns_file **out, int *keep_cache)
{
	unsigned r = node_rights(ns, c, n);
	int rc = 0;

	if (!(r & ACL_R))
		rc = -ENOENT;
	else if (n->sub == AREA_LINK)
		rc = -ELOOP;
	else if (n->sub != AREA_FILE)
		rc = -EISDIR;
	else if (n->detached && !n->loaded && !(flags & O_TRUNC))
		/* Removed or replaced since the kernel looked it up, and
		 * its content went with its key (keep_for_open_files()
		 * keeps only small ones): the kernel walks the path again.
		 * With O_TRUNC, opening it before it went is what happened:
		 * it needs no content. */
		rc = stale_note(ns, n);
	else if (file_wants_write(flags) && !(r & ACL_W))
		rc = -EACCES;
	if (rc)
		return rc;
	pthread_mutex_lock(&n->mu);
	if (flags & O_TRUNC) {
		rc = buf_resize(&n->data, 0);
		if (rc) {
			pthread_mutex_unlock(&n->mu);
			return rc;
		}
		node_charge(ns, n, c->uid, n->data.alloc, 1);
		n->loaded = 1;
		n->dirty = 1;	/* an empty file too: its new mtime */
		n->size = 0;
		ns_now(&n->mtime);
		n->ctime = n->mtime;
	}
	rc = file_handle_new(n, c, flags, out);
	*keep_cache = !n->cache_stale;
	n->cache_stale = 0;
	pthread_mutex_unlock(&n->mu);
	return rc;
}

int area_open(struct ns *ns, struct caller *c, struct node *n, int flags,
	      struct ns_file **out, int *keep_cache)
{
	int rc;

	pthread_rwlock_rdlock(&ns->tree);
	rc = open_locked(ns, c, n, flags, out, keep_cache);
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

int area_check_dir_write(struct ns *ns, struct caller *c, struct node *parent)
{
	unsigned r = node_rights(ns, c, parent);

	if (!(r & ACL_R))
		return -ENOENT;
	if (!S_ISDIR(parent->mode))
		return -ENOTDIR;
	if (parent->ops != &area_prov)
		return r & ACL_W ? -EPERM : -EACCES;	/* the fixed tree */
	if (!(r & ACL_W))
		return -EACCES;
	return 0;
}

int area_check_new_name(struct node *parent, const char *name)
{
	char key[PATH_MAX];
	int rc = name_check(name);

	if (rc)
		return rc;
	rc = node_key(parent, key, sizeof(key));
	if (rc)
		return rc;
	if (strlen(key) - strlen(parent->vol->prefix) + strlen(name) >
	    PATH_MAX_BYTES)
		return -ENAMETOOLONG;
	return 0;
}

int area_create(struct ns *ns, struct caller *c, struct node *parent,
		const char *name, mode_t mode, int flags, struct node **out,
		struct stat *st, struct ns_file **fout)
{
	struct node *n;
	int rc, keep;

	pthread_rwlock_wrlock(&ns->tree);
	rc = area_check_dir_write(ns, c, parent);
	if (!rc)
		rc = area_check_new_name(parent, name);
	if (rc)
		goto out;
	n = node_child(ns, parent, name);
	if (n) {
		/* Raced with another creator: O_EXCL fails, else open what
		 * it made, under the same lock (with the lock let go, a
		 * remover could detach it first, and the open said
		 * ESTALE). */
		if (flags & O_EXCL) {
			rc = -EEXIST;
			goto out;
		}
		rc = open_locked(ns, c, n, flags, fout, &keep);
		if (!rc) {
			node_lookup_ref(ns, c, n, st);
			*out = n;
		}
		goto out;
	}
	n = node_new(ns, parent, name, &area_prov, AREA_FILE,
		     S_IFREG | (mode & 0777));
	if (!n) {
		rc = -ENOMEM;
		goto out;
	}
	n->uid = c->uid;
	n->gid = c->gid;
	n->loaded = 1;
	n->dirty = 1;
	n->nlookup = 1;
	parent->mtime = n->mtime;
	parent->ctime = n->mtime;
	rc = file_handle_new(n, c, flags, fout);
	if (rc) {
		n->nlookup = 0;
		node_detach(ns, n);
		goto out;
	}
	node_stat(ns, c, n, st);
	*out = n;
out:
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

/* Reads of a stored file whose content is not in memory go to the store
 * when they are large (or the reader's memory is full): reading never
 * needs the whole file in the daemon. */
#define AREA_LOAD_MAX ((uint64_t)1 << 20)

static int ts_le(struct timespec a, struct timespec b)
{
	return a.tv_sec < b.tv_sec ||
	       (a.tv_sec == b.tv_sec && a.tv_nsec <= b.tv_nsec);
}

/* A read moves atime as relatime does: when it is not newer than the last
 * change, or is a day old. It is stored with the next store of the file
 * (content or attributes), or at unmount, never by the read itself: a
 * read costs no write (and an atime moved just before a crash may be
 * lost, as the kernel's own may). n->mu held. */
static void area_touch_atime(struct node *n)
{
	struct timespec now;

	ns_now(&now);
	if (!ts_le(n->atime, n->mtime) && !ts_le(n->atime, n->ctime) &&
	    now.tv_sec - n->atime.tv_sec < 24 * 3600)
		return;
	n->atime = now;
	n->atime_dirty = 1;
}

ssize_t area_read(struct ns *ns, struct ns_file *f, char *dst, size_t size,
		  off_t off)
{
	struct node *n = f->node;
	char key[PATH_MAX];
	ssize_t rc;

	pthread_rwlock_rdlock(&ns->tree);
	pthread_mutex_lock(&n->mu);
	if (!n->loaded && n->stored && !n->detached && ns->blob->ops->read &&
	    !(rc = node_key(n, key, sizeof(key)))) {
		if (n->size <= AREA_LOAD_MAX &&
		    (rc = area_load_content(ns, n, f->uid, 0)) != -EDQUOT)
			goto loaded;
		if ((uint64_t)off >= n->size)
			rc = 0;
		else
			rc = ns->blob->ops->read(ns->blob, key, dst, size, off);
		goto out;
	}
	rc = area_load_content(ns, n, f->uid, 0);
loaded:
	if (!rc)
		rc = node_buf_read(n, dst, size, off);
out:
	if (rc >= 0)
		area_touch_atime(n);
	pthread_mutex_unlock(&n->mu);
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

ssize_t area_write(struct ns *ns, struct ns_file *f, const char *src,
		   size_t size, off_t off)
{
	struct node *n = f->node;
	ssize_t rc;

	pthread_rwlock_rdlock(&ns->tree);
	pthread_mutex_lock(&n->mu);
	rc = area_load_content(ns, n, f->uid, 0);
	if (!rc)
		rc = node_buf_write(ns, n, f->uid, src, size, off);
	pthread_mutex_unlock(&n->mu);
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

static int file_sync(struct ns *ns, struct ns_file *f, unsigned flags)
{
	struct node *n = f->node;
	char key[PATH_MAX];
	int rc = 0;

	pthread_rwlock_rdlock(&ns->tree);
	pthread_mutex_lock(&n->mu);
	if (n->detached) {
		rc = 0;	/* unlinked: nothing to keep */
	} else if (n->dirty) {
		int created = !n->stored;

		rc = area_store(ns, n, flags);
		if (!rc)
			area_note_node(ns, n, created ? HISTORY_CREATE :
					      HISTORY_WRITE,
				       f->opener ? f->opener->uid : f->uid);
	} else if ((flags & BLOB_SYNC) && n->stored &&
		   !(rc = node_key(n, key, sizeof(key)))) {
		rc = ns->blob->ops->sync(ns->blob, key);
	}
	pthread_mutex_unlock(&n->mu);
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

int area_flush(struct ns *ns, struct ns_file *f)
{
	return file_sync(ns, f, 0);
}

int area_fsync(struct ns *ns, struct ns_file *f)
{
	return file_sync(ns, f, BLOB_SYNC);
}

/* The tree is held for writing; n->opens is already counted down. */
void area_release(struct ns *ns, struct ns_file *f)
{
	struct node *n = f->node;

	(void)ns;
	if (n->opens || n->detached)
		return;
	if (n->dirty) {
		/* The flush failed and close() said so. */
		char esc[128];

		log_warn("'%s': changes that could not be stored are "
			 "dropped; the stored content stays",
			 log_escape(esc, sizeof(esc), n->name));
		file_revert(ns, n);
	} else {
		node_data_release(ns, n);
		n->loaded = 0;
	}
}

/* Whatever is still dirty at unmount is stored, synced. */
void area_unmount(struct ns *ns, struct node *n)
{
	int created = !n->stored;
	struct blob_meta m;
	char key[PATH_MAX];

	if (n->sub == AREA_FILE && !n->dirty && n->atime_dirty && n->stored &&
	    !n->detached && !node_key(n, key, sizeof(key))) {
		node_meta(n, &m);	/* atimes moved by reads */
		if (ns->blob->ops->setmeta(ns->blob, key, &m) == 0)
			n->atime_dirty = 0;
	}
	if (n->sub != AREA_FILE || !n->dirty)
		return;
	if (area_store(ns, n, BLOB_SYNC)) {
		char esc[128];

		log_err("could not store '%s' at exit",
			log_escape(esc, sizeof(esc), n->name));
		return;
	}
	area_note_node(ns, n, created ? HISTORY_CREATE : HISTORY_WRITE,
		       n->charged ? n->charge_uid : n->uid);
}

/* A folder's mtime is the namespace's: write it to the store after each
 * change of its entries (the store's own folder times follow its own
 * renames). */
void area_dir_store_meta(struct ns *ns, struct node *dir)
{
	struct blob_meta m;
	char key[PATH_MAX];
	int rc;

	if (dir->ops != &area_prov || !S_ISDIR(dir->mode))
		return;
	if (node_key(dir, key, sizeof(key)))
		return;
	node_meta(dir, &m);
	rc = ns->blob->ops->setmeta(ns->blob, key, &m);
	if (rc && rc != -ENOENT) {
		char esc[128];

		log_warn("could not store the times of '%s': %s",
			 log_escape(esc, sizeof(esc), dir->name), strerror(-rc));
	}
}

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

int area_node_content(struct ns *ns, struct caller *c, struct node *n,
		      struct buf *out)
{
	char key[PATH_MAX];
	int rc = 0;

	if (!n || n->ops != &area_prov || n->sub != AREA_FILE ||
	    !(node_rights(ns, c, n) & ACL_R))
		return -ENOENT;
	pthread_mutex_lock(&n->mu);
	if (n->loaded)
		rc = buf_append(out, n->data.data, n->data.len);
	else if (!n->stored)
		rc = 0;
	else if (!(rc = node_key(n, key, sizeof(key))))
		rc = ns->blob->ops->get(ns->blob, key, out);
	pthread_mutex_unlock(&n->mu);
	return rc;
}

int area_file_content(struct ns *ns, struct caller *c, const char *path,
		      struct buf *out)
{
	int rc;

	pthread_rwlock_rdlock(&ns->tree);
	rc = area_node_content(ns, c, node_at(ns, path), out);
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

const struct prov_ops area_prov = {
	.name = "area",
	.create = area_create,
	.symlink = area_symlink,
	.readlink = area_readlink,
	.mkdir = area_mkdir,
	.unlink = area_unlink,
	.rmdir = area_rmdir,
	.rename = area_rename,
	.setattr = area_setattr,
	.open = area_open,
	.setxattr = area_setxattr,
	.getxattr = area_getxattr,
	.listxattr = area_listxattr,
	.removexattr = area_removexattr,
	.volume_load = area_volume_load,
	.unmount = area_unmount,
	.read = area_read,
	.write = area_write,
	.flush = area_flush,
	.fsync = area_fsync,
	.release = area_release,
};
