/* core/store/vercel_int.h: the Vercel Blob backend's internals
 * (blob_vercel.c, vercel_json.c, vercel_list.c, vercel_rename.c,
 * vercel_urls.c), shared with the unit tests. */
#ifndef LLMUNIX_VERCEL_INT_H
#define LLMUNIX_VERCEL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "core/store/blob.h"
#include "core/store/objmeta.h"

#define VC_API_VERSION "12"	/* @vercel/blob 2.x's BLOB_API_VERSION */
#define VC_PATHNAME_MAX 950	/* its MAXIMUM_PATHNAME_LENGTH */
#define VC_URL_MAX 4096
#define VC_XATTRS_MAX 8192	/* encoded, as the metadata cache has them */
#define VC_CACHE_MAX_AGE "60"	/* the least the service takes: an
				 * overwritten blob may be served stale by
				 * its CDN this long */

/* --- the replies (vercel_json.c) ---------------------------------------- */

/* One blob as put, copy, head and list describe it; fields a reply lacks
 * are empty (size 0). */
struct vc_blob {
	char pathname[VC_PATHNAME_MAX + 64];
	char url[VC_URL_MAX];
	char etag[OBJMETA_ETAG_MAX];
	char uploaded[OBJMETA_DATE_MAX];	/* "2024-05-04T15:12:07.818Z" */
	uint64_t size;
};

/* A reply describing one blob. Returns 0 or -EIO (not one). */
int vc_json_blob(const char *body, size_t len, struct vc_blob *out);

/* One page of a list: `cb` for each blob; *has_more and `cursor` for the
 * next. Returns 0, -EIO (not a listing) or what `cb` returned. */
int vc_json_list(const char *body, size_t len,
		 int (*cb)(void *arg, const struct vc_blob *b), void *arg,
		 int *has_more, char *cursor, size_t cursor_cap);

/* {"error": {"code": ..., "message": ...}}: 0, or -ENOENT when the body
 * is not one (code and msg are then empty). */
int vc_json_error(const char *body, size_t len, char *code, size_t code_cap,
		  char *msg, size_t msg_cap);

/* The body of a delete: {"urls": [keys...]}, malloc'd into *out. */
int vc_json_urls(const char *const *keys, size_t n, char **out);

/* An ETag without W/ and quotes, to compare the API's with a download's. */
void vc_etag_norm(char *out, size_t cap, const char *etag);

/* --- where each blob is downloaded (vercel_urls.c) ---------------------- */

struct vc_urls;
int vc_urls_new(struct vc_urls **out);
void vc_urls_free(struct vc_urls *u);
int vc_urls_set(struct vc_urls *u, const char *key, const char *url);
/* A copy into out (VC_URL_MAX): 0 or -ENOENT. */
int vc_urls_get(struct vc_urls *u, const char *key, char *out);
void vc_urls_del(struct vc_urls *u, const char *key);

/* --- the backend --------------------------------------------------------- */

struct http;
struct http_resp;
struct journal;

struct blob_vercel {
	struct blob base;	/* first: a struct blob * is one of these */
	struct http *http;
	struct objmeta *meta;
	struct vc_urls *urls;
	struct journal *journal;
	char *api;		/* the base URL, without a final '/' */
	char *auth_hdr;		/* "authorization: Bearer ...": secret */
	char *store_hdr;	/* "x-vercel-blob-store-id: ..." */
	const char *access;	/* "public" or "private" */
	int private_access;
	int lock_fd;
};

struct vc_call {
	const char *method;
	const char *path;	/* after the base URL: "", "/", "/delete" */
	const char *query;	/* encoded, or NULL */
	const char *const *headers;	/* besides the API's own */
	const void *body;
	size_t len;
	size_t max_body;	/* 0: http.h's default */
	const char *key;	/* for messages */
	int quiet_404;		/* a missing blob: no log */
};

/* Make an API call; 2xx is 0. Otherwise the errno of the error code
 * (vc_code_err), logged unless a quiet 404; "bad_request" for a pathname
 * that exists is -EEXIST, "precondition_failed" -ESTALE. */
int vc_call(struct blob_vercel *v, const struct vc_call *c,
	    struct http_resp *r);

/* What the API says of `key` (head), into the caches: 0, -ENOENT or
 * -EIO. */
int vc_head(struct blob_vercel *v, const char *key, struct vc_blob *out);

/* Download `key` into r (at most `cap` bytes) from its URL: with the
 * token and ?cache=0 (a read past the CDN) in a private store. Returns 0,
 * -ENOENT, -EACCES, -EFBIG or -EIO, logged. */
int vc_download(struct blob_vercel *v, const char *key, size_t cap,
		struct http_resp *r);

/* The service said `key` exists when we created it: it is ours (sent
 * again after its answer was lost) when it holds `data`. Returns 0 with
 * its head in `out`, -EEXIST (another writer's), or an error. */
int vc_confirm(struct blob_vercel *v, const char *key, const void *data,
	       size_t len, struct vc_blob *out);

/* The attributes a blob has when the cache knows nothing of it. */
void vc_meta_default(const char *key, const struct vc_blob *b,
		     struct objmeta_ent *e);

/* Remember a blob a reply described, with attributes `m` and xattrs. */
void vc_remember(struct blob_vercel *v, const char *key,
		 const struct vc_blob *b, const struct blob_meta *m,
		 const char *xattrs);

/* Delete `n` keys, 100 to a request. Missing ones are no error. */
int vc_delete(struct blob_vercel *v, const char *const *keys, size_t n);

/* Every blob under `prefix` ("a/b/"), at most `max` (0: all), sorted. */
struct s3_objs;
int vc_list_all(struct blob_vercel *v, const char *prefix, size_t max,
		struct s3_objs *out);

/* blob_ops of vercel_list.c and vercel_rename.c */
int vc_list(struct blob *b, const char *prefix, blob_list_cb cb, void *arg);
int vc_rename(struct blob *b, const char *from, const char *to);
int vc_journal_replay(struct blob_vercel *v);

/* The backend's operations (blob_vercel.c), for vercel_open.c. */
extern const struct blob_ops vc_ops;

#endif
