/* core/store/blob_cache.c: the local copy of a remote store's content,
 * see blob_cache.h. A copy is DIR/<sha256 of key, '\n', version>, written
 * to a temporary file and renamed, so a copy is whole or absent. */
#include "core/store/blob_cache.h"
#include "core/util/log.h"
#include "core/util/sha256.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define VERSION_MAX 128

struct blob_cache {
	struct blob base;	/* first: a struct blob * is one of these */
	struct blob *inner;
	char *dir;
	int dir_fd;
	uint64_t max_bytes;
	uint64_t bytes;		/* about what DIR holds */
	unsigned long seq;
	pthread_mutex_t mu;	/* bytes, and one eviction at a time */
};

static struct blob_cache *cache(struct blob *b)
{
	return (struct blob_cache *)b;
}

static struct blob *in(struct blob *b)
{
	return cache(b)->inner;
}

/* The copy's file name for `key` at its current version, or -ENOENT. */
static int copy_name(struct blob_cache *c, const char *key, char *out)
{
	char v[VERSION_MAX];
	uint8_t d[SHA256_LEN];
	struct sha256 h;
	int rc;

	if (!c->inner->ops->version)
		return -ENOENT;
	rc = c->inner->ops->version(c->inner, key, v, sizeof(v));
	if (rc)
		return rc;
	sha256_begin(&h);
	sha256_add(&h, key, strlen(key));
	sha256_add(&h, "\n", 1);
	sha256_add(&h, v, strlen(v));
	sha256_end(&h, d);
	sha256_hex(d, out);
	return 0;
}

static int read_copy(struct blob_cache *c, const char *name, struct buf *out)
{
	struct stat st;
	int fd = openat(c->dir_fd, name, O_RDONLY | O_CLOEXEC), rc;
	ssize_t n;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out_close;
	}
	rc = buf_resize(out, (size_t)st.st_size);
	if (rc)
		goto out_close;
	n = pread(fd, out->data, out->len, 0);
	if (n != (ssize_t)out->len)
		rc = -EIO;
	else	/* its age, for eviction */
		futimens(fd, NULL);
out_close:
	close(fd);
	return rc;
}

struct victim {
	char name[SHA256_HEX];
	struct timespec t;
	off_t size;
};

static int older(const void *a, const void *b)
{
	const struct victim *x = a, *y = b;

	if (x->t.tv_sec != y->t.tv_sec)
		return x->t.tv_sec < y->t.tv_sec ? -1 : 1;
	return x->t.tv_nsec < y->t.tv_nsec ? -1 :
	       x->t.tv_nsec > y->t.tv_nsec;
}

/* Count what DIR holds; with `evict`, remove the oldest copies until it
 * holds three quarters of the bound. c->mu held. */
static void scan(struct blob_cache *c, int evict)
{
	struct victim *v = NULL;
	size_t n = 0, alloc = 0;
	uint64_t total = 0;
	struct dirent *de;
	int fd = dup(c->dir_fd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		struct stat st;

		if (de->d_name[0] == '.' ||
		    strlen(de->d_name) != SHA256_HEX - 1)
			continue;
		if (fstatat(c->dir_fd, de->d_name, &st, 0) < 0)
			continue;
		total += (uint64_t)st.st_size;
		if (n == alloc) {
			size_t k = alloc ? alloc * 2 : 256;
			struct victim *nv = realloc(v, k * sizeof(*v));

			if (!nv)
				break;
			v = nv;
			alloc = k;
		}
		memcpy(v[n].name, de->d_name, SHA256_HEX);
		v[n].t = st.st_mtim;
		v[n].size = st.st_size;
		n++;
	}
	closedir(d);
	if (evict && v) {
		qsort(v, n, sizeof(*v), older);
		for (size_t i = 0; i < n && total > c->max_bytes / 4 * 3;
		     i++)
			if (unlinkat(c->dir_fd, v[i].name, 0) == 0)
				total -= (uint64_t)v[i].size;
	}
	c->bytes = total;
	free(v);
}

static void account(struct blob_cache *c, int64_t delta)
{
	pthread_mutex_lock(&c->mu);
	c->bytes = delta < 0 && (uint64_t)-delta > c->bytes ? 0 :
		   c->bytes + (uint64_t)delta;
	if (c->bytes > c->max_bytes)
		scan(c, 1);
	pthread_mutex_unlock(&c->mu);
}

/* Keep `data` as the copy `name`; a failure only costs a later GET. */
static void write_copy(struct blob_cache *c, const char *name,
		       const void *data, size_t len)
{
	char tmp[64];
	unsigned long seq = __atomic_add_fetch(&c->seq, 1, __ATOMIC_SEQ_CST);
	const char *p = data;
	size_t left = len;
	int fd;

	if (len > c->max_bytes / 8)
		return;	/* one file never crowds out the rest */
	snprintf(tmp, sizeof(tmp), ".tmp-%ld-%lu", (long)getpid(), seq);
	fd = openat(c->dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    0600);
	if (fd < 0)
		return;
	while (left) {
		ssize_t k = write(fd, p, left);

		if (k <= 0)
			break;
		p += k;
		left -= (size_t)k;
	}
	if (close(fd) < 0 || left ||
	    renameat(c->dir_fd, tmp, c->dir_fd, name) < 0) {
		unlinkat(c->dir_fd, tmp, 0);
		return;
	}
	account(c, (int64_t)len);
}

/* Remove the copy of `key`'s current version (before it changes). */
static void drop_copy(struct blob_cache *c, const char *key)
{
	char name[SHA256_HEX];
	struct stat st;

	if (copy_name(c, key, name))
		return;
	if (fstatat(c->dir_fd, name, &st, 0) == 0 &&
	    unlinkat(c->dir_fd, name, 0) == 0)
		account(c, -(int64_t)st.st_size);
}

static int cache_get(struct blob *b, const char *key, struct buf *out)
{
	struct blob_cache *c = cache(b);
	char name[SHA256_HEX];
	int rc;

	if (!copy_name(c, key, name) && read_copy(c, name, out) == 0)
		return 0;
	rc = c->inner->ops->get(c->inner, key, out);
	if (!rc && !copy_name(c, key, name))
		write_copy(c, name, out->data, out->len);
	return rc;
}

static int cache_put(struct blob *b, const char *key, const void *data,
		     size_t len, const struct blob_meta *m,
		     const struct blob_xattrs *x, unsigned flags)
{
	struct blob_cache *c = cache(b);
	char name[SHA256_HEX];
	int rc;

	drop_copy(c, key);
	rc = c->inner->ops->put(c->inner, key, data, len, m, x, flags);
	if (!rc && !copy_name(c, key, name))
		write_copy(c, name, data, len);
	return rc;
}

static int cache_del(struct blob *b, const char *key)
{
	drop_copy(cache(b), key);
	return in(b)->ops->del(in(b), key);
}

/* A file's copy follows it to its new key (a folder's copies do not:
 * they are read again once). */
static int cache_rename(struct blob *b, const char *from, const char *to)
{
	struct blob_cache *c = cache(b);
	char old[SHA256_HEX], name[SHA256_HEX];
	int had, rc;

	drop_copy(c, to);
	had = copy_name(c, from, old) == 0;
	rc = c->inner->ops->rename(c->inner, from, to);
	if (!rc && had && !copy_name(c, to, name) &&
	    renameat(c->dir_fd, old, c->dir_fd, name) < 0 && errno != ENOENT)
		unlinkat(c->dir_fd, old, 0);
	return rc;
}

static int cache_list(struct blob *b, const char *prefix, blob_list_cb cb,
		      void *arg)
{
	return in(b)->ops->list(in(b), prefix, cb, arg);
}

static int cache_mkdir(struct blob *b, const char *key,
		       const struct blob_meta *m)
{
	return in(b)->ops->mkdir(in(b), key, m);
}

static int cache_rmdir(struct blob *b, const char *key)
{
	return in(b)->ops->rmdir(in(b), key);
}

static int cache_setmeta(struct blob *b, const char *key,
			 const struct blob_meta *m)
{
	return in(b)->ops->setmeta(in(b), key, m);
}

static int cache_getxattrs(struct blob *b, const char *key,
			   struct blob_xattrs *out)
{
	return in(b)->ops->getxattrs(in(b), key, out);
}

static int cache_setxattrs(struct blob *b, const char *key,
			   const struct blob_xattrs *x)
{
	return in(b)->ops->setxattrs(in(b), key, x);
}

static int cache_fitxattrs(struct blob *b, const struct blob_xattrs *x)
{
	return in(b)->ops->fitxattrs(in(b), x);
}

static int cache_sync(struct blob *b, const char *key)
{
	return in(b)->ops->sync(in(b), key);
}

static int cache_statfs(struct blob *b, struct statvfs *out)
{
	return in(b)->ops->statfs(in(b), out);
}

static int cache_version(struct blob *b, const char *key, char *out,
			 size_t cap)
{
	if (!in(b)->ops->version)
		return -ENOENT;
	return in(b)->ops->version(in(b), key, out, cap);
}

static void cache_free(struct blob *b)
{
	struct blob_cache *c = cache(b);

	if (!c)
		return;
	if (c->inner)
		c->inner->ops->free(c->inner);
	if (c->dir_fd >= 0)
		close(c->dir_fd);
	pthread_mutex_destroy(&c->mu);
	free(c->dir);
	free(c);
}

static const struct blob_ops cache_ops;

struct blob *blob_cache_inner(struct blob *b)
{
	return b->ops == &cache_ops ? in(b) : b;
}

static const struct blob_ops cache_ops = {
	.name = "cache",
	.get = cache_get,
	.put = cache_put,
	.del = cache_del,
	.list = cache_list,
	.mkdir = cache_mkdir,
	.rmdir = cache_rmdir,
	.rename = cache_rename,
	.setmeta = cache_setmeta,
	.getxattrs = cache_getxattrs,
	.setxattrs = cache_setxattrs,
	.fitxattrs = cache_fitxattrs,
	.sync = cache_sync,
	.statfs = cache_statfs,
	.version = cache_version,
	.free = cache_free,
};

/* Temporary files a crash left. */
static void clean_tmp(struct blob_cache *c)
{
	int fd = dup(c->dir_fd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)))
		if (strncmp(de->d_name, ".tmp-", 5) == 0)
			unlinkat(c->dir_fd, de->d_name, 0);
	closedir(d);
}

int blob_cache_open(struct blob **out, struct blob *inner, const char *dir,
		    uint64_t max_bytes)
{
	struct blob_cache *c = calloc(1, sizeof(*c));
	int rc;

	if (!c) {
		inner->ops->free(inner);
		return -ENOMEM;
	}
	c->base.ops = &cache_ops;
	c->inner = inner;
	c->max_bytes = max_bytes;
	c->dir_fd = -1;
	pthread_mutex_init(&c->mu, NULL);
	c->dir = strdup(dir);
	if (!c->dir) {
		rc = -ENOMEM;
		goto out_free;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		rc = -errno;
		log_err("cache folder '%s': %s", dir, strerror(errno));
		goto out_free;
	}
	c->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->dir_fd < 0) {
		rc = -errno;
		goto out_free;
	}
	clean_tmp(c);
	pthread_mutex_lock(&c->mu);
	scan(c, c->max_bytes > 0);
	pthread_mutex_unlock(&c->mu);
	*out = &c->base;
	return 0;
out_free:
	cache_free(&c->base);
	return rc;
}
