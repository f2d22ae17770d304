/* core/runner/sandbox_work.c: the work folder (sandbox.h, runner.h): the tmpfs
 * mounted on it, reading and writing files in it without following the
 * links the code may have left, copying out/ to the caller, removing it. */
#include "core/runner/sandbox.h"
#include "core/util/buf.h"
#include "core/util/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

int sandbox_work_mount(const char *work, uint64_t size_mb, uid_t uid,
		       gid_t gid, char *err, size_t errlen)
{
	char opts[160], esc[256];
	int rc;

	if (geteuid() != 0)
		return 0;
	if (!size_mb || size_mb > (UINT64_MAX >> 20))
		return -EINVAL;
	/* nr_inodes: empty files cost memory that size= does not count. */
	snprintf(opts, sizeof(opts),
		 "size=%llum,nr_inodes=32768,mode=0700,uid=%u,gid=%u",
		 (unsigned long long)size_mb, (unsigned)uid, (unsigned)gid);
	if (mount("llmunix-work", work, "tmpfs", MS_NOSUID | MS_NODEV, opts)) {
		rc = -errno;
		snprintf(err, errlen,
			 "cannot mount a tmpfs on the work folder '%s': %s",
			 log_escape(esc, sizeof(esc), work), strerror(-rc));
		return rc;
	}
	return 0;
}

int sandbox_open_beneath(int dirfd, const char *rel, int flags)
{
	char comp[NAME_MAX + 1];
	const char *p = rel;
	int cur = dirfd, rc;

	if (!rel || !*rel || *rel == '/')
		return -EINVAL;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		int next;

		if (len == 0 || len > NAME_MAX) {
			rc = -EINVAL;
			goto out;
		}
		memcpy(comp, p, len);
		comp[len] = '\0';
		if (!strcmp(comp, ".") || !strcmp(comp, "..")) {
			rc = -EINVAL;
			goto out;
		}
		if (!slash) {
			rc = openat(cur, comp, flags | O_CLOEXEC | O_NOFOLLOW);
			if (rc < 0)
				rc = -errno;
			goto out;
		}
		next = openat(cur, comp,
			      O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			rc = -errno;
			goto out;
		}
		if (cur != dirfd)
			close(cur);
		cur = next;
		p = slash + 1;
	}
out:
	if (cur != dirfd)
		close(cur);
	return rc;
}

int sandbox_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read `fd` to its end, handing each chunk to `sink`; `*used` counts the
 * bytes read, -EFBIG as soon as it passes `cap` (that chunk is not handed
 * on). 0, -errno, or the sink's error. */
static int read_all(int fd, uint64_t *used, uint64_t cap,
		    int (*sink)(void *arg, const char *data, size_t len),
		    void *arg)
{
	char chunk[65536];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		int rc;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		*used += (uint64_t)n;
		if (*used > cap)
			return -EFBIG;
		if ((rc = sink(arg, chunk, (size_t)n)))
			return rc;
	}
}

static int sink_buf(void *arg, const char *data, size_t len)
{
	return buf_append(arg, data, len);
}

static int sink_fd(void *arg, const char *data, size_t len)
{
	return sandbox_write_all(*(const int *)arg, data, len);
}

int sandbox_read_beneath(int dirfd, const char *rel, size_t cap,
			 struct buf *out)
{
	uint64_t got = 0;
	struct stat st;
	int fd, rc = 0;

	fd = sandbox_open_beneath(dirfd, rel, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st)) {
		rc = -errno;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto out_close;
	}
	if ((uint64_t)st.st_size > cap) {
		rc = -EFBIG;
		goto out_close;
	}
	rc = read_all(fd, &got, cap, sink_buf, out);
out_close:
	close(fd);
	return rc;
}

int sandbox_write_at(int dirfd, const char *name, const void *data,
		     size_t len, mode_t mode)
{
	int fd, rc;

	fd = openat(dirfd, name,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	rc = sandbox_write_all(fd, data, len);
	if (!rc && fchmod(fd, mode))
		rc = -errno;
	if (close(fd) && !rc)
		rc = -errno;
	return rc;
}

/* --- copying out/ ------------------------------------------------------ */

#define COPY_MAX_DEPTH 32

struct copy_ctx {
	size_t files, max_files;
	uint64_t bytes, max_bytes;
	char *err;
	size_t errlen;
};

static int copy_file(struct copy_ctx *cx, int sfd, int dfd, const char *name)
{
	struct stat st;
	int in, out, rc = 0;

	in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (in < 0)
		return -errno;
	if (fstat(in, &st) || !S_ISREG(st.st_mode)) {
		close(in);
		return 0;	/* changed under us: not a file any more */
	}
	out = openat(dfd, name,
		     O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		     0644);
	if (out < 0) {
		rc = -errno;
		goto out_in;
	}
	rc = read_all(in, &cx->bytes, cx->max_bytes, sink_fd, &out);
	if (rc == -EFBIG && cx->bytes > cx->max_bytes)
		snprintf(cx->err, cx->errlen,
			 "out/ holds more than %llu bytes (the rest was not "
			 "copied)", (unsigned long long)cx->max_bytes);
	if (close(out) && !rc)
		rc = -errno;
	if (rc == -EFBIG)
		unlinkat(dfd, name, 0);
out_in:
	close(in);
	return rc;
}

static int copy_dir(struct copy_ctx *cx, int sfd, int dfd, int depth);

/* Copy the folder `name` of `sfd`, at `depth`, into `dfd` (made there if
 * missing); skipped when it is gone or no longer a folder. */
static int copy_subdir(struct copy_ctx *cx, int sfd, int dfd,
		       const char *name, int depth)
{
	int sub, dsub, rc;

	if (depth + 1 >= COPY_MAX_DEPTH) {
		snprintf(cx->err, cx->errlen,
			 "out/ has folders nested deeper than %d (the rest "
			 "was not copied)", COPY_MAX_DEPTH);
		return -EFBIG;
	}
	if (mkdirat(dfd, name, 0755) && errno != EEXIST)
		return -errno;
	sub = openat(sfd, name,
		     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0)
		return 0;
	dsub = openat(dfd, name,
		      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dsub < 0) {
		rc = -errno;
		close(sub);
		return rc;
	}
	rc = copy_dir(cx, sub, dsub, depth + 1);
	close(dsub);
	return rc;
}

/* Copy the folder `sfd` into `dfd`; takes `sfd` (closed on return). */
static int copy_dir(struct copy_ctx *cx, int sfd, int dfd, int depth)
{
	struct dirent *de;
	DIR *d = fdopendir(sfd);
	int rc = 0;

	if (!d) {
		rc = -errno;
		close(sfd);
		return rc;
	}
	while (!rc && (errno = 0, de = readdir(d))) {
		const char *name = de->d_name;
		struct stat st;

		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
			continue;	/* links, FIFOs, sockets, devices */
		if (++cx->files > cx->max_files) {
			snprintf(cx->err, cx->errlen,
				 "out/ holds more than %zu files and folders "
				 "(the rest was not copied)", cx->max_files);
			rc = -EFBIG;
			break;
		}
		if (S_ISREG(st.st_mode))
			rc = copy_file(cx, dirfd(d), dfd, name);
		else
			rc = copy_subdir(cx, dirfd(d), dfd, name, depth);
	}
	if (!rc && errno)
		rc = -errno;
	closedir(d);
	return rc;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, len + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

int runner_copy_out(const char *work, const char *dest, size_t max_files,
		    uint64_t max_bytes, char *err, size_t errlen)
{
	struct copy_ctx cx = { 0, max_files, 0, max_bytes, err, errlen };
	int wfd, sfd, dfd, rc;

	if (errlen)
		err[0] = '\0';
	wfd = open(work, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (wfd < 0)
		return -errno;
	rc = mkdir_p(dest, 0755);
	if (rc) {
		snprintf(err, errlen, "cannot create the folder for out/: %s",
			 strerror(-rc));
		goto out_w;
	}
	sfd = openat(wfd, "out", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
				 O_CLOEXEC);
	if (sfd < 0) {
		rc = errno == ENOENT ? 0 : -errno;	/* nothing to copy */
		if (rc)
			snprintf(err, errlen, "out/ is not a folder (the code "
				 "replaced it): %s", strerror(-rc));
		goto out_w;
	}
	dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		rc = -errno;
		close(sfd);
		goto out_w;
	}
	rc = copy_dir(&cx, sfd, dfd, 0);
	close(dfd);
	if (rc && rc != -EFBIG && errlen && !err[0])
		snprintf(err, errlen, "cannot copy out/: %s", strerror(-rc));
out_w:
	close(wfd);
	return rc;
}

/* --- removing the work folder ------------------------------------------ */

#define RM_MAX_DEPTH 64

struct rm_ctx {
	int top;	/* the work folder */
	unsigned seq;
	int moved;	/* a deep folder was moved up to `top` */
	int rc;
};

/* Empty the folder `dfd` (taken, closed on return). Folders deeper than
 * RM_MAX_DEPTH are moved up to the top instead of recursed into, so a
 * hostile tree cannot exhaust the stack or the fds. */
static void rm_contents(struct rm_ctx *cx, int dfd, int depth)
{
	struct dirent *de;
	DIR *d = fdopendir(dfd);

	if (!d) {
		close(dfd);
		return;
	}
	rewinddir(d);	/* a dup of the top shares its offset */
	while ((de = readdir(d))) {
		const char *name = de->d_name;
		char tmp[32];
		int sub;

		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		if (unlinkat(dirfd(d), name, 0) == 0 || errno == ENOENT)
			continue;
		if (errno != EISDIR && errno != EPERM) {
			cx->rc = -errno;
			continue;
		}
		if (depth >= RM_MAX_DEPTH) {
			snprintf(tmp, sizeof(tmp), ".rm.%u", cx->seq++);
			if (renameat(dirfd(d), name, cx->top, tmp) == 0)
				cx->moved = 1;
			else
				cx->rc = -errno;
			continue;
		}
		sub = openat(dirfd(d), name,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0 && errno == EACCES &&
		    fchmodat(dirfd(d), name, 0700, 0) == 0)
			sub = openat(dirfd(d), name, O_RDONLY | O_DIRECTORY |
						     O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			cx->rc = -errno;
			continue;
		}
		rm_contents(cx, sub, depth + 1);
		if (unlinkat(dirfd(d), name, AT_REMOVEDIR) && errno != ENOENT)
			cx->rc = -errno;
	}
	closedir(d);
}

int runner_work_remove(const char *work)
{
	struct rm_ctx cx = { -1, 0, 0, 0 };
	int i;

	/* The tmpfs (and anything under it) goes with its contents. */
	for (i = 0; i < 8; i++)
		if (umount2(work, MNT_DETACH | UMOUNT_NOFOLLOW))
			break;
	cx.top = open(work, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (cx.top < 0)
		return errno == ENOENT ? 0 : -errno;
	for (i = 0; i < 1000; i++) {
		int fd = fcntl(cx.top, F_DUPFD_CLOEXEC, 0);

		if (fd < 0) {
			cx.rc = -errno;
			break;
		}
		cx.moved = 0;
		cx.rc = 0;
		rm_contents(&cx, fd, 0);
		if (!cx.moved)
			break;
	}
	close(cx.top);
	if (rmdir(work) && errno != ENOENT && !cx.rc)
		cx.rc = -errno;
	return cx.rc;
}
