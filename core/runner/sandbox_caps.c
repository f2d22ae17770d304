/* core/runner/sandbox_caps.c: a node's memory and processes capped as a
 * whole (sandbox.h says how; sandbox_int.h). The choice is made once at
 * start-up by sandbox_setup(); each node then gets its cgroup, or the
 * memory monitor (sandbox_mem.c) and a process limit that SB_PRLIMIT sets
 * inside the sandbox. */
#include "core/runner/sandbox_int.h"
#include "core/util/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Set by sandbox_setup() before any thread runs a sandbox; read-only
 * after. */
static struct {
	int cgroup;	/* the version in use, 0: none */
} caps_mode;

int sandbox_setup(int use_cgroup, int require, char *desc, size_t desclen)
{
	char cgdesc[2048] = "node_cgroup = off";
	const char *mem, *procs;

	caps_mode.cgroup = use_cgroup ? cgroup_setup(cgdesc, sizeof(cgdesc)) :
					0;
	if (require && !cgroup_has(CGROUP_MEMORY)) {
		snprintf(desc, desclen, "node_cgroup = on, but no memory cgroup "
			 "can be made for the nodes: %s", cgdesc);
		sandbox_teardown();
		return -ENOTSUP;
	}
	mem = cgroup_has(CGROUP_MEMORY) ?
		      "memory_mb caps all of a node's memory (its cgroup)" :
		      "memory_mb caps the sum over a node's processes "
		      "(measured every 0.05 s) and each one's address space";
	if (cgroup_has(CGROUP_PIDS))
		procs = "procs caps a node's processes (its cgroup)";
	else if (access(SB_PRLIMIT, X_OK) == 0)
		procs = "procs caps a node's processes (RLIMIT_NPROC in its "
			"user namespace, set by " SB_PRLIMIT ")";
	else
		procs = "procs caps all of the user's processes (RLIMIT_NPROC; "
			"install util-linux for " SB_PRLIMIT ")";
	snprintf(desc, desclen, "node limits: %s; %s; %s %s", mem, procs,
		 caps_mode.cgroup ? "in" : "no cgroup:", cgdesc);
	return caps_mode.cgroup;
}

void sandbox_teardown(void)
{
	if (caps_mode.cgroup)
		cgroup_teardown();
	caps_mode.cgroup = 0;
}

void sb_caps_init(struct sb_caps *c)
{
	memset(c, 0, sizeof(*c));
	cgroup_node_init(&c->cg);
}

int sb_caps_prepare(struct sb_caps *c, const struct runner_limits *lim)
{
	char err[1024];
	int rc;

	c->limit = sb_mib(lim->memory_mb);
	if (caps_mode.cgroup) {
		int mem = cgroup_has(CGROUP_MEMORY),
		    pids = cgroup_has(CGROUP_PIDS);

		rc = cgroup_node_make(&c->cg, mem ? c->limit : 0,
				      pids && lim->procs ?
					      lim->procs + SB_BWRAP_PROCS : 0,
				      err, sizeof(err));
		if (rc == -ENOMEM)
			return rc;
		if (rc) {
			log_warn("sandbox: %s; the node runs without it", err);
			cgroup_node_remove(&c->cg);
			cgroup_node_init(&c->cg);
		} else {
			c->mem_cg = mem;
			c->pids_cg = pids;
		}
	}
	if (!c->pids_cg && lim->procs && access(SB_PRLIMIT, X_OK) == 0)
		c->nproc = lim->procs;
	if (c->mem_cg)
		return 0;
	c->watch = 1;
	return sb_memmon_init(&c->mm, c->limit);
}

double sb_caps_next(const struct sb_caps *c)
{
	return c->mem_cg || c->watch ? c->next : 0;
}

int sb_caps_check(struct sb_caps *c, pid_t root, double now)
{
	uint64_t total;
	int rc;

	if (now < c->next)
		return 0;
	c->next = now + SB_MEM_TICK_S;
	if (c->mem_cg)
		return cgroup_node_oom_kills(&c->cg) > 0;
	if (!c->watch)
		return 0;
	rc = sb_memmon_check(&c->mm, root, &total);
	/* Closer to the limit, look more often. */
	if (total > c->limit / 4)
		c->next = now + SB_MEM_FAST_S;
	if (rc > 0) {
		log_debug("sandbox: the node's processes use %llu MB together, "
			  "over %llu MB: killing it",
			  (unsigned long long)(total >> 20),
			  (unsigned long long)(c->limit >> 20));
		return 1;
	}
	return 0;
}

void sb_caps_finish(struct sb_caps *c, struct sandbox_result *res)
{
	if (c->mem_cg) {
		res->mem_peak = cgroup_node_peak(&c->cg);
		if (cgroup_node_oom_kills(&c->cg) && res->end == SANDBOX_EXITED)
			res->end = SANDBOX_MEMORY;
	} else if (c->watch) {
		res->mem_peak = c->mm.peak;
	}
	if (c->pids_cg)
		res->procs_refused = cgroup_node_pids_refused(&c->cg) > 0;
}

void sb_caps_release(struct sb_caps *c)
{
	cgroup_node_remove(&c->cg);
	if (c->watch)
		sb_memmon_release(&c->mm);
	c->watch = 0;
}
