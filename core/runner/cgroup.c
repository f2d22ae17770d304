/* core/runner/cgroup.c: see cgroup.h; a node's groups, and the files of
 * the cgroup filesystem (cgroup_int.h). Starting up is cgroup_setup.c.
 * The kernel's side is Documentation/admin-guide/cgroup-v2.rst and
 * cgroup-v1/{memory,pids}.rst; the v2 code follows the first and has not
 * run on a v2 machine yet. */
#include "core/runner/cgroup_int.h"
#include "core/util/buf.h"
#include "core/util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CG_RMDIR_TRIES 200	/* 10 ms apart: two seconds */
#define CG_KILL_EVERY 20	/* tries between two kills of what is left */
#define CG_MAX_PIDS 4096	/* killed at once from one group */

struct cg_state cg = { 0, 0, { { -1, -1, "" }, { -1, -1, "" } }, { -1, -1 },
		       "", 0 };

/* --- files ------------------------------------------------------------- */

int cg_read_at(int dirfd, const char *name, struct buf *b)
{
	char chunk[4096];
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : 0;
			break;
		}
		if ((rc = buf_append(b, chunk, (size_t)n)))
			break;
	}
	close(fd);
	if (!rc && !b->data)	/* empty: still a string */
		rc = buf_append(b, "", 0);
	return rc;
}

int cg_write_at(int dirfd, const char *name, const char *val)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC), rc = 0;
	size_t len = strlen(val);
	ssize_t n;

	if (fd < 0)
		return -errno;
	do
		n = write(fd, val, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		rc = -errno;
	else if ((size_t)n != len)
		rc = -EIO;
	close(fd);
	return rc;
}

static int write_u64(int dirfd, const char *name, uint64_t v)
{
	char s[32];

	snprintf(s, sizeof(s), "%llu", (unsigned long long)v);
	return cg_write_at(dirfd, name, s);
}

const char *cg_next_line(const char *p)
{
	p = strchr(p, '\n');
	return p ? p + 1 : NULL;
}

int cgroup_key(const char *text, const char *key, uint64_t *v)
{
	size_t n = strlen(key);

	for (const char *p = text; p && *p; p = cg_next_line(p)) {
		char *end;
		unsigned long long x;

		if (strncmp(p, key, n) || p[n] != ' ')
			continue;
		errno = 0;
		x = strtoull(p + n + 1, &end, 10);
		if (end == p + n + 1 || errno)
			return -EINVAL;
		*v = x;
		return 0;
	}
	return -ENOENT;
}

uint64_t cg_read_number(int dirfd, const char *name, const char *key)
{
	struct buf b;
	uint64_t v = 0;
	char *end;

	buf_init(&b, 65536);
	if (dirfd >= 0 && !cg_read_at(dirfd, name, &b)) {
		if (key) {
			if (cgroup_key(b.data, key, &v))
				v = 0;
		} else {
			v = strtoull(b.data, &end, 10);
			if (end == b.data)
				v = 0;
		}
	}
	buf_release(&b);
	return v;
}

/* --- killing and removing groups --------------------------------------- */

/* Whether `pid` is among the numbers of `text` (cgroup.procs). */
static int listed(const char *text, pid_t pid)
{
	const char *p = text;
	char *end;

	for (;;) {
		long v = strtol(p, &end, 10);

		if (end == p)
			return 0;
		if (v == pid)
			return 1;
		p = end;
	}
}

/* SIGKILL to the processes in the group `dir`: v2's cgroup.kill, or each
 * process listed in cgroup.procs, through a pidfd taken while it was
 * listed and used only if it still is after (so that a pid reused
 * meanwhile is never hit). */
static void kill_group(int dir)
{
	int pfd[CG_MAX_PIDS];
	pid_t pid[CG_MAX_PIDS];
	size_t n = 0;
	struct buf b;
	char *p, *end;

	if (cg_write_at(dir, "cgroup.kill", "1") == 0)
		return;
	buf_init(&b, CG_PROC_CAP);
	if (cg_read_at(dir, "cgroup.procs", &b))
		goto out;
	for (p = b.data; n < CG_MAX_PIDS; p = end) {
		long v = strtol(p, &end, 10);

		if (end == p)
			break;
		if (v > 0 && v <= INT_MAX &&
		    (pfd[n] = pidfd_open((pid_t)v, 0)) >= 0)
			pid[n++] = (pid_t)v;
	}
	b.len = 0;
	if (n && !cg_read_at(dir, "cgroup.procs", &b))
		for (size_t i = 0; i < n; i++)
			if (listed(b.data, pid[i]))
				pidfd_send_signal(pfd[i], SIGKILL, NULL, 0);
out:
	for (size_t i = 0; i < n; i++)
		close(pfd[i]);
	buf_release(&b);
}

int cg_remove_group(int parent, const char *name)
{
	const struct timespec wait = { 0, 10 * 1000 * 1000 };

	for (int i = 0; i < CG_RMDIR_TRIES; i++) {
		int fd;

		if (!unlinkat(parent, name, AT_REMOVEDIR) || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		if (i % CG_KILL_EVERY == 0 &&
		    (fd = openat(parent, name,
				 O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
			kill_group(fd);
			close(fd);
		}
		nanosleep(&wait, NULL);
	}
	return -EBUSY;
}

/* --- a node's groups --------------------------------------------------- */

void cgroup_node_init(struct cgroup_node *n)
{
	memset(n, 0, sizeof(*n));
	for (int i = 0; i < CGROUP_NHIER; i++)
		n->dir[i] = n->procs[i] = -1;
}

static int node_memory(int dir, uint64_t bytes)
{
	int rc;

	if (cg.version == 2) {
		if ((rc = write_u64(dir, "memory.max", bytes)))
			return rc;
		/* Memory, not memory plus swap: as v1's memsw below. */
		rc = cg_write_at(dir, "memory.swap.max", "0");
		if (rc && rc != -ENOENT)	/* no swap accounting */
			return rc;
		/* One process over: the kernel kills the whole node. */
		rc = cg_write_at(dir, "memory.oom.group", "1");
		return rc == -ENOENT ? 0 : rc;
	}
	if ((rc = write_u64(dir, "memory.limit_in_bytes", bytes)))
		return rc;
	rc = write_u64(dir, "memory.memsw.limit_in_bytes", bytes);
	return rc == -ENOENT ? 0 : rc;	/* swap is not accounted */
}

int cgroup_node_make(struct cgroup_node *n, uint64_t mem_bytes,
		     uint64_t pids, char *err, size_t errlen)
{
	const char *what = "make";
	int rc = 0, i = 0, m = cg.hier_of[CGROUP_MEMORY],
	    p = cg.hier_of[CGROUP_PIDS];

	snprintf(n->name, sizeof(n->name), CG_NODE "%lu",
		 (unsigned long)atomic_fetch_add(&cg.seq, 1) + 1);
	if (!cg.version) {
		snprintf(err, errlen, "no cgroup");
		return -ENOTSUP;
	}
	for (i = 0; i < cg.nh; i++) {
		if (mkdirat(cg.h[i].fd, n->name, 0755)) {
			rc = -errno;
			goto fail;
		}
		n->made |= 1 << i;
		n->dir[i] = openat(cg.h[i].fd, n->name,
				   O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (n->dir[i] < 0) {
			rc = -errno;
			what = "open";
			goto fail;
		}
	}
	i = m;
	what = "set the memory limit of";
	if (m >= 0 && mem_bytes && (rc = node_memory(n->dir[m], mem_bytes)))
		goto fail;
	i = p;
	what = "set the process limit of";
	if (p >= 0 && pids && (rc = write_u64(n->dir[p], "pids.max", pids)))
		goto fail;
	what = "open cgroup.procs of";
	for (i = 0; i < cg.nh; i++) {
		n->procs[i] = openat(n->dir[i], "cgroup.procs",
				     O_WRONLY | O_CLOEXEC);
		if (n->procs[i] < 0) {
			rc = -errno;
			goto fail;
		}
	}
	return 0;
fail:
	snprintf(err, errlen, "cannot %s the cgroup '%s/%s': %s", what,
		 cg.h[i].path, n->name, strerror(-rc));
	return rc;
}

int cgroup_node_join(const struct cgroup_node *n)
{
	for (int i = 0; i < CGROUP_NHIER; i++)
		if (n->procs[i] >= 0 && write(n->procs[i], "0", 1) != 1)
			return -1;
	return 0;
}

static int node_dir(const struct cgroup_node *n, enum cgroup_ctl c)
{
	int i = cg.hier_of[c];

	return i < 0 ? -1 : n->dir[i];
}

uint64_t cgroup_node_oom_kills(const struct cgroup_node *n)
{
	return cg_read_number(node_dir(n, CGROUP_MEMORY),
			   cg.version == 2 ? "memory.events" :
					     "memory.oom_control",
			   "oom_kill");
}

uint64_t cgroup_node_pids_refused(const struct cgroup_node *n)
{
	return cg_read_number(node_dir(n, CGROUP_PIDS), "pids.events", "max");
}

uint64_t cgroup_node_peak(const struct cgroup_node *n)
{
	return cg_read_number(node_dir(n, CGROUP_MEMORY),
			   cg.version == 2 ? "memory.peak" :
					     "memory.max_usage_in_bytes",
			   NULL);
}

void cgroup_node_remove(struct cgroup_node *n)
{
	for (int i = 0; i < CGROUP_NHIER; i++) {
		int rc;

		if (n->procs[i] >= 0)
			close(n->procs[i]);
		if (n->dir[i] >= 0)
			close(n->dir[i]);
		n->procs[i] = n->dir[i] = -1;
		if (!(n->made & 1 << i))
			continue;
		if ((rc = cg_remove_group(cg.h[i].fd, n->name)))
			log_warn("cannot remove the node's cgroup '%s/%s': %s",
				 cg.h[i].path, n->name, strerror(-rc));
	}
	n->made = 0;
}
