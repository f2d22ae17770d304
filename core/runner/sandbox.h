/* core/runner/sandbox.h: one process tree in bubblewrap, as one user, under
 * limits (DESIGN.md section 5), and the work folder it writes into. Used by
 * the runners (runner.c); nothing else needs it.
 *
 * The tree: the daemon forks; the child joins the node's cgroup, drops to
 * the user (groups, gid, uid, checked), sets the rlimits and execs
 * /usr/bin/bwrap, which makes new
 * namespaces (user, mount, pid, net unless asked, ipc, uts, cgroup) and
 * runs the command as pid 1 of its pid namespace (--as-pid-1), so that
 * when the command ends or is killed, every process of the sandbox is
 * killed by the kernel and bwrap reaps it: when sandbox_run() returns,
 * nothing of the sandbox is left.
 *
 * The sandbox sees: /usr read-only (and /bin, /lib... as on the host), a
 * few /etc files, a made-up /etc/passwd and /etc/group with the user only,
 * /proc, a minimal /dev, /tmp and /dev/shm as tmpfs of file_mb, and the
 * work folder as /work (its cwd and HOME). Never /home, /root, /var, the
 * host's /tmp or the daemon's state.
 *
 * Limits on the node as a whole (sandbox_setup()): with a cgroup per node
 * (cgroup.h), memory_mb is its memory.max (v2) or memory.limit_in_bytes
 * (v1): every page of the node together, files in its tmpfs included,
 * and the kernel's OOM killer in the node makes it fail with the memory
 * limit; procs + 1 (bwrap) is its pids.max. Without a memory cgroup, a
 * monitor sums the node's memory every SB_MEM_TICK_S (sandbox_mem.c) and
 * kills it when over, and memory_mb stays each process's RLIMIT_AS. The
 * cgroup replaces RLIMIT_AS, which counts address space (glibc's arenas,
 * Go, Java and V8 reserve gigabytes they never touch), not memory.
 * Without a pids cgroup, procs is RLIMIT_NPROC set by SB_PRLIMIT inside
 * the sandbox: from Linux 5.14 the kernel counts it in the sandbox's own
 * user namespace, so the user's other processes do not count.
 *
 * Thread-safety: sandbox_run() may run in many threads at once; each
 * sandbox_ctl is used by one sandbox_run() and any number of cancellers.
 */
#ifndef LLMUNIX_SANDBOX_H
#define LLMUNIX_SANDBOX_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "core/runner/runner.h"

struct buf;

#define SANDBOX_BWRAP "/usr/bin/bwrap"

/* A NULL-terminated vector of owned strings (argv, environ). */
struct sandbox_strv {
	char **v;
	size_t n;
	size_t alloc;
};

void sandbox_strv_init(struct sandbox_strv *s);
void sandbox_strv_release(struct sandbox_strv *s);
/* Append a copy of `str`; 0, -ENOMEM or -E2BIG (more than 100000). */
int sandbox_strv_add(struct sandbox_strv *s, const char *str);
int sandbox_strv_addf(struct sandbox_strv *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Cancellation of one run: an eventfd the monitor polls. */
struct sandbox_ctl {
	pthread_mutex_t lock;
	int efd;
	int cancelled;
	double grace_s;
};

int sandbox_ctl_init(struct sandbox_ctl *c);
void sandbox_ctl_release(struct sandbox_ctl *c);
/* Ask the run to stop (SIGTERM, SIGKILL after `grace_s`); any thread,
 * any time, any number of times (the first grace counts). */
void sandbox_ctl_cancel(struct sandbox_ctl *c, double grace_s);
/* 1 when cancelled, with the grace in *grace_s (may be NULL). */
int sandbox_ctl_cancelled(struct sandbox_ctl *c, double *grace_s);

/* A host file shown read-only in the sandbox at /work/`rel`; the mount
 * point `rel` (e.g. "in/x/data.csv") must already exist in the work
 * folder as an empty file. */
struct sandbox_file {
	const char *src;
	const char *rel;
};

struct sandbox_spec {
	uid_t uid;			/* never 0 */
	gid_t gid;
	const char *user;		/* USER, LOGNAME, /etc/passwd */
	const char *work;		/* host folder, becomes /work */
	const struct sandbox_file *files;
	size_t nfiles;
	char *const *argv;		/* the command, paths in the sandbox */
	char *const *env;		/* NAME=VALUE added to the fixed
					 * environment, or NULL */
	int stdin_fd;			/* borrowed; -1 for /dev/null */
	int network;			/* share the host's network */
	const struct runner_limits *lim;
	const char *stdout_path;	/* created (truncated), mode 0600 */
	const char *stderr_path;
};

enum sandbox_end {
	SANDBOX_EXITED,		/* the command ended by itself */
	SANDBOX_TIMEOUT,	/* killed at lim->timeout_s */
	SANDBOX_OUTPUT,		/* killed past lim->output_mb */
	SANDBOX_CANCELLED,	/* killed by sandbox_ctl_cancel() */
	SANDBOX_MEMORY,		/* over lim->memory_mb, all its processes
				 * together: killed */
};

struct sandbox_result {
	enum sandbox_end end;
	/* The command's end as bwrap reports it: exit_code, or -1 and the
	 * signal that killed it (bwrap exits 128 + signal). */
	int exit_code;
	int signal;
	struct timespec start, stop;	/* CLOCK_REALTIME */
	double wall_s;
	double user_s, sys_s;		/* every process of the sandbox */
	long max_rss_kb;		/* its largest process */
	uint64_t mem_peak;		/* bytes, all of its processes
					 * together, as capped by
					 * memory_mb; 0 when unknown */
	int procs_refused;		/* the pids cgroup refused a fork */
	uint64_t out_bytes;		/* stdout + stderr, all of it */
	/* Not empty when the sandbox could not be started; then nothing
	 * else is set but start and stop. */
	char setup_err[512];
	int setup_procs;	/* ... because of the process limit */
};

/* Choose how nodes are capped as a whole, once at start-up before any
 * thread runs a sandbox: with `use_cgroup`, a cgroup per node when the
 * daemon can make one (cgroup_setup()), the monitor otherwise; with
 * `require` too, -ENOTSUP when it cannot make a memory cgroup. `desc` says what was chosen
 * and why, for the log. Without this call, sandbox_run() uses no
 * cgroup. Returns the cgroup version in use (0: none) or -ENOTSUP. */
int sandbox_setup(int use_cgroup, int require, char *desc, size_t desclen);
/* At exit, once no sandbox runs: remove the daemon's cgroups. */
void sandbox_teardown(void);

/* Run spec->argv in a sandbox and wait for it (or for the timeout, the
 * output cap, a cancel) while copying its stdout and stderr into the
 * files (at most lim->output_mb MiB in all). Returns 0 with `res` filled,
 * or a negative errno when the daemon failed (no memory, no fds, cannot
 * create the output files). `ctl` may be NULL. Computes everything before
 * fork(); the child makes only async-signal-safe calls. */
int sandbox_run(const struct sandbox_spec *spec, struct sandbox_ctl *ctl,
		struct sandbox_result *res);

/* --- the work folder --------------------------------------------------- */

/* When the daemon is root, mount a tmpfs of `size_mb` MiB (nosuid, nodev,
 * mode 0700, owned by uid:gid) on `work`, so that what the code writes is
 * capped in total; otherwise do nothing. 0 or -errno with `err` set. */
int sandbox_work_mount(const char *work, uint64_t size_mb, uid_t uid,
		       gid_t gid, char *err, size_t errlen);

/* Open `rel` ("a/b/c", no "..", no leading '/') under the folder `dirfd`
 * without following any symbolic link: -ELOOP for a link anywhere, -EINVAL
 * for a bad path. O_CLOEXEC and O_NOFOLLOW are added to `flags`. */
int sandbox_open_beneath(int dirfd, const char *rel, int flags);

/* Read the regular file `rel` under `dirfd` (no symbolic links, no FIFOs
 * or devices: -EINVAL) into `out` (appended); -EFBIG when it holds more
 * than `cap` bytes, -ENOENT when absent. */
int sandbox_read_beneath(int dirfd, const char *rel, size_t cap,
			 struct buf *out);

/* Write all `len` bytes to `fd`, again after EINTR. 0 or -errno (-EIO
 * when the file takes no more). */
int sandbox_write_all(int fd, const void *data, size_t len);

/* Create the file `name` in `dirfd` (which must not exist) with `mode`
 * and `len` bytes of `data`. 0 or -errno. */
int sandbox_write_at(int dirfd, const char *name, const void *data,
		     size_t len, mode_t mode);

#endif
