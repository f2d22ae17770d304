/* core/runner/cgroup_setup.c: see cgroup.h; finding the daemon's own
 * cgroups, removing the groups of dead daemons, making this daemon's
 * groups (cgroup_int.h), and removing them at exit. */
#include "core/runner/cgroup_int.h"
#include "core/runner/mountinfo.h"
#include "core/util/buf.h"
#include "core/util/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const ctl_name[CGROUP_NCTL] = { "memory", "pids" };

/* --- where the daemon's cgroups are ------------------------------------ */

/* The path of this process's cgroup for `controller` (NULL: v2's "0::")
 * in the text of /proc/self/cgroup: "ID:CONTROLLERS:PATH" lines. */
static int self_path(const char *self, const char *controller, char *out,
		     size_t cap)
{
	for (const char *p = self; p && *p; p = cg_next_line(p)) {
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
		if ((r = cg_remove_group(dir, e->d_name)))
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
			rc = cg_remove_group(parent, e->d_name);
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

	rc = cg_write_at(h->parent, "cgroup.subtree_control", ctl);
	if (rc == -EBUSY) {
		snprintf(dname, sizeof(dname), "%s" CG_DAEMON, cg.name);
		if (mkdirat(h->parent, dname, 0755) && errno != EEXIST)
			return -errno;
		fd = openat(h->parent, dname,
			    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		rc = fd < 0 ? -errno : cg_write_at(fd, "cgroup.procs", "0");
		if (fd >= 0)
			close(fd);
		if (!rc)
			rc = cg_write_at(h->parent, "cgroup.subtree_control",
				      ctl);
		if (rc) {	/* other processes share our cgroup */
			cg_write_at(h->parent, "cgroup.procs", "0");
			unlinkat(h->parent, dname, AT_REMOVEDIR);
		} else {
			log_info("cgroup v2: the daemon moved into '%s/%s' so "
				 "that its nodes' groups may have controllers",
				 h->path, dname);
		}
	}
	if (!rc)
		rc = cg_write_at(h->fd, "cgroup.subtree_control", ctl);
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
	rc = fd < 0 ? -errno : cg_read_at(fd, "cgroup.controllers", &b);
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
	return cg_read_at(AT_FDCWD, path, b);
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
		int rc = cg_remove_group(h->parent, cg.name);

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

