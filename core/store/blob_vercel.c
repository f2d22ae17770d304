/* core/store/blob_vercel.c: the Vercel Blob backend's requests and its
 * one-blob operations, see blob_vercel.h. Listing is in vercel_list.c,
 * renames and their journal in vercel_rename.c, the replies' JSON in
 * vercel_json.c, opening the store in vercel_open.c. */
#include "core/store/blob_vercel.h"
#include "core/store/http.h"
#include "core/store/journal.h"
#include "core/store/objmeta.h"
#include "core/store/s3_int.h"
#include "core/store/vercel_int.h"
#include "core/util/log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The API's URL with its query: two encoded pathnames at most. */
#define REQ_URL_MAX (2 * 3 * (VC_PATHNAME_MAX + 64) + VC_URL_MAX)
#define DELETE_BATCH 100

static struct blob_vercel *vc(struct blob *b)
{
	return (struct blob_vercel *)b;
}

/* --- requests ------------------------------------------------------------- */

/* The errno of an API error: its code decides, as in @vercel/blob's
 * getBlobError(); the status where there is none. */
static int code_err(long status, const char *code, const char *msg)
{
	if (!strcmp(code, "not_found") || (!*code && status == 404))
		return -ENOENT;
	if (!strcmp(code, "forbidden") ||
	    (!*code && (status == 401 || status == 403)))
		return -EACCES;
	if (!strcmp(code, "store_suspended"))
		return -EDQUOT;	/* over the plan's limits */
	if (!strcmp(code, "file_too_large") || status == 413)
		return -EFBIG;
	if (!strcmp(code, "precondition_failed") || status == 412)
		return -ESTALE;
	if (!strcmp(code, "bad_request") && strstr(msg, "already exists"))
		return -EEXIST;
	return -EIO;
}

int vc_call(struct blob_vercel *v, const struct vc_call *c,
	    struct http_resp *r)
{
	const char *hdrs[16];
	char *url = malloc(REQ_URL_MAX), code[64], msg[240], esc[200];
	char ekey[200];
	struct http_req q = {
		.method = c->method, .body = c->body, .body_len = c->len,
		.max_body = c->max_body, .headers = hdrs,
		/* A retried create or replace is told apart by its
		 * caller (a pathname that exists after a lost answer). */
		.idempotent = 1,
	};
	size_t n = 0;
	int rc;

	if (!url)
		return -ENOMEM;
	if (snprintf(url, REQ_URL_MAX, "%s%s%s%s", v->api, c->path,
		     c->query ? "?" : "", c->query ? c->query : "") >=
	    REQ_URL_MAX) {
		free(url);
		return -ENAMETOOLONG;
	}
	q.url = url;
	hdrs[n++] = v->auth_hdr;
	hdrs[n++] = "x-api-version: " VC_API_VERSION;
	hdrs[n++] = v->store_hdr;
	for (size_t i = 0; c->headers && c->headers[i] && n < 15; i++)
		hdrs[n++] = c->headers[i];
	hdrs[n] = NULL;
	rc = http_do(v->http, &q, r);
	free(url);
	if (rc) {
		log_err("vercel blob: %s", r->err);
		return rc == -EFBIG ? -EFBIG : -EIO;
	}
	if (r->status >= 200 && r->status < 300)
		return 0;
	vc_json_error(r->body.data, r->body.len, code, sizeof(code), msg,
		      sizeof(msg));
	rc = code_err(r->status, code, msg);
	if ((rc == -ENOENT && c->quiet_404) || rc == -EEXIST ||
	    rc == -ESTALE)
		return rc;	/* answers the caller acts on */
	log_err("vercel blob: %s%s%s%s%s (pathname '%s')", r->err,
		*code ? " " : "", code, *msg ? ": " : "",
		log_escape(esc, sizeof(esc), msg),
		log_escape(ekey, sizeof(ekey), c->key ? c->key : ""));
	return rc;
}

/* "pathname=<key>" and the like, encoded. */
static int query1(char *out, size_t cap, const char *name, const char *key)
{
	size_t k = strlen(name);

	if (k + 2 >= cap)
		return -ENAMETOOLONG;
	memcpy(out, name, k);
	out[k] = '=';
	return http_escape(out + k + 1, cap - k - 1, key, 0);
}

/* --- what is known of each blob ------------------------------------------- */

void vc_meta_default(const char *key, const struct vc_blob *b,
		     struct objmeta_ent *e)
{
	size_t k = strlen(key);

	memset(e, 0, sizeof(*e));
	e->m.mode = k && key[k - 1] == '/' ? S_IFDIR | 0755 : S_IFREG | 0644;
	s3_default_owner(key, &e->m.uid, &e->m.gid);
	e->m.size = b->size;
	if (!b->uploaded[0] || s3_parse_time(b->uploaded, &e->m.mtime))
		clock_gettime(CLOCK_REALTIME, &e->m.mtime);
	snprintf(e->etag, sizeof(e->etag), "%s", b->etag);
	snprintf(e->lastmod, sizeof(e->lastmod), "%s", b->uploaded);
}

void vc_remember(struct blob_vercel *v, const char *key,
		 const struct vc_blob *b, const struct blob_meta *m,
		 const char *xattrs)
{
	struct objmeta_ent e;

	memset(&e, 0, sizeof(e));
	snprintf(e.etag, sizeof(e.etag), "%s", b->etag);
	snprintf(e.lastmod, sizeof(e.lastmod), "%s", b->uploaded);
	e.m = *m;
	e.xattrs = (char *)xattrs;
	objmeta_set(v->meta, key, &e);
	if (b->url[0])
		vc_urls_set(v->urls, key, b->url);
}

int vc_head(struct blob_vercel *v, const char *key, struct vc_blob *out)
{
	char query[3 * (VC_PATHNAME_MAX + 64)];
	struct vc_call c = { .method = "GET", .path = "", .query = query,
			     .key = key, .quiet_404 = 1 };
	struct http_resp r;
	int rc = query1(query, sizeof(query), "url", key);

	if (rc)
		return rc;
	http_resp_init(&r);
	rc = vc_call(v, &c, &r);
	if (!rc && vc_json_blob(r.body.data, r.body.len, out)) {
		char esc[200];

		log_err("vercel blob: head of '%s': not a blob's description",
			log_escape(esc, sizeof(esc), key));
		rc = -EIO;
	}
	if (!rc)
		vc_urls_set(v->urls, key, out->url);
	http_resp_release(&r);
	return rc;
}

/* The cached entry of `key`, asked from the API if unknown. */
static int known(struct blob_vercel *v, const char *key,
		 struct objmeta_ent *e)
{
	struct vc_blob *b;
	int rc;

	if (!objmeta_get(v->meta, key, e))
		return 0;
	b = malloc(sizeof(*b));
	if (!b)
		return -ENOMEM;
	rc = vc_head(v, key, b);
	if (!rc) {
		vc_meta_default(key, b, e);
		objmeta_set(v->meta, key, e);
	}
	free(b);
	return rc;
}

/* --- reading -------------------------------------------------------------- */

static int key_ok(const char *key)
{
	size_t k = strlen(key);

	/* As @vercel/blob checks a pathname: not empty, no "//", at most
	 * 950 bytes. */
	if (!*key || *key == '/' || strstr(key, "//"))
		return -EINVAL;
	return k > VC_PATHNAME_MAX ? -ENAMETOOLONG : 0;
}

/* The downloaded content is another version than the one listed: the
 * blob was replaced by another writer (its head says the new ETag), or
 * the store's CDN still serves an older one (up to a minute after an
 * overwrite). */
static int check_version(struct blob_vercel *v, const char *key,
			 const struct http_resp *r, size_t len)
{
	char want[OBJMETA_ETAG_MAX], got[OBJMETA_ETAG_MAX];
	char now[OBJMETA_ETAG_MAX], tmp[OBJMETA_ETAG_MAX], esc[200];
	struct objmeta_ent e;
	struct vc_blob *b;
	int rc;

	if (http_header(r, "ETag", tmp, sizeof(tmp)) ||
	    objmeta_get(v->meta, key, &e))
		return 0;	/* nothing to compare */
	vc_etag_norm(got, sizeof(got), tmp);
	vc_etag_norm(want, sizeof(want), e.etag);
	if (!*want || !strcmp(want, got))
		goto out;
	b = malloc(sizeof(*b));
	rc = b ? vc_head(v, key, b) : -ENOMEM;
	if (!rc) {
		vc_etag_norm(now, sizeof(now), b->etag);
		if (!strcmp(now, got)) {	/* changed by someone else */
			snprintf(e.etag, sizeof(e.etag), "%s", b->etag);
			snprintf(e.lastmod, sizeof(e.lastmod), "%s",
				 b->uploaded);
			e.m.size = len;
			objmeta_set(v->meta, key, &e);
		} else {
			log_err("vercel blob: '%s' was replaced less than a "
				"minute ago and the store still serves the "
				"older version; try again in a minute",
				log_escape(esc, sizeof(esc), key));
			rc = -EIO;
		}
	}
	free(b);
	free(e.xattrs);
	return rc;
out:
	free(e.xattrs);
	return 0;
}

int vc_download(struct blob_vercel *v, const char *key, size_t cap,
		struct http_resp *r)
{
	char url[VC_URL_MAX + 16], esc[200];
	const char *hdrs[] = { v->private_access ? v->auth_hdr : NULL, NULL };
	struct http_req q = { .method = "GET", .url = url, .headers = hdrs,
			      .max_body = cap, .idempotent = 1 };
	struct vc_blob *b;
	int rc = vc_urls_get(v->urls, key, url);

	if (rc == -ENOENT) {
		b = malloc(sizeof(*b));
		rc = b ? vc_head(v, key, b) : -ENOMEM;
		if (!rc)
			memcpy(url, b->url, strlen(b->url) + 1);
		free(b);
	}
	if (rc)
		return rc;
	if (v->private_access) {	/* url is under VC_URL_MAX */
		size_t k = strlen(url);

		snprintf(url + k, sizeof(url) - k, "%ccache=0",
			 strchr(url, '?') ? '&' : '?');
	}
	rc = http_do(v->http, &q, r);
	if (rc) {
		log_err("vercel blob: %s", r->err);
		return rc == -EFBIG ? -EFBIG : -EIO;
	}
	if (r->status == 200)
		return 0;
	log_err("vercel blob: download of '%s': %s",
		log_escape(esc, sizeof(esc), key), r->err);
	if (r->status == 404)
		return -ENOENT;
	return r->status == 401 || r->status == 403 ? -EACCES : -EIO;
}

static int vc_get(struct blob *b, const char *key, struct buf *out)
{
	struct blob_vercel *v = vc(b);
	struct http_resp r;
	int rc = key_ok(key);

	if (rc)
		return rc;
	http_resp_init(&r);
	rc = vc_download(v, key, out->cap ? out->cap : BUF_DEFAULT_CAP, &r);
	if (!rc)
		rc = check_version(v, key, &r, r.body.len);
	if (!rc) {
		size_t cap = out->cap;

		buf_release(out);
		*out = r.body;		/* the body is ours now */
		out->cap = cap;
		buf_init(&r.body, 0);
	}
	http_resp_release(&r);
	return rc;
}

/* --- writing -------------------------------------------------------------- */

static const char *content_type(const char *key)
{
	size_t k = strlen(key);

	if (k > 3 && !strcmp(key + k - 3, ".md"))
		return "x-content-type: text/markdown; charset=utf-8";
	if (k > 5 && !strcmp(key + k - 5, ".json"))
		return "x-content-type: application/json";
	return NULL;	/* the service's guess from the pathname */
}

int vc_confirm(struct blob_vercel *v, const char *key, const void *data,
	       size_t len, struct vc_blob *out)
{
	struct http_resp r;
	int rc = vc_head(v, key, out);

	if (rc)
		return rc;
	http_resp_init(&r);
	rc = vc_download(v, key, len + 1, &r);
	if (!rc && (r.body.len != len ||
		    (len && memcmp(r.body.data, data, len))))
		rc = -EEXIST;
	http_resp_release(&r);
	return rc;
}

/* PUT the blob `key` (a marker when it ends in '/'): created when
 * `overwrite` is 0, replaced when 1. Fills `out` from the reply. */
static int put_blob(struct blob_vercel *v, const char *key, const void *data,
		    size_t len, int overwrite, struct vc_blob *out)
{
	char query[3 * (VC_PATHNAME_MAX + 64)], access[48], esc[200];
	const char *hdrs[8];
	struct vc_call c = { .method = "PUT", .path = "/", .query = query,
			     .headers = hdrs, .body = data, .len = len,
			     .key = key };
	struct http_resp r;
	size_t n = 0;
	int rc = query1(query, sizeof(query), "pathname", key);

	if (rc)
		return rc;
	snprintf(access, sizeof(access), "x-vercel-blob-access: %s",
		 v->access);
	hdrs[n++] = access;
	hdrs[n++] = "x-add-random-suffix: 0";
	hdrs[n++] = overwrite ? "x-allow-overwrite: 1" :
				"x-allow-overwrite: 0";
	hdrs[n++] = "x-cache-control-max-age: " VC_CACHE_MAX_AGE;
	if (content_type(key))
		hdrs[n++] = content_type(key);
	hdrs[n] = NULL;
	http_resp_init(&r);
	rc = vc_call(v, &c, &r);
	if (!rc && vc_json_blob(r.body.data, r.body.len, out)) {
		log_err("vercel blob: put of '%s': the answer does not "
			"describe the blob", log_escape(esc, sizeof(esc), key));
		rc = -EIO;
	}
	/* Sent again after its answer was lost (by http.c, or by curl on a
	 * kept-alive connection that died), a create finds itself done. */
	if (rc == -EEXIST)
		rc = vc_confirm(v, key, data, len, out);
	if (rc == -EEXIST)
		log_err("vercel blob: '%s' was created in the store by "
			"another writer since it was listed; not overwritten "
			"(remount to see it)", log_escape(esc, sizeof(esc),
							  key));
	http_resp_release(&r);
	/* A reply without an ETag (an older API): its head has one. */
	if (!rc && !out->etag[0])
		rc = vc_head(v, key, out);
	return rc == -EEXIST ? -EIO : rc;
}

static int vc_put(struct blob *b, const char *key, const void *data,
		  size_t len, const struct blob_meta *m,
		  const struct blob_xattrs *x, unsigned flags)
{
	struct blob_vercel *v = vc(b);
	char *enc = malloc(VC_XATTRS_MAX);
	struct vc_blob *blob = malloc(sizeof(*blob));
	struct objmeta_ent e;
	struct blob_meta saved = *m;
	int rc = key_ok(key), overwrite;

	(void)flags;	/* stored means durable: the put is acknowledged */
	if (!enc || !blob)
		rc = -ENOMEM;
	if (!rc && s3_xattrs_encode(x, enc, VC_XATTRS_MAX))
		rc = -ENOSPC;
	if (rc)
		goto out;
	overwrite = objmeta_get(v->meta, key, &e) == 0;
	if (overwrite)
		free(e.xattrs);
	rc = put_blob(v, key, data, len, overwrite, blob);
	if (!rc) {
		saved.size = len;
		vc_remember(v, key, blob, &saved, enc);
	}
out:
	free(blob);
	free(enc);
	return rc;
}

int vc_delete(struct blob_vercel *v, const char *const *keys, size_t n)
{
	for (size_t i = 0; i < n; i += DELETE_BATCH) {
		size_t k = n - i < DELETE_BATCH ? n - i : DELETE_BATCH;
		const char *hdrs[] = { "content-type: application/json",
				       NULL };
		struct vc_call c = { .method = "POST", .path = "/delete",
				     .headers = hdrs, .key = keys[i] };
		struct http_resp r;
		char *body;
		int rc = vc_json_urls(keys + i, k, &body);

		if (rc)
			return rc;
		c.body = body;
		c.len = strlen(body);
		http_resp_init(&r);
		rc = vc_call(v, &c, &r);
		http_resp_release(&r);
		free(body);
		if (rc == -ENOENT)
			rc = 0;	/* gone already */
		if (rc)
			return rc;
		for (size_t j = i; j < i + k; j++) {
			objmeta_del(v->meta, keys[j]);
			vc_urls_del(v->urls, keys[j]);
		}
	}
	return 0;
}

static int vc_del(struct blob *b, const char *key)
{
	int rc = key_ok(key);

	return rc ? rc : vc_delete(vc(b), &key, 1);
}

static int marker_key(char *out, size_t cap, const char *key)
{
	int n = snprintf(out, cap, "%s/", key);

	if (n < 0 || (size_t)n >= cap)
		return -ENAMETOOLONG;
	return key_ok(out);
}

/* Make the marker "key/" with attributes `m` and xattrs. */
static int make_marker(struct blob_vercel *v, const char *dir,
		       const struct blob_meta *m, const char *xattrs)
{
	struct vc_blob *b = malloc(sizeof(*b));
	int rc = b ? put_blob(v, dir, "", 0, 1, b) : -ENOMEM;

	if (!rc)
		vc_remember(v, dir, b, m, xattrs);
	free(b);
	return rc;
}

static int vc_mkdir(struct blob *b, const char *key, const struct blob_meta *m)
{
	struct blob_vercel *v = vc(b);
	struct s3_objs o = { NULL, 0, 0 };
	char dir[PATH_MAX];
	int rc = key_ok(key);

	if (!rc)
		rc = marker_key(dir, sizeof(dir), key);
	if (!rc)
		rc = vc_list_all(v, dir, 1, &o);
	if (!rc && o.n)
		rc = -EEXIST;
	s3_objs_release(&o);
	return rc ? rc : make_marker(v, dir, m, NULL);
}

static int vc_rmdir(struct blob *b, const char *key)
{
	char dir[PATH_MAX];
	int rc = key_ok(key);

	if (!rc)
		rc = marker_key(dir, sizeof(dir), key);
	if (!rc)
		rc = vc_del(b, dir);
	return rc == -ENOENT ? 0 : rc;
}

/* --- attributes: kept here only ------------------------------------------- */

static int same_owner_mode(const struct blob_meta *a,
			   const struct blob_meta *b)
{
	return (a->mode & 0777) == (b->mode & 0777) && a->uid == b->uid &&
	       a->gid == b->gid;
}

/* A folder's attributes hang on its marker, made when a folder that is
 * only a prefix gets another mode or owner, or xattrs (`xattrs` non-NULL:
 * replace them). Its times change with every entry made in it: those
 * alone never make a marker. */
static int dir_set(struct blob_vercel *v, const char *key,
		   const struct blob_meta *m, const char *xattrs)
{
	struct objmeta_ent e, d;
	char dir[PATH_MAX];
	int rc = marker_key(dir, sizeof(dir), key);

	if (rc)
		return rc;
	if (!objmeta_get(v->meta, dir, &e)) {
		if (m)
			e.m = *m;
		if (xattrs) {
			free(e.xattrs);
			e.xattrs = strdup(xattrs);
		}
		rc = objmeta_set(v->meta, dir, &e);
		free(e.xattrs);
		return rc;
	}
	memset(&d, 0, sizeof(d));
	d.m.mode = S_IFDIR | 0755;
	s3_default_owner(key, &d.m.uid, &d.m.gid);
	clock_gettime(CLOCK_REALTIME, &d.m.mtime);
	if (m && same_owner_mode(&d.m, m) && !xattrs)
		return 0;
	if (m)
		d.m = *m;
	return make_marker(v, dir, &d.m, xattrs);
}

static int vc_setmeta(struct blob *b, const char *key,
		      const struct blob_meta *m)
{
	struct blob_vercel *v = vc(b);
	struct objmeta_ent e;
	int rc = key_ok(key);

	if (rc)
		return rc;
	if (S_ISDIR(m->mode))
		return dir_set(v, key, m, NULL);
	rc = known(v, key, &e);
	if (rc)
		return rc;
	e.m.mode = m->mode;
	e.m.uid = m->uid;
	e.m.gid = m->gid;
	e.m.mtime = m->mtime;
	rc = objmeta_set(v->meta, key, &e);
	free(e.xattrs);
	return rc;
}

static int vc_getxattrs(struct blob *b, const char *key,
			struct blob_xattrs *out)
{
	struct blob_vercel *v = vc(b);
	struct objmeta_ent e;
	char dir[PATH_MAX];
	int rc = key_ok(key);

	out->v = NULL;
	out->n = 0;
	if (!rc)
		rc = marker_key(dir, sizeof(dir), key);
	if (rc)
		return rc;
	if (objmeta_get(v->meta, key, &e) && objmeta_get(v->meta, dir, &e))
		return 0;	/* none known: a blob has none of its own */
	rc = s3_xattrs_decode(e.xattrs, out);
	free(e.xattrs);
	return rc;
}

static int vc_setxattrs(struct blob *b, const char *key,
			const struct blob_xattrs *x)
{
	struct blob_vercel *v = vc(b);
	char *enc = malloc(VC_XATTRS_MAX), dir[PATH_MAX];
	struct objmeta_ent e;
	int rc = key_ok(key);

	if (!enc)
		return -ENOMEM;
	if (!rc && s3_xattrs_encode(x, enc, VC_XATTRS_MAX))
		rc = -ENOSPC;
	if (!rc)
		rc = marker_key(dir, sizeof(dir), key);
	if (rc)
		goto out;
	if (!objmeta_get(v->meta, dir, &e)) {
		free(e.xattrs);
		rc = dir_set(v, key, NULL, enc);
		goto out;
	}
	rc = known(v, key, &e);
	if (rc == -ENOENT) {
		rc = dir_set(v, key, NULL, enc);	/* a prefix */
		goto out;
	}
	if (rc)
		goto out;
	free(e.xattrs);
	e.xattrs = enc;
	rc = objmeta_set(v->meta, key, &e);
out:
	free(enc);
	return rc;
}

static int vc_fitxattrs(struct blob *b, const struct blob_xattrs *x)
{
	char *enc = malloc(VC_XATTRS_MAX);
	int rc = enc ? 0 : -ENOMEM;

	(void)b;
	if (!rc && s3_xattrs_encode(x, enc, VC_XATTRS_MAX))
		rc = -ENOSPC;
	free(enc);
	return rc;
}

static int vc_sync(struct blob *b, const char *key)
{
	(void)b;
	(void)key;
	return 0;	/* a stored blob is durable once acknowledged */
}

static int vc_version(struct blob *b, const char *key, char *out, size_t cap)
{
	return objmeta_etag(vc(b)->meta, key, out, cap);
}

static void vc_free(struct blob *b)
{
	struct blob_vercel *v = vc(b);

	if (!v)
		return;
	http_free(v->http);
	objmeta_free(v->meta);
	vc_urls_free(v->urls);
	journal_free(v->journal);
	if (v->auth_hdr) {
		explicit_bzero(v->auth_hdr, strlen(v->auth_hdr));
		free(v->auth_hdr);
	}
	if (v->lock_fd >= 0)
		close(v->lock_fd);
	free(v->store_hdr);
	free(v->api);
	free(v);
}

const struct blob_ops vc_ops = {
	.name = "vercel",
	.get = vc_get,
	.put = vc_put,
	.del = vc_del,
	.list = vc_list,
	.mkdir = vc_mkdir,
	.rmdir = vc_rmdir,
	.rename = vc_rename,
	.setmeta = vc_setmeta,
	.getxattrs = vc_getxattrs,
	.setxattrs = vc_setxattrs,
	.fitxattrs = vc_fitxattrs,
	.sync = vc_sync,
	.statfs = s3_statfs,	/* a store has no size either */
	.version = vc_version,
	.free = vc_free,
};
