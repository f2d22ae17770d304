/* core/runner/cgroup.h: a control group per node, so that memory_mb and
 * procs cap a node's processes together (DESIGN.md section 5), not each
 * process, nor all of the user's processes on the machine.
 *
 * At start-up, cgroup_setup() finds the daemon's own cgroup (from
 * /proc/self/cgroup and /proc/self/mountinfo) and makes its group
 * "llmunixfs-<pid>" under it, so that the host's limits on the daemon
 * still hold for its nodes:
 *   - cgroup v2, when the daemon's cgroup offers the memory and pids
 *     controllers: one group; the controllers are enabled in the daemon's
 *     cgroup, which therefore must hold no process: the daemon moves
 *     itself into "llmunixfs-<pid>.daemon" beside it when it has to (a
 *     service started with systemd's Delegate=yes is alone there);
 *   - cgroup v1: a group in the memory hierarchy and one in the pids
 *     hierarchy, each where it is mounted (either may be missing).
 * The daemon holds an flock(2) on its groups while it lives; groups of
 * daemons that are gone (no lock) are emptied and removed at start-up
 * (and "<name>.daemon", which the daemon cannot leave, with them).
 *
 * Each node then gets "node-<n>" in each of the daemon's groups, with
 *   - v2: memory.max, memory.swap.max 0, memory.oom.group 1 (the kernel
 *     kills the whole node when it kills one process), pids.max;
 *   - v1: memory.limit_in_bytes (and memory.memsw.limit_in_bytes, memory
 *     plus swap, when the kernel accounts swap), pids.max.
 * The node's first process joins it between fork and exec, before it
 * drops its privileges (cgroup_node_join()), so every process of the node
 * is in it from the start.
 *
 * Thread-safety: cgroup_setup() and cgroup_teardown() at start-up and at
 * exit only, with no node running; the rest from any thread, each
 * cgroup_node used by one thread (cgroup_node_join() by the child).
 */
#ifndef LLMUNIX_CGROUP_H
#define LLMUNIX_CGROUP_H

#include <stddef.h>
#include <stdint.h>

#define CGROUP_NHIER 2

enum cgroup_ctl { CGROUP_MEMORY, CGROUP_PIDS, CGROUP_NCTL };

/* Find the daemon's cgroups, clean up after dead daemons and make this
 * daemon's groups. Returns the cgroup version in use (1 or 2) with
 * `desc` saying where, or 0 with `desc` saying why none can be used (not
 * mounted, not writable: the daemon is not root...). Never fails
 * otherwise: without a cgroup, nodes are watched by the sandbox instead. */
int cgroup_setup(char *desc, size_t desclen);

/* Whether cgroup_setup() found the controller `c`. */
int cgroup_has(enum cgroup_ctl c);

/* Remove the daemon's own groups (every node must be gone). */
void cgroup_teardown(void);

/* One node's groups; a plain struct, so that the child reaches the fds
 * without calling anything but write(2). */
struct cgroup_node {
	char name[32];			/* "node-<n>" */
	int dir[CGROUP_NHIER];		/* the node's folder, or -1 */
	int procs[CGROUP_NHIER];	/* its cgroup.procs, for writing */
	int made;
};

/* -1 in every fd: cgroup_node_remove() is then a no-op. */
void cgroup_node_init(struct cgroup_node *n);

/* Make the node's groups with a memory limit of `mem_bytes` and a limit
 * of `pids` processes and threads (0: not limited by the cgroup). 0, or
 * -errno with `err` saying what could not be done (the node can then run
 * without; cgroup_node_remove() cleans up either way). */
int cgroup_node_make(struct cgroup_node *n, uint64_t mem_bytes,
		     uint64_t pids, char *err, size_t errlen);

/* Move the calling process into the node's groups: for the child between
 * fork and exec, async-signal-safe. 0, or -1 with errno set. */
int cgroup_node_join(const struct cgroup_node *n);

/* How many of the node's processes the kernel killed for memory (its OOM
 * killer), from memory.oom_control (v1) or memory.events (v2); 0 when
 * it cannot tell. */
uint64_t cgroup_node_oom_kills(const struct cgroup_node *n);

/* How many forks pids.max refused. */
uint64_t cgroup_node_pids_refused(const struct cgroup_node *n);

/* The node's peak memory in bytes (memory.max_usage_in_bytes, v1, or
 * memory.peak, v2 since Linux 5.19), or 0. */
uint64_t cgroup_node_peak(const struct cgroup_node *n);

/* Kill what is left in the node's groups, remove them (again while the
 * kernel reaps, for up to two seconds) and close the fds. Logs a warning
 * when a group stays. */
void cgroup_node_remove(struct cgroup_node *n);

/* --- parsing, exposed for the unit tests ------------------------------- */

/* The folder of this process's cgroup for `controller` ("memory"; NULL
 * for the v2 hierarchy) given the texts of /proc/self/cgroup and
 * /proc/self/mountinfo: 0 with the path in `out`, -ENOENT when it is not
 * mounted or not visible here, -ENAMETOOLONG. */
int cgroup_locate(const char *self, const char *mountinfo,
		  const char *controller, char *out, size_t cap);

/* The number after `key` in a flat keyed file ("oom_kill 3\n"): 0 with
 * `*v` set, or -ENOENT. */
int cgroup_key(const char *text, const char *key, uint64_t *v);

#endif
