/* core/store/objmeta.h: what a remote blob backend knows of each object
 * without asking the server: its ETag, its Last-Modified and the
 * attributes it carries in x-amz-meta-* headers (mode, owner, mtime,
 * user xattrs).
 *
 * A listing (ListObjectsV2) gives key, ETag, size and Last-Modified but
 * never an object's headers; asking each object (HEAD) at every mount
 * would be a request per file. So the backend keeps here what it wrote
 * and what it once asked, and a listed object whose ETag (and
 * Last-Modified, once known) match needs no request.
 *
 * It is a cache, never the truth: it is written without fsync, and an
 * entry lost in a crash is asked again from the server, whose headers
 * the backend always writes too. Persisted as an append-only log of
 * lines, rewritten compact when it opens.
 *
 * Thread-safe: every call may come from any thread.
 */
#ifndef LLMUNIX_OBJMETA_H
#define LLMUNIX_OBJMETA_H

#include "core/store/blob.h"

#define OBJMETA_ETAG_MAX 80
#define OBJMETA_DATE_MAX 40

struct objmeta;

struct objmeta_ent {
	char etag[OBJMETA_ETAG_MAX];	/* as the server sends it */
	char lastmod[OBJMETA_DATE_MAX];	/* from a listing; "" unknown */
	struct blob_meta m;
	char *xattrs;			/* encoded as the header carries
					 * them (s3_int.h); NULL: none */
};

/* Open (creating) the log at `path` and load it. */
int objmeta_open(struct objmeta **out, const char *path);
void objmeta_free(struct objmeta *o);

/* A copy of the entry for `key` into `out` (out->xattrs is the caller's
 * to free). Returns 0 or -ENOENT. */
int objmeta_get(struct objmeta *o, const char *key, struct objmeta_ent *out);
/* Set (replace) the entry for `key`; copies `e`. Returns 0 or -ENOMEM;
 * a failed write of the log is logged and otherwise ignored. */
int objmeta_set(struct objmeta *o, const char *key,
		const struct objmeta_ent *e);
void objmeta_del(struct objmeta *o, const char *key);

/* The ETag of `key` into `out` (a backend's blob_ops.version). Returns 0,
 * -ENOENT (unknown, or known without one) or -ERANGE. */
int objmeta_etag(struct objmeta *o, const char *key, char *out, size_t cap);

#endif
