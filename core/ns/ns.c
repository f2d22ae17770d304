/* core/ns/ns.c: the namespace's entry points (ns.h): each request goes to
 * the provider of the node, or of the folder, it is about (prov.h); what
 * a provider leaves out is answered here, by the defaults DESIGN.md gives.
 * No provider's own behaviour lives in this file. */
#include "core/ns/prov.h"
#include "core/store/blob.h"
#include "core/util/name.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --- for the providers ------------------------------------------------- */

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
	f->uid = c->uid;
	n->opens++;
	__atomic_add_fetch(&n->pins, 1, __ATOMIC_SEQ_CST);
	*out = f;
	return 0;
}

ssize_t node_buf_read(struct node *n, char *dst, size_t size, off_t off)
{
	size_t len = n->data.len;

	if ((uint64_t)off >= len)
		return 0;
	if (size > len - (size_t)off)
		size = len - (size_t)off;
	memcpy(dst, n->data.data + off, size);
	return (ssize_t)size;
}

ssize_t node_buf_write(struct ns *ns, struct node *n, uid_t uid,
		       const char *src, size_t size, off_t off)
{
	size_t end;
	int rc;

	if ((uint64_t)off > ns->cfg->max_file_size ||
	    size > ns->cfg->max_file_size - (uint64_t)off)
		return -EFBIG;
	end = (size_t)off + size;
	if (end > n->data.alloc &&
	    (rc = node_charge(ns, n, uid, end + 1, 0)))
		return rc;
	rc = buf_pwrite(&n->data, src, size, (size_t)off);
	node_charge(ns, n, uid, n->data.alloc, 1);
	if (rc)
		return rc;
	n->size = n->data.len;
	n->dirty = 1;
	ns_now(&n->mtime);
	n->ctime = n->mtime;
	return (ssize_t)size;
}

ssize_t ns_snap_read(struct ns *ns, struct ns_file *f, char *dst,
		     size_t size, off_t off)
{
	(void)ns;
	if (!f->snap || (uint64_t)off >= f->snap->len)
		return 0;
	if (size > f->snap->len - (size_t)off)
		size = f->snap->len - (size_t)off;
	memcpy(dst, f->snap->data + off, size);
	return (ssize_t)size;
}

void ns_snap_set(struct ns_file *f, struct buf *b)
{
	f->snap = b;
}

int ns_refuse(struct ns *ns, struct caller *c, struct node *n, int dir)
{
	unsigned r;
	int rc;

	pthread_rwlock_rdlock(&ns->tree);
	r = node_rights(ns, c, n);
	if (!(r & ACL_R))
		rc = -ENOENT;
	else if (dir && !S_ISDIR(n->mode))
		rc = -ENOTDIR;
	else if (n->ops->flags & PROV_RDONLY)
		rc = -EROFS;
	else
		rc = r & ACL_W ? -EPERM : -EACCES;
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

int ns_refuse_new(struct ns *ns, struct caller *c, struct node *dir,
		  const char *name)
{
	struct node *n;
	int rc = 0;

	pthread_rwlock_rdlock(&ns->tree);
	if (node_visible(ns, c, dir) && S_ISDIR(dir->mode) &&
	    (n = node_child(ns, dir, name)) && node_visible(ns, c, n))
		rc = -EEXIST;
	pthread_rwlock_unlock(&ns->tree);
	return rc ? rc : ns_refuse(ns, c, dir, 1);
}

/* --- the namespace ------------------------------------------------------- */

int ns_new(struct ns **out, const struct config *cfg, struct ident *id,
	   struct blob *blob)
{
	pthread_rwlockattr_t attr;
	struct ns *ns = calloc(1, sizeof(*ns));
	int rc;

	if (!ns)
		return -ENOMEM;
	ns->cfg = cfg;
	ns->id = id;
	ns->blob = blob;
	ns->next_ino = 1;
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
			PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&ns->tree, &attr);
	pthread_rwlockattr_destroy(&attr);
	pthread_mutex_init(&ns->charge_mu, NULL);
	pthread_mutex_init(&ns->stale_mu, NULL);
	ns->table_size = 1024;
	ns->table = calloc(ns->table_size, sizeof(*ns->table));
	rc = ns->table ? fixed_mount(ns) : -ENOMEM;
	if (rc) {
		ns_free(ns);
		return rc;
	}
	*out = ns;
	return 0;
}

void ns_set_engine(struct ns *ns, struct engine *e)
{
	ns->engine = e;
}

void ns_set_history(struct ns *ns, struct history *h)
{
	ns->history = h;
}

static void unmount_subtree(struct ns *ns, struct node *n)
{
	for (struct node *c = n->child; c; c = c->next)
		unmount_subtree(ns, c);
	if (n->ops->unmount)
		n->ops->unmount(ns, n);
}

static void free_subtree(struct ns *ns, struct node *n)
{
	while (n->child) {
		struct node *c = n->child;

		n->child = c->next;
		free_subtree(ns, c);
	}
	node_destroy(ns, n);
}

void ns_free(struct ns *ns)
{
	if (!ns)
		return;
	if (ns->root) {
		unmount_subtree(ns, ns->root);
		free_subtree(ns, ns->root);
	}
	while (ns->limbo) {
		struct node *n = ns->limbo;

		ns->limbo = n->next;
		node_destroy(ns, n);
	}
	pthread_rwlock_destroy(&ns->tree);
	pthread_mutex_destroy(&ns->charge_mu);
	pthread_mutex_destroy(&ns->stale_mu);
	free(ns->charges);
	free(ns->table);
	free(ns);
}

struct node *ns_root(struct ns *ns)
{
	return ns->root;
}

/* --- names --------------------------------------------------------------- */

/* How long a stale name marks the nodes looked up under it. The kernel's
 * retry follows its ESTALE at once; this only bounds what marking costs
 * (a content read when such a node is removed while the kernel knows it). */
#define STALE_TTL_S 60
#define STALE_NAMES (sizeof(((struct ns *)0)->stale) / \
		     sizeof(((struct ns *)0)->stale[0]))

static time_t mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec;
}

static uint64_t name_hash(const char *name)
{
	uint64_t h = 1469598103934665603ULL;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h;
}

int stale_note(struct ns *ns, const struct node *n)
{
	time_t until = mono_s() + STALE_TTL_S;
	struct stale_name *s;

	pthread_mutex_lock(&ns->stale_mu);
	s = &ns->stale[ns->stale_next++ % STALE_NAMES];
	s->parent = n->parent;
	s->hash = name_hash(n->name);
	s->until = until;
	__atomic_store_n(&ns->stale_until, until, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&ns->stale_mu);
	return -ESTALE;
}

/* Whether an open of (parent, name) was answered ESTALE lately. */
static int stale_noted(struct ns *ns, const struct node *parent,
		       const char *name)
{
	time_t now = mono_s();
	uint64_t h;
	int found = 0;

	if (__atomic_load_n(&ns->stale_until, __ATOMIC_SEQ_CST) < now)
		return 0;	/* none for a while: the usual case */
	h = name_hash(name);
	pthread_mutex_lock(&ns->stale_mu);
	for (size_t i = 0; i < STALE_NAMES && !found; i++)
		found = ns->stale[i].parent == parent &&
			ns->stale[i].hash == h && ns->stale[i].until >= now;
	pthread_mutex_unlock(&ns->stale_mu);
	return found;
}

int ns_lookup_default(struct ns *ns, struct caller *c, struct node *dir,
		      const char *name, struct node **out, struct stat *st)
{
	struct node *n;
	int rc = 0;

	pthread_rwlock_rdlock(&ns->tree);
	if (!S_ISDIR(dir->mode))
		rc = -ENOTDIR;
	else if (!node_visible(ns, c, dir))
		rc = -ENOENT;
	else if (!(n = node_child(ns, dir, name)) || !node_visible(ns, c, n))
		rc = -ENOENT;
	if (!rc) {
		node_lookup_ref(ns, c, n, st);
		if (stale_noted(ns, dir, name)) {
			pthread_mutex_lock(&n->mu);
			n->keep_late = 1;
			pthread_mutex_unlock(&n->mu);
		}
		*out = n;
	}
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

int ns_lookup(struct ns *ns, struct caller *c, struct node *parent,
	      const char *name, struct node **out, struct stat *st)
{
	if (strlen(name) > NAME_MAX_BYTES)
		return -ENAMETOOLONG;
	if (parent->ops->lookup)
		return parent->ops->lookup(ns, c, parent, name, out, st);
	return ns_lookup_default(ns, c, parent, name, out, st);
}

void ns_forget(struct ns *ns, struct node *n, uint64_t nlookup)
{
	if (n == ns->root)
		return;
	pthread_rwlock_wrlock(&ns->tree);
	if (n->nlookup < nlookup)
		n->nlookup = 0;
	else
		n->nlookup -= nlookup;
	node_maybe_free(ns, n);
	pthread_rwlock_unlock(&ns->tree);
}

int ns_name_cacheable(struct ns *ns, const struct node *n)
{
	(void)ns;
	if (n->ops->cacheable)
		return n->ops->cacheable(n);
	return !(n->ops->flags & PROV_NOCACHE);
}

int ns_getattr(struct ns *ns, struct caller *c, struct node *n,
	       struct stat *st)
{
	int rc = 0;

	pthread_rwlock_rdlock(&ns->tree);
	if (node_visible(ns, c, n))
		node_stat(ns, c, n, st);
	else
		rc = -ENOENT;
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

int ns_access(struct ns *ns, struct caller *c, struct node *n, int mask)
{
	unsigned r;
	int rc = 0;

	pthread_rwlock_rdlock(&ns->tree);
	r = node_rights(ns, c, n);
	if (!(r & ACL_R))
		rc = -ENOENT;
	else if ((mask & W_OK) && !(r & ACL_W))
		rc = -EACCES;
	else if ((mask & X_OK) && !S_ISDIR(n->mode) && !(n->mode & 0111))
		rc = -EACCES;
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

int ns_setattr(struct ns *ns, struct caller *c, struct node *n,
	       struct ns_file *f, const struct stat *want, unsigned what,
	       struct stat *st)
{
	if (n->ops->setattr)
		return n->ops->setattr(ns, c, n, f, want, what, st);
	return ns_refuse(ns, c, n, 0);
}

int ns_mkdir(struct ns *ns, struct caller *c, struct node *parent,
	     const char *name, mode_t mode, struct node **out,
	     struct stat *st)
{
	if (parent->ops->mkdir)
		return parent->ops->mkdir(ns, c, parent, name, mode, out, st);
	return ns_refuse_new(ns, c, parent, name);
}

int ns_symlink(struct ns *ns, struct caller *c, struct node *parent,
	       const char *name, const char *target, struct node **out,
	       struct stat *st)
{
	if (strlen(name) > NAME_MAX_BYTES)
		return -ENAMETOOLONG;
	if (parent->ops->symlink)
		return parent->ops->symlink(ns, c, parent, name, target, out,
					    st);
	return ns_refuse_new(ns, c, parent, name);
}

ssize_t ns_readlink(struct ns *ns, struct caller *c, struct node *n,
		    char *buf, size_t size)
{
	ssize_t rc;

	if (n->ops->readlink)
		return n->ops->readlink(ns, c, n, buf, size);
	pthread_rwlock_rdlock(&ns->tree);
	rc = node_visible(ns, c, n) ? -EINVAL : -ENOENT;
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

/* A regular file is made as create() makes it, and stored at once (so
 * tar --xattrs, which makes files with mknodat, works); FIFOs, sockets
 * and devices have no place in the tree. */
int ns_mknod(struct ns *ns, struct caller *c, struct node *parent,
	     const char *name, mode_t mode, struct node **out,
	     struct stat *st)
{
	struct ns_file *f;
	int rc;

	if (strlen(name) > NAME_MAX_BYTES)
		return -ENAMETOOLONG;
	if (!S_ISREG(mode) || !parent->ops->create)
		return ns_refuse_new(ns, c, parent, name);
	rc = parent->ops->create(ns, c, parent, name, mode,
				 O_WRONLY | O_CREAT | O_EXCL, out, st, &f);
	if (rc)
		return rc;
	rc = ns_flush(ns, f);
	ns_release(ns, f);
	if (rc) {
		ns_forget(ns, *out, 1);
		ns_unlink(ns, c, parent, name);
	}
	return rc;
}

/* Hard links: no store here can hold two names for one content honestly
 * (an object store has no links), so none are made. */
int ns_link(struct ns *ns, struct caller *c, struct node *n,
	    struct node *newparent, const char *newname)
{
	(void)n;
	return ns_refuse_new(ns, c, newparent, newname);
}

int ns_unlink(struct ns *ns, struct caller *c, struct node *parent,
	      const char *name)
{
	if (parent->ops->unlink)
		return parent->ops->unlink(ns, c, parent, name);
	return ns_refuse(ns, c, parent, 1);
}

int ns_rmdir(struct ns *ns, struct caller *c, struct node *parent,
	     const char *name)
{
	if (parent->ops->rmdir)
		return parent->ops->rmdir(ns, c, parent, name);
	return ns_refuse(ns, c, parent, 1);
}

/* Across providers a rename is EXDEV (mv then copies: a graph moved into
 * run/ is written there, and runs); where either folder takes no renames
 * at all, its refusal. */
int ns_rename(struct ns *ns, struct caller *c, struct node *parent,
	      const char *name, struct node *newparent, const char *newname,
	      unsigned flags)
{
	if (flags & ~(unsigned)RENAME_NOREPLACE)
		return -EINVAL;
	if (!parent->ops->rename)
		return ns_refuse(ns, c, parent, 1);
	if (parent->ops != newparent->ops)
		return newparent->ops->rename ? -EXDEV :
		       ns_refuse(ns, c, newparent, 1);
	return parent->ops->rename(ns, c, parent, name, newparent, newname,
				   flags);
}

/* --- open files ------------------------------------------------------------ */

int ns_open(struct ns *ns, struct caller *c, struct node *n, int flags,
	    struct ns_file **out, int *keep_cache)
{
	int rc;

	*keep_cache = 0;
	if (n->ops->open)
		return n->ops->open(ns, c, n, flags, out, keep_cache);
	pthread_rwlock_rdlock(&ns->tree);
	if (!node_visible(ns, c, n))
		rc = -ENOENT;
	else
		rc = S_ISDIR(n->mode) ? -EISDIR : -EACCES;
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

int ns_file_is_synthetic(const struct ns_file *f)
{
	const struct prov_ops *ops = f->node->ops;

	return ops->direct_io ? ops->direct_io(f) : 0;
}

int ns_create(struct ns *ns, struct caller *c, struct node *parent,
	      const char *name, mode_t mode, int flags, struct node **out,
	      struct stat *st, struct ns_file **fout)
{
	if (parent->ops->create)
		return parent->ops->create(ns, c, parent, name, mode, flags,
					   out, st, fout);
	return ns_refuse(ns, c, parent, 1);
}

ssize_t ns_read(struct ns *ns, struct ns_file *f, char *dst, size_t size,
		off_t off)
{
	if (off < 0)
		return -EINVAL;
	if (f->node->ops->read)
		return f->node->ops->read(ns, f, dst, size, off);
	return -EBADF;
}

ssize_t ns_write(struct ns *ns, struct ns_file *f, const char *src,
		 size_t size, off_t off)
{
	if (off < 0)
		return -EINVAL;
	if (f->node->ops->write)
		return f->node->ops->write(ns, f, src, size, off);
	return -EBADF;
}

int ns_flush(struct ns *ns, struct ns_file *f)
{
	return f->node->ops->flush ? f->node->ops->flush(ns, f) : 0;
}

int ns_fsync(struct ns *ns, struct ns_file *f)
{
	return f->node->ops->fsync ? f->node->ops->fsync(ns, f) : 0;
}

void ns_release(struct ns *ns, struct ns_file *f)
{
	struct node *n = f->node;

	pthread_rwlock_wrlock(&ns->tree);
	n->opens--;
	if (n->ops->release)
		n->ops->release(ns, f);
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

/* --- listings ------------------------------------------------------------ */

static int dir_add(struct ns_dir *d, size_t *alloc, const char *name,
		   struct node *n)
{
	struct ns_dirent *e;

	if (d->n == *alloc) {
		size_t k = *alloc ? *alloc * 2 : 16;

		e = realloc(d->e, k * sizeof(*e));
		if (!e)
			return -ENOMEM;
		d->e = e;
		*alloc = k;
	}
	e = &d->e[d->n];
	e->name = strdup(name);
	if (!e->name)
		return -ENOMEM;
	e->node = n;
	e->type = n->mode & S_IFMT;
	e->ino = n->ino;
	__atomic_add_fetch(&n->pins, 1, __ATOMIC_SEQ_CST);
	d->n++;
	return 0;
}

/* A child the caller might not see although it sees the folder: one of
 * another volume, or of another privacy (run/ in a volume a teammate
 * reads). */
static int may_differ(const struct node *dir, const struct node *ch)
{
	return ch->vol != dir->vol ||
	       ((ch->ops->flags ^ dir->ops->flags) & PROV_PRIVATE);
}

struct list_arg {
	struct ns_dir *d;
	size_t *alloc;
};

static int list_add(void *arg, struct node *child)
{
	struct list_arg *a = arg;

	return dir_add(a->d, a->alloc, child->name, child);
}

int ns_opendir(struct ns *ns, struct caller *c, struct node *n,
	       struct ns_dir **out)
{
	struct ns_dir *d;
	size_t alloc = 0;
	int rc = 0;

	if (n->ops->sync && (rc = n->ops->sync(ns, c, n)))
		return rc;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	pthread_rwlock_rdlock(&ns->tree);
	if (!node_visible(ns, c, n)) {
		rc = -ENOENT;
		goto out;
	}
	if (!S_ISDIR(n->mode)) {
		rc = -ENOTDIR;
		goto out;
	}
	d->dir = n;
	rc = dir_add(d, &alloc, ".", n);
	if (!rc)
		rc = dir_add(d, &alloc, "..", n->parent ? n->parent : n);
	if (!rc && n->ops->list) {
		struct list_arg a = { d, &alloc };

		rc = n->ops->list(ns, c, n, list_add, &a);
	} else {
		for (struct node *ch = n->child; ch && !rc; ch = ch->next)
			if (!may_differ(n, ch) || node_visible(ns, c, ch))
				rc = dir_add(d, &alloc, ch->name, ch);
	}
out:
	pthread_rwlock_unlock(&ns->tree);
	if (rc) {
		ns_releasedir(ns, d);
		return rc;
	}
	*out = d;
	return 0;
}

int ns_dirent_lookup(struct ns *ns, struct caller *c, struct ns_dir *d,
		     struct ns_dirent *e, struct stat *st)
{
	int rc = 0;

	pthread_rwlock_rdlock(&ns->tree);
	if (e->node->detached || e->node->parent != d->dir ||
	    strcmp(e->node->name, e->name) != 0) {
		rc = -ENOENT;
	} else {
		node_lookup_ref(ns, c, e->node, st);
	}
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

void ns_releasedir(struct ns *ns, struct ns_dir *d)
{
	pthread_rwlock_wrlock(&ns->tree);
	for (size_t i = 0; i < d->n; i++) {
		__atomic_sub_fetch(&d->e[i].node->pins, 1, __ATOMIC_SEQ_CST);
		node_maybe_free(ns, d->e[i].node);
		free(d->e[i].name);
	}
	pthread_rwlock_unlock(&ns->tree);
	free(d->e);
	free(d);
}

int ns_statfs(struct ns *ns, struct statvfs *out)
{
	int rc = ns->blob->ops->statfs(ns->blob, out);

	out->f_namemax = NAME_MAX_BYTES;
	return rc;
}

/* --- extended attributes --------------------------------------------------- */

/* The store's own names (blob.h), set or read by nobody. */
static int xattr_store_own(const char *name)
{
	return strncmp(name, BLOB_XATTR_RESERVED,
		       sizeof(BLOB_XATTR_RESERVED) - 1) == 0;
}

/* Only user.*, at most 255 bytes, not just "user.". */
static int xattr_name_ok(const char *name)
{
	if (strncmp(name, "user.", 5) != 0)
		return -EOPNOTSUPP;
	if (strlen(name) > 255)
		return -ERANGE;
	if (name[5] == '\0')
		return -EINVAL;
	return 0;
}

int ns_setxattr(struct ns *ns, struct caller *c, struct node *n,
		const char *name, const char *value, size_t size, int flags)
{
	int rc = xattr_name_ok(name);

	if (rc)
		return rc;
	if (xattr_store_own(name))
		return -EPERM;
	if (n->ops->setxattr)
		return n->ops->setxattr(ns, c, n, name, value, size, flags);
	return ns_refuse(ns, c, n, 0);
}

ssize_t ns_getxattr(struct ns *ns, struct caller *c, struct node *n,
		    const char *name, char *value, size_t size)
{
	ssize_t rc = xattr_name_ok(name);

	if (rc == -EOPNOTSUPP || rc == -EINVAL)
		return -ENODATA;
	if (rc)
		return rc;
	if (n->ops->getxattr && !xattr_store_own(name))
		return n->ops->getxattr(ns, c, n, name, value, size);
	pthread_rwlock_rdlock(&ns->tree);
	rc = node_visible(ns, c, n) ? -ENODATA : -ENOENT;
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

ssize_t ns_listxattr(struct ns *ns, struct caller *c, struct node *n,
		     char *list, size_t size)
{
	ssize_t rc;

	if (n->ops->listxattr)
		return n->ops->listxattr(ns, c, n, list, size);
	(void)list;
	(void)size;
	pthread_rwlock_rdlock(&ns->tree);
	rc = node_visible(ns, c, n) ? 0 : -ENOENT;
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

int ns_removexattr(struct ns *ns, struct caller *c, struct node *n,
		   const char *name)
{
	int rc = xattr_name_ok(name);

	if (rc)
		return rc == -EOPNOTSUPP ? -ENODATA : rc;
	if (xattr_store_own(name))
		return -EPERM;
	if (n->ops->removexattr)
		return n->ops->removexattr(ns, c, n, name);
	return ns_refuse(ns, c, n, 0);
}
