/* core/store/blob_cache.h: a local copy of what a remote blob store
 * served, wrapped around it (the namespace does not know it is there).
 *
 * Content read or written once is kept in DIR (under the state folder) as
 * one file per key and version (the inner store's ETag, blob_ops.version):
 * a get() of a key whose version the inner store still knows is answered
 * from the copy, with no request. A changed object has another ETag, so
 * a stale copy is never served; copies of old versions are removed when
 * the key is written or deleted, and the least recently used ones when the
 * folder holds more than its bound.
 *
 * Every other operation goes to the inner store as it is. An inner store
 * without a version() op is only passed through.
 */
#ifndef LLMUNIX_BLOB_CACHE_H
#define LLMUNIX_BLOB_CACHE_H

#include <stdint.h>

#include "core/store/blob.h"

/* Wrap `inner` (owned from now on: freed with the cache, also when this
 * fails) with copies in `dir` (made as needed) of at most `max_bytes`. */
int blob_cache_open(struct blob **out, struct blob *inner, const char *dir,
		    uint64_t max_bytes);

/* The store `b` wraps when it is a cache, else `b`: for content that
 * keeps its own local copy (the history's objects), so that it is not
 * kept twice. Borrowed: it lives as long as `b`. */
struct blob *blob_cache_inner(struct blob *b);

#endif
