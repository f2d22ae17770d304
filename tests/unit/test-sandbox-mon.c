/* tests/unit/test-sandbox-mon.c: the sandbox monitor (core/runner/sandbox_mon.c)
 * stops a whole sandbox, and orphans nothing, even when it is told to stop
 * in the moment where bwrap has cloned the command but has not yet said
 * its pid.
 *
 * The moment is made by hand, so the test does not depend on timing: a
 * stand-in for bwrap forks a "command" that waits forever, then waits for
 * it without writing the info pipe, as bwrap does between its clone() and
 * its write of {"child-pid": N}; like bwrap, it reaps the command and
 * exits when the command ends. The monitor is then cancelled (or times
 * out). Before the fix it killed the stand-in only, and the command lived
 * on; bwrap's real command, whose parent-death signal is set only just
 * before its execve(), did the same (tests/t-run.sh saw it once).
 *
 * The last case is the usual one, for comparison: bwrap has said the pid
 * before the cancel, and the monitor kills the command through it. */
#include "core/runner/sandbox_int.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Whether the process behind `pidfd` ends within `ms`. */
static int ends_within(int pidfd, int ms)
{
	struct pollfd pf = { pidfd, POLLIN, 0 };

	return poll(&pf, 1, ms) == 1;
}

/* The stand-in for bwrap. `tell` gets the command's pid (for the test);
 * with `say` the stand-in writes it to `info`, as bwrap does. Never
 * returns. */
static void __attribute__((noreturn)) fake_bwrap(int tell, int info, int say)
{
	int status;
	pid_t cmd;

	cmd = fork();
	if (cmd == 0) {
		for (;;)
			pause();
	}
	if (cmd < 0 || write(tell, &cmd, sizeof(cmd)) != sizeof(cmd))
		_exit(1);
	if (say) {
		char line[64];
		int n = snprintf(line, sizeof(line),
				 "{\n    \"child-pid\": %d\n}\n", (int)cmd);

		if (write(info, line, (size_t)n) != n)
			_exit(1);
	}
	while (waitpid(cmd, &status, 0) < 0 && errno == EINTR)
		;
	_exit(0);
}

struct tree {
	pid_t bwrap, cmd;
	int bwrap_fd, cmd_fd;
	int info;		/* read end */
};

static int tree_start(struct tree *t, int say)
{
	int tell[2], info[2];

	memset(t, 0, sizeof(*t));
	t->bwrap_fd = t->cmd_fd = t->info = -1;
	if (pipe(tell) || pipe2(info, O_CLOEXEC))
		return -1;
	fflush(stdout);
	t->bwrap = fork();
	if (t->bwrap == 0) {
		close(tell[0]);
		close(info[0]);
		fake_bwrap(tell[1], info[1], say);
	}
	close(tell[1]);
	close(info[1]);
	t->info = info[0];
	if (t->bwrap < 0 ||
	    read(tell[0], &t->cmd, sizeof(t->cmd)) != sizeof(t->cmd)) {
		close(tell[0]);
		return -1;
	}
	close(tell[0]);
	t->bwrap_fd = pidfd_open(t->bwrap, 0);
	t->cmd_fd = pidfd_open(t->cmd, 0);
	fcntl(t->info, F_SETFL, O_NONBLOCK);
	return t->bwrap_fd >= 0 && t->cmd_fd >= 0 ? 0 : -1;
}

/* Kill whatever is left, so that a failing run leaves nothing behind. */
static void tree_end(struct tree *t)
{
	if (t->cmd_fd >= 0) {
		pidfd_send_signal(t->cmd_fd, SIGKILL, NULL, 0);
		close(t->cmd_fd);
	}
	if (t->bwrap_fd >= 0) {
		pidfd_send_signal(t->bwrap_fd, SIGKILL, NULL, 0);
		close(t->bwrap_fd);
	}
	if (t->bwrap > 0)
		waitpid(t->bwrap, NULL, WNOHANG);
	if (t->info >= 0)
		close(t->info);
}

/* Run the monitor on the stand-in until it has reaped it: cancelled with
 * `grace` (< 0: not cancelled, the timeout of 0.3 s ends it). */
static void monitor(struct tree *t, double grace, struct sandbox_result *res)
{
	struct runner_limits lim = { 0.3, 10, 64, 16, 16, 1 };
	struct sandbox_spec sp;
	struct sandbox_ctl ctl;
	struct sb_mon m;
	int out[2], err[2];
	struct sb_caps caps;

	memset(&sp, 0, sizeof(sp));
	memset(res, 0, sizeof(*res));
	sp.lim = &lim;
	sandbox_ctl_init(&ctl);
	if (grace >= 0) {
		lim.timeout_s = 30;
		sandbox_ctl_cancel(&ctl, grace);
	}
	memset(&caps, 0, sizeof(caps));	/* no cgroup, no watch */
	sb_mon_init(&m, &sp, &ctl, &caps);
	if (pipe2(out, O_CLOEXEC | O_NONBLOCK) ||
	    pipe2(err, O_CLOEXEC | O_NONBLOCK))
		return;
	close(out[1]);
	close(err[1]);
	m.rd[0] = out[0];
	m.rd[1] = err[0];
	m.file[0] = open("/dev/null", O_WRONLY | O_CLOEXEC);
	m.file[1] = open("/dev/null", O_WRONLY | O_CLOEXEC);
	m.pid = t->bwrap;
	m.pidfd = dup(t->bwrap_fd);
	m.info = t->info;
	t->info = -1;
	m.t0 = sb_mono_now();
	m.deadline = m.t0 + lim.timeout_s;
	sb_mon_loop(&m);
	sb_mon_finish(&m, res);
	sb_mon_release(&m);
	sandbox_ctl_release(&ctl);
	t->bwrap = -1;	/* reaped */
}

static void one(const char *what, int say, double grace,
		enum sandbox_end want)
{
	struct sandbox_result res;
	struct tree t;
	double t0;

	if (!CHECK_INT_EQ(0, tree_start(&t, say), "%s: the stand-in runs",
			  what)) {
		tree_end(&t);
		return;
	}
	t0 = mono();
	monitor(&t, grace, &res);
	CHECK_INT_EQ(want, res.end, "%s: the monitor says how it ended", what);
	CHECK(ends_within(t.bwrap_fd, 0), "%s: bwrap is gone", what);
	CHECK(ends_within(t.cmd_fd, 0),
	      "%s: the command bwrap had cloned is gone too", what);
	CHECK(kill(t.cmd, 0) == -1 && errno == ESRCH,
	      "%s: reaped by bwrap, not left to init as a zombie", what);
	CHECK(mono() - t0 < 5, "%s: within seconds (%.1f s)", what,
	      mono() - t0);
	tree_end(&t);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	one("cancelled before bwrap said the command's pid", 0, 2.0,
	    SANDBOX_CANCELLED);
	one("cancelled in a hurry before bwrap said the pid", 0, 0,
	    SANDBOX_CANCELLED);
	one("timed out before bwrap said the pid", 0, -1, SANDBOX_TIMEOUT);
	one("cancelled after bwrap said the pid", 1, 0, SANDBOX_CANCELLED);
	return unit_done();
}
