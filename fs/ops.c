/* fs/ops.c: one handler per low-level request, each a translation:
 * inode numbers to nodes, FUSE flags to namespace calls, results to
 * replies. Inode numbers are node addresses (the root is FUSE_ROOT_ID);
 * a node lives while the kernel holds a reference (ns_forget). */
#include "fs/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static struct node *node_of(fuse_req_t req, fuse_ino_t ino)
{
	if (ino == FUSE_ROOT_ID)
		return ns_root(fs_of(req)->ns);
	return (struct node *)(uintptr_t)ino;
}

static fuse_ino_t ino_of(struct fs *fs, struct node *n)
{
	return n == ns_root(fs->ns) ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)n;
}

static struct ns_file *file_of(struct fuse_file_info *fi)
{
	return fi ? (struct ns_file *)(uintptr_t)fi->fh : NULL;
}

static double entry_timeout(struct fs *fs, struct node *n)
{
	return ns_name_cacheable(fs->ns, n) ? fs->cfg->entry_timeout : 0;
}

static void reply_entry(fuse_req_t req, struct node *n, const struct stat *st)
{
	struct fs *fs = fs_of(req);
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	e.ino = ino_of(fs, n);
	e.attr = *st;
	e.attr_timeout = fs->cfg->attr_timeout;
	e.entry_timeout = entry_timeout(fs, n);
	if (fuse_reply_entry(req, &e) == -ENOENT)
		ns_forget(fs->ns, n, 1);	/* interrupted: undo */
}

static void fs_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	conn->want &= ~(unsigned)FUSE_CAP_READDIRPLUS_AUTO;
	conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
}

static void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct caller c;
	struct node *n;
	struct stat st;
	int rc;

	fs_caller(req, &c);
	rc = ns_lookup(fs_of(req)->ns, &c, node_of(req, parent), name, &n,
		       &st);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		reply_entry(req, n, &st);
}

static void fs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	ns_forget(fs_of(req)->ns, node_of(req, ino), nlookup);
	fuse_reply_none(req);
}

static void fs_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		ns_forget(fs_of(req)->ns, node_of(req, forgets[i].ino),
			  forgets[i].nlookup);
	fuse_reply_none(req);
}

static void fs_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct caller c;
	struct stat st;
	int rc;

	(void)fi;
	fs_caller(req, &c);
	rc = ns_getattr(fs_of(req)->ns, &c, node_of(req, ino), &st);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, fs_of(req)->cfg->attr_timeout);
}

static void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int valid, struct fuse_file_info *fi)
{
	unsigned what = 0;
	struct caller c;
	struct stat st;
	int rc;

	if (valid & FUSE_SET_ATTR_MODE)
		what |= NS_SET_MODE;
	if (valid & FUSE_SET_ATTR_UID)
		what |= NS_SET_UID;
	if (valid & FUSE_SET_ATTR_GID)
		what |= NS_SET_GID;
	if (valid & FUSE_SET_ATTR_SIZE)
		what |= NS_SET_SIZE;
	if (valid & FUSE_SET_ATTR_MTIME_NOW)
		what |= NS_SET_MTIME_NOW;
	else if (valid & FUSE_SET_ATTR_MTIME)
		what |= NS_SET_MTIME;
	if (valid & FUSE_SET_ATTR_ATIME_NOW)
		what |= NS_SET_ATIME_NOW;
	else if (valid & FUSE_SET_ATTR_ATIME)
		what |= NS_SET_ATIME;
	fs_caller(req, &c);
	rc = ns_setattr(fs_of(req)->ns, &c, node_of(req, ino), file_of(fi),
			attr, what, &st);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, fs_of(req)->cfg->attr_timeout);
}

static void fs_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct caller c;

	fs_caller(req, &c);
	fuse_reply_err(req, -ns_access(fs_of(req)->ns, &c, node_of(req, ino),
				       mask));
}

static void fs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	struct caller c;
	struct node *n;
	struct stat st;
	int rc;

	fs_caller(req, &c);
	rc = ns_mkdir(fs_of(req)->ns, &c, node_of(req, parent), name, mode,
		      &n, &st);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		reply_entry(req, n, &st);
}

static void fs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct caller c;

	fs_caller(req, &c);
	fuse_reply_err(req, -ns_unlink(fs_of(req)->ns, &c,
				       node_of(req, parent), name));
}

static void fs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct caller c;

	fs_caller(req, &c);
	fuse_reply_err(req, -ns_rmdir(fs_of(req)->ns, &c,
				      node_of(req, parent), name));
}

static void fs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	struct caller c;

	fs_caller(req, &c);
	fuse_reply_err(req, -ns_rename(fs_of(req)->ns, &c,
				       node_of(req, parent), name,
				       node_of(req, newparent), newname,
				       flags));
}

/* Hard links are refused (ns_link); symbolic links live where a provider
 * keeps them; mknod makes regular files only. */
static void fs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	struct caller c;

	fs_caller(req, &c);
	fuse_reply_err(req, -ns_link(fs_of(req)->ns, &c, node_of(req, ino),
				     node_of(req, newparent), newname));
}

static void fs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	struct caller c;
	struct node *n;
	struct stat st;
	int rc;

	fs_caller(req, &c);
	rc = ns_symlink(fs_of(req)->ns, &c, node_of(req, parent), name, link,
			&n, &st);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		reply_entry(req, n, &st);
}

static void fs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char buf[PATH_MAX];
	struct caller c;
	ssize_t n;

	fs_caller(req, &c);
	n = ns_readlink(fs_of(req)->ns, &c, node_of(req, ino), buf,
			sizeof(buf) - 1);
	if (n < 0) {
		fuse_reply_err(req, (int)-n);
		return;
	}
	buf[n] = '\0';
	fuse_reply_readlink(req, buf);
}

static void fs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	struct caller c;
	struct node *n;
	struct stat st;
	int rc;

	(void)rdev;
	fs_caller(req, &c);
	rc = ns_mknod(fs_of(req)->ns, &c, node_of(req, parent), name, mode,
		      &n, &st);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		reply_entry(req, n, &st);
}

static void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ns_file *f;
	struct caller c;
	int rc, keep;

	fs_caller(req, &c);
	rc = ns_open(fs_of(req)->ns, &c, node_of(req, ino), fi->flags, &f,
		     &keep);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)f;
	fi->keep_cache = keep;
	fi->direct_io = ns_file_is_synthetic(f);
	if (fuse_reply_open(req, fi) == -ENOENT)
		ns_release(fs_of(req)->ns, f);
}

static void fs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fuse_entry_param e;
	struct ns_file *f;
	struct caller c;
	struct node *n;
	int rc;

	if (!S_ISREG(mode) && (mode & S_IFMT)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	fs_caller(req, &c);
	memset(&e, 0, sizeof(e));
	rc = ns_create(fs->ns, &c, node_of(req, parent), name, mode,
		       fi->flags, &n, &e.attr, &f);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	e.ino = ino_of(fs, n);
	e.attr_timeout = fs->cfg->attr_timeout;
	e.entry_timeout = entry_timeout(fs, n);
	fi->fh = (uint64_t)(uintptr_t)f;
	fi->direct_io = ns_file_is_synthetic(f);
	if (fuse_reply_create(req, &e, fi) == -ENOENT) {
		ns_release(fs->ns, f);
		ns_forget(fs->ns, n, 1);
	}
}

static void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	char *buf = malloc(size ? size : 1);
	uint64_t seen = fs_wait_gen();
	ssize_t n;

	(void)ino;
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = ns_read(fs_of(req)->ns, file_of(fi), buf, size, off);
	if (n == -EAGAIN && !(fi->flags & O_NONBLOCK)) {
		free(buf);
		fs_wait_park(req, fs_of(req), file_of(fi), size, off, seen);
		return;
	}
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

static void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	ssize_t n;

	(void)ino;
	n = ns_write(fs_of(req)->ns, file_of(fi), buf, size, off);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
}

/* No caller: a flush may come from a process other than the opener (a
 * setuid program that inherited the descriptor); see ns_flush(). */
static void fs_flush(fuse_req_t req, fuse_ino_t ino,
		     struct fuse_file_info *fi)
{
	(void)ino;
	fuse_reply_err(req, -ns_flush(fs_of(req)->ns, file_of(fi)));
}

static void fs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	fuse_reply_err(req, -ns_fsync(fs_of(req)->ns, file_of(fi)));
}

static void fs_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	(void)ino;
	ns_release(fs_of(req)->ns, file_of(fi));
	fuse_reply_err(req, 0);
}

static void fs_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct ns_dir *d;
	struct caller c;
	int rc;

	fs_caller(req, &c);
	rc = ns_opendir(fs_of(req)->ns, &c, node_of(req, ino), &d);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)d;
	if (fuse_reply_open(req, fi) == -ENOENT)
		ns_releasedir(fs_of(req)->ns, d);
}

static int is_dot(const char *name)
{
	return strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
}

static void do_readdir(fuse_req_t req, size_t size, off_t off,
		       struct fuse_file_info *fi, int plus)
{
	struct ns_dir *d = (struct ns_dir *)(uintptr_t)fi->fh;
	struct fs *fs = fs_of(req);
	char *buf = malloc(size ? size : 1), *p = buf;
	size_t rem = size;
	struct caller c;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fs_caller(req, &c);
	for (size_t i = off > 0 ? (size_t)off : 0; i < d->n; i++) {
		struct ns_dirent *e = &d->e[i];
		struct fuse_entry_param ep;
		size_t k;

		memset(&ep, 0, sizeof(ep));
		ep.attr.st_ino = e->ino;
		ep.attr.st_mode = e->type;
		if (!plus) {
			k = fuse_add_direntry(req, p, rem, e->name, &ep.attr,
					      (off_t)i + 1);
			if (k > rem)
				break;
		} else {
			int looked = 0;

			if (!is_dot(e->name) &&
			    ns_dirent_lookup(fs->ns, &c, d, e, &ep.attr) == 0) {
				looked = 1;
				ep.ino = ino_of(fs, e->node);
				ep.attr_timeout = fs->cfg->attr_timeout;
				ep.entry_timeout = entry_timeout(fs, e->node);
			}
			k = fuse_add_direntry_plus(req, p, rem, e->name, &ep,
						   (off_t)i + 1);
			if (k > rem) {
				if (looked)
					ns_forget(fs->ns, e->node, 1);
				break;
			}
		}
		p += k;
		rem -= k;
	}
	fuse_reply_buf(req, buf, size - rem);
	free(buf);
}

static void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)ino;
	do_readdir(req, size, off, fi, 0);
}

static void fs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	(void)ino;
	do_readdir(req, size, off, fi, 1);
}

static void fs_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	(void)ino;
	ns_releasedir(fs_of(req)->ns, (struct ns_dir *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void fs_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	(void)fi;
	fuse_reply_err(req, 0);	/* names are stored when changed */
}

static void fs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs st;
	int rc;

	(void)ino;
	rc = ns_statfs(fs_of(req)->ns, &st);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_statfs(req, &st);
}

static void fs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags)
{
	struct caller c;

	fs_caller(req, &c);
	fuse_reply_err(req, -ns_setxattr(fs_of(req)->ns, &c,
					 node_of(req, ino), name, value, size,
					 flags));
}

static void reply_xattr_result(fuse_req_t req, ssize_t n, const char *buf,
			       size_t size)
{
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
}

static void fs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	char *buf = size ? malloc(size) : NULL;
	struct caller c;
	ssize_t n;

	if (size && !buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fs_caller(req, &c);
	n = ns_getxattr(fs_of(req)->ns, &c, node_of(req, ino), name, buf,
			size);
	reply_xattr_result(req, n, buf, size);
	free(buf);
}

static void fs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	char *buf = size ? malloc(size) : NULL;
	struct caller c;
	ssize_t n;

	if (size && !buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fs_caller(req, &c);
	n = ns_listxattr(fs_of(req)->ns, &c, node_of(req, ino), buf, size);
	reply_xattr_result(req, n, buf, size);
	free(buf);
}

static void fs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct caller c;

	fs_caller(req, &c);
	fuse_reply_err(req, -ns_removexattr(fs_of(req)->ns, &c,
					    node_of(req, ino), name));
}

const struct fuse_lowlevel_ops fs_ops = {
	.init = fs_init,
	.lookup = fs_lookup,
	.forget = fs_forget,
	.forget_multi = fs_forget_multi,
	.getattr = fs_getattr,
	.setattr = fs_setattr,
	.access = fs_access,
	.mkdir = fs_mkdir,
	.unlink = fs_unlink,
	.rmdir = fs_rmdir,
	.rename = fs_rename,
	.link = fs_link,
	.symlink = fs_symlink,
	.readlink = fs_readlink,
	.mknod = fs_mknod,
	.open = fs_open,
	.create = fs_create,
	.read = fs_read,
	.write = fs_write,
	.flush = fs_flush,
	.fsync = fs_fsync,
	.release = fs_release,
	.opendir = fs_opendir,
	.readdir = fs_readdir,
	.readdirplus = fs_readdirplus,
	.releasedir = fs_releasedir,
	.fsyncdir = fs_fsyncdir,
	.statfs = fs_statfs,
	.setxattr = fs_setxattr,
	.getxattr = fs_getxattr,
	.listxattr = fs_listxattr,
	.removexattr = fs_removexattr,
};
