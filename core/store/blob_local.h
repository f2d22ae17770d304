/* core/store/blob_local.h: the embedded blob backend, a folder on this machine.
 *
 * Objects are plain files under STATE/blobs/<key> carrying their content,
 * mode, owner (when the daemon runs as root), mtime and user.* xattrs;
 * put() writes a temporary file in STATE/tmp and renames it over the key.
 */
#ifndef LLMUNIX_BLOB_LOCAL_H
#define LLMUNIX_BLOB_LOCAL_H

#include "core/store/blob.h"

/* Open (creating as needed, mode 0700) the store under `state_dir`, and
 * remove temporary files a crash left behind. */
int blob_local_open(struct blob **out, const char *state_dir);

/* Fault injection for tests: make the next operations of kind `what` fail
 * with `err` (a positive errno) until cleared with err = 0. */
enum blob_fault { BLOB_FAULT_WRITE, BLOB_FAULT_RENAME, BLOB_FAULT_NR };
void blob_local_inject(struct blob *b, enum blob_fault what, int err);

#endif
