/* core/runner/runner.h: running one node of a graph (DESIGN.md section 5): a
 * skill's code, its inputs, in a bubblewrap sandbox as the requesting user,
 * under limits; its outputs, its out/ files and the reason it failed.
 *
 * runner_run() is called by an engine worker thread and blocks until the
 * code has ended (or was stopped). Each runner (python, sh, spice) is a
 * table of operations behind it (runner_python.c, runner_sh.c,
 * runner_spice.c); the sandbox is sandbox.c.
 *
 * Files: `work` is a folder the caller made, empty, owned by root with mode
 * 0700; runner_run() makes it the sandbox's /work (owned by the user while
 * the code runs) and leaves what the code wrote in `work`/out/ for the
 * caller, who copies it with runner_copy_out(). The caller removes `work`
 * afterwards with runner_work_remove(). Captured stdout and stderr go to the
 * files `stdout_path` and `stderr_path` (created by runner_run(), daemon
 * owned), which the caller may read while the node runs.
 *
 * Thread-safety: any number of runner_run() at once, from different
 * threads; runner_cancel() from any thread while one runs.
 */
#ifndef LLMUNIX_RUNNER_H
#define LLMUNIX_RUNNER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "core/skill/skill.h"

/* Effective limits of one node; 0 means "no limit" only for procs.
 * memory_mb and procs cap the node as a whole (runner_setup()). */
struct runner_limits {
	double timeout_s;	/* wall time */
	double cpu_s;		/* RLIMIT_CPU, each process */
	uint64_t memory_mb;	/* all its processes together */
	uint64_t procs;		/* its processes and threads */
	uint64_t file_mb;	/* largest file, and all files in /work */
	uint64_t output_mb;	/* stdout + stderr captured */
};

/* A file-typed input: the host file `path` appears read-only in the
 * sandbox at /work/in/<port>/<name>, and the input's value is that path. */
struct runner_file {
	const char *port;
	const char *path;	/* host path, daemon-readable */
	const char *name;	/* file name to show, e.g. "plot.svg" */
};

struct runner_job {
	const struct skill *sk;		/* borrowed; sk->code != NULL */
	const char *skill_path;		/* for messages and tracebacks:
					 * "system/skills/code/fib.md" */
	json_t *inputs;			/* borrowed: object, port -> value
					 * (defaults already applied, file
					 * inputs absent: see files) */
	const struct runner_file *files;
	size_t nfiles;
	uid_t uid;			/* never 0 */
	gid_t gid;
	const char *user;		/* the user's name, for USER/LOGNAME */
	const char *work;		/* see above */
	const char *stdout_path;
	const char *stderr_path;
	struct runner_limits lim;
	int network;			/* 1: share the host's network */
};

enum runner_outcome {
	RUNNER_OK,		/* outputs set */
	RUNNER_FAILED,		/* the code failed: error says how */
	RUNNER_LIMIT,		/* a limit was hit: error names it */
	RUNNER_CANCELLED,	/* runner_cancel() */
	RUNNER_SETUP,		/* could not start: missing interpreter or
				 * module, bwrap, uid; error says which */
};

struct runner_result {
	enum runner_outcome outcome;
	json_t *outputs;	/* owned; object port -> value, RUNNER_OK */
	char *error;		/* owned; one or more lines, or NULL */
	int exit_code;		/* -1 when killed by a signal */
	int signal;		/* or 0 */
	struct timespec start, end;	/* CLOCK_REALTIME */
	double user_s, sys_s;
	long max_rss_kb;	/* the largest process's peak */
	uint64_t mem_peak_kb;	/* all processes together, as memory_mb
				 * counts them (the cgroup's peak, or the
				 * monitor's highest sum); 0 unknown */
};

struct runner_ctl;	/* cancellation handle, one per running node */

int runner_ctl_new(struct runner_ctl **out);
void runner_ctl_free(struct runner_ctl *c);
/* Stop the node: SIGTERM, then SIGKILL after `grace_s`. Safe before,
 * during and after runner_run() (a cancel before start means no start). */
void runner_cancel(struct runner_ctl *c, double grace_s);

/* Run `job`. Returns 0 with `res` filled (any outcome), or a negative
 * errno when the daemon itself failed (no memory, cannot create files);
 * release `res` with runner_result_release() in both cases. */
int runner_run(const struct runner_job *job, struct runner_ctl *ctl,
	       struct runner_result *res);
void runner_result_release(struct runner_result *res);

/* Copy the regular files and folders under `work`/out/ into `dest`
 * (created if missing), never following symbolic links, at most
 * `max_files` entries and `max_bytes` bytes in all; returns 0, -EFBIG
 * with `err` saying which limit, or another -errno. */
int runner_copy_out(const char *work, const char *dest, size_t max_files,
		    uint64_t max_bytes, char *err, size_t errlen);
/* Remove `work` and everything in it (unmounting it if it was a mount),
 * without following links and whatever the code left there; also used
 * for run records, the cache and the trash. 0 when it is gone. */
int runner_work_remove(const char *work);

/* How memory_mb and procs cap a node as a whole, chosen once at start-up
 * before any runner_run() and before other threads (configuration key
 * node_cgroup): with `use_cgroup`, a cgroup per node under the daemon's
 * own cgroup when it can make one (v2, or v1 memory and pids; groups
 * left by dead daemons are removed); otherwise a monitor sums each node's
 * memory from /proc and kills it when over, and procs is RLIMIT_NPROC
 * counted in the sandbox's user namespace. With `require`, fails with
 * -ENOTSUP when no memory cgroup can be made. `desc` says which, for the log.
 * Without this call, no cgroup is used. Returns the cgroup version in
 * use (0: none), or -ENOTSUP. */
int runner_setup(int use_cgroup, int require, char *desc, size_t desclen);
/* At exit, once no node runs: remove the daemon's cgroups. */
void runner_teardown(void);

/* Whether this machine can run `r` at all: 0, or -ENOENT with `err`
 * naming what is missing ("python3 is not installed"). */
int runner_available(enum skill_runner r, char *err, size_t errlen);

#endif
