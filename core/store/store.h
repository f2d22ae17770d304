/* core/store/store.h: open the blob store the configuration names
 * (storage = local | s3 | vercel), with the local cache of contents around a
 * remote one. */
#ifndef LLMUNIX_STORE_H
#define LLMUNIX_STORE_H

#include "core/store/blob.h"
#include "core/util/config.h"

/* Returns 0, or a negative errno, said in the log: -EINVAL (the
 * configuration or the environment lacks something), -EACCES (the server
 * refused the credentials), -ENOENT (no such bucket), -EBUSY (the state
 * folder is in use), -EIO (the server did not answer). */
int store_open(struct blob **out, const struct config *cfg);

#endif
