/* core/store/s3_int.h: helpers of the S3 backend (s3_wire.c), shared with
 * the metadata cache and the unit tests: percent-decoding, the xattrs
 * header, and the few elements of S3's XML replies that are read. */
#ifndef LLMUNIX_S3_INT_H
#define LLMUNIX_S3_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/store/blob.h"

/* S3 keeps at most 2 KB of user metadata per object (AWS): the xattrs
 * header and the attributes must fit. */
#define S3_META_MAX 2048
#define S3_ATTR_ROOM 160	/* mode, uid, gid, mtime and their names */

/* Percent-decode `len` bytes of `s` into `out`. Returns 0 or -EINVAL
 * (a bad escape, a NUL) or -ENAMETOOLONG. */
int s3_pct_decode(char *out, size_t cap, const char *s, size_t len);

/* The xattrs as one header value: "name=value&name=value", each part
 * percent-encoded. Returns 0, or -ENOSPC when it would not fit `cap`. */
int s3_xattrs_encode(const struct blob_xattrs *x, char *out, size_t cap);
/* Parse that back (user.* names only). Returns 0, -EINVAL or -ENOMEM. */
int s3_xattrs_decode(const char *s, struct blob_xattrs *out);

/* The text of the next element <tag>...</tag> from *p (before `end`),
 * with XML entities decoded, into `out`; *p moves past it. Returns 0,
 * -ENOENT (no more) or -ERANGE (does not fit). */
int s3_xml_next(const char **p, const char *end, const char *tag, char *out,
		size_t cap);

/* The part of [p, end) inside the next <tag>...</tag>: [*in, *in_end).
 * Returns 0 or -ENOENT. */
int s3_xml_elem(const char *p, const char *end, const char *tag,
		const char **in, const char **in_end);

struct s3_obj {
	char key[4096];
	char etag[80];
	char lastmod[40];
	uint64_t size;
};

/* One page of ListObjectsV2: `cb` for each <Contents>; *truncated and
 * `token` (NextContinuationToken) for the next page. Returns 0, -EIO (not
 * a listing) or what `cb` returned. */
int s3_list_parse(const char *body, size_t len,
		  int (*cb)(void *arg, const struct s3_obj *o), void *arg,
		  int *truncated, char *token, size_t token_cap);

/* "2023-10-01T12:34:56.789Z" to a time. Returns 0 or -EINVAL. */
int s3_parse_time(const char *s, struct timespec *out);

/* --- the backend's internals (blob_s3.c, s3_list.c, s3_rename.c) --- */

struct http;
struct http_resp;
struct journal;
struct objmeta;
struct objmeta_ent;

struct blob_s3 {
	struct blob base;	/* first: a struct blob * is one of these */
	struct http *http;
	struct objmeta *meta;
	char *base_url;		/* up to the key: ".../bucket/" or
				 * "https://bucket.host/" */
	char *endpoint;		/* for messages */
	char *bucket;
	char *sigv4;		/* "aws:amz:REGION:s3" */
	char *userpwd;		/* "KEY:SECRET", never logged */
	char *token_hdr;	/* "x-amz-security-token: ..." or NULL */
	struct journal *journal;	/* STATE/s3/journal */
	int lock_fd;
};

struct s3_call {
	const char *method;
	const char *key;	/* NULL: the bucket itself */
	const char *query;	/* canonical: sorted, encoded; or NULL */
	const char *const *headers;
	const void *body;
	size_t len;
	size_t max_body;
	int quiet_404;		/* a missing key is an answer, not logged */
};

/* Make the call; 2xx is 0, else the errno of the status (s3_status_err),
 * logged with the S3 error code unless a quiet 404. */
int s3_call(struct blob_s3 *s, const struct s3_call *c,
	    struct http_resp *r);

/* The header "x-amz-copy-source: /bucket/key" of a CopyObject. */
#define S3_COPY_SOURCE_MAX (3 * 4096 + 128)
int s3_copy_source(struct blob_s3 *s, const char *key, char *out,
		   size_t cap);

/* Attributes from a response's x-amz-meta-* headers (HEAD, GET), or the
 * defaults for `key` where there are none. */
void s3_meta_from_headers(const struct http_resp *r, const char *key,
			  const char *lastmod, uint64_t size,
			  struct objmeta_ent *e);
/* The owner an object of `key` has when it carries none: the volume's
 * ("volumes/user/alice/..." is alice's). */
void s3_default_owner(const char *key, uid_t *uid, gid_t *gid);

/* HEAD `key` into the cache: 0, -ENOENT or -EIO. */
int s3_head(struct blob_s3 *s, const char *key, struct objmeta_ent *e);

/* Every object under `prefix` ("a/b/"), from the server. */
struct s3_ent {
	char *key;
	char etag[80];
	char lastmod[40];
	uint64_t size;
};

struct s3_objs {
	struct s3_ent *v;
	size_t n, alloc;
};
int s3_list_all(struct blob_s3 *s, const char *prefix, size_t max,
		struct s3_objs *out);
void s3_objs_release(struct s3_objs *o);
/* Append a copy of `ob` to the struct s3_objs `arg`: 0 or -ENOMEM. */
int s3_objs_add(void *arg, const struct s3_obj *ob);

/* Run fn(ctx, i) for i in [0, n) on up to 8 threads; the first error. */
int s3_parallel(size_t n, int (*fn)(void *ctx, size_t i), void *ctx);

/* Fill ents[i], the attributes of objs->v[i], for each listed object; an
 * entry left with neither ETag nor mode is left out (gone since listed). */
typedef int (*s3_resolve_fn)(void *ctx, struct s3_objs *objs,
			     struct objmeta_ent *ents);
/* What list() does with the objects under "prefix/" (sorted): their
 * attributes from `resolve`, then each said to `cb` with the folders their
 * keys imply, parents first. The Vercel backend's list() too. */
int s3_list_walk(struct s3_objs *objs, const char *prefix,
		 s3_resolve_fn resolve, void *ctx, blob_list_cb cb, void *arg);

/* A bucket's statfs: 1 PiB free (the Vercel backend's too). */
int s3_statfs(struct blob *b, struct statvfs *out);

/* blob_ops of s3_list.c and s3_rename.c */
int s3_list(struct blob *b, const char *prefix, blob_list_cb cb, void *arg);
int s3_rename(struct blob *b, const char *from, const char *to);
/* Finish or undo what the journal says was under way at a crash. */
int s3_journal_replay(struct blob_s3 *s);

/* s3_meta.c: the headers that carry `m` and the xattrs (encoded, or
 * NULL) of `key`; -ENOSPC when the xattrs do not fit. */
#define S3_HDR_MAX (S3_META_MAX + 64)
/* The headers that carry `m` and the xattrs `x` (encoded, or NULL). */
struct meta_hdrs {
	char mode[48], uid[48], gid[48], mtime[64], type[64];
	char xattrs[S3_HDR_MAX];
	const char *v[8];
};
int s3_meta_hdrs(struct meta_hdrs *h, const char *key,
		 const struct blob_meta *m, const char *xattrs);
/* What the metadata cache keeps after a write of `key`. */
void s3_remember(struct blob_s3 *s, const char *key,
		 const struct http_resp *r, const struct blob_meta *m,
		 const char *xattrs);

#endif
