/* fs/fs.h: the FUSE layer: translates low-level requests into namespace
 * calls (core/ns/ns.h) and their results into replies. No policy here. */
#ifndef LLMUNIX_FS_H
#define LLMUNIX_FS_H

#include <fuse_lowlevel.h>

#include "core/util/config.h"
#include "core/ns/ns.h"

struct fs {
	struct ns *ns;
	const struct config *cfg;
};

extern const struct fuse_lowlevel_ops fs_ops;

/* fs/wait.c: reads that wait. fs_wait_gen() before a read that may give
 * -EAGAIN; fs_wait_park() then keeps the request and answers it after a
 * later fs_wait_notify() (the engine's callback, `arg` unused) or Ctrl-C.
 * fs_wait_stop() answers every parked read with EINTR. */
uint64_t fs_wait_gen(void);
void fs_wait_park(fuse_req_t req, struct fs *fs, struct ns_file *f,
		  size_t size, off_t off, uint64_t seen);
void fs_wait_notify(void *arg);
void fs_wait_stop(void);

/* Fill `c` with the identity of `req` (the groups are fetched lazily,
 * through a short per-process cache). */
void fs_caller(fuse_req_t req, struct caller *c);

#endif
