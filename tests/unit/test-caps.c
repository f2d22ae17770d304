/* tests/unit/test-caps.c: what caps a node as a whole (core/runner): the
 * parsing of /proc/self/mountinfo and /proc/self/cgroup for cgroup v1 and
 * v2 layouts (mountinfo.h, cgroup.h), a node's cgroup for real where this
 * machine has one (memory limit, OOM kills, pids.max, removal, groups of
 * dead daemons), and the memory monitor's sum over a process tree
 * (sandbox_mem.c): descendants counted, strangers not, shared pages once.
 * The real parts need root; they skip with a reason otherwise. */
#include "core/runner/cgroup.h"
#include "core/runner/mountinfo.h"
#include "core/runner/sandbox_int.h"
#include "core/util/log.h"
#include "unit.h"

#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MB ((uint64_t)1 << 20)

/* --- parsing ----------------------------------------------------------- */

static void test_mountinfo(void)
{
	char l1[] = "36 25 0:31 / /sys/fs/cgroup/memory rw,nosuid shared:15 "
		    "- cgroup cgroup rw,memory\n";
	char l2[] = "50 36 0:44 /a\\040b /mnt/with\\040space rw - fuse.llmunix "
		    "llmunixfs rw,user_id=0\n";
	char l3[] = "garbage\n";
	struct mountinfo m;

	CHECK_INT_EQ(0, mountinfo_parse(l1, &m), "a cgroup v1 line parses");
	CHECK_STR_EQ("/", m.root, "its root");
	CHECK_STR_EQ("/sys/fs/cgroup/memory", m.point, "its mount point");
	CHECK_STR_EQ("cgroup", m.fstype, "its type");
	CHECK_STR_EQ("rw,memory", m.superopts, "its super options");
	CHECK_INT_EQ(0, mountinfo_parse(l2, &m), "a line without tags");
	CHECK_STR_EQ("/mnt/with space", m.point, "\\040 is a space");
	CHECK_STR_EQ("/a b", m.root, "in the root too");
	CHECK_STR_EQ("fuse.llmunix", m.fstype, "a FUSE type");
	CHECK_INT_EQ(-EINVAL, mountinfo_parse(l3, &m), "garbage is refused");
	CHECK(mountinfo_has_word("rw,memory", "memory"), "memory in rw,memory");
	CHECK(mountinfo_has_word("cpu,cpuacct", "cpu"), "cpu in cpu,cpuacct");
	CHECK(!mountinfo_has_word("cpu,cpuacct", "cpuac"),
	      "cpuac is not a word of cpu,cpuacct");
	CHECK(!mountinfo_has_word("", "memory"), "nothing in an empty list");
}

static const char mi_v1[] =
	"24 1 0:22 / /sys rw - sysfs sysfs rw\n"
	"31 24 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n"
	"32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup "
	"rw,cpu,cpuacct\n"
	"35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
	"39 31 0:36 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n"
	"41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n";
static const char self_v1[] =
	"9:name=systemd:/\n"
	"8:pids:/\n"
	"4:memory:/process_api/b8f07\n"
	"2:cpu,cpuacct:/c\n"
	"0::/\n";
/* A service in a cgroup namespace whose mount shows the hierarchy from
 * /system.slice down. */
static const char mi_v2[] =
	"29 22 0:26 /system.slice /sys/fs/cgroup rw - cgroup2 cgroup2 "
	"rw,nsdelegate\n";
static const char self_v2[] = "0::/system.slice/llmunix.service\n";

static void test_locate(void)
{
	char out[256];

	CHECK_INT_EQ(0, cgroup_locate(self_v1, mi_v1, "memory", out,
				      sizeof(out)), "v1 memory: found");
	CHECK_STR_EQ("/sys/fs/cgroup/memory/process_api/b8f07", out,
		     "v1 memory: the mount point and the path");
	CHECK_INT_EQ(0, cgroup_locate(self_v1, mi_v1, "pids", out,
				      sizeof(out)), "v1 pids: found");
	CHECK_STR_EQ("/sys/fs/cgroup/pids", out, "v1 pids: the root group");
	CHECK_INT_EQ(0, cgroup_locate(self_v1, mi_v1, "cpuacct", out,
				      sizeof(out)), "v1 cpuacct: found");
	CHECK_STR_EQ("/sys/fs/cgroup/cpu,cpuacct/c", out,
		     "v1 cpuacct: in a joint hierarchy");
	CHECK_INT_EQ(-ENOENT, cgroup_locate(self_v1, mi_v1, "blkio", out,
					    sizeof(out)),
		     "v1 blkio: not there");
	CHECK_INT_EQ(0, cgroup_locate(self_v1, mi_v1, NULL, out, sizeof(out)),
		     "v2 beside v1: found");
	CHECK_STR_EQ("/sys/fs/cgroup/unified", out, "v2 beside v1: its root");
	CHECK_INT_EQ(0, cgroup_locate(self_v2, mi_v2, NULL, out, sizeof(out)),
		     "v2 from a mount of a subtree: found");
	CHECK_STR_EQ("/sys/fs/cgroup/llmunix.service", out,
		     "v2 from a mount of a subtree: the path below its root");
	CHECK_INT_EQ(-ENOENT, cgroup_locate("0::/system.slicex/a\n", mi_v2,
					    NULL, out, sizeof(out)),
		     "a path beside the mount's root is not under it");
	CHECK_INT_EQ(-ENOENT, cgroup_locate(self_v2, mi_v2, "memory", out,
					    sizeof(out)),
		     "no v1 memory on a v2 machine");
	CHECK_INT_EQ(-ENAMETOOLONG, cgroup_locate(self_v1, mi_v1, "memory",
						  out, 8),
		     "a path that does not fit");
}

static void test_key(void)
{
	static const char ev[] = "low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n";
	uint64_t v = 99;

	CHECK(!cgroup_key(ev, "oom_kill", &v) && v == 2, "oom_kill is 2");
	CHECK(!cgroup_key(ev, "oom", &v) && v == 1,
	      "oom is 1, not oom_kill's");
	CHECK(!cgroup_key(ev, "max", &v) && v == 3, "max is 3");
	CHECK_INT_EQ(-ENOENT, cgroup_key(ev, "oom_group_kill", &v),
		     "a key that is not there");
	CHECK_INT_EQ(-ENOENT, cgroup_key("", "max", &v), "an empty file");
}

/* --- a node's cgroup for real ------------------------------------------ */

static char memdir[512], pidsdir[512];	/* the daemon's groups */

/* The group folders named in cgroup_setup()'s description. */
static void groups_from(const char *desc)
{
	const char *m = strstr(desc, "memory '"), *p = strstr(desc, "pids '");

	memdir[0] = pidsdir[0] = '\0';
	if (m)
		snprintf(memdir, sizeof(memdir), "%.*s",
			 (int)strcspn(m + 8, "'"), m + 8);
	if (p)
		snprintf(pidsdir, sizeof(pidsdir), "%.*s",
			 (int)strcspn(p + 6, "'"), p + 6);
}

static int exists(const char *dir, const char *name)
{
	char path[1024];
	struct stat st;

	snprintf(path, sizeof(path), "%s%s%s", dir, name ? "/" : "",
		 name ? name : "");
	return stat(path, &st) == 0;
}

/* Fork a child that joins `n` and runs `fn`; its wait status. */
static int in_node(const struct cgroup_node *n, void (*fn)(void))
{
	int status = -1;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (cgroup_node_join(n))
			_exit(126);
		fn();
		_exit(0);
	}
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

static void touch_100mb(void)
{
	char *p = mmap(NULL, 100 * MB, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		_exit(125);
	for (size_t i = 0; i < 100 * MB; i += 4096)
		p[i] = 1;
	_exit(0);
}

static void fork_ten(void)
{
	int ok = 0;

	for (int i = 0; i < 10; i++) {
		pid_t p = fork();

		if (p == 0) {
			sleep(1);
			_exit(0);
		}
		ok += p > 0;
	}
	while (wait(NULL) > 0)
		;
	_exit(ok);
}

static void test_node_cgroup(void)
{
	struct cgroup_node n;
	char err[512], desc[4096];
	int v, status;

	v = cgroup_setup(desc, sizeof(desc));
	unit_note("%s", desc);
	if (v <= 0 || !cgroup_has(CGROUP_MEMORY) || !cgroup_has(CGROUP_PIDS)) {
		unit_note("skip: no memory and pids cgroup here");
		cgroup_teardown();
		return;
	}
	groups_from(desc);
	CHECK(exists(memdir, NULL) && exists(pidsdir, NULL),
	      "the daemon's groups are made");

	cgroup_node_init(&n);
	CHECK_INT_EQ(0, cgroup_node_make(&n, 32 * MB, 5, err, sizeof(err)),
		     "a node's groups: 32 MB, 5 processes");
	CHECK(exists(memdir, n.name) && exists(pidsdir, n.name),
	      "they are in the daemon's groups");
	status = in_node(&n, touch_100mb);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	      "touching 100 MB in it: killed by the kernel (status %#x)",
	      status);
	CHECK(cgroup_node_oom_kills(&n) >= 1, "the OOM kill is counted (%llu)",
	      (unsigned long long)cgroup_node_oom_kills(&n));
	CHECK(cgroup_node_peak(&n) <= 32 * MB && cgroup_node_peak(&n) > MB,
	      "its peak is at most 32 MB (%llu)",
	      (unsigned long long)cgroup_node_peak(&n));
	status = in_node(&n, fork_ten);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 4,
	      "forking ten in it: four forks succeed, with the child itself "
	      "five (status %#x)", status);
	CHECK(cgroup_node_pids_refused(&n) >= 6,
	      "the refused forks are counted (%llu)",
	      (unsigned long long)cgroup_node_pids_refused(&n));
	cgroup_node_remove(&n);
	CHECK(!exists(memdir, n.name) && !exists(pidsdir, n.name),
	      "the node's groups are removed");
	cgroup_node_remove(&n);	/* twice is harmless */

	/* A node with 0 limits has groups but no limits. */
	CHECK_INT_EQ(0, cgroup_node_make(&n, 0, 0, err, sizeof(err)),
		     "a node without limits");
	status = in_node(&n, fork_ten);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 10,
	      "forks all ten (status %#x)", status);
	cgroup_node_remove(&n);

	cgroup_teardown();
	CHECK(!exists(memdir, NULL) && !exists(pidsdir, NULL),
	      "teardown removes the daemon's groups");
}

/* Groups of a dead daemon (no flock) go at the next setup, with what is
 * in them; a live daemon's (flock held) stay. */
static void test_stale(void)
{
	char parent[512], dead[600], live[600], node[700], procs[800];
	char desc[4096];
	int fd, lockfd = -1, status;
	pid_t stray;
	char *slash;

	if (cgroup_setup(desc, sizeof(desc)) <= 0 ||
	    !cgroup_has(CGROUP_MEMORY)) {
		unit_note("skip: no memory cgroup here");
		cgroup_teardown();
		return;
	}
	groups_from(desc);
	cgroup_teardown();
	snprintf(parent, sizeof(parent), "%s", memdir);
	slash = strrchr(parent, '/');
	if (!slash)
		return;
	*slash = '\0';
	snprintf(dead, sizeof(dead), "%s/llmunixfs-4000001", parent);
	snprintf(live, sizeof(live), "%s/llmunixfs-4000002", parent);
	snprintf(node, sizeof(node), "%s/node-7", dead);
	mkdir(dead, 0755);
	mkdir(node, 0755);
	mkdir(live, 0755);
	lockfd = open(live, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(lockfd >= 0 && !flock(lockfd, LOCK_EX | LOCK_NB),
	      "a live daemon's group is locked");
	fflush(stdout);
	stray = fork();
	if (stray == 0) {
		pause();
		_exit(0);
	}
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", node);
	fd = open(procs, O_WRONLY | O_CLOEXEC);
	CHECK(fd >= 0 && dprintf(fd, "%d", (int)stray) > 0,
	      "a process is left in the dead daemon's node");
	if (fd >= 0)
		close(fd);

	cgroup_setup(desc, sizeof(desc));
	CHECK(!exists(dead, NULL), "the dead daemon's groups are removed");
	CHECK(waitpid(stray, &status, 0) == stray && WIFSIGNALED(status) &&
		      WTERMSIG(status) == SIGKILL,
	      "the process left in them is killed");
	CHECK(exists(live, NULL), "the live daemon's group stays");
	cgroup_teardown();
	if (lockfd >= 0)
		close(lockfd);
	rmdir(live);
}

/* Not root: no group can be made; node_cgroup = on refuses to start. */
static void as_nobody(void *arg)
{
	char desc[4096];

	(void)arg;
	if (setgroups(0, NULL) || setgid(65534) || setuid(65534)) {
		CHECK(0, "drop to nobody: %s", strerror(errno));
		return;
	}
	CHECK_INT_EQ(0, sandbox_setup(1, 0, desc, sizeof(desc)),
		     "not root, auto: no cgroup");
	CHECK(strstr(desc, "sum over a node's processes") &&
		      strstr(desc, "no cgroup: "),
	      "the log says the monitor is used, and why: %s", desc);
	sandbox_teardown();
	CHECK_INT_EQ(-ENOTSUP, sandbox_setup(1, 1, desc, sizeof(desc)),
		     "not root, on: refused");
	CHECK(!strncmp(desc, "node_cgroup = on, but no memory cgroup can be "
		       "made", 47), "saying so: %s", desc);
	sandbox_teardown();
}

/* --- the memory monitor ------------------------------------------------ */

static void sleep_forever(void)
{
	for (;;)
		pause();
}

/* A child that touches `mb` MB, then forks `kids` children that only
 * read it, then sleeps. */
static pid_t hog(unsigned mb, int kids)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		size_t len = (size_t)mb * MB;
		volatile char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			_exit(125);
		for (size_t i = 0; i < len; i += 4096)
			p[i] = 1;
		for (int i = 0; i < kids; i++)
			if (fork() == 0)
				sleep_forever();
		sleep_forever();
	}
	return pid;
}

/* A subreaper whose child forks a grandchild of 100 MB and exits. */
static pid_t orphan_hog(void)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
		if (fork() == 0) {
			if (hog(100, 0) < 0)
				_exit(1);
			_exit(0);
		}
		for (;;)
			if (wait(NULL) < 0 && errno == ECHILD)
				pause();
	}
	return pid;
}

static void end(pid_t pid)
{
	/* Its children go with its process group: each hog is its own. */
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Look until the sum is at least `want` bytes over `nproc` processes, or
 * give up after 5 s. */
static int look(struct sb_memmon *mm, pid_t root, uint64_t want,
		size_t nproc, uint64_t *total)
{
	int rc = 0;

	for (int i = 0; i < 100; i++) {
		rc = sb_memmon_check(mm, root, total);
		if (*total >= want && mm->node.n >= nproc)
			break;
		usleep(50000);
	}
	return rc;
}

static void kill_tree(pid_t root, const struct sb_memmon *mm)
{
	for (size_t i = 0; i < mm->node.n; i++)
		if (mm->node.v[i] != root)
			kill(mm->node.v[i], SIGKILL);
	end(root);
}

static void test_memmon(void)
{
	struct sb_memmon mm;
	uint64_t total = 0;
	pid_t stranger, node;
	int rc;

	/* A stranger, there before the node: never counted. */
	stranger = hog(100, 0);
	CHECK_INT_EQ(0, sb_memmon_init(&mm, 64 * MB), "sb_memmon_init");
	node = hog(40, 2);	/* 40 MB shared by three processes */
	rc = look(&mm, node, 40 * MB, 3, &total);
	CHECK_INT_EQ(0, rc, "40 MB shared by three: under 64 MB");
	CHECK(total >= 38 * MB && total < 64 * MB,
	      "the node counts 40 MB once, not three times (%llu MB)",
	      (unsigned long long)(total / MB));
	CHECK(mm.node.n == 3, "the node is three processes (%zu)", mm.node.n);
	kill_tree(node, &mm);
	sb_memmon_release(&mm);

	/* An orphan goes to the sandbox's pid 1: here a subreaper. */
	CHECK_INT_EQ(0, sb_memmon_init(&mm, 64 * MB), "sb_memmon_init again");
	node = orphan_hog();
	rc = look(&mm, node, 100 * MB, 1, &total);
	CHECK_INT_EQ(1, rc, "an orphan of 100 MB in the node is over 64 MB");
	CHECK(total >= 100 * MB && total < 150 * MB,
	      "it is counted, the stranger of 100 MB is not (%llu MB)",
	      (unsigned long long)(total / MB));
	kill_tree(node, &mm);
	sb_memmon_release(&mm);

	CHECK_INT_EQ(0, sb_memmon_init(&mm, 64 * MB), "sb_memmon_init once "
		     "more");
	node = hog(100, 0);
	rc = look(&mm, node, 100 * MB, 1, &total);
	CHECK_INT_EQ(1, rc, "a node of 100 MB is over 64 MB");
	CHECK(mm.peak >= 100 * MB, "its peak is kept (%llu MB)",
	      (unsigned long long)(mm.peak / MB));
	kill_tree(node, &mm);
	sb_memmon_release(&mm);
	end(stranger);
}

int main(void)
{
	log_set_level(LOG_LVL_ERR);
	test_mountinfo();
	test_locate();
	test_key();
	if (geteuid() != 0) {
		unit_note("skip: a node's cgroup and the monitor need root");
		return unit_done();
	}
	test_node_cgroup();
	test_stale();
	unit_run_child(as_nobody, NULL, "not root");
	test_memmon();
	return unit_done();
}
