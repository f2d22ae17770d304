/* fs/fs.h: the FUSE layer: translates low-level requests into namespace
 * calls (core/ns.h) and their results into replies. No policy here. */
#ifndef LLMUNIX_FS_H
#define LLMUNIX_FS_H

#include <fuse_lowlevel.h>

#include "core/config.h"
#include "core/ns.h"

struct fs {
	struct ns *ns;
	const struct config *cfg;
};

extern const struct fuse_lowlevel_ops fs_ops;

/* Fill `c` with the identity of `req` (the groups are fetched lazily,
 * through a short per-process cache). */
void fs_caller(fuse_req_t req, struct caller *c);

#endif
