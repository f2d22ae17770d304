/* core/store/s3_list.c: listing a volume of the S3 backend (blob_s3.h):
 * ListObjectsV2 page by page, attributes from the metadata cache, HEAD
 * only for objects it does not know, several at once.
 *
 * The listing has no delimiter: every key under the prefix comes, and
 * folders are made from the keys' paths. (s3rver 3.7.1 also drops a
 * common prefix from a delimited listing when all its objects lie two or
 * more levels below it; without a delimiter that cannot bite.) */
#include "core/store/http.h"
#include "core/store/objmeta.h"
#include "core/store/s3_int.h"
#include "core/util/log.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LIST_PAGE_MAX (8u << 20)	/* one page of 1,000 keys */
#define PARALLEL_MAX 8

void s3_objs_release(struct s3_objs *o)
{
	for (size_t i = 0; i < o->n; i++)
		free(o->v[i].key);
	free(o->v);
	o->v = NULL;
	o->n = o->alloc = 0;
}

int s3_objs_add(void *arg, const struct s3_obj *ob)
{
	struct s3_objs *o = arg;
	struct s3_ent *e;

	if (o->n == o->alloc) {
		size_t k = o->alloc ? o->alloc * 2 : 256;

		e = realloc(o->v, k * sizeof(*e));
		if (!e)
			return -ENOMEM;
		o->v = e;
		o->alloc = k;
	}
	e = &o->v[o->n];
	e->key = strdup(ob->key);
	if (!e->key)
		return -ENOMEM;
	snprintf(e->etag, sizeof(e->etag), "%s", ob->etag);
	snprintf(e->lastmod, sizeof(e->lastmod), "%s", ob->lastmod);
	e->size = ob->size;
	o->n++;
	return 0;
}

int s3_list_all(struct blob_s3 *s, const char *prefix, size_t max,
		struct s3_objs *out)
{
	char token[1024] = "", etok[3 * 1024], epre[3 * PATH_MAX];
	char query[sizeof(etok) + sizeof(epre) + 64], maxk[32] = "";
	int truncated = 1, rc;

	rc = http_escape(epre, sizeof(epre), prefix, 0);
	if (rc)
		return rc;
	if (max && max < 1000)
		snprintf(maxk, sizeof(maxk), "&max-keys=%zu", max);
	while (truncated && (!max || out->n < max)) {
		struct s3_call c = { .method = "GET", .query = query,
				     .max_body = LIST_PAGE_MAX };
		struct http_resp r;

		/* SigV4 wants the parameters sorted and encoded. */
		if (http_escape(etok, sizeof(etok), token, 0))
			return -EIO;
		if (snprintf(query, sizeof(query),
			     "%s%s%slist-type=2%s&prefix=%s",
			     *token ? "continuation-token=" : "", etok,
			     *token ? "&" : "", maxk, epre) >=
		    (int)sizeof(query))
			return -ENAMETOOLONG;
		http_resp_init(&r);
		rc = s3_call(s, &c, &r);
		if (!rc) {
			rc = s3_list_parse(r.body.data, r.body.len, s3_objs_add,
					   out, &truncated, token,
					   sizeof(token));
			if (rc == -EIO)
				log_err("s3: listing '%s': the answer is not "
					"a ListBucketResult", prefix);
		}
		http_resp_release(&r);
		if (rc)
			return rc;
	}
	return 0;
}

struct par {
	int (*fn)(void *ctx, size_t i);
	void *ctx;
	size_t n, next;
	int rc;
	pthread_mutex_t mu;
};

static void *par_worker(void *arg)
{
	struct par *p = arg;

	for (;;) {
		size_t i;
		int rc;

		pthread_mutex_lock(&p->mu);
		i = p->rc ? p->n : p->next++;
		pthread_mutex_unlock(&p->mu);
		if (i >= p->n)
			return NULL;
		rc = p->fn(p->ctx, i);
		if (rc) {
			pthread_mutex_lock(&p->mu);
			if (!p->rc)
				p->rc = rc;
			pthread_mutex_unlock(&p->mu);
		}
	}
}

int s3_parallel(size_t n, int (*fn)(void *ctx, size_t i), void *ctx)
{
	struct par p = { fn, ctx, n, 0, 0, PTHREAD_MUTEX_INITIALIZER };
	pthread_t t[PARALLEL_MAX];
	size_t k = n < PARALLEL_MAX ? n : PARALLEL_MAX, made = 0;

	if (n == 1)
		return fn(ctx, 0);
	for (; made < k; made++)
		if (pthread_create(&t[made], NULL, par_worker, &p))
			break;
	if (!made)
		par_worker(&p);	/* no thread to be had: do it here */
	for (size_t i = 0; i < made; i++)
		pthread_join(t[i], NULL);
	pthread_mutex_destroy(&p.mu);
	return p.rc;
}

/* --- attributes of what was listed ----------------------------------------- */

struct resolve {
	struct blob_s3 *s;
	struct s3_objs *objs;
	struct objmeta_ent *ents;
	size_t *ask;		/* indexes to HEAD */
};

static int head_one(void *ctx, size_t i)
{
	struct resolve *r = ctx;
	size_t k = r->ask[i];
	struct s3_ent *o = &r->objs->v[k];
	struct objmeta_ent *e = &r->ents[k];
	int rc = s3_head(r->s, o->key, e);

	if (rc == -ENOENT) {
		e->etag[0] = '\0';	/* deleted since listed */
		return 0;
	}
	if (rc)
		return rc;
	/* The listing's size and date are the object's. */
	e->m.size = o->size;
	snprintf(e->lastmod, sizeof(e->lastmod), "%s", o->lastmod);
	objmeta_set(r->s->meta, o->key, e);
	return 0;
}

/* Fill ents[i] for each listed object: from the cache when its ETag (and
 * Last-Modified, once known) match, else from a HEAD. */
static int resolve_all(void *ctx, struct s3_objs *objs,
		       struct objmeta_ent *ents)
{
	struct blob_s3 *s = ctx;
	struct resolve r = { s, objs, ents, NULL };
	size_t nask = 0;
	int rc;

	r.ask = malloc((objs->n ? objs->n : 1) * sizeof(*r.ask));
	if (!r.ask)
		return -ENOMEM;
	for (size_t i = 0; i < objs->n; i++) {
		struct s3_ent *o = &objs->v[i];
		struct objmeta_ent *e = &ents[i];

		if (objmeta_get(s->meta, o->key, e) == 0 &&
		    strcmp(e->etag, o->etag) == 0 &&
		    (!e->lastmod[0] || !strcmp(e->lastmod, o->lastmod))) {
			if (!e->lastmod[0] || e->m.size != o->size) {
				snprintf(e->lastmod, sizeof(e->lastmod), "%s",
					 o->lastmod);
				e->m.size = o->size;
				objmeta_set(s->meta, o->key, e);
			}
			continue;
		}
		free(e->xattrs);
		memset(e, 0, sizeof(*e));
		r.ask[nask++] = i;
	}
	if (nask)
		log_info("s3: asking the attributes of %zu objects not seen "
			 "before", nask);
	rc = nask ? s3_parallel(nask, head_one, &r) : 0;
	free(r.ask);
	return rc;
}

/* --- the walk ------------------------------------------------------------- */

/* Whether some key after index i lies under objs[i] + "/": then objs[i]
 * is a file and a folder at once, and the file is left out. */
static int also_folder(const struct s3_objs *o, size_t i)
{
	const char *k = o->v[i].key;
	size_t n = strlen(k), lo = i + 1, hi = o->n;
	char *dir = malloc(n + 2);
	int found;

	if (!dir)
		return 0;
	memcpy(dir, k, n);
	dir[n] = '/';
	dir[n + 1] = '\0';
	while (lo < hi) {	/* first key >= dir */
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(o->v[mid].key, dir) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	found = lo < o->n && strncmp(o->v[lo].key, dir, n + 1) == 0;
	free(dir);
	return found;
}

struct walk {
	blob_list_cb cb;
	void *arg;
	char stack[PATH_MAX];	/* the folder being walked, "a/b/" */
	size_t depth_len;
	struct blob_meta dir_default;
};

/* Say the folders of `key` (up to its last '/') not said yet; `from` is
 * where its part below the listed prefix starts. */
static int walk_dirs(struct walk *w, const char *key, size_t from)
{
	const char *slash;
	char path[PATH_MAX];

	/* Back up to the deepest folder `key` lies in. */
	while (w->depth_len > from &&
	       strncmp(w->stack, key, w->depth_len) != 0) {
		w->stack[w->depth_len - 1] = '\0';
		w->depth_len = (size_t)(strrchr(w->stack, '/') - w->stack) +
			       1;
		w->stack[w->depth_len] = '\0';
	}
	while ((slash = strchr(key + w->depth_len, '/'))) {
		size_t n = (size_t)(slash - key);
		int rc;

		if (n >= sizeof(path) - 1)
			return 0;
		memcpy(path, key, n);
		path[n] = '\0';
		memcpy(w->stack, key, n + 1);
		w->stack[n + 1] = '\0';
		w->depth_len = n + 1;
		if (key[n + 1] == '\0')
			return 0;	/* a marker: said with its own meta */
		rc = w->cb(w->arg, path, &w->dir_default);
		if (rc)
			return rc;
	}
	return 0;
}

static int walk_all(struct s3_objs *objs, struct objmeta_ent *ents,
		    const char *prefix, blob_list_cb cb, void *arg)
{
	size_t from = strlen(prefix) + 1, skipped = 0;
	struct walk *w = calloc(1, sizeof(*w));
	int rc = 0;

	if (!w)
		return -ENOMEM;
	w->cb = cb;
	w->arg = arg;
	snprintf(w->stack, sizeof(w->stack), "%s/", prefix);
	w->depth_len = from;
	for (size_t i = 0; i < objs->n && !rc; i++) {
		char key[PATH_MAX];
		const char *k = objs->v[i].key;
		size_t n = strlen(k);
		struct blob_meta m;

		if (!ents[i].etag[0] && !ents[i].m.mode)
			continue;	/* gone since listed */
		if (n == from && k[n - 1] == '/')
			continue;	/* the marker of the volume itself */
		if (n <= from || n >= sizeof(key) || strstr(k, "//")) {
			skipped++;
			continue;
		}
		m = ents[i].m;
		w->dir_default = m;
		w->dir_default.mode = S_IFDIR | 0755;
		w->dir_default.size = 0;
		rc = walk_dirs(w, k, from);
		if (rc)
			break;
		if (k[n - 1] == '/') {
			memcpy(key, k, n - 1);
			key[n - 1] = '\0';
			m.mode = S_IFDIR | (m.mode & 0777);
			rc = cb(arg, key, &m);
		} else if (also_folder(objs, i)) {
			char esc[256];

			log_warn("store: '%s' is both an object and a "
				 "folder in the store; the object is not shown",
				 log_escape(esc, sizeof(esc), k));
		} else {
			/* a file, or a link (its target as content) */
			m.mode = (S_ISLNK(m.mode) ? S_IFLNK : S_IFREG) |
				 (m.mode & 0777);
			m.size = objs->v[i].size;
			rc = cb(arg, k, &m);
		}
	}
	if (skipped)
		log_warn("store: %zu keys under '%s' are not valid names here",
			 skipped, prefix);
	free(w);
	return rc;
}

int s3_list_walk(struct s3_objs *objs, const char *prefix,
		 s3_resolve_fn resolve, void *ctx, blob_list_cb cb, void *arg)
{
	struct objmeta_ent *ents = NULL;
	int rc = 0;

	if (objs->n && !(ents = calloc(objs->n, sizeof(*ents))))
		rc = -ENOMEM;
	if (!rc)
		rc = resolve(ctx, objs, ents);
	if (!rc)
		rc = walk_all(objs, ents, prefix, cb, arg);
	for (size_t i = 0; ents && i < objs->n; i++)
		free(ents[i].xattrs);
	free(ents);
	return rc;
}

int s3_list(struct blob *b, const char *prefix, blob_list_cb cb, void *arg)
{
	struct blob_s3 *s = (struct blob_s3 *)b;
	struct s3_objs objs = { NULL, 0, 0 };
	char dir[PATH_MAX];
	int rc;

	if (!*prefix || snprintf(dir, sizeof(dir), "%s/", prefix) >=
			    (int)sizeof(dir))
		return -EINVAL;
	rc = s3_list_all(s, dir, 0, &objs);
	if (!rc)
		rc = s3_list_walk(&objs, prefix, resolve_all, s, cb, arg);
	s3_objs_release(&objs);
	return rc;
}
