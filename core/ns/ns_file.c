/* core/ns/ns_file.c: open files: content in memory while open, written back
 * to the store on flush (close) and fsync. */
#include "core/util/log.h"
#include "core/util/name.h"
#include "core/ns/ns_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Callers hold n->mu (or the tree for writing). */
int file_load(struct ns *ns, struct node *n)
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
		rc = ns->blob->ops->get(ns->blob, key, &n->data);
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

int xattrs_load(struct ns *ns, struct node *n)
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
int file_store(struct ns *ns, struct node *n, unsigned flags)
{
	struct blob_meta m;
	char key[PATH_MAX];
	int rc;

	rc = node_key(n, key, sizeof(key));
	if (!rc)
		rc = file_load(ns, n);
	if (!rc)
		rc = xattrs_load(ns, n);
	if (rc)
		return rc;
	node_meta(n, &m);
	rc = ns->blob->ops->put(ns->blob, key, n->data.data, n->data.len, &m,
				&n->xattrs, flags);
	if (rc)
		return rc;
	n->dirty = 0;
	n->stored = 1;
	n->saved = m;
	if (n->parent && !n->detached) {
		/* The put renamed into the folder: its time is ours. */
		pthread_mutex_lock(&n->parent->mu);
		dir_store_meta(ns, n->parent);
		pthread_mutex_unlock(&n->parent->mu);
	}
	return 0;
}

/* Forget unstored changes: the store's content is the truth again. */
static void file_revert(struct node *n)
{
	buf_release(&n->data);
	blob_xattrs_release(&n->xattrs);
	n->xattrs_loaded = !n->stored;
	n->loaded = 0;
	n->dirty = 0;
	n->cache_stale = 1;
	if (n->stored) {
		n->size = n->saved.size;
		n->mtime = n->saved.mtime;
		n->mode = n->saved.mode;
	} else {
		n->size = 0;
		n->dirty = 1;	/* an empty file still to be stored */
	}
}

int file_wants_write(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

int file_handle_new(struct node *n, struct caller *c, int flags,
		    struct ns_file **out)
{
	struct ns_file *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	if (file_wants_write(flags)) {
		f->opener = malloc(sizeof(*f->opener));
		if (!f->opener) {
			free(f);
			return -ENOMEM;
		}
		acl_caller_keep(f->opener, c);
	}
	f->node = n;
	f->flags = flags;
	n->opens++;
	__atomic_add_fetch(&n->pins, 1, __ATOMIC_SEQ_CST);
	*out = f;
	return 0;
}

/* A catalog is made for the caller when opened; reads see that snapshot.
 * The tree is held for reading. */
static int open_catalog(struct ns *ns, struct caller *c, struct node *n,
			int flags, struct ns_file **out)
{
	struct buf *b;
	int rc;

	if (file_wants_write(flags))
		return -EACCES;
	b = malloc(sizeof(*b));
	if (!b)
		return -ENOMEM;
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
		return rc;
	}
	(*out)->snap = b;
	return 0;
}

int ns_file_is_synthetic(const struct ns_file *f)
{
	return f->snap != NULL || (run_kind(f->node) &&
				    f->node->kind != NK_RUNGRAPH);
}

/* Open a file of an area or a graph being written; the tree is held, for
 * reading or writing. */
static int open_locked(struct ns *ns, struct caller *c, struct node *n,
		       int flags, struct ns_file **out, int *keep_cache)
{
	unsigned r = node_rights(ns, c, n);
	int rc = 0;

	if (!(r & ACL_R))
		rc = -ENOENT;
	else if (n->kind != NK_FILE && n->kind != NK_RUNGRAPH)
		rc = -EISDIR;
	else if (n->detached && n->kind == NK_RUNGRAPH)
		rc = -ESTALE;	/* submitted since the kernel looked it up:
				 * it walks the path again */
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
	if (n->kind == NK_RUNGRAPH && file_wants_write(flags) &&
	    (rc = run_graph_writer(n, c))) {
		pthread_mutex_unlock(&n->mu);
		return rc;
	}
	if (flags & O_TRUNC) {
		rc = buf_resize(&n->data, 0);
		if (rc) {
			pthread_mutex_unlock(&n->mu);
			return rc;
		}
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

int ns_open(struct ns *ns, struct caller *c, struct node *n, int flags,
	    struct ns_file **out, int *keep_cache)
{
	int rc;

	if (run_kind(n) && n->kind != NK_RUNGRAPH) {
		*keep_cache = 0;
		return run_open(ns, c, n, flags, out);
	}
	pthread_rwlock_rdlock(&ns->tree);
	if (n->kind == NK_CATALOG && (node_rights(ns, c, n) & ACL_R)) {
		*keep_cache = 0;
		rc = open_catalog(ns, c, n, flags, out);
	} else {
		rc = open_locked(ns, c, n, flags, out, keep_cache);
	}
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

/* Checks shared by everything that adds or removes a name in `parent`.
 * Returns 0 when the caller may change the folder. */
int ns_check_dir_write(struct ns *ns, struct caller *c, struct node *parent)
{
	unsigned r = node_rights(ns, c, parent);

	if (!(r & ACL_R))
		return -ENOENT;
	if (!S_ISDIR(parent->mode))
		return -ENOTDIR;
	if (parent->kind != NK_AREA && parent->kind != NK_DIR)
		return r & ACL_W ? -EPERM : -EACCES;	/* the fixed tree */
	if (!(r & ACL_W))
		return -EACCES;
	return 0;
}

/* A new name in `parent`: valid, and its key not too long. */
int ns_check_new_name(struct node *parent, const char *name)
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

int ns_create(struct ns *ns, struct caller *c, struct node *parent,
	      const char *name, mode_t mode, int flags, struct node **out,
	      struct stat *st, struct ns_file **fout)
{
	struct node *n;
	int rc, keep;

	if (run_kind(parent))
		return run_create(ns, c, parent, name, mode, flags, out, st,
				  fout);
	pthread_rwlock_wrlock(&ns->tree);
	rc = ns_check_dir_write(ns, c, parent);
	if (!rc)
		rc = ns_check_new_name(parent, name);
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
	n = node_new(ns, parent, name, NK_FILE, S_IFREG | (mode & 0777));
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

ssize_t ns_read(struct ns *ns, struct ns_file *f, char *dst, size_t size,
		off_t off)
{
	struct node *n = f->node;
	ssize_t rc;

	if (off < 0)
		return -EINVAL;
	if (run_kind(n) && n->kind != NK_RUNGRAPH)
		return run_read(ns, f, dst, size, off);
	if (f->snap) {
		if ((uint64_t)off >= f->snap->len)
			return 0;
		if (size > f->snap->len - (size_t)off)
			size = f->snap->len - (size_t)off;
		memcpy(dst, f->snap->data + off, size);
		return (ssize_t)size;
	}
	pthread_rwlock_rdlock(&ns->tree);
	pthread_mutex_lock(&n->mu);
	rc = file_load(ns, n);
	if (!rc) {
		size_t len = n->data.len;

		if ((uint64_t)off >= len) {
			rc = 0;
		} else {
			if (size > len - (size_t)off)
				size = len - (size_t)off;
			memcpy(dst, n->data.data + off, size);
			rc = (ssize_t)size;
		}
	}
	pthread_mutex_unlock(&n->mu);
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

ssize_t ns_write(struct ns *ns, struct ns_file *f, const char *src,
		 size_t size, off_t off)
{
	struct node *n = f->node;
	ssize_t rc;

	if (off < 0)
		return -EINVAL;
	if (run_kind(n) && n->kind != NK_RUNGRAPH)
		return run_write(ns, f, src, size, off);
	if ((uint64_t)off > ns->cfg->max_file_size ||
	    size > ns->cfg->max_file_size - (uint64_t)off)
		return -EFBIG;
	pthread_rwlock_rdlock(&ns->tree);
	pthread_mutex_lock(&n->mu);
	rc = file_load(ns, n);
	if (!rc)
		rc = buf_pwrite(&n->data, src, size, (size_t)off);
	if (!rc) {
		n->size = n->data.len;
		n->dirty = 1;
		ns_now(&n->mtime);
		n->ctime = n->mtime;
		rc = (ssize_t)size;
	}
	pthread_mutex_unlock(&n->mu);
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

static int file_sync(struct ns *ns, struct ns_file *f, unsigned flags)
{
	struct node *n = f->node;
	char key[PATH_MAX];
	int rc = 0;

	if (f->snap || run_kind(n))
		return 0;	/* nothing to store: a graph is run at flush */
	pthread_rwlock_rdlock(&ns->tree);
	pthread_mutex_lock(&n->mu);
	if (n->detached)
		rc = 0;	/* unlinked: nothing to keep */
	else if (n->dirty)
		rc = file_store(ns, n, flags);
	else if ((flags & BLOB_SYNC) && n->stored &&
		 !(rc = node_key(n, key, sizeof(key))))
		rc = ns->blob->ops->sync(ns->blob, key);
	pthread_mutex_unlock(&n->mu);
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

int ns_flush(struct ns *ns, struct ns_file *f)
{
	if (f->node->kind == NK_RUNGRAPH)
		return run_flush(ns, f);
	return file_sync(ns, f, 0);
}

int ns_fsync(struct ns *ns, struct ns_file *f)
{
	return file_sync(ns, f, BLOB_SYNC);
}

void ns_release(struct ns *ns, struct ns_file *f)
{
	struct node *n = f->node;

	pthread_rwlock_wrlock(&ns->tree);
	if (--n->opens == 0 && n->kind == NK_RUNGRAPH) {
		if (!n->detached)	/* closed empty: not a graph */
			node_detach(ns, n);
	} else if (n->opens == 0) {
		if (n->dirty && !n->detached) {
			/* The flush failed and close() said so. */
			char esc[128];

			log_warn("'%s': changes that could not be stored are "
				 "dropped; the stored content stays",
				 log_escape(esc, sizeof(esc), n->name));
			file_revert(n);
		} else if (!n->detached) {
			buf_release(&n->data);
			n->loaded = 0;
		}
	}
	__atomic_sub_fetch(&n->pins, 1, __ATOMIC_SEQ_CST);
	node_maybe_free(ns, n);
	pthread_rwlock_unlock(&ns->tree);
	if (f->snap) {
		buf_release(f->snap);
		free(f->snap);
	}
	free(f->path);
	free(f->run_name);
	free(f->opener);
	free(f);
}
