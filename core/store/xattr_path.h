/* core/store/xattr_path.h: the user.* xattrs of a file on a local disk,
 * as a struct blob_xattrs (blob.h), for the local blob store. The
 * daemon's own names (BLOB_XATTR_RESERVED) are never read, set or
 * removed here. Links are not followed. */
#ifndef LLMUNIX_STORE_XATTR_PATH_H
#define LLMUNIX_STORE_XATTR_PATH_H

#include "core/store/blob.h"

/* All user.* xattrs of `path` into `out` (released with
 * blob_xattrs_release()): 0 or -errno; a file system without xattrs
 * gives none. */
int xattr_path_get(const char *path, struct blob_xattrs *out);

/* Make the user.* xattrs of `path` exactly `x`: those not in `x` are
 * removed, those in it set. 0 or -errno (the first failure). */
int xattr_path_set(const char *path, const struct blob_xattrs *x);

#endif
