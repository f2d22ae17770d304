/* core/store/blob.h: the blob store interface, one table of operations per
 * backend: "local" (a folder), "s3" (blob_s3.h); Vercel Blob plugs in
 * the same way, and blob_cache.h wraps a remote one with a local copy of
 * what was read.
 *
 * Keys are '/'-separated paths such as "volumes/user/alice/skills/x.md"
 * (DESIGN.md section 8). Objects are regular files, or symbolic links
 * (put() with S_IFLNK in the mode: the content is the target, which the
 * store never follows); directories are markers made with mkdir so that
 * empty folders survive. Every operation returns 0
 * or a negative errno: -ENOENT for a missing key, -ENOSPC/-EDQUOT for a
 * full store, -EIO for anything else the backend cannot do; a readable
 * reason for the last failure is logged by the backend.
 *
 * Durability: put() replaces the object atomically: a reader, or the store
 * after a crash, sees the old or the new content, never a mix. With
 * BLOB_SYNC the new content is on stable storage when put() returns.
 *
 * Thread safety: every operation may be called from any thread at once;
 * the caller serialises operations on the same key.
 */
#ifndef LLMUNIX_BLOB_H
#define LLMUNIX_BLOB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <time.h>

#include "core/util/buf.h"

struct blob;

struct blob_meta {
	mode_t mode;		/* S_IFREG, S_IFDIR or S_IFLNK, and the 0777
				 * bits */
	uid_t uid;
	gid_t gid;
	struct timespec mtime;
	uint64_t size;
	struct timespec atime;	/* { 0, 0 }: the same as mtime */
};

struct blob_xattr {
	char *name;		/* "user.something" */
	char *value;
	size_t len;
};

struct blob_xattrs {
	struct blob_xattr *v;
	size_t n;
};

/* xattr names under this prefix are the backends' own (a mode kept
 * aside, say): never shown, set or removed through the mount. */
#define BLOB_XATTR_RESERVED "user.llmunix."

void blob_xattrs_release(struct blob_xattrs *x);

/* Called for each object and directory under a prefix, parents first.
 * A non-zero return stops the walk and is returned by list(). */
typedef int (*blob_list_cb)(void *arg, const char *key,
			    const struct blob_meta *m);

#define BLOB_SYNC 1u

struct blob_ops {
	const char *name;
	/* Content of `key` into `out` (whose cap bounds the size). */
	int (*get)(struct blob *b, const char *key, struct buf *out);
	/* Up to `len` bytes of `key` from `off` into `dst`: the number of
	 * bytes read (0 at the end). May be NULL: then the namespace loads
	 * the whole content with get(). */
	ssize_t (*read)(struct blob *b, const char *key, void *dst,
			size_t len, off_t off);
	/* Create or replace `key` with content, metadata and xattrs (NULL:
	 * none). Parents are created as needed. */
	int (*put)(struct blob *b, const char *key, const void *data,
		   size_t len, const struct blob_meta *m,
		   const struct blob_xattrs *x, unsigned flags);
	int (*del)(struct blob *b, const char *key);
	int (*list)(struct blob *b, const char *prefix, blob_list_cb cb,
		    void *arg);
	int (*mkdir)(struct blob *b, const char *key,
		     const struct blob_meta *m);
	/* Remove an empty directory marker. */
	int (*rmdir)(struct blob *b, const char *key);
	/* Move an object or a whole directory; an object replaces `to`
	 * atomically. */
	int (*rename)(struct blob *b, const char *from, const char *to);
	/* Mode, owner and mtime of an object or directory. */
	int (*setmeta)(struct blob *b, const char *key,
		       const struct blob_meta *m);
	int (*getxattrs)(struct blob *b, const char *key,
			 struct blob_xattrs *out);
	/* Replace the whole set of user xattrs. */
	int (*setxattrs)(struct blob *b, const char *key,
			 const struct blob_xattrs *x);
	/* Whether one object can hold the set `x`: 0, or the error that a
	 * put() with it would give (-ENOSPC, -E2BIG). */
	int (*fitxattrs)(struct blob *b, const struct blob_xattrs *x);
	/* Make `key`'s content durable. */
	int (*sync)(struct blob *b, const char *key);
	int (*statfs)(struct blob *b, struct statvfs *out);
	/* Optional (NULL in local): the version (ETag) of `key` as this
	 * backend last saw it, without asking the server: after a list(), a
	 * put() or a get(). Returns 0, -ENOENT (unknown) or -ERANGE. A
	 * cache of contents keys its copies by it (blob_cache.h). */
	int (*version)(struct blob *b, const char *key, char *out,
		       size_t cap);
	void (*free)(struct blob *b);
};

/* Every backend embeds this as its first member. */
struct blob {
	const struct blob_ops *ops;
};

#endif
