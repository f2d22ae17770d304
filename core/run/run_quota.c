/* core/run/run_quota.c: each user's disk use in memory, the per-user quota
 * (cfg->user_quota_mb) and the cache's least-recently-used order, see
 * engine.h and engine_int.h.
 *
 * The figures are measured once at start-up (quota_load) and then kept up
 * to date as records and cache entries are written, measured and removed:
 * a node's own folders when it ends, a cache entry when it is stored, a
 * record when it is made. Nothing here walks more than what it measures.
 */
#include "core/run/engine_int.h"
#include "core/util/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Deeper than any record can be: out/ is copied at most 32 deep. */
#define DU_MAX_DEPTH 48
/* runs/<user> and cache/<user> themselves. */
#define QUOTA_USER_DIRS (2 * DU_BLOCK)

uint64_t du_charge(uint64_t size)
{
	uint64_t blocks = size / DU_BLOCK + (size % DU_BLOCK != 0);

	return (blocks ? blocks : 1) * DU_BLOCK;
}

/* --- measuring ----------------------------------------------------------- */

struct du_walk {
	struct du *out;
	size_t max;
};

static int du_add(struct du_walk *w, const struct stat *st)
{
	w->out->charge += du_charge((uint64_t)st->st_size);
	if (S_ISREG(st->st_mode))
		w->out->bytes += (uint64_t)st->st_size;
	return ++w->out->entries > w->max ? -EFBIG : 0;
}

/* The entries of the folder `fd` (taken, closed on return). */
static int du_dir(struct du_walk *w, int fd, int depth)
{
	struct dirent *de;
	DIR *d = fdopendir(fd);
	int rc = 0;

	if (!d) {
		rc = -errno;
		close(fd);
		return rc;
	}
	while (!rc && (de = readdir(d))) {
		struct stat st;
		int sub;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;	/* gone meanwhile */
		rc = du_add(w, &st);
		if (rc || !S_ISDIR(st.st_mode) || depth >= DU_MAX_DEPTH)
			continue;
		sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY |
			     O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0)
			rc = du_dir(w, sub, depth + 1);
	}
	closedir(d);
	return rc;
}

int du_tree(int dirfd, const char *rel, size_t max_entries, struct du *out)
{
	struct du_walk w = { out, max_entries };
	struct stat st;
	int fd, rc;

	if (fstatat(dirfd, rel, &st, AT_SYMLINK_NOFOLLOW))
		return errno == ENOENT ? 0 : -errno;
	rc = du_add(&w, &st);
	if (rc || !S_ISDIR(st.st_mode))
		return rc;
	fd = openat(dirfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	return du_dir(&w, fd, 1);
}

/* --- users --------------------------------------------------------------- */

struct quser *quota_user(struct engine *e, const char *user)
{
	struct quser *qu;

	for (qu = e->qusers; qu; qu = qu->next)
		if (!strcmp(qu->name, user))
			return qu;
	qu = calloc(1, sizeof(*qu));
	if (!qu)
		return NULL;
	qu->name = strdup(user);
	if (!qu->name) {
		free(qu);
		return NULL;
	}
	qu->next = e->qusers;
	e->qusers = qu;
	return qu;
}

static uint64_t quota_used(const struct quser *qu)
{
	return QUOTA_USER_DIRS + qu->records + qu->cache + qu->held;
}

void quota_unhold(struct quser *qu, uint64_t n)
{
	if (qu)
		qu->held -= n < qu->held ? n : qu->held;
}

void quota_settle(struct run *r, uint64_t *part, uint64_t now,
		  uint64_t covered)
{
	uint64_t was = *part;

	*part = now;
	if (r->deleting || !r->qu)
		return;
	/* unsigned arithmetic: a shrinking part subtracts */
	r->charged += now - was;
	r->qu->records += now - was;
	if (now > was && now - was > covered) {
		uint64_t take = now - was - covered;

		if (take > r->hold)
			take = r->hold;
		r->hold -= take;
		quota_unhold(r->qu, take);
	}
}

void quota_forget(struct run *r)
{
	if (!r->qu)
		return;
	r->qu->records -= r->charged < r->qu->records ? r->charged :
			  r->qu->records;
	quota_unhold(r->qu, r->hold);
	r->charged = r->hold = 0;
}

/* --- the cache index ----------------------------------------------------- */

static size_t ctab_slot(const struct engine *e, const struct quser *qu,
			const uint8_t key[SHA256_LEN])
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));	/* a SHA-256: already uniform */
	h ^= (uint64_t)(uintptr_t)qu * 0x9e3779b97f4a7c15ull;
	return (size_t)(h % e->ctab_size);
}

static int ctab_grow(struct engine *e)
{
	size_t n = e->ctab_size ? 2 * e->ctab_size : 256;
	struct centry **t = calloc(n, sizeof(*t)), **old = e->ctab;
	size_t oldn = e->ctab_size;

	if (!t)
		return -ENOMEM;
	e->ctab = t;
	e->ctab_size = n;
	for (size_t i = 0; i < oldn; i++) {
		struct centry *ce, *next;

		for (ce = old[i]; ce; ce = next) {
			size_t s = ctab_slot(e, ce->qu, ce->key);

			next = ce->hnext;
			ce->hnext = t[s];
			t[s] = ce;
		}
	}
	free(old);
	return 0;
}

static struct centry *ctab_get(struct engine *e, const struct quser *qu,
			       const uint8_t key[SHA256_LEN])
{
	if (!e->ctab_size)
		return NULL;
	for (struct centry *ce = e->ctab[ctab_slot(e, qu, key)]; ce;
	     ce = ce->hnext)
		if (ce->qu == qu && !memcmp(ce->key, key, SHA256_LEN))
			return ce;
	return NULL;
}

static void lru_unlink(struct quser *qu, struct centry *ce)
{
	if (ce->older)
		ce->older->newer = ce->newer;
	else
		qu->oldest = ce->newer;
	if (ce->newer)
		ce->newer->older = ce->older;
	else
		qu->newest = ce->older;
	ce->older = ce->newer = NULL;
}

static void lru_push(struct quser *qu, struct centry *ce)
{
	ce->older = qu->newest;
	ce->newer = NULL;
	if (qu->newest)
		qu->newest->newer = ce;
	else
		qu->oldest = ce;
	qu->newest = ce;
}

struct centry *cache_find(struct engine *e, struct quser *qu,
			  const uint8_t key[SHA256_LEN])
{
	struct centry *ce = qu ? ctab_get(e, qu, key) : NULL;

	if (ce) {
		lru_unlink(qu, ce);
		lru_push(qu, ce);
	}
	return ce;
}

int cache_put(struct engine *e, struct quser *qu,
	      const uint8_t key[SHA256_LEN], uint64_t bytes)
{
	struct centry *ce = ctab_get(e, qu, key);
	size_t s;

	if (ce) {
		qu->cache -= ce->bytes < qu->cache ? ce->bytes : qu->cache;
		lru_unlink(qu, ce);
	} else {
		if (e->nentries >= e->ctab_size && ctab_grow(e))
			return -ENOMEM;
		ce = calloc(1, sizeof(*ce));
		if (!ce)
			return -ENOMEM;
		ce->qu = qu;
		memcpy(ce->key, key, SHA256_LEN);
		s = ctab_slot(e, qu, key);
		ce->hnext = e->ctab[s];
		e->ctab[s] = ce;
		e->nentries++;
	}
	ce->bytes = bytes;
	qu->cache += bytes;
	lru_push(qu, ce);
	return 0;
}

static void ctab_del(struct engine *e, struct centry *ce)
{
	struct centry **p = &e->ctab[ctab_slot(e, ce->qu, ce->key)];

	while (*p && *p != ce)
		p = &(*p)->hnext;
	if (*p)
		*p = ce->hnext;
	e->nentries--;
}

/* Move the entry's folder to the trash for the janitor and forget it. */
static void cache_evict(struct engine *e, struct centry *ce)
{
	struct quser *qu = ce->qu;
	char hex[SHA256_HEX], from[4400], to[4400];

	snprintf(from, sizeof(from), "%s/%s/%s", e->cache_dir, qu->name,
		 sha256_hex(ce->key, hex));
	snprintf(to, sizeof(to), "%s/c%llu", e->trash_dir,
		 (unsigned long long)++e->seq);
	if (rename(from, to) == 0) {
		char *t = strdup(to);

		if (t)
			janitor_add(e, t);
		else
			runner_work_remove(to);
	} else if (errno != ENOENT) {	/* ENOENT: removed by hand */
		log_warn("cache of %s: cannot evict '%s': %s", qu->name, hex,
			 strerror(errno));
		return;	/* still on disk: still counted */
	}
	log_debug("cache of %s: evicted '%s' (%llu bytes)", qu->name, hex,
		  (unsigned long long)ce->bytes);
	qu->cache -= ce->bytes < qu->cache ? ce->bytes : qu->cache;
	lru_unlink(qu, ce);
	ctab_del(e, ce);
	free(ce);
}

/* The oldest entry no copy is using, or NULL. */
static struct centry *evictable(struct quser *qu)
{
	struct centry *ce = qu->oldest;

	while (ce && ce->pins)
		ce = ce->newer;
	return ce;
}

static void mb(char out[32], uint64_t bytes)
{
	snprintf(out, 32, "%.1f MB", (double)bytes / (1 << 20));
}

int quota_reserve(struct engine *e, struct quser *qu, uint64_t want,
		  const char *what, char *msg, size_t msglen)
{
	uint64_t quota = e->cfg->user_quota_mb << 20;
	char need[32], left[32], rec[32];

	if (!qu) {
		snprintf(msg, msglen, "out of memory counting disk use");
		return -ENOMEM;
	}
	while (quota && quota_used(qu) + want > quota) {
		struct centry *ce = evictable(qu);
		uint64_t before = qu->cache;

		if (!ce)
			break;
		cache_evict(e, ce);
		if (qu->cache == before)
			break;	/* could not move it: stop trying */
	}
	if (quota && (quota_used(qu) > quota ||
		      want > quota - quota_used(qu))) {
		mb(need, want);
		mb(left, quota > quota_used(qu) ? quota - quota_used(qu) : 0);
		mb(rec, qu->records);
		snprintf(msg, msglen, "disk quota of %llu MB for %s's runs "
			 "and cache exceeded: %s more for %s, %s left "
			 "(records use %s: remove old runs with rm -r "
			 "run/<name>)", (unsigned long long)
			 e->cfg->user_quota_mb, qu->name, need, what, left,
			 rec);
		return -EDQUOT;
	}
	qu->held += want;
	return 0;
}

/* --- start-up ------------------------------------------------------------ */

static int is_key(const char *s)
{
	size_t n = strlen(s);

	if (n != 2 * SHA256_LEN)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return 0;
	return 1;
}

static int unhex(const char *s, uint8_t key[SHA256_LEN])
{
	for (size_t i = 0; i < SHA256_LEN; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		key[i] = (uint8_t)v;
	}
	return 0;
}

struct found {
	uint8_t key[SHA256_LEN];
	uint64_t bytes;
	struct timespec used;	/* the folder's mtime: set at each hit */
};

static int found_cmp(const void *a, const void *b)
{
	const struct timespec *x = &((const struct found *)a)->used;
	const struct timespec *y = &((const struct found *)b)->used;

	if (x->tv_sec != y->tv_sec)
		return x->tv_sec < y->tv_sec ? -1 : 1;
	return x->tv_nsec < y->tv_nsec ? -1 : x->tv_nsec > y->tv_nsec;
}

/* Entries of one user, oldest first into the index. */
static int load_cache_user(struct engine *e, int cfd, const char *user)
{
	struct found *v = NULL, *nv;
	size_t n = 0, alloc = 0;
	struct quser *qu = quota_user(e, user);
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	if (!qu)
		return -ENOMEM;
	fd = openat(cfd, user, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return 0;	/* not a folder: not an entry of ours */
	}
	while (!rc && (de = readdir(d))) {
		struct du du = { 0, 0, 0 };
		struct stat st;

		if (!strncmp(de->d_name, ".tmp-", 5)) {
			char path[4400];

			/* a result a stopped daemon was still storing */
			snprintf(path, sizeof(path), "%s/%s/%s", e->cache_dir,
				 user, de->d_name);
			runner_work_remove(path);
			continue;
		}
		if (!is_key(de->d_name) ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
		    !S_ISDIR(st.st_mode))
			continue;
		if (n == alloc) {
			alloc = alloc ? 2 * alloc : 64;
			nv = realloc(v, alloc * sizeof(*v));
			if (!nv) {
				rc = -ENOMEM;
				break;
			}
			v = nv;
		}
		if (unhex(de->d_name, v[n].key))
			continue;
		/* what could not be read is not counted: it cannot grow */
		du_tree(dirfd(d), de->d_name, SIZE_MAX, &du);
		v[n].bytes = du.charge;
		v[n].used = st.st_mtim;
		n++;
	}
	closedir(d);
	if (!rc && n)
		qsort(v, n, sizeof(*v), found_cmp);
	for (size_t i = 0; !rc && i < n; i++)
		rc = cache_put(e, qu, v[i].key, v[i].bytes);
	free(v);
	return rc;
}

int quota_load(struct engine *e)
{
	struct dirent *de;
	DIR *d;
	int rc = 0;

	for (struct run *r = e->runs; r; r = r->next) {
		r->qu = quota_user(e, r->user);
		if (!r->qu)
			return -ENOMEM;
		r->qu->records += r->charged;
	}
	d = opendir(e->cache_dir);
	if (!d)
		return -errno;
	while (!rc && (de = readdir(d)))
		if (de->d_name[0] != '.')
			rc = load_cache_user(e, dirfd(d), de->d_name);
	closedir(d);
	return rc;
}

void quota_free(struct engine *e)
{
	struct quser *qu, *next;

	for (qu = e->qusers; qu; qu = next) {
		struct centry *ce, *cn;

		next = qu->next;
		for (ce = qu->oldest; ce; ce = cn) {
			cn = ce->newer;
			free(ce);
		}
		free(qu->name);
		free(qu);
	}
	e->qusers = NULL;
	free(e->ctab);
	e->ctab = NULL;
	e->ctab_size = e->nentries = 0;
}
