/* core/runner/sandbox_child.c: the child between fork() and execve() of bwrap
 * (sandbox_int.h). It runs in a copy of a multi-threaded daemon, so it
 * makes async-signal-safe calls only and never allocates: everything it
 * needs was computed before fork (sandbox_plan.c). */
#include "core/runner/sandbox_int.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

static const char *const step_names[] = {
	[STEP_CGROUP] = "cannot join the node's cgroup",
	[STEP_DUP] = "cannot set up stdin/stdout/stderr",
	[STEP_UNSHARE] = "cannot make a mount namespace",
	[STEP_PRIVATE] = "cannot make the mounts private",
	[STEP_BIND_FILE] = "cannot bind an input file",
	[STEP_RO_FILE] = "cannot make an input file read-only",
	[STEP_BIND_WORK] = "cannot bind the work folder",
	[STEP_SETGROUPS] = "cannot set the user's groups",
	[STEP_SETGID] = "cannot set the user's gid",
	[STEP_SETUID] = "cannot set the user's uid",
	[STEP_CHECK_ID] = "the user's ids did not stick",
	[STEP_RLIMIT] = "cannot set the limits",
	[STEP_PDEATHSIG] = "cannot set the parent-death signal",
	[STEP_FDS] = "cannot pass file descriptors",
	[STEP_EXEC] = "cannot run " SANDBOX_BWRAP,
};

const char *sb_step_name(int step)
{
	if (step >= 0 && step <= STEP_EXEC)
		return step_names[step];
	return "cannot start the sandbox";
}

static void __attribute__((noreturn)) child_fail(const struct sb_child *x,
						 int step)
{
	struct sb_err e = { step, errno };
	ssize_t n = write(x->errpipe, &e, sizeof(e));

	(void)n;
	_exit(127);
}

static void child_close_fds(const struct sb_child *x)
{
	int lo = 3;

	for (int i = 0; i <= x->nkeep; i++) {
		int hi = i < x->nkeep ? x->keep[i] - 1 : INT_MAX;

		if (hi >= lo && close_range((unsigned)lo, (unsigned)hi, 0)) {
			for (int fd = lo; fd <= hi && fd <= x->maxfd; fd++)
				close(fd);
		}
		if (i < x->nkeep)
			lo = x->keep[i] + 1;
	}
}

/* "/proc/self/fd/N" into `out` (32 bytes), without snprintf. */
static void fd_path(char *out, int fd)
{
	static const char pre[] = "/proc/self/fd/";
	char digits[12];
	int n = 0;

	do
		digits[n++] = (char)('0' + fd % 10);
	while ((fd /= 10) && n < 11);
	memcpy(out, pre, sizeof(pre) - 1);
	out += sizeof(pre) - 1;
	while (n)
		*out++ = digits[--n];
	*out = '\0';
}

/* Bind the input files read-only onto their mount points. The source is
 * opened here, in the new mount namespace (a file opened before would be
 * on a mount of the old one, which mount(2) refuses), without following
 * a link at the end. */
static void child_bind_files(const struct sb_child *x)
{
	for (size_t i = 0; i < x->nmnt; i++) {
		int fd = open(x->mnt_src[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);

		if (fd < 0)
			child_fail(x, STEP_BIND_FILE);
		fd_path(x->mnt_buf[i], fd);
		if (mount(x->mnt_buf[i], x->mnt_dst[i], NULL, MS_BIND, NULL))
			child_fail(x, STEP_BIND_FILE);
		close(fd);
		if (mount(NULL, x->mnt_dst[i], NULL,
			  MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID |
				  MS_NODEV,
			  NULL))
			child_fail(x, STEP_RO_FILE);
	}
}

/* Between fork and execve: async-signal-safe calls only, no allocation. */
void sb_child_main(const struct sb_child *x)
{
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaction(s, &x->dfl, NULL);	/* fails for some */
	sigprocmask(SIG_SETMASK, &x->empty, NULL);

	/* First, while still root: whatever follows is the node's. */
	if (x->cg && cgroup_node_join(x->cg))
		child_fail(x, STEP_CGROUP);

	if (dup2(x->in_fd, 0) < 0 || dup2(x->out_fd, 1) < 0 ||
	    dup2(x->err_fd, 2) < 0)
		child_fail(x, STEP_DUP);
	if (x->root) {
		if (unshare(CLONE_NEWNS))
			child_fail(x, STEP_UNSHARE);
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
			child_fail(x, STEP_PRIVATE);
		/* A copy of a FUSE mount in this namespace would keep its
		 * connection alive after the daemon's own unmount. */
		for (size_t i = 0; i < x->nhide; i++)
			umount2(x->hide[i], MNT_DETACH);
		child_bind_files(x);
		if (mount(x->work, SB_WORK_MNT, NULL, MS_BIND | MS_REC, NULL))
			child_fail(x, STEP_BIND_WORK);
		if (setgroups(x->ngroups, x->groups))
			child_fail(x, STEP_SETGROUPS);
		if (setgid(x->gid))
			child_fail(x, STEP_SETGID);
		if (setuid(x->uid))
			child_fail(x, STEP_SETUID);
	}
	if (getuid() != x->uid || geteuid() != x->uid ||
	    (x->root && (getgid() != x->gid || getegid() != x->gid)) ||
	    setuid(0) == 0) {
		errno = EPERM;
		child_fail(x, STEP_CHECK_ID);
	}
	for (int i = 0; i < SB_NRLIM; i++)
		if (setrlimit(x->rlres[i], &x->rl[i]))
			child_fail(x, STEP_RLIMIT);
	/* After setuid, which clears it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0))
		child_fail(x, STEP_PDEATHSIG);
	if (getppid() != x->parent)
		_exit(127);
	for (int i = 0; i < x->nkeep; i++)
		if (x->keep[i] != x->errpipe && fcntl(x->keep[i], F_SETFD, 0))
			child_fail(x, STEP_FDS);
	child_close_fds(x);
	execve(SANDBOX_BWRAP, x->argv, x->envp);
	child_fail(x, STEP_EXEC);
}
