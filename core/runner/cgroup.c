/* core/runner/cgroup.c: see cgroup.h. The kernel's side is
 * Documentation/admin-guide/cgroup-v2.rst and cgroup-v1/{memory,pids}.rst;
 * the v2 code follows the first and has not run on a v2 machine yet. */
#include "core/runner/cgroup.h"
#include "core/runner/mountinfo.h"
#include "core/util/buf.h"
#include "core/util/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CG_PREFIX "llmunixfs-"
#define CG_DAEMON ".daemon"	/* v2: where the daemon moves itself */
#define CG_NODE "node-"
#define CG_RMDIR_TRIES 200	/* 10 ms apart: two seconds */
#define CG_KILL_EVERY 20	/* tries between two kills of what is left */
#define CG_MAX_PIDS 4096	/* killed at once from one group */
#define CG_PROC_CAP ((size_t)8 << 20)	/* mountinfo, cgroup.procs */

struct cg_hier {
	int parent;		/* the daemon's own cgroup */
	int fd;			/* our group in it, flock'ed */
	char path[PATH_MAX];	/* of fd, for messages */
};

static struct {
	int version;		/* 0: none, 1 or 2 */
	int nh;
	struct cg_hier h[CGROUP_NHIER];
	int hier_of[CGROUP_NCTL];	/* index in h, or -1 */
	char name[32];			/* "llmunixfs-<pid>" */
	atomic_ulong seq;
} cg = { 0, 0, { { -1, -1, "" }, { -1, -1, "" } }, { -1, -1 }, "", 0 };

static const char *const ctl_name[CGROUP_NCTL] = { "memory", "pids" };

/* --- files ------------------------------------------------------------- */

/* All of `name` in `dirfd` into `b` (initialised by the caller). */
static int read_at(int dirfd, const char *name, struct buf *b)
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

static int write_at(int dirfd, const char *name, const char *val)
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
	return write_at(dirfd, name, s);
}

/* The line after the one at `p`, or NULL. */
static const char *next_line(const char *p)
{
	p = strchr(p, '\n');
	return p ? p + 1 : NULL;
}

int cgroup_key(const char *text, const char *key, uint64_t *v)
{
	size_t n = strlen(key);

	for (const char *p = text; p && *p; p = next_line(p)) {
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

/* The number under `key` in the file `name` of `dirfd` (the file's only
 * number when `key` is NULL), 0 when it cannot be read. */
static uint64_t read_number(int dirfd, const char *name, const char *key)
{
	struct buf b;
	uint64_t v = 0;
	char *end;

	buf_init(&b, 65536);
	if (dirfd >= 0 && !read_at(dirfd, name, &b)) {
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

/* --- where the daemon's cgroups are ------------------------------------ */

/* The path of this process's cgroup for `controller` (NULL: v2's "0::")
 * in the text of /proc/self/cgroup: "ID:CONTROLLERS:PATH" lines. */
static int self_path(const char *self, const char *controller, char *out,
		     size_t cap)
{
	for (const char *p = self; p && *p; p = next_line(p)) {
		const char *c1 = strchr(p, ':'), *c2, *eol;
		size_t len;
		char list[256];

		if (!c1 || !(c2 = strchr(c1 + 1, ':')))
			continue;
		eol = strchr(c2, '\n');
		len = eol ? (size_t)(eol - c2 - 1) : strlen(c2 + 1);
		if ((size_t)(c2 - c1 - 1) >= sizeof(list))
			continue;
		memcpy(list, c1 + 1, (size_t)(c2 - c1 - 1));
		list[c2 - c1 - 1] = '\0';
		if (controller ? !mountinfo_has_word(list, controller) :
				 (strncmp(p, "0:", 2) || list[0]))
			continue;
		if (len == 0 || c2[1] != '/')
			continue;
		if (len >= cap)
			return -ENAMETOOLONG;
		memcpy(out, c2 + 1, len);
		out[len] = '\0';
		return 0;
	}
	return -ENOENT;
}

int cgroup_locate(const char *self, const char *mountinfo,
		  const char *controller, char *out, size_t cap)
{
	char path[PATH_MAX];
	char *text, *line, *next;
	int rc = self_path(self, controller, path, sizeof(path));

	if (rc)
		return rc;
	text = strdup(mountinfo);
	if (!text)
		return -ENOMEM;
	rc = -ENOENT;
	for (line = text; line && *line && rc == -ENOENT; line = next) {
		struct mountinfo mi;
		size_t rl;
		const char *rest;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (mountinfo_parse(line, &mi))
			continue;
		if (controller ? strcmp(mi.fstype, "cgroup") ||
					 !mountinfo_has_word(mi.superopts,
							     controller) :
				 strcmp(mi.fstype, "cgroup2"))
			continue;
		/* The mount shows the hierarchy from mi.root down: our
		 * cgroup must be there. */
		rl = strcmp(mi.root, "/") ? strlen(mi.root) : 0;
		if (strncmp(path, mi.root, rl) ||
		    (path[rl] != '/' && path[rl] != '\0'))
			continue;
		rest = path + rl;
		if (!strcmp(rest, "/"))
			rest = "";
		if ((size_t)snprintf(out, cap, "%s%s", mi.point, rest) >= cap)
			rc = -ENAMETOOLONG;
		else
			rc = 0;
	}
	free(text);
	return rc;
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

	if (write_at(dir, "cgroup.kill", "1") == 0)
		return;
	buf_init(&b, CG_PROC_CAP);
	if (read_at(dir, "cgroup.procs", &b))
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
	if (n && !read_at(dir, "cgroup.procs", &b))
		for (size_t i = 0; i < n; i++)
			if (listed(b.data, pid[i]))
				pidfd_send_signal(pfd[i], SIGKILL, NULL, 0);
out:
	for (size_t i = 0; i < n; i++)
		close(pfd[i]);
	buf_release(&b);
}

/* rmdir `name` in `parent`, again while it is busy (the kernel is still
 * reaping), killing what is left now and then. 0 or -errno. */
static int remove_group(int parent, const char *name)
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

static int is_group_name(const struct dirent *e, const char *prefix)
{
	return e->d_type == DT_DIR && !strncmp(e->d_name, prefix,
					       strlen(prefix));
}

/* Empty and remove every group in `dir`. 0, or the last -errno. */
static int remove_children(int dir)
{
	struct dirent *e;
	int fd = dup(dir), rc = 0;
	DIR *d;

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		rc = -errno;
		close(fd);
		return rc;
	}
	while ((e = readdir(d))) {
		int r;

		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		if ((r = remove_group(dir, e->d_name)))
			rc = r;
	}
	closedir(d);
	return rc;
}

/* Under the daemon's cgroup `parent` (the folder `where`), remove the
 * groups of daemons that are gone: their flock is free. A live daemon's
 * "<name>.daemon" holds that daemon, and rmdir refuses it. */
static void remove_stale(int parent, const char *where)
{
	struct dirent *e;
	int fd = dup(parent), n = 0;
	char esc[PATH_MAX];
	DIR *d;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		int g, rc;

		if (!is_group_name(e, CG_PREFIX))
			continue;
		if (len > strlen(CG_DAEMON) &&
		    !strcmp(e->d_name + len - strlen(CG_DAEMON), CG_DAEMON)) {
			unlinkat(parent, e->d_name, AT_REMOVEDIR);
			continue;
		}
		g = openat(parent, e->d_name,
			   O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (g < 0)
			continue;
		if (flock(g, LOCK_EX | LOCK_NB)) {	/* alive */
			close(g);
			continue;
		}
		rc = remove_children(g);
		close(g);
		if (!rc)
			rc = remove_group(parent, e->d_name);
		if (rc)
			log_warn("cgroup '%s/%s' of a daemon that is gone: "
				 "cannot remove it: %s",
				 log_escape(esc, sizeof(esc), where),
				 e->d_name, strerror(-rc));
		else
			n++;
	}
	closedir(d);
	if (n)
		log_info("removed %d cgroup%s of daemons that are gone from "
			 "'%s'", n, n == 1 ? "" : "s",
			 log_escape(esc, sizeof(esc), where));
}

/* --- setting up -------------------------------------------------------- */

static void hier_drop(struct cg_hier *h)
{
	if (h->fd >= 0) {
		close(h->fd);
		unlinkat(h->parent, cg.name, AT_REMOVEDIR);
	}
	if (h->parent >= 0)
		close(h->parent);
	h->fd = h->parent = -1;
	h->path[0] = '\0';
}

/* Our group "llmunixfs-<pid>" in the daemon's cgroup `dir`, after the
 * groups of dead daemons are gone. 0, or -errno with `why` set. */
static int hier_make(struct cg_hier *h, const char *dir, char *why,
		     size_t whylen)
{
	int rc = 0;

	h->fd = -1;
	h->parent = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (h->parent < 0) {
		rc = -errno;
		snprintf(why, whylen, "cannot open '%s': %s", dir,
			 strerror(-rc));
		return rc;
	}
	remove_stale(h->parent, dir);
	if (mkdirat(h->parent, cg.name, 0755) && errno != EEXIST) {
		rc = -errno;
		snprintf(why, whylen, "cannot make '%s/%s': %s", dir, cg.name,
			 strerror(-rc));
		goto fail;
	}
	h->fd = openat(h->parent, cg.name,
		       O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (h->fd < 0 || flock(h->fd, LOCK_EX | LOCK_NB)) {
		rc = -errno;
		snprintf(why, whylen, "cannot lock '%s/%s': %s", dir, cg.name,
			 strerror(-rc));
		goto fail;
	}
	if ((size_t)snprintf(h->path, sizeof(h->path), "%s/%s", dir,
			     cg.name) >= sizeof(h->path)) {
		rc = -ENAMETOOLONG;
		snprintf(why, whylen, "the cgroup path '%s' is too long", dir);
		goto fail;
	}
	return 0;
fail:
	hier_drop(h);
	return rc;
}

/* v2: enable `ctl` ("+memory +pids") for our group's children. The
 * daemon's cgroup may hold processes only while it enables nothing (the
 * "no internal processes" rule; the root is exempt), so when the kernel
 * says EBUSY the daemon moves into "<name>.daemon" beside our group and
 * tries again. */
static int v2_enable(struct cg_hier *h, const char *ctl, char *why,
		     size_t whylen)
{
	char dname[64];
	int rc, fd;

	rc = write_at(h->parent, "cgroup.subtree_control", ctl);
	if (rc == -EBUSY) {
		snprintf(dname, sizeof(dname), "%s" CG_DAEMON, cg.name);
		if (mkdirat(h->parent, dname, 0755) && errno != EEXIST)
			return -errno;
		fd = openat(h->parent, dname,
			    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		rc = fd < 0 ? -errno : write_at(fd, "cgroup.procs", "0");
		if (fd >= 0)
			close(fd);
		if (!rc)
			rc = write_at(h->parent, "cgroup.subtree_control",
				      ctl);
		if (rc) {	/* other processes share our cgroup */
			write_at(h->parent, "cgroup.procs", "0");
			unlinkat(h->parent, dname, AT_REMOVEDIR);
		} else {
			log_info("cgroup v2: the daemon moved into '%s/%s' so "
				 "that its nodes' groups may have controllers",
				 h->path, dname);
		}
	}
	if (!rc)
		rc = write_at(h->fd, "cgroup.subtree_control", ctl);
	if (rc)
		snprintf(why, whylen, "cannot enable '%s' for the groups under "
			 "'%.400s': %s%s", ctl, h->path, strerror(-rc),
			 rc == -EBUSY ? " (other processes share the "
			 "daemon's cgroup: start it in a cgroup of its own, "
			 "e.g. a systemd service with Delegate=yes)" : "");
	return rc;
}

/* Whether the blank-separated words of `text` include `word`. */
static int has_word(const char *text, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = text; *p;) {
		size_t len;

		p += strspn(p, " \t\n");
		len = strcspn(p, " \t\n");
		if (len == n && !memcmp(p, word, n))
			return 1;
		p += len;
	}
	return 0;
}

static int setup_v2(const char *self, const char *mi, char *why,
		    size_t whylen)
{
	char dir[PATH_MAX], ctl[32] = "";
	struct buf b;
	int has[CGROUP_NCTL] = { 0, 0 }, rc, fd;

	if ((rc = cgroup_locate(self, mi, NULL, dir, sizeof(dir)))) {
		snprintf(why, whylen, "no cgroup v2 hierarchy here");
		return rc;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	buf_init(&b, 4096);
	rc = fd < 0 ? -errno : read_at(fd, "cgroup.controllers", &b);
	if (fd >= 0)
		close(fd);
	for (int c = 0; !rc && c < CGROUP_NCTL; c++) {
		if (!(has[c] = has_word(b.data, ctl_name[c])))
			continue;
		snprintf(ctl + strlen(ctl), sizeof(ctl) - strlen(ctl), "%s+%s",
			 ctl[0] ? " " : "", ctl_name[c]);
	}
	buf_release(&b);
	if (rc || !ctl[0]) {
		snprintf(why, whylen, "the daemon's cgroup v2 '%.400s' offers "
			 "neither the memory nor the pids controller", dir);
		return rc ? rc : -ENOENT;
	}
	if ((rc = hier_make(&cg.h[0], dir, why, whylen)))
		return rc;
	if ((rc = v2_enable(&cg.h[0], ctl, why, whylen))) {
		hier_drop(&cg.h[0]);
		return rc;
	}
	cg.nh = 1;
	for (int c = 0; c < CGROUP_NCTL; c++)
		cg.hier_of[c] = has[c] ? 0 : -1;
	return 0;
}

static int setup_v1(const char *self, const char *mi, char *why,
		    size_t whylen)
{
	char dir[PATH_MAX];

	why[0] = '\0';
	for (int c = 0; c < CGROUP_NCTL; c++) {
		char one[512];

		if (cgroup_locate(self, mi, ctl_name[c], dir, sizeof(dir))) {
			snprintf(one, sizeof(one), "no cgroup v1 %s hierarchy "
				 "mounted", ctl_name[c]);
		} else if (!hier_make(&cg.h[cg.nh], dir, one, sizeof(one))) {
			cg.hier_of[c] = cg.nh++;
			continue;
		}
		snprintf(why + strlen(why), whylen - strlen(why), "%s%s",
			 why[0] ? "; " : "", one);
	}
	return cg.nh ? 0 : -ENOENT;
}

static int read_file(const char *path, struct buf *b)
{
	return read_at(AT_FDCWD, path, b);
}

/* "v1: memory '/sys/fs/cgroup/memory/llmunixfs-7', pids '...'". */
static void describe(char *desc, size_t desclen, const char *why)
{
	size_t len;

	snprintf(desc, desclen, "cgroup v%d:", cg.version);
	for (int c = 0; c < CGROUP_NCTL; c++) {
		if (!cgroup_has(c))
			continue;
		len = strlen(desc);
		snprintf(desc + len, desclen - len, "%s %s '%s'",
			 c && cgroup_has(0) ? "," : "", ctl_name[c],
			 cg.h[cg.hier_of[c]].path);
	}
	len = strlen(desc);
	if (why[0])
		snprintf(desc + len, desclen - len, " (%s)", why);
}

int cgroup_setup(char *desc, size_t desclen)
{
	char why2[1024] = "", why1[1024] = "";
	struct buf self, mi;
	int rc;

	cg.version = cg.nh = 0;
	cg.hier_of[CGROUP_MEMORY] = cg.hier_of[CGROUP_PIDS] = -1;
	snprintf(cg.name, sizeof(cg.name), CG_PREFIX "%ld", (long)getpid());
	buf_init(&self, 65536);
	buf_init(&mi, CG_PROC_CAP);
	if ((rc = read_file("/proc/self/cgroup", &self)) ||
	    (rc = read_file("/proc/self/mountinfo", &mi))) {
		snprintf(desc, desclen, "cannot read /proc/self/cgroup and "
			 "/proc/self/mountinfo: %s", strerror(-rc));
		goto out;
	}
	if (!setup_v2(self.data, mi.data, why2, sizeof(why2))) {
		cg.version = 2;
		describe(desc, desclen, "");
	} else if (!setup_v1(self.data, mi.data, why1, sizeof(why1))) {
		cg.version = 1;
		describe(desc, desclen, why1);
	} else {
		snprintf(desc, desclen, "%s; %s", why2, why1);
	}
out:
	buf_release(&self);
	buf_release(&mi);
	return cg.version;
}

int cgroup_has(enum cgroup_ctl c)
{
	return (unsigned)c < CGROUP_NCTL && cg.hier_of[c] >= 0;
}

void cgroup_teardown(void)
{
	for (int i = 0; i < cg.nh; i++) {
		struct cg_hier *h = &cg.h[i];
		int rc = remove_group(h->parent, cg.name);

		if (rc)
			log_warn("cannot remove the cgroup '%s': %s", h->path,
				 strerror(-rc));
		close(h->fd);
		close(h->parent);
		h->fd = h->parent = -1;
	}
	cg.version = cg.nh = 0;
	cg.hier_of[CGROUP_MEMORY] = cg.hier_of[CGROUP_PIDS] = -1;
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
		rc = write_at(dir, "memory.swap.max", "0");
		if (rc && rc != -ENOENT)	/* no swap accounting */
			return rc;
		/* One process over: the kernel kills the whole node. */
		rc = write_at(dir, "memory.oom.group", "1");
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
	return read_number(node_dir(n, CGROUP_MEMORY),
			   cg.version == 2 ? "memory.events" :
					     "memory.oom_control",
			   "oom_kill");
}

uint64_t cgroup_node_pids_refused(const struct cgroup_node *n)
{
	return read_number(node_dir(n, CGROUP_PIDS), "pids.events", "max");
}

uint64_t cgroup_node_peak(const struct cgroup_node *n)
{
	return read_number(node_dir(n, CGROUP_MEMORY),
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
		if ((rc = remove_group(cg.h[i].fd, n->name)))
			log_warn("cannot remove the node's cgroup '%s/%s': %s",
				 cg.h[i].path, n->name, strerror(-rc));
	}
	n->made = 0;
}
