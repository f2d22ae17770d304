/* core/runner/sandbox_mem.c: a node's memory without a memory cgroup
 * (sandbox_int.h): the sum over its processes, found in /proc.
 *
 * The node's processes are bwrap and its descendants: an orphan inside
 * the sandbox goes to the sandbox's pid 1, and the sandbox's pid 1 can
 * make no process whose parent is outside (CLONE_PARENT is refused to an
 * init), so the tree holds them all, whatever namespaces they make. The
 * tree is kept from one look to the next: every process that was there
 * before the node started is known not to be the node's, so each look
 * lists /proc and reads the parent of new pids only (a pid is reused only
 * after the kernel has gone round all of pid_max, which takes far longer
 * than between two looks). Then the resident memory of the node's
 * processes is summed (statm, cheap); when that is over the limit, the
 * proportional set size (smaps_rollup: a page shared by n processes
 * counts 1/n in each) decides, so that forked children sharing their
 * parent's pages are not counted n times.
 */
#include "core/runner/sandbox_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SB_MAX_PIDS ((size_t)1 << 22)	/* pid_max's ceiling */

static void pids_release(struct sb_pids *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int pids_add(struct sb_pids *s, pid_t p)
{
	if (s->n == s->alloc) {
		size_t na = s->alloc ? 2 * s->alloc : 256;
		pid_t *nv;

		if (na > SB_MAX_PIDS)
			return -E2BIG;
		nv = realloc(s->v, na * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		s->v = nv;
		s->alloc = na;
	}
	s->v[s->n++] = p;
	return 0;
}

static int pid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

static void pids_sort(struct sb_pids *s)
{
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), pid_cmp);
}

/* `s` sorted. */
static int pids_has(const struct sb_pids *s, pid_t p)
{
	return s->n && bsearch(&p, s->v, s->n, sizeof(*s->v), pid_cmp);
}

/* Every process in /proc into `out`, sorted. */
static int proc_list(struct sb_pids *out)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int rc = 0;

	if (!d)
		return -errno;
	while (!rc && (e = readdir(d))) {
		char *end;
		long v;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		v = strtol(e->d_name, &end, 10);
		if (*end || v <= 0 || v > INT_MAX)
			continue;
		rc = pids_add(out, (pid_t)v);
	}
	closedir(d);
	pids_sort(out);
	return rc;
}

/* The first `cap` - 1 bytes of /proc/<pid>/<name>, NUL-terminated; the
 * length, or -1 when the process is gone or hidden. */
static ssize_t proc_read(pid_t pid, const char *name, char *buf, size_t cap)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	do
		n = read(fd, buf, cap - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/* The parent of `pid`: "PID (COMM) STATE PPID ...", COMM being anything
 * up to the last ')'. -1 when gone. */
static pid_t proc_parent(pid_t pid)
{
	char data[512], *p;
	long v;

	if (proc_read(pid, "stat", data, sizeof(data)) < 0 ||
	    !(p = strrchr(data, ')')))
		return -1;
	if (sscanf(p + 1, " %*c %ld", &v) != 1 || v < 0 || v > INT_MAX)
		return -1;
	return (pid_t)v;
}

/* Resident bytes of `pid` (statm's second number, in pages). */
static uint64_t proc_rss(pid_t pid, uint64_t page)
{
	char data[256];
	unsigned long long size, res;

	if (proc_read(pid, "statm", data, sizeof(data)) < 0 ||
	    sscanf(data, "%llu %llu", &size, &res) != 2)
		return 0;
	return res * page;
}

/* Its proportional set size, or its resident bytes when smaps_rollup
 * cannot be read. */
static uint64_t proc_pss(pid_t pid, uint64_t page)
{
	char data[4096], *p;
	unsigned long long kb;

	if (proc_read(pid, "smaps_rollup", data, sizeof(data)) < 0 ||
	    !(p = strstr(data, "\nPss:")) || sscanf(p + 5, "%llu", &kb) != 1)
		return proc_rss(pid, page);
	return kb << 10;
}

int sb_memmon_init(struct sb_memmon *mm, uint64_t limit)
{
	long page = sysconf(_SC_PAGESIZE);

	memset(mm, 0, sizeof(*mm));
	mm->limit = limit;
	mm->page = page > 0 ? (uint64_t)page : 4096;
	return proc_list(&mm->other);
}

void sb_memmon_release(struct sb_memmon *mm)
{
	pids_release(&mm->node);
	pids_release(&mm->other);
}

/* Sort the pids of /proc (`now`) into the node's and the others, from
 * what was known and the parents of the new ones. */
static int classify(struct sb_memmon *mm, pid_t root,
		    const struct sb_pids *now, struct sb_pids *node,
		    struct sb_pids *other)
{
	struct sb_pids fresh = { 0 }, parent = { 0 };
	int rc = 0, changed = 1;

	for (size_t i = 0; !rc && i < now->n; i++) {
		pid_t p = now->v[i], pp;

		if (p == root || pids_has(&mm->node, p))
			rc = pids_add(node, p);
		else if (pids_has(&mm->other, p))
			rc = pids_add(other, p);
		else if ((pp = proc_parent(p)) >= 0 &&
			 !(rc = pids_add(&fresh, p)))
			rc = pids_add(&parent, pp);
	}
	/* A new child may be listed before its new parent: until nothing
	 * moves. Moved ones get pid 0. */
	while (!rc && changed) {
		changed = 0;
		pids_sort(node);
		for (size_t i = 0; !rc && i < fresh.n; i++) {
			if (!fresh.v[i] || (parent.v[i] != root &&
					    !pids_has(node, parent.v[i])))
				continue;
			rc = pids_add(node, fresh.v[i]);
			fresh.v[i] = 0;
			changed = 1;
		}
	}
	for (size_t i = 0; !rc && i < fresh.n; i++)
		if (fresh.v[i])
			rc = pids_add(other, fresh.v[i]);
	pids_sort(other);
	pids_release(&fresh);
	pids_release(&parent);
	return rc;
}

int sb_memmon_check(struct sb_memmon *mm, pid_t root, uint64_t *total)
{
	struct sb_pids now = { 0 }, node = { 0 }, other = { 0 };
	uint64_t sum = 0;
	int rc;

	*total = 0;
	if ((rc = proc_list(&now)) ||
	    (rc = classify(mm, root, &now, &node, &other))) {
		pids_release(&node);
		pids_release(&other);
		goto out;
	}
	pids_release(&mm->node);
	pids_release(&mm->other);
	mm->node = node;
	mm->other = other;
	for (size_t i = 0; i < node.n; i++)
		sum += proc_rss(node.v[i], mm->page);
	if (sum > mm->limit) {
		sum = 0;
		for (size_t i = 0; i < node.n; i++)
			sum += proc_pss(node.v[i], mm->page);
	}
	*total = sum;
	if (sum > mm->peak)
		mm->peak = sum;
	rc = sum > mm->limit;
out:
	pids_release(&now);
	return rc;
}
