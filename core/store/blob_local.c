/* core/store/blob_local.c: blob store in a local folder, see blob_local.h. */
#include "core/store/blob_local.h"
#include "core/store/state_lock.h"
#include "core/store/xattr_path.h"
#include "core/util/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

struct blob_local {
	struct blob base;	/* first: a struct blob * is one of these */
	char *root;		/* STATE/blobs */
	char *tmp;		/* STATE/tmp */
	int root_fd;
	int lock_fd;		/* STATE/lock, held while open */
	int can_chown;
	int fault[BLOB_FAULT_NR];
};

static struct blob_local *local(struct blob *b)
{
	return (struct blob_local *)b;
}

void blob_local_inject(struct blob *b, enum blob_fault what, int err)
{
	__atomic_store_n(&local(b)->fault[what], err, __ATOMIC_SEQ_CST);
}

static int fault(struct blob_local *l, enum blob_fault what)
{
	return __atomic_load_n(&l->fault[what], __ATOMIC_SEQ_CST);
}

/* Backend errors that mean something to a user pass; the rest is EIO. */
static int map_err(int err, const char *what, const char *key)
{
	char esc[256];

	switch (err) {
	case ENOENT: case ENOSPC: case EDQUOT: case EFBIG: case ENOTEMPTY:
	case EEXIST: case ENOTDIR: case EISDIR: case ENAMETOOLONG:
	case ENOMEM: case EROFS:
		return -err;
	default:
		log_err("local store: %s '%s': %s", what,
			log_escape(esc, sizeof(esc), key), strerror(err));
		return -EIO;
	}
}

/* A key is a relative path without empty, "." or ".." components. */
static int key_ok(const char *key)
{
	const char *p = key;

	if (!*key || *key == '/' || key[strlen(key) - 1] == '/' ||
	    strlen(key) >= PATH_MAX - 64)
		return 0;
	while (*p) {
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);

		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		p = *e ? e + 1 : e;
	}
	return 1;
}

static int full_path(struct blob_local *l, const char *key, char *out,
		     size_t cap)
{
	int n = snprintf(out, cap, "%s/%s", l->root, key);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* A daemon that is not root cannot read, write or enter what it made
 * without its owner's bits. Such a mode is kept in MODE_XATTR, the file
 * gets the owner's bits on disk, and the sticky bit says to look there. */
#define MODE_XATTR "user.llmunix.mode"

static mode_t disk_mode(const struct blob_local *l, mode_t mode, int *aside)
{
	mode_t need = S_ISDIR(mode) ? 0700 : 0600;

	*aside = !l->can_chown && (mode & need) != need;
	if (!*aside)
		return mode & 07777;
	return (mode & 0777) | need | S_ISVTX;
}

static int mode_aside_set(const char *path, int fd, mode_t mode)
{
	char v[16];
	int n = snprintf(v, sizeof(v), "%o", (unsigned)(mode & 0777));

	if (fd >= 0)
		return fsetxattr(fd, MODE_XATTR, v, (size_t)n, 0) ? -errno : 0;
	return lsetxattr(path, MODE_XATTR, v, (size_t)n, 0) ? -errno : 0;
}

/* The mode as stored by disk_mode(), from what stat gave. */
static mode_t mode_from_disk(const struct blob_local *l, const char *path,
			     mode_t st_mode)
{
	char v[16];
	ssize_t n;
	unsigned long m;

	if (l->can_chown || !(st_mode & S_ISVTX))
		return st_mode & (S_IFMT | 0777);
	n = lgetxattr(path, MODE_XATTR, v, sizeof(v) - 1);
	if (n <= 0)
		return st_mode & (S_IFMT | 0777);
	v[n] = '\0';
	m = strtoul(v, NULL, 8);
	return (st_mode & S_IFMT) | (mode_t)(m & 0777);
}

/* mkdir -p of the folders above `key`. */
static int make_parents(struct blob_local *l, const char *key)
{
	char path[PATH_MAX];
	char *slash;

	if (strlen(key) >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, key, strlen(key) + 1);
	for (slash = strchr(path, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdirat(l->root_fd, path, 0755) < 0 && errno != EEXIST)
			return map_err(errno, "mkdir", path);
		*slash = '/';
	}
	return 0;
}

/* Open an object for reading without touching its atime, which is the
 * file's own (the namespace sets it). */
static int open_noatime(struct blob_local *l, const char *key)
{
	int fd = openat(l->root_fd, key,
			O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOATIME);

	if (fd < 0 && errno == EPERM)	/* not ours: it may be read */
		fd = openat(l->root_fd, key,
			    O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	return fd;
}

/* A symbolic link's target, as its content. */
static int get_link(struct blob_local *l, const char *key, struct buf *out)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(l->root_fd, key, target, sizeof(target));

	if (n < 0)
		return map_err(errno, "read the link", key);
	if ((size_t)n >= sizeof(target))
		return -ENAMETOOLONG;
	buf_resize(out, 0);
	return buf_append(out, target, (size_t)n);
}

static int local_get(struct blob *b, const char *key, struct buf *out)
{
	struct blob_local *l = local(b);
	struct stat st;
	size_t done = 0;
	int fd, rc = 0;

	if (!key_ok(key))
		return -EINVAL;
	fd = open_noatime(l, key);
	if (fd < 0 && errno == ELOOP)
		return get_link(l, key, out);
	if (fd < 0)
		return map_err(errno, "open", key);
	if (fstat(fd, &st) < 0) {
		rc = map_err(errno, "stat", key);
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EISDIR;
		goto out_close;
	}
	rc = buf_resize(out, (size_t)st.st_size);
	if (rc)
		goto out_close;
	while (done < out->len) {
		ssize_t n = pread(fd, out->data + done, out->len - done,
				  (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = map_err(errno, "read", key);
			goto out_close;
		}
		if (n == 0)
			break;	/* shrank under us: keep what is there */
		done += (size_t)n;
	}
	buf_resize(out, done);
out_close:
	close(fd);
	return rc;
}

static ssize_t local_read(struct blob *b, const char *key, void *dst,
			  size_t len, off_t off)
{
	struct blob_local *l = local(b);
	ssize_t n;
	int fd;

	if (!key_ok(key))
		return -EINVAL;
	fd = open_noatime(l, key);
	if (fd < 0)
		return map_err(errno, "open", key);
	do
		n = pread(fd, dst, len, off);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		n = map_err(errno, "read", key);
	close(fd);
	return n;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static int apply_xattrs_fd(int fd, const struct blob_xattrs *x)
{
	for (size_t i = 0; x && i < x->n; i++)
		if (fsetxattr(fd, x->v[i].name, x->v[i].value, x->v[i].len,
			      0) < 0)
			return -errno;
	return 0;
}

static int fsync_parent(struct blob_local *l, const char *key)
{
	char path[PATH_MAX];
	const char *slash = strrchr(key, '/');
	int fd, rc = 0;

	if (!slash) {
		fd = dup(l->root_fd);
	} else {
		size_t n = (size_t)(slash - key);

		memcpy(path, key, n);
		path[n] = '\0';
		fd = openat(l->root_fd, path, O_RDONLY | O_DIRECTORY |
			    O_CLOEXEC);
	}
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

static struct timespec meta_atime(const struct blob_meta *m)
{
	return m->atime.tv_sec || m->atime.tv_nsec ? m->atime : m->mtime;
}

/* Move the temporary `tmp` to `key`, making the folders above it. */
static int rename_in(struct blob_local *l, const char *tmp, const char *key)
{
	int rc = 0;

	if (renameat(AT_FDCWD, tmp, l->root_fd, key) < 0) {
		rc = -errno;
		if (rc == -ENOENT) {
			rc = make_parents(l, key);
			if (!rc && renameat(AT_FDCWD, tmp, l->root_fd,
					    key) < 0)
				rc = -errno;
		}
	}
	return rc;
}

/* A symbolic link: made beside, then renamed over `key` (atomic). */
static int put_link(struct blob_local *l, const char *key, const void *data,
		    size_t len, const struct blob_meta *m)
{
	struct timespec ts[2] = { meta_atime(m), m->mtime };
	char tmp[PATH_MAX], target[PATH_MAX];
	static unsigned long seq;
	int rc;

	if (len == 0 || len >= sizeof(target) || memchr(data, '\0', len))
		return -EINVAL;
	memcpy(target, data, len);
	target[len] = '\0';
	if (snprintf(tmp, sizeof(tmp), "%s/link-%d-%lu", l->tmp, (int)getpid(),
		     __atomic_add_fetch(&seq, 1, __ATOMIC_SEQ_CST)) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	if (symlink(target, tmp) < 0)
		return map_err(errno, "create the link", key);
	if ((l->can_chown && lchown(tmp, m->uid, m->gid) < 0) ||
	    utimensat(AT_FDCWD, tmp, ts, AT_SYMLINK_NOFOLLOW) < 0) {
		rc = -errno;
		goto out_unlink;
	}
	rc = rename_in(l, tmp, key);
	if (!rc)
		return 0;
out_unlink:
	unlink(tmp);
	return map_err(-rc, "write", key);
}

static int local_put(struct blob *b, const char *key, const void *data,
		     size_t len, const struct blob_meta *m,
		     const struct blob_xattrs *x, unsigned flags)
{
	struct blob_local *l = local(b);
	char tmp[PATH_MAX];
	struct timespec ts[2];
	int fd, rc, err, aside;
	mode_t mode;

	if (!key_ok(key))
		return -EINVAL;
	if (S_ISLNK(m->mode))
		return put_link(l, key, data, len, m);
	if (snprintf(tmp, sizeof(tmp), "%s/put-XXXXXX", l->tmp) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return map_err(errno, "create temporary for", key);
	err = fault(l, BLOB_FAULT_WRITE);
	if (err) {
		/* A disk that fills up half way through. */
		write_all(fd, data, len / 2);
		rc = -err;
	} else {
		rc = write_all(fd, data, len);
	}
	if (rc)
		goto out_unlink;
	rc = apply_xattrs_fd(fd, x);
	if (!rc) {
		mode = disk_mode(l, m->mode, &aside);
		if (aside)
			rc = mode_aside_set(NULL, fd, m->mode);
	}
	if (rc)
		goto out_unlink;
	if (fchmod(fd, mode) < 0 ||
	    (l->can_chown && fchown(fd, m->uid, m->gid) < 0)) {
		rc = -errno;
		goto out_unlink;
	}
	ts[0] = meta_atime(m);
	ts[1] = m->mtime;
	if (futimens(fd, ts) < 0 ||
	    ((flags & BLOB_SYNC) && fsync(fd) < 0)) {
		rc = -errno;
		goto out_unlink;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = -errno;
		goto out_unlink;
	}
	fd = -1;
	err = fault(l, BLOB_FAULT_RENAME);
	if (err) {
		rc = -err;
		goto out_unlink;
	}
	rc = rename_in(l, tmp, key);
	if (rc)
		goto out_unlink;
	if (flags & BLOB_SYNC)
		fsync_parent(l, key);
	return 0;
out_unlink:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return map_err(-rc, "write", key);
}

static int local_del(struct blob *b, const char *key)
{
	if (!key_ok(key))
		return -EINVAL;
	if (unlinkat(local(b)->root_fd, key, 0) < 0)
		return map_err(errno, "delete", key);
	return 0;
}

static int local_mkdir(struct blob *b, const char *key,
		       const struct blob_meta *m)
{
	struct blob_local *l = local(b);
	int rc;

	if (!key_ok(key))
		return -EINVAL;
	if (mkdirat(l->root_fd, key, 0755) < 0) {
		if (errno != ENOENT)
			return map_err(errno, "mkdir", key);
		rc = make_parents(l, key);
		if (rc)
			return rc;
		if (mkdirat(l->root_fd, key, 0755) < 0)
			return map_err(errno, "mkdir", key);
	}
	return b->ops->setmeta(b, key, m);
}

static int local_rmdir(struct blob *b, const char *key)
{
	if (!key_ok(key))
		return -EINVAL;
	if (unlinkat(local(b)->root_fd, key, AT_REMOVEDIR) < 0)
		return map_err(errno, "rmdir", key);
	return 0;
}

static int local_rename(struct blob *b, const char *from, const char *to)
{
	struct blob_local *l = local(b);
	int err = fault(l, BLOB_FAULT_RENAME), rc;

	if (!key_ok(from) || !key_ok(to))
		return -EINVAL;
	if (err)
		return -err;
	if (renameat(l->root_fd, from, l->root_fd, to) == 0)
		return 0;
	if (errno != ENOENT || faccessat(l->root_fd, from, F_OK,
					 AT_SYMLINK_NOFOLLOW) < 0)
		return map_err(errno, "rename", from);
	rc = make_parents(l, to);
	if (rc)
		return rc;
	if (renameat(l->root_fd, from, l->root_fd, to) < 0)
		return map_err(errno, "rename", from);
	return 0;
}

static int local_setmeta(struct blob *b, const char *key,
			 const struct blob_meta *m)
{
	struct blob_local *l = local(b);
	struct timespec ts[2] = { meta_atime(m), m->mtime };
	char path[PATH_MAX];
	int aside, rc;
	mode_t mode;

	if (!key_ok(key))
		return -EINVAL;
	if (S_ISLNK(m->mode))
		goto owner;	/* a link has no mode of its own */
	mode = disk_mode(l, m->mode, &aside);
	if (fchmodat(l->root_fd, key, mode, 0) < 0)
		return map_err(errno, "chmod", key);
	if (!l->can_chown) {
		rc = full_path(l, key, path, sizeof(path));
		if (!rc && aside)
			rc = mode_aside_set(path, -1, m->mode);
		else if (!rc && lremovexattr(path, MODE_XATTR) < 0 &&
			 errno != ENODATA && errno != ENOTSUP)
			rc = -errno;
		if (rc)
			return map_err(-rc, "keep the mode of", key);
	}
owner:
	if (l->can_chown &&
	    fchownat(l->root_fd, key, m->uid, m->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return map_err(errno, "chown", key);
	if (utimensat(l->root_fd, key, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return map_err(errno, "utimes", key);
	return 0;
}

/* The full path of `key`, PATH_MAX bytes. */
static int xattr_path(struct blob_local *l, const char *key, char *path)
{
	if (!key_ok(key))
		return -EINVAL;
	return full_path(l, key, path, PATH_MAX);
}

static int local_getxattrs(struct blob *b, const char *key,
			   struct blob_xattrs *out)
{
	char path[PATH_MAX];
	int rc;

	out->v = NULL;
	out->n = 0;
	rc = xattr_path(local(b), key, path);
	if (rc)
		return rc;
	rc = xattr_path_get(path, out);
	return rc ? map_err(-rc, "read xattrs of", key) : 0;
}

static int local_setxattrs(struct blob *b, const char *key,
			   const struct blob_xattrs *x)
{
	char path[PATH_MAX];
	int rc;

	rc = xattr_path(local(b), key, path);
	if (rc)
		return rc;
	rc = xattr_path_set(path, x);
	return rc ? map_err(-rc, "set xattrs of", key) : 0;
}

static int local_fitxattrs(struct blob *b, const struct blob_xattrs *x)
{
	struct blob_local *l = local(b);
	char tmp[PATH_MAX];
	int fd, rc;

	if (snprintf(tmp, sizeof(tmp), "%s/put-XXXXXX", l->tmp) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return map_err(errno, "create temporary for", "xattrs");
	rc = apply_xattrs_fd(fd, x);
	close(fd);
	unlink(tmp);
	return rc;
}

static int local_sync(struct blob *b, const char *key)
{
	struct blob_local *l = local(b);
	int fd, rc = 0;

	if (!key_ok(key))
		return -EINVAL;
	fd = openat(l->root_fd, key, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return map_err(errno, "open", key);
	if (fsync(fd) < 0)
		rc = map_err(errno, "fsync", key);
	close(fd);
	if (!rc)
		rc = fsync_parent(l, key);
	return rc;
}

static int local_statfs(struct blob *b, struct statvfs *out)
{
	if (fstatvfs(local(b)->root_fd, out) < 0)
		return -errno;
	return 0;
}

/* Walk `fd0` (whose key is `path`, of length `len`), parents first. */
static int list_dir(struct blob_local *l, int fd0, char *path, size_t len,
		    blob_list_cb cb, void *arg)
{
	DIR *d = fdopendir(fd0);
	struct dirent *de;
	int rc = 0;

	if (!d) {
		close(fd0);
		return -errno;
	}
	while ((de = readdir(d))) {
		struct blob_meta m;
		struct stat st;
		size_t n = strlen(de->d_name);

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (len + 1 + n >= PATH_MAX)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) &&
		    !S_ISLNK(st.st_mode))
			continue;
		path[len] = '/';
		memcpy(path + len + 1, de->d_name, n + 1);
		m.mode = st.st_mode & (S_IFMT | 0777);
		if (!l->can_chown && (st.st_mode & S_ISVTX)) {
			char full[PATH_MAX];

			if (!full_path(l, path, full, sizeof(full)))
				m.mode = mode_from_disk(l, full, st.st_mode);
		}
		m.uid = st.st_uid;
		m.gid = st.st_gid;
		m.mtime = st.st_mtim;
		m.atime = st.st_atim;
		m.size = (uint64_t)st.st_size;
		rc = cb(arg, path, &m);
		if (!rc && S_ISDIR(st.st_mode)) {
			int fd = openat(dirfd(d), de->d_name, O_RDONLY |
					O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

			if (fd >= 0)
				rc = list_dir(l, fd, path, len + 1 + n, cb,
					      arg);
		}
		path[len] = '\0';
		if (rc)
			break;
	}
	closedir(d);
	return rc;
}

static int local_list(struct blob *b, const char *prefix, blob_list_cb cb,
		      void *arg)
{
	struct blob_local *l = local(b);
	char path[PATH_MAX];
	size_t len = strlen(prefix);
	int fd;

	if (!key_ok(prefix) || len >= sizeof(path))
		return -EINVAL;
	fd = openat(l->root_fd, prefix, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
		    O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : map_err(errno, "list", prefix);
	memcpy(path, prefix, len + 1);
	return list_dir(l, fd, path, len, cb, arg);
}

static void local_free(struct blob *b)
{
	struct blob_local *l = local(b);

	if (!l)
		return;
	if (l->root_fd >= 0)
		close(l->root_fd);
	if (l->lock_fd >= 0)
		close(l->lock_fd);
	free(l->root);
	free(l->tmp);
	free(l);
}

static const struct blob_ops local_ops = {
	.name = "local",
	.get = local_get,
	.read = local_read,
	.put = local_put,
	.del = local_del,
	.list = local_list,
	.mkdir = local_mkdir,
	.rmdir = local_rmdir,
	.rename = local_rename,
	.setmeta = local_setmeta,
	.getxattrs = local_getxattrs,
	.setxattrs = local_setxattrs,
	.fitxattrs = local_fitxattrs,
	.sync = local_sync,
	.statfs = local_statfs,
	.free = local_free,
};

static int make_dir(const char *path, mode_t mode)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Remove what an interrupted put() left in STATE/tmp. */
static void clean_tmp(const char *tmp)
{
	DIR *d = opendir(tmp);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)))
		if (strncmp(de->d_name, "put-", 4) == 0)
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

int blob_local_open(struct blob **out, const char *state_dir)
{
	struct blob_local *l = calloc(1, sizeof(*l));
	int rc;

	if (!l)
		return -ENOMEM;
	l->base.ops = &local_ops;
	l->root_fd = -1;
	l->lock_fd = -1;
	l->can_chown = geteuid() == 0;
	if (asprintf(&l->root, "%s/blobs", state_dir) < 0 ||
	    asprintf(&l->tmp, "%s/tmp", state_dir) < 0) {
		l->root = l->tmp = NULL;
		rc = -ENOMEM;
		goto out_free;
	}
	rc = make_dir(state_dir, 0700);
	if (!rc)
		rc = make_dir(l->root, 0700);
	if (!rc)
		rc = make_dir(l->tmp, 0700);
	if (rc) {
		log_err("state folder '%s': %s", state_dir, strerror(-rc));
		goto out_free;
	}
	rc = state_lock(state_dir, &l->lock_fd);
	if (rc)
		goto out_free;
	l->root_fd = open(l->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l->root_fd < 0) {
		rc = -errno;
		goto out_free;
	}
	clean_tmp(l->tmp);
	*out = &l->base;
	return 0;
out_free:
	local_free(&l->base);
	return rc;
}
