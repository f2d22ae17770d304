/* core/runner/sandbox_int.h: what the files of the sandbox share; sandbox.h is
 * the contract with the rest of the daemon.
 *
 *   sandbox.c        checks the spec, opens the pipes, forks, and puts
 *                    sandbox_run() together; cancellation (sandbox_ctl)
 *   sandbox_args.c   string vectors; bwrap's argument vector and
 *                    environment; the sandbox's /etc/passwd and /etc/group
 *   sandbox_plan.c   what the child will do (struct sb_child), computed
 *                    before fork: ids, groups, rlimits, mounts, fds
 *   sandbox_child.c  the child between fork and execve (async-signal-safe
 *                    calls only)
 *   sandbox_mon.c    watching the sandbox until it is reaped: output
 *                    capture, timeout, output cap, cancel, kill
 *   sandbox_caps.c   the node's memory and processes capped as a whole:
 *                    its cgroup (cgroup.h), or the memory monitor and a
 *                    process limit counted in the sandbox
 *   sandbox_mem.c    the memory monitor: the node's processes from /proc
 *   sandbox_work.c   the work folder: tmpfs, reading and writing in it
 *                    without following links, copying out/, removing it
 *
 * Everything declared here is used by the one thread in sandbox_run().
 */
#ifndef LLMUNIX_SANDBOX_INT_H
#define LLMUNIX_SANDBOX_INT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "core/util/buf.h"
#include "core/runner/cgroup.h"
#include "core/runner/sandbox.h"

/* How often the node's memory is looked at: the monitor's sum, or the
 * cgroup's OOM kill count; the monitor looks every SB_MEM_FAST_S once the
 * sum is past a quarter of the limit (a node can touch gigabytes in a
 * tenth of a second). */
#define SB_MEM_TICK_S 0.05
#define SB_MEM_FAST_S 0.01

/* bwrap's own process, which pids.max counts and procs does not. */
#define SB_BWRAP_PROCS 1

/* Sets RLIMIT_NPROC inside the sandbox, then execs the command. */
#define SB_PRLIMIT "/usr/bin/prlimit"

/* In the child's private mount namespace (root only), the work folder is
 * bound here, a path the user can reach: bwrap resolves its sources as
 * the user, and the caller's folder may sit in a root-only state folder. */
#define SB_WORK_MNT "/tmp"

/* `mb` MiB in bytes, UINT64_MAX when that overflows. */
static inline uint64_t sb_mib(uint64_t mb)
{
	return mb > (UINT64_MAX >> 20) ? UINT64_MAX : mb << 20;
}

/* The daemon's fds for one run, -1 when closed; [0] read, [1] write. */
struct sb_fds {
	int out[2], err[2], info[2], errp[2];
	int passwd, group;
	int in;
};

/* Close `*fd` unless it is -1, and set it to -1. */
void sb_close_fd(int *fd);

/* --- sandbox_mem.c ----------------------------------------------------- */

struct sb_pids {
	pid_t *v;
	size_t n, alloc;
};

/* A node's memory without a memory cgroup: the sum over its processes. */
struct sb_memmon {
	uint64_t limit;		/* bytes */
	uint64_t peak;		/* the highest sum seen */
	uint64_t page;		/* bytes */
	struct sb_pids node;	/* the node's processes, sorted */
	struct sb_pids other;	/* every other process, sorted */
};

/* Before fork: every process there now is not the node's. 0 or -errno. */
int sb_memmon_init(struct sb_memmon *mm, uint64_t limit);
void sb_memmon_release(struct sb_memmon *mm);
/* Look at the processes of the node whose first process (bwrap) is
 * `root`: their memory in bytes into *total; 1 when it is over the
 * limit, 0 when not, -errno when /proc could not be read. */
int sb_memmon_check(struct sb_memmon *mm, pid_t root, uint64_t *total);

/* --- sandbox_caps.c ---------------------------------------------------- */

/* How one node's memory and processes are capped as a whole. */
struct sb_caps {
	struct cgroup_node cg;
	int mem_cg;		/* memory by the node's cgroup */
	int pids_cg;		/* processes by the node's cgroup */
	uint64_t nproc;		/* RLIMIT_NPROC set in the sandbox by
				 * SB_PRLIMIT (it counts the node's user
				 * namespace only), 0: none */
	int watch;		/* memory by the monitor */
	struct sb_memmon mm;
	double next;		/* the next look, sb_mono_now() */
	uint64_t limit;		/* memory_mb in bytes */
};

void sb_caps_init(struct sb_caps *c);
/* Before fork: the node's cgroup, or what watches it without. 0 or
 * -errno. */
int sb_caps_prepare(struct sb_caps *c, const struct runner_limits *lim);
/* When the next look is due, sb_mono_now() time. */
double sb_caps_next(const struct sb_caps *c);
/* Look, when due: 1 when the node is over its memory limit (the kernel
 * killed one of its processes for memory, or the monitor's sum is over),
 * which kills the node. `root` is bwrap's pid. */
int sb_caps_check(struct sb_caps *c, pid_t root, double now);
/* After the node is reaped: whether it went over the memory limit, its
 * peak memory and whether a fork was refused, into `res`. */
void sb_caps_finish(struct sb_caps *c, struct sandbox_result *res);
/* Remove the node's cgroup; free the rest. */
void sb_caps_release(struct sb_caps *c);

/* --- sandbox_args.c ---------------------------------------------------- */

/* bwrap's argument vector for `sp`, appended to `a`: f->passwd, f->group
 * and f->info[1] are passed by number. `root`: the child binds the work
 * folder on SB_WORK_MNT and the input files itself. `nproc`: the command
 * runs under SB_PRLIMIT with that RLIMIT_NPROC (0: not). 0, -ENOMEM,
 * -E2BIG. */
int sb_build_argv(const struct sandbox_spec *sp, const struct sb_fds *f,
		  int root, uint64_t nproc, struct sandbox_strv *a);
/* The sandbox's environment (fixed, then sp->env), appended to `e`. */
int sb_build_env(const struct sandbox_spec *sp, struct sandbox_strv *e);
/* /etc/passwd and /etc/group of the sandbox as memfds at offset 0, into
 * f->passwd and f->group (owned by `f`). 0 or -errno. */
int sb_make_id_files(const struct sandbox_spec *sp, struct sb_fds *f);

/* --- sandbox_child.c --------------------------------------------------- */

/* Where the child failed, sent to the parent on the status pipe. */
enum sb_step {
	STEP_CGROUP, STEP_DUP, STEP_UNSHARE, STEP_PRIVATE, STEP_BIND_FILE,
	STEP_RO_FILE, STEP_BIND_WORK, STEP_SETGROUPS, STEP_SETGID, STEP_SETUID, STEP_CHECK_ID,
	STEP_RLIMIT, STEP_PDEATHSIG, STEP_FDS, STEP_EXEC,
};

struct sb_err {
	int step;
	int err;
};

#define SB_NRLIM 5

/* Everything the child needs, so that it neither allocates nor formats.
 * The pointers are borrowed from the caller of sb_prepare_child(). */
struct sb_child {
	char *const *argv;
	char *const *envp;
	int in_fd, out_fd, err_fd;	/* become 0, 1, 2 */
	int errpipe;			/* close-on-exec: EOF means exec'd */
	int keep[4];			/* fds left open (bwrap's, and
					 * errpipe), sorted */
	int nkeep;
	int maxfd;			/* when close_range() is missing */
	int root;
	const struct cgroup_node *cg;	/* joined first, or NULL */
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	size_t ngroups;
	int rlres[SB_NRLIM];
	struct rlimit rl[SB_NRLIM];
	pid_t parent;
	char **mnt_src;			/* root: input files to bind */
	char **mnt_buf;			/* room for "/proc/self/fd/N" */
	char **mnt_dst;
	size_t nmnt;
	char **hide;			/* root: FUSE mounts to detach */
	size_t nhide;
	const char *work;
	struct sigaction dfl;
	sigset_t empty;
};

/* What went wrong at `step` ("cannot set the user's uid"). */
const char *sb_step_name(int step);

/* The child after fork(): drop to the user, set the limits and mounts,
 * execve bwrap. Never returns: on failure it writes a struct sb_err to
 * x->errpipe and exits 127. Async-signal-safe calls only. */
void sb_child_main(const struct sb_child *x) __attribute__((noreturn));

/* --- sandbox_plan.c ---------------------------------------------------- */

/* Fill `x` (zeroed by the caller) for `sp` from the fds in `f`, except
 * argv and envp; its rlimits for the caps `caps` (borrowed: x->cg points
 * into it). `mnt` is four vectors, initialised and released by the
 * caller, that hold what x->mnt_* and x->hide point to; x->groups is
 * allocated (the caller frees it). 0 or -errno. */
int sb_prepare_child(const struct sandbox_spec *sp, int root,
		     const struct sb_caps *caps, struct sb_fds *f,
		     struct sb_child *x, struct sandbox_strv *mnt);

/* --- sandbox_mon.c ----------------------------------------------------- */

/* One running sandbox, as the monitor sees it. After sb_mon_init(), the
 * caller opens `file` and, once bwrap runs, sets pid, pidfd, rd, info, t0
 * and deadline; the fds are then the monitor's (sb_mon_release()). */
struct sb_mon {
	const struct sandbox_spec *sp;
	struct sandbox_ctl *ctl;
	struct sb_caps *caps;	/* borrowed */
	pid_t pid;		/* bwrap, our child */
	int pidfd;
	pid_t inner;		/* the command, pid 1 of the sandbox */
	int inner_fd;		/* its pidfd, once known */
	int rd[2];		/* stdout, stderr pipes (read ends) */
	int file[2];		/* stdout_path, stderr_path */
	int info;
	struct buf infobuf;
	uint64_t cap, total, written;
	double t0, deadline, kill_at, force_at, term_again;
	int killed, term_sent, exited, warned;
	enum sandbox_end end;
};

/* No fds yet (-1), the output cap of sp->lim; `ctl` may be NULL. */
void sb_mon_init(struct sb_mon *m, const struct sandbox_spec *sp,
		 struct sandbox_ctl *ctl, struct sb_caps *caps);
/* Close the fds still open and free the buffer. */
void sb_mon_release(struct sb_mon *m);

/* CLOCK_MONOTONIC in seconds. */
double sb_mono_now(void);

/* Copy the output and watch the timers, the cancel and bwrap until bwrap
 * has exited (it is not reaped yet). */
void sb_mon_loop(struct sb_mon *m);

/* Reap bwrap, make sure the command is gone, read what is left in the
 * pipes and fill `res` with how it ended. */
void sb_mon_finish(struct sb_mon *m, struct sandbox_result *res);

#endif
