/* core/runner/cgroup_int.h: what cgroup.c (a node's groups) and
 * cgroup_setup.c (the daemon's groups) share; cgroup.h is the contract.
 *
 * `cg` is written by cgroup_setup() and cgroup_teardown() only, with no
 * node running, and read by any thread in between.
 */
#ifndef LLMUNIX_CGROUP_INT_H
#define LLMUNIX_CGROUP_INT_H

#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>

#include "core/runner/cgroup.h"

struct buf;

#define CG_PREFIX "llmunixfs-"
#define CG_DAEMON ".daemon"	/* v2: where the daemon moves itself */
#define CG_NODE "node-"
#define CG_PROC_CAP ((size_t)8 << 20)	/* mountinfo, cgroup.procs */

/* The daemon's group in one hierarchy. */
struct cg_hier {
	int parent;		/* the daemon's own cgroup */
	int fd;			/* our group in it, flock'ed */
	char path[PATH_MAX];	/* of fd, for messages */
};

struct cg_state {
	int version;			/* 0: none, 1 or 2 */
	int nh;
	struct cg_hier h[CGROUP_NHIER];
	int hier_of[CGROUP_NCTL];	/* index in h, or -1 */
	char name[32];			/* "llmunixfs-<pid>" */
	atomic_ulong seq;		/* the last node's number */
};

extern struct cg_state cg;

/* All of `name` in `dirfd` into `b` (initialised by the caller, left a
 * string). 0 or -errno. */
int cg_read_at(int dirfd, const char *name, struct buf *b);
/* Write `val` into `name` in `dirfd` in one write. 0 or -errno. */
int cg_write_at(int dirfd, const char *name, const char *val);
/* The number under `key` in the file `name` of `dirfd` (the file's only
 * number when `key` is NULL), 0 when it cannot be read. */
uint64_t cg_read_number(int dirfd, const char *name, const char *key);
/* The line after the one at `p`, or NULL. */
const char *cg_next_line(const char *p);
/* rmdir `name` in `parent`, again while it is busy (the kernel is still
 * reaping), killing what is left in it now and then; for up to two
 * seconds. 0 or -errno. */
int cg_remove_group(int parent, const char *name);

#endif
