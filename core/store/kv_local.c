/* core/store/kv_local.c: the embedded key-value store (kv.h): one file per
 * key under a folder of the state directory, so sessions outlive the
 * daemon with no server to run.
 *
 *   DIR/str/<key>    a string: the value
 *   DIR/list/<key>   a list: its elements in order
 *   DIR/set/<key>    a set: its members, each once
 *
 * A key's file name is the key with every byte but A-Z a-z 0-9 . _ -
 * written %XX (and a leading '.' too), or, when that is longer than 200
 * bytes, '~' and the SHA-256 of the key. Lists and sets hold records
 * "<length>\n<bytes>\n": an element is appended with one write(), and a
 * record cut short by a crash is ignored. A string or a set that changes
 * otherwise is written whole to a temporary file renamed over the old, so
 * a reader sees the old or the new, never a mix. One mutex serialises the
 * calls (they are short, and one daemon owns the state folder).
 */
#include "core/store/kv.h"
#include "core/util/sha256.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME_MAX_ESC 200
#define RECORD_MAX ((size_t)64 << 20)	/* one element, and a whole file */

struct kv_local {
	struct kv kv;			/* first: kv.h */
	pthread_mutex_t mu;
	char *dir;
	unsigned long tmp_seq;
};

static const char *const types[] = { "str", "list", "set" };
enum { T_STR, T_LIST, T_SET };

static struct kv_local *local_of(struct kv *kv)
{
	return (struct kv_local *)kv;
}

static int key_ok(const char *key)
{
	size_t n = strlen(key);

	if (n == 0 || n > KV_KEY_MAX) {
		kv_set_error("key of %zu bytes (1 to %d)", n, KV_KEY_MAX);
		return -EINVAL;
	}
	return 0;
}

/* DIR/<type>/<escaped key> into `out`. */
static int key_path(struct kv_local *l, int type, const char *key,
		    char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	char name[NAME_MAX_ESC + 4];
	size_t n = 0;
	int rc = key_ok(key);

	if (rc)
		return rc;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		int plain = (*p >= 'a' && *p <= 'z') ||
			    (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9') || *p == '_' ||
			    *p == '-' || (*p == '.' && p != (const unsigned
							     char *)key);

		if (n + 3 > NAME_MAX_ESC) {
			n = 0;
			break;
		}
		if (plain) {
			name[n++] = (char)*p;
		} else {
			name[n++] = '%';
			name[n++] = hex[*p >> 4];
			name[n++] = hex[*p & 15];
		}
	}
	if (n == 0) {
		uint8_t d[SHA256_LEN];

		sha256(key, strlen(key), d);
		name[n++] = '~';
		for (size_t i = 0; i < 16; i++) {
			name[n++] = hex[d[i] >> 4];
			name[n++] = hex[d[i] & 15];
		}
	}
	name[n] = '\0';
	if ((size_t)snprintf(out, cap, "%s/%s/%s", l->dir, types[type],
			     name) >= cap)
		return -ENAMETOOLONG;
	return 0;
}

static int fail(const char *what, const char *path)
{
	int e = errno;

	kv_set_error("%s '%s': %s", what, path, strerror(e));
	return e == ENOENT ? -EIO : -e;
}

/* The whole file at `path` into `out` (cap applies); -ENOENT when none. */
static int read_file(const char *path, struct buf *out)
{
	char chunk[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
	ssize_t k;

	if (fd < 0)
		return errno == ENOENT ? -ENOENT : fail("reading", path);
	while ((k = read(fd, chunk, sizeof(chunk))) != 0) {
		if (k < 0) {
			if (errno == EINTR)
				continue;
			rc = fail("reading", path);
			break;
		}
		rc = buf_append(out, chunk, (size_t)k);
		if (rc)
			break;
	}
	close(fd);
	return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Replace the file at `path` with `len` bytes, through a temporary file. */
static int replace_file(struct kv_local *l, const char *path,
			const void *data, size_t len)
{
	char tmp[PATH_MAX];
	int fd, rc = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-%lu", path,
			     ++l->tmp_seq) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail("writing", tmp);
	if (write_all(fd, data, len))
		rc = fail("writing", tmp);
	if (close(fd) && !rc)
		rc = fail("writing", tmp);
	if (!rc && rename(tmp, path))
		rc = fail("renaming", tmp);
	if (rc)
		unlink(tmp);
	return rc;
}

/* --- records of lists and sets ------------------------------------------ */

static int record_put(struct buf *b, const void *v, size_t len)
{
	char head[32];
	int n = snprintf(head, sizeof(head), "%zu\n", len);
	int rc = buf_append(b, head, (size_t)n);

	if (!rc)
		rc = buf_append(b, v, len);
	if (!rc)
		rc = buf_append(b, "\n", 1);
	return rc;
}

/* Call `cb` for each whole record of `data`; a torn one ends the walk. */
static int records_walk(char *data, size_t len, kv_item_cb cb,
			void *arg)
{
	size_t off = 0;

	while (off < len) {
		char *end;
		unsigned long long n;
		char *p = data + off;
		size_t left = len - off;
		char *nl = memchr(p, '\n', left < 24 ? left : 24);
		int rc;

		if (!nl)
			break;
		n = strtoull(p, &end, 10);
		if (end != nl || n > left - (size_t)(nl + 1 - p) - 1 ||
		    nl[1 + n] != '\n')
			break;
		/* NUL-terminated for the callback: records end in '\n',
		 * which is not part of them. */
		nl[1 + n] = '\0';
		rc = cb(arg, nl + 1, (size_t)n);
		nl[1 + n] = '\n';
		if (rc)
			return rc;
		off += (size_t)(nl + 2 + n - p);
	}
	return 0;
}

struct count {
	uint64_t n;
};

static int count_one(void *arg, const char *data, size_t len)
{
	(void)data;
	(void)len;
	((struct count *)arg)->n++;
	return 0;
}

/* The records of the list or set file at `path` (empty when none). */
static int records_load(const char *path, struct buf *out)
{
	int rc = read_file(path, out);

	return rc == -ENOENT ? 0 : rc;
}

/* The records of the list or set `key`, read under the lock, into `b`
 * (initialised here; the caller releases it). */
static int records_of(struct kv_local *l, int type, const char *key,
		      struct buf *b)
{
	char path[PATH_MAX];
	int rc;

	buf_init(b, RECORD_MAX);
	rc = key_path(l, type, key, path, sizeof(path));
	if (rc)
		return rc;
	pthread_mutex_lock(&l->mu);
	rc = records_load(path, b);
	pthread_mutex_unlock(&l->mu);
	return rc;
}

/* --- operations ------------------------------------------------------------ */

static int local_get(struct kv *kv, const char *key, struct buf *out)
{
	struct kv_local *l = local_of(kv);
	char path[PATH_MAX];
	int rc = key_path(l, T_STR, key, path, sizeof(path));

	if (rc)
		return rc;
	pthread_mutex_lock(&l->mu);
	rc = read_file(path, out);
	pthread_mutex_unlock(&l->mu);
	return rc;
}

static int local_set(struct kv *kv, const char *key, const void *v,
		     size_t len, unsigned flags)
{
	struct kv_local *l = local_of(kv);
	char path[PATH_MAX];
	int rc = key_path(l, T_STR, key, path, sizeof(path));

	if (rc)
		return rc;
	pthread_mutex_lock(&l->mu);
	if ((flags & KV_NX) && access(path, F_OK) == 0)
		rc = -EEXIST;
	else
		rc = replace_file(l, path, v, len);
	pthread_mutex_unlock(&l->mu);
	return rc;
}

static int local_del(struct kv *kv, const char *key)
{
	struct kv_local *l = local_of(kv);
	char path[PATH_MAX];
	int rc = 0;

	pthread_mutex_lock(&l->mu);
	for (int t = T_STR; t <= T_SET && !rc; t++) {
		rc = key_path(l, t, key, path, sizeof(path));
		if (!rc && unlink(path) && errno != ENOENT)
			rc = fail("removing", path);
	}
	pthread_mutex_unlock(&l->mu);
	return rc;
}

static int local_rpush(struct kv *kv, const char *key, const void *v,
		       size_t len)
{
	struct kv_local *l = local_of(kv);
	char path[PATH_MAX];
	struct buf rec;
	int fd, rc = key_path(l, T_LIST, key, path, sizeof(path));

	if (rc)
		return rc;
	if (len > RECORD_MAX)
		return -EFBIG;
	buf_init(&rec, RECORD_MAX + 64);
	rc = record_put(&rec, v, len);
	if (rc)
		goto out;
	pthread_mutex_lock(&l->mu);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = fail("appending to", path);
	} else {
		if (write_all(fd, rec.data, rec.len))
			rc = fail("appending to", path);
		if (close(fd) && !rc)
			rc = fail("appending to", path);
	}
	pthread_mutex_unlock(&l->mu);
out:
	buf_release(&rec);
	return rc;
}

static int local_llen(struct kv *kv, const char *key, uint64_t *out)
{
	struct count c = { 0 };
	struct buf b;
	int rc = records_of(local_of(kv), T_LIST, key, &b);

	if (!rc)
		rc = records_walk(b.data, b.len, count_one, &c);
	buf_release(&b);
	*out = c.n;
	return rc;
}

struct range {
	int64_t start, stop, i;
	kv_item_cb cb;
	void *arg;
};

static int range_one(void *arg, const char *data, size_t len)
{
	struct range *r = arg;
	int64_t i = r->i++;

	if (i < r->start || i > r->stop)
		return 0;
	return r->cb(r->arg, data, len);
}

/* LRANGE's indexes for a list of `n` elements; 0 when nothing is in it. */
static int range_norm(int64_t n, int64_t *start, int64_t *stop)
{
	if (*start < 0)
		*start += n;
	if (*stop < 0)
		*stop += n;
	if (*start < 0)
		*start = 0;
	if (*stop >= n)
		*stop = n - 1;
	return *start <= *stop;
}

static int local_lrange(struct kv *kv, const char *key, int64_t start,
			int64_t stop, kv_item_cb cb, void *arg)
{
	struct count c = { 0 };
	struct range r = { start, stop, 0, cb, arg };
	struct buf b;
	int rc = records_of(local_of(kv), T_LIST, key, &b);

	if (!rc && (start < 0 || stop < 0))
		rc = records_walk(b.data, b.len, count_one, &c);
	if (!rc && range_norm(start < 0 || stop < 0 ? (int64_t)c.n :
			      INT64_MAX, &r.start, &r.stop))
		rc = records_walk(b.data, b.len, range_one, &r);
	buf_release(&b);
	return rc;
}

struct find {
	const char *member;
	size_t len;
	int found;
	struct buf *keep;	/* srem: the others */
};

static int find_one(void *arg, const char *data, size_t len)
{
	struct find *f = arg;

	if (len == f->len && memcmp(data, f->member, len) == 0) {
		f->found = 1;
		return 0;
	}
	return f->keep ? record_put(f->keep, data, len) : 0;
}

static int local_sadd(struct kv *kv, const char *key, const char *member)
{
	struct kv_local *l = local_of(kv);
	char path[PATH_MAX];
	struct find f = { member, strlen(member), 0, NULL };
	struct buf b;
	int rc = key_path(l, T_SET, key, path, sizeof(path));

	if (rc)
		return rc;
	buf_init(&b, RECORD_MAX);
	pthread_mutex_lock(&l->mu);
	rc = records_load(path, &b);
	if (!rc)
		rc = records_walk(b.data, b.len, find_one, &f);
	/* Appended whole, as a list's element: the file stays valid. */
	if (!rc && !f.found) {
		size_t before = b.len;
		int fd;

		rc = record_put(&b, member, f.len);
		fd = rc ? -1 : open(path, O_WRONLY | O_CREAT | O_APPEND |
				    O_CLOEXEC, 0600);
		if (!rc && fd < 0)
			rc = fail("adding to", path);
		if (fd >= 0) {
			if (write_all(fd, b.data + before, b.len - before))
				rc = fail("adding to", path);
			if (close(fd) && !rc)
				rc = fail("adding to", path);
		}
	}
	pthread_mutex_unlock(&l->mu);
	buf_release(&b);
	return rc;
}

static int local_srem(struct kv *kv, const char *key, const char *member)
{
	struct kv_local *l = local_of(kv);
	char path[PATH_MAX];
	struct buf b, keep;
	struct find f = { member, strlen(member), 0, &keep };
	int rc = key_path(l, T_SET, key, path, sizeof(path));

	if (rc)
		return rc;
	buf_init(&b, RECORD_MAX);
	buf_init(&keep, RECORD_MAX);
	pthread_mutex_lock(&l->mu);
	rc = records_load(path, &b);
	if (!rc)
		rc = records_walk(b.data, b.len, find_one, &f);
	if (!rc && f.found)
		rc = replace_file(l, path, keep.data ? keep.data : "",
				  keep.len);
	pthread_mutex_unlock(&l->mu);
	buf_release(&b);
	buf_release(&keep);
	return rc;
}

static int local_smembers(struct kv *kv, const char *key, kv_item_cb cb,
			  void *arg)
{
	struct buf b;
	int rc = records_of(local_of(kv), T_SET, key, &b);

	if (!rc)
		rc = records_walk(b.data, b.len, cb, arg);
	buf_release(&b);
	return rc;
}

static int local_cas(struct kv *kv, const char *key, const void *old,
		     size_t oldlen, const void *v, size_t len)
{
	struct kv_local *l = local_of(kv);
	char path[PATH_MAX];
	struct buf cur;
	int rc = key_path(l, T_STR, key, path, sizeof(path));

	if (rc)
		return rc;
	buf_init(&cur, RECORD_MAX);
	pthread_mutex_lock(&l->mu);
	rc = read_file(path, &cur);
	if (rc == -ENOENT) {
		rc = old ? -ESTALE : 0;
	} else if (!rc) {
		int is_old = old && cur.len == oldlen &&
			     memcmp(cur.data, old, oldlen) == 0;
		int is_new = cur.len == len && memcmp(cur.data, v, len) == 0;

		if (is_new)
			goto out;	/* already done */
		rc = is_old ? 0 : -ESTALE;
	}
	if (!rc)
		rc = replace_file(l, path, v, len);
out:
	pthread_mutex_unlock(&l->mu);
	buf_release(&cur);
	return rc;
}

static void local_free(struct kv *kv)
{
	struct kv_local *l = local_of(kv);

	pthread_mutex_destroy(&l->mu);
	free(l->dir);
	free(l);
}

static const struct kv_ops local_ops = {
	.name = "local",
	.get = local_get,
	.set = local_set,
	.del = local_del,
	.rpush = local_rpush,
	.llen = local_llen,
	.lrange = local_lrange,
	.sadd = local_sadd,
	.srem = local_srem,
	.smembers = local_smembers,
	.cas = local_cas,
	.free = local_free,
};

static int mkdir_one(const char *path)
{
	if (mkdir(path, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

/* Temporary files left by a crash. */
static void clean_tmp(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!strstr(de->d_name, ".tmp-"))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
				     de->d_name) < sizeof(path))
			unlink(path);
	}
	closedir(d);
}

int kv_local_open(struct kv **out, const char *dir)
{
	struct kv_local *l;
	char path[PATH_MAX];
	int rc = mkdir_one(dir);

	for (int t = T_STR; t <= T_SET && !rc; t++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
				     types[t]) >= sizeof(path))
			return -ENAMETOOLONG;
		rc = mkdir_one(path);
		if (!rc)
			clean_tmp(path);
	}
	if (rc)
		return rc;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->dir = strdup(dir);
	if (!l->dir) {
		free(l);
		return -ENOMEM;
	}
	pthread_mutex_init(&l->mu, NULL);
	l->kv.ops = &local_ops;
	snprintf(l->kv.where, sizeof(l->kv.where), "the state folder");
	*out = &l->kv;
	return 0;
}
