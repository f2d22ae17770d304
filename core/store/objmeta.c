/* core/store/objmeta.c: the local cache of object metadata, see
 * objmeta.h.
 *
 * Log lines, fields separated by tabs, keys and ETags percent-encoded:
 *   S KEY ETAG LASTMOD MODE UID GID SEC NSEC SIZE XATTRS|-
 *   D KEY
 * A line cut short by a crash does not parse and is ignored.
 */
#include "core/store/objmeta.h"
#include "core/store/http.h"
#include "core/store/s3_int.h"
#include "core/util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINE_MAX_BYTES (3 * PATH_MAX + 8192)

struct ent {
	struct ent *next;
	char *key;
	struct objmeta_ent e;
};

struct objmeta {
	pthread_mutex_t mu;
	struct ent **table;
	size_t size, count;
	size_t lines;		/* in the log, to know when to compact */
	char *path;
	int fd;			/* the log, O_APPEND */
};

static size_t hash(const char *s)
{
	size_t h = 14695981039346656037ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static struct ent **slot(struct objmeta *o, const char *key)
{
	struct ent **p = &o->table[hash(key) & (o->size - 1)];

	while (*p && strcmp((*p)->key, key) != 0)
		p = &(*p)->next;
	return p;
}

static int grow(struct objmeta *o)
{
	size_t size = o->size ? o->size * 2 : 1024;
	struct ent **t = calloc(size, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < o->size; i++) {
		struct ent *e = o->table[i], *next;

		for (; e; e = next) {
			size_t h = hash(e->key) & (size - 1);

			next = e->next;
			e->next = t[h];
			t[h] = e;
		}
	}
	free(o->table);
	o->table = t;
	o->size = size;
	return 0;
}

static void ent_free(struct ent *e)
{
	free(e->key);
	free(e->e.xattrs);
	free(e);
}

/* Set in memory only; o->mu held. */
static int mem_set(struct objmeta *o, const char *key,
		   const struct objmeta_ent *src)
{
	struct ent **p, *e;
	char *x = NULL;

	if (o->count + 1 > o->size / 2 && grow(o))
		return -ENOMEM;
	if (src->xattrs && !(x = strdup(src->xattrs)))
		return -ENOMEM;
	p = slot(o, key);
	if (*p) {
		free((*p)->e.xattrs);
		(*p)->e = *src;
		(*p)->e.xattrs = x;
		return 0;
	}
	e = calloc(1, sizeof(*e));
	if (!e || !(e->key = strdup(key))) {
		free(e);
		free(x);
		return -ENOMEM;
	}
	e->e = *src;
	e->e.xattrs = x;
	*p = e;
	o->count++;
	return 0;
}

static void mem_del(struct objmeta *o, const char *key)
{
	struct ent **p = slot(o, key), *e = *p;

	if (!e)
		return;
	*p = e->next;
	ent_free(e);
	o->count--;
}

/* One line of the log for `key` (NULL e: a deletion) into `out`. */
static int format_line(char *out, size_t cap, const char *key,
		       const struct objmeta_ent *e)
{
	char k[3 * PATH_MAX], t[3 * OBJMETA_ETAG_MAX], d[3 * OBJMETA_DATE_MAX];
	int n;

	if (http_escape(k, sizeof(k), key, 1))
		return -ENAMETOOLONG;
	if (!e) {
		n = snprintf(out, cap, "D\t%s\n", k);
		return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : n;
	}
	if (http_escape(t, sizeof(t), e->etag, 0) ||
	    http_escape(d, sizeof(d), e->lastmod, 0))
		return -ENAMETOOLONG;
	n = snprintf(out, cap, "S\t%s\t%s\t%s\t%o\t%u\t%u\t%lld\t%ld\t%"
		     PRIu64 "\t%s\n", k, *t ? t : "-", *d ? d : "-",
		     (unsigned)e->m.mode, (unsigned)e->m.uid,
		     (unsigned)e->m.gid, (long long)e->m.mtime.tv_sec,
		     e->m.mtime.tv_nsec, e->m.size,
		     e->xattrs && *e->xattrs ? e->xattrs : "-");
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : n;
}

static int field_decode(char *out, size_t cap, const char *s)
{
	if (strcmp(s, "-") == 0) {
		*out = '\0';
		return 0;
	}
	return s3_pct_decode(out, cap, s, strlen(s));
}

/* Apply one line of the log; a malformed one is skipped. */
static void parse_line(struct objmeta *o, char *line)
{
	char *f[11], *save = NULL, key[PATH_MAX];
	struct objmeta_ent e;
	unsigned mode, uid, gid;
	long long sec;
	long nsec;
	uint64_t size;
	int n = 0;

	for (char *t = strtok_r(line, "\t", &save); t && n < 11;
	     t = strtok_r(NULL, "\t", &save))
		f[n++] = t;
	if (n < 2 || field_decode(key, sizeof(key), f[1]) || !*key)
		return;
	if (strcmp(f[0], "D") == 0 && n == 2) {
		mem_del(o, key);
		return;
	}
	if (strcmp(f[0], "S") != 0 || n != 11)
		return;
	memset(&e, 0, sizeof(e));
	if (field_decode(e.etag, sizeof(e.etag), f[2]) ||
	    field_decode(e.lastmod, sizeof(e.lastmod), f[3]) ||
	    sscanf(f[4], "%o", &mode) != 1 || sscanf(f[5], "%u", &uid) != 1 ||
	    sscanf(f[6], "%u", &gid) != 1 || sscanf(f[7], "%lld", &sec) != 1 ||
	    sscanf(f[8], "%ld", &nsec) != 1 ||
	    sscanf(f[9], "%" SCNu64, &size) != 1)
		return;
	e.m.mode = (mode_t)mode;
	e.m.uid = (uid_t)uid;
	e.m.gid = (gid_t)gid;
	e.m.mtime.tv_sec = (time_t)sec;
	e.m.mtime.tv_nsec = nsec;
	e.m.size = size;
	e.xattrs = strcmp(f[10], "-") == 0 ? NULL : f[10];
	mem_set(o, key, &e);
}

static int load(struct objmeta *o)
{
	FILE *f = fopen(o->path, "re");
	char *line = malloc(LINE_MAX_BYTES);

	if (!line) {
		if (f)
			fclose(f);
		return -ENOMEM;
	}
	if (!f) {
		free(line);
		return errno == ENOENT ? 0 : -errno;
	}
	while (fgets(line, LINE_MAX_BYTES, f)) {
		size_t n = strlen(line);

		o->lines++;
		if (n == 0 || line[n - 1] != '\n')
			continue;	/* cut short, or too long */
		line[n - 1] = '\0';
		parse_line(o, line);
	}
	fclose(f);
	free(line);
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Rewrite the log with one line per entry. */
static int compact(struct objmeta *o)
{
	char tmp[PATH_MAX], *line = malloc(LINE_MAX_BYTES);
	int fd, rc = 0;

	if (!line)
		return -ENOMEM;
	snprintf(tmp, sizeof(tmp), "%s.new", o->path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		free(line);
		return -errno;
	}
	for (size_t i = 0; i < o->size && !rc; i++)
		for (struct ent *e = o->table[i]; e && !rc; e = e->next) {
			int n = format_line(line, LINE_MAX_BYTES, e->key,
					    &e->e);

			if (n > 0)
				rc = write_all(fd, line, (size_t)n);
		}
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (!rc && rename(tmp, o->path) < 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	else
		o->lines = o->count;
	free(line);
	return rc;
}

int objmeta_open(struct objmeta **out, const char *path)
{
	struct objmeta *o = calloc(1, sizeof(*o));
	int rc;

	if (!o)
		return -ENOMEM;
	pthread_mutex_init(&o->mu, NULL);
	o->fd = -1;
	o->path = strdup(path);
	rc = o->path ? grow(o) : -ENOMEM;
	if (!rc)
		rc = load(o);
	if (!rc && o->lines > o->count + 64)
		rc = compact(o);
	if (!rc) {
		o->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			     0600);
		if (o->fd < 0)
			rc = -errno;
	}
	if (rc) {
		objmeta_free(o);
		return rc;
	}
	*out = o;
	return 0;
}

void objmeta_free(struct objmeta *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->size; i++) {
		struct ent *e = o->table[i], *next;

		for (; e; e = next) {
			next = e->next;
			ent_free(e);
		}
	}
	free(o->table);
	if (o->fd >= 0)
		close(o->fd);
	free(o->path);
	pthread_mutex_destroy(&o->mu);
	free(o);
}

int objmeta_etag(struct objmeta *o, const char *key, char *out, size_t cap)
{
	struct ent *e;
	int rc = -ENOENT;

	pthread_mutex_lock(&o->mu);
	e = *slot(o, key);
	if (e && e->e.etag[0]) {
		size_t n = strlen(e->e.etag);

		rc = n < cap ? 0 : -ERANGE;
		if (!rc)
			memcpy(out, e->e.etag, n + 1);
	}
	pthread_mutex_unlock(&o->mu);
	return rc;
}

int objmeta_get(struct objmeta *o, const char *key, struct objmeta_ent *out)
{
	struct ent *e;
	int rc = 0;

	pthread_mutex_lock(&o->mu);
	e = *slot(o, key);
	if (!e) {
		rc = -ENOENT;
	} else {
		*out = e->e;
		if (e->e.xattrs && !(out->xattrs = strdup(e->e.xattrs)))
			rc = -ENOMEM;
	}
	pthread_mutex_unlock(&o->mu);
	return rc;
}

/* Append one line; o->mu held. A cache that cannot be written is only
 * slower next time. */
static void log_line(struct objmeta *o, const char *key,
		     const struct objmeta_ent *e)
{
	static int warned;
	char *line = malloc(LINE_MAX_BYTES);
	int n = line ? format_line(line, LINE_MAX_BYTES, key, e) : -ENOMEM;

	if (n > 0)
		n = write_all(o->fd, line, (size_t)n);
	if (n < 0 && !warned) {
		warned = 1;
		log_warn("metadata cache '%s': %s (the store's headers are "
			 "used instead)", o->path, strerror(-n));
	}
	o->lines++;
	free(line);
	/* A long-lived daemon rewrites its log now and then. */
	if (o->lines > 4 * o->count + 10000 && compact(o) == 0) {
		int fd = open(o->path, O_WRONLY | O_APPEND | O_CLOEXEC);

		if (fd >= 0) {
			close(o->fd);
			o->fd = fd;
		}
	}
}

int objmeta_set(struct objmeta *o, const char *key,
		const struct objmeta_ent *e)
{
	int rc;

	pthread_mutex_lock(&o->mu);
	rc = mem_set(o, key, e);
	if (!rc)
		log_line(o, key, e);
	pthread_mutex_unlock(&o->mu);
	return rc;
}

void objmeta_del(struct objmeta *o, const char *key)
{
	pthread_mutex_lock(&o->mu);
	if (*slot(o, key)) {
		mem_del(o, key);
		log_line(o, key, NULL);
	}
	pthread_mutex_unlock(&o->mu);
}
