/* core/runner/sandbox_mon.c: watching a started sandbox (sandbox_int.h) until
 * bwrap is reaped: copying its stdout and stderr into the files under the
 * output cap, the timeout, cancellation (TERM, then KILL after the grace),
 * and how it ended. */
#include "core/runner/sandbox_int.h"
#include "core/util/log.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SB_KILL_WAIT_S 3.0	/* after SIGKILL to the command, for bwrap */
#define SB_TERM_AGAIN_S 0.1	/* TERM repeated while the grace runs */
#define SB_DRAIN_S 2.0		/* to read what is left in the pipes */

double sb_mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sb_mon_init(struct sb_mon *m, const struct sandbox_spec *sp,
		 struct sandbox_ctl *ctl, struct sb_caps *caps)
{
	memset(m, 0, sizeof(*m));
	m->sp = sp;
	m->ctl = ctl;
	m->caps = caps;
	m->pidfd = m->inner_fd = m->info = -1;
	m->rd[0] = m->rd[1] = m->file[0] = m->file[1] = -1;
	buf_init(&m->infobuf, 4096);
	m->cap = sb_mib(sp->lim->output_mb);
}

void sb_mon_release(struct sb_mon *m)
{
	sb_close_fd(&m->pidfd);
	sb_close_fd(&m->inner_fd);
	sb_close_fd(&m->rd[0]);
	sb_close_fd(&m->rd[1]);
	sb_close_fd(&m->info);
	sb_close_fd(&m->file[0]);
	sb_close_fd(&m->file[1]);
	buf_release(&m->infobuf);
}

static void mon_kill_early(struct sb_mon *m);

/* Kill the sandbox: SIGKILL to its pid 1 takes the whole pid namespace
 * down and bwrap, its parent, reaps it and exits; bwrap itself is killed
 * only when it clones nothing any more, or lingers. */
static void mon_kill(struct sb_mon *m, enum sandbox_end why)
{
	if (m->end == SANDBOX_EXITED)
		m->end = why;
	if (m->killed)
		return;
	m->killed = 1;
	if (m->inner_fd >= 0 &&
	    pidfd_send_signal(m->inner_fd, SIGKILL, NULL, 0) == 0) {
		m->force_at = sb_mono_now() + SB_KILL_WAIT_S;
		return;
	}
	mon_kill_early(m);
}

/* SIGTERM to the command's process group (the sandbox's session): pid 1
 * ignores it unless it has a handler, its children do not. */
static void mon_term(struct sb_mon *m, double grace)
{
	struct pollfd pf = { m->inner_fd, POLLIN, 0 };

	if (m->end == SANDBOX_EXITED)
		m->end = SANDBOX_CANCELLED;
	if (m->killed)
		return;
	if (m->term_sent) {	/* asked again, in more of a hurry */
		if (grace <= 0)
			mon_kill(m, SANDBOX_CANCELLED);
		else if (sb_mono_now() + grace < m->kill_at)
			m->kill_at = sb_mono_now() + grace;
		return;
	}
	if (m->inner_fd < 0 || grace <= 0 || poll(&pf, 1, 0) != 0) {
		mon_kill(m, SANDBOX_CANCELLED);
		return;
	}
	m->term_sent = 1;
	/* The group is the command's own pid while it lives (its pidfd
	 * just said it does), so this cannot reach a stranger. */
	kill(-m->inner, SIGTERM);
	m->kill_at = sb_mono_now() + grace;
	m->term_again = sb_mono_now() + SB_TERM_AGAIN_S;
}

static void mon_write(struct sb_mon *m, int which, const char *data,
		      size_t len)
{
	size_t left = m->written < m->cap ? (size_t)(m->cap - m->written) : 0;
	size_t off = 0;

	m->total += len;
	if (len > left)
		len = left;
	while (off < len) {
		ssize_t n = write(m->file[which], data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!m->warned)
				log_warn("sandbox: cannot write the captured "
					 "output: %s", strerror(errno));
			m->warned = 1;
			break;
		}
		off += (size_t)n;
	}
	m->written += len;
	if (m->total > m->cap)
		mon_kill(m, SANDBOX_OUTPUT);
}

/* Read what is there; 0 at EOF (the pipe is closed). */
static int mon_read(struct sb_mon *m, int which)
{
	char chunk[65536];

	for (int i = 0; i < 16; i++) {
		ssize_t n = read(m->rd[which], chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return 1;	/* EAGAIN */
		if (n == 0) {
			sb_close_fd(&m->rd[which]);
			return 0;
		}
		mon_write(m, which, chunk, (size_t)n);
	}
	return 1;
}

/* The PPid of `pid` from /proc, or -1. */
static pid_t proc_ppid(pid_t pid)
{
	char path[64], data[2048], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, data, sizeof(data) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	data[n] = '\0';
	p = strstr(data, "\nPPid:");
	if (!p)
		return -1;
	return (pid_t)strtol(p + 6, NULL, 10);
}

/* SIGKILL the children of `parent`, which is stopped: it clones no more
 * and its children cannot change parent, so a pidfd taken on a process
 * whose parent it still is afterwards names that child. 1 when there was
 * one. */
static int kill_children(pid_t parent)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int found = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		int fd;

		if (*end || pid <= 0 || pid > INT_MAX ||
		    proc_ppid((pid_t)pid) != parent)
			continue;
		fd = pidfd_open((pid_t)pid, 0);
		if (fd < 0)
			continue;
		if (proc_ppid((pid_t)pid) == parent &&
		    pidfd_send_signal(fd, SIGKILL, NULL, 0) == 0)
			found = 1;
		close(fd);
	}
	closedir(d);
	return found;
}

/* Kill a sandbox whose command bwrap has not named yet. bwrap clones the
 * command, writes its pid to the info pipe, then lets it go on; the
 * command sets its parent-death signal only just before its execve().
 * Killing bwrap alone in that window left the command behind, waiting
 * forever for the go-ahead or running on with no parent. So bwrap is
 * stopped (a clone in progress completes first: waitid() waits for the
 * stop), what it cloned is killed while bwrap is its parent, and bwrap is
 * let go on: it reaps the command and exits, as whenever the command
 * ends; had it cloned nothing, it is killed. Nothing is orphaned. */
static void mon_kill_early(struct sb_mon *m)
{
	siginfo_t si;

	if (kill(m->pid, SIGSTOP)) {
		kill(m->pid, SIGKILL);
		return;
	}
	memset(&si, 0, sizeof(si));
	while (waitid(P_PID, (id_t)m->pid, &si,
		      WSTOPPED | WEXITED | WNOWAIT) < 0 && errno == EINTR)
		;
	if (kill_children(m->pid)) {
		kill(m->pid, SIGCONT);
		m->force_at = sb_mono_now() + SB_KILL_WAIT_S;
	} else {
		kill(m->pid, SIGKILL);	/* not reaped yet: the pid is ours */
	}
}

/* bwrap's --info-fd: {"child-pid": N, ...}, N in our pid namespace. */
static void mon_info(struct sb_mon *m)
{
	char chunk[1024], *p, *end;
	long pid;
	ssize_t n;

	for (;;) {
		n = read(m->info, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			sb_close_fd(&m->info);
			break;
		}
		if (buf_append(&m->infobuf, chunk, (size_t)n)) {
			sb_close_fd(&m->info);
			break;
		}
	}
	if (m->inner > 0 || !m->infobuf.data)
		return;
	p = strstr(m->infobuf.data, "\"child-pid\":");
	if (!p)
		return;
	pid = strtol(p + 12, &end, 10);
	if (end == p + 12 || !*end || pid <= 1 || pid > INT_MAX)
		return;	/* not all of it yet */
	m->inner = (pid_t)pid;
	m->inner_fd = pidfd_open(m->inner, 0);
	/* The pid could have been recycled if the command died at once:
	 * a process whose parent is bwrap is the one. */
	if (m->inner_fd >= 0 && proc_ppid(m->inner) != m->pid)
		sb_close_fd(&m->inner_fd);
	if (m->killed && m->inner_fd >= 0)
		pidfd_send_signal(m->inner_fd, SIGKILL, NULL, 0);
}

static void mon_cancel(struct sb_mon *m)
{
	uint64_t v;
	double grace = 0;
	ssize_t n = read(m->ctl->efd, &v, sizeof(v));

	(void)n;
	if (sandbox_ctl_cancelled(m->ctl, &grace))
		mon_term(m, grace);
}

static int ms_until(double now, double t)
{
	double d = (t - now) * 1000.0 + 1;

	if (t <= 0)
		return -1;
	if (d < 0)
		return 0;
	return d > 1000 ? 1000 : (int)d;
}

static void mon_timers(struct sb_mon *m, double now)
{
	if (!m->killed && now >= m->deadline)
		mon_kill(m, SANDBOX_TIMEOUT);
	if (!m->killed && sb_caps_check(m->caps, m->pid, now))
		mon_kill(m, SANDBOX_MEMORY);
	/* A pid 1 without a TERM handler yet (python still starting)
	 * ignores TERM: say it again until it listens or time is up. */
	if (!m->killed && m->term_sent && now >= m->term_again &&
	    now < m->kill_at) {
		kill(-m->inner, SIGTERM);
		m->term_again = now + SB_TERM_AGAIN_S;
	}
	if (!m->killed && m->term_sent && now >= m->kill_at)
		mon_kill(m, SANDBOX_CANCELLED);
	if (m->killed && m->force_at > 0 && now >= m->force_at) {
		kill(m->pid, SIGKILL);
		m->force_at = 0;
	}
}

/* How long poll() may wait: until the next timer, at most a second. */
static int mon_wait_ms(const struct sb_mon *m, double now)
{
	int wait_ms = 1000, t;

	if (!m->killed && (t = ms_until(now, m->deadline)) >= 0 &&
	    t < wait_ms)
		wait_ms = t;
	if (m->term_sent && (t = ms_until(now, m->kill_at)) >= 0 &&
	    t < wait_ms)
		wait_ms = t;
	if (m->term_sent && !m->killed &&
	    (t = ms_until(now, m->term_again)) >= 0 && t < wait_ms)
		wait_ms = t;
	if (m->force_at > 0 && (t = ms_until(now, m->force_at)) >= 0 &&
	    t < wait_ms)
		wait_ms = t;
	if (!m->killed &&
	    (t = ms_until(now, sb_caps_next(m->caps))) >= 0 && t < wait_ms)
		wait_ms = t;
	return wait_ms;
}

void sb_mon_loop(struct sb_mon *m)
{
	while (!m->exited) {
		struct pollfd pf[5];
		int n = 0, ipipe[2] = { -1, -1 };
		int iinfo = -1, ictl = -1, ipid;
		double now = sb_mono_now();

		mon_timers(m, now);
		for (int i = 0; i < 2; i++) {
			if (m->rd[i] < 0)
				continue;
			ipipe[i] = n;
			pf[n++] = (struct pollfd){ m->rd[i], POLLIN, 0 };
		}
		if (m->info >= 0) {
			iinfo = n;
			pf[n++] = (struct pollfd){ m->info, POLLIN, 0 };
		}
		if (m->ctl && !m->killed) {
			ictl = n;
			pf[n++] = (struct pollfd){ m->ctl->efd, POLLIN, 0 };
		}
		ipid = n;
		pf[n++] = (struct pollfd){ m->pidfd, POLLIN, 0 };
		if (poll(pf, (nfds_t)n, mon_wait_ms(m, now)) < 0) {
			if (errno == EINTR)
				continue;
			log_err("sandbox: poll: %s", strerror(errno));
			mon_kill(m, SANDBOX_CANCELLED);
			usleep(10000);
			continue;
		}
		for (int i = 0; i < 2; i++)
			if (ipipe[i] >= 0 && pf[ipipe[i]].revents)
				mon_read(m, i);
		if (iinfo >= 0 && pf[iinfo].revents)
			mon_info(m);
		if (ictl >= 0 && pf[ictl].revents)
			mon_cancel(m);
		if (pf[ipid].revents)
			m->exited = 1;
	}
}

/* After bwrap ended, nothing of the sandbox holds the pipes; read what is
 * left (other threads' children may hold them for a moment between their
 * fork and exec, hence the time cap). */
static void mon_drain(struct sb_mon *m)
{
	double stop = sb_mono_now() + SB_DRAIN_S;

	while (m->rd[0] >= 0 || m->rd[1] >= 0) {
		struct pollfd pf[2];
		int n = 0, idx[2] = { -1, -1 };
		double now = sb_mono_now();

		if (now >= stop)
			break;
		for (int i = 0; i < 2; i++) {
			if (m->rd[i] < 0)
				continue;
			idx[i] = n;
			pf[n++] = (struct pollfd){ m->rd[i], POLLIN, 0 };
		}
		if (poll(pf, (nfds_t)n, ms_until(now, stop)) <= 0)
			continue;
		for (int i = 0; i < 2; i++)
			if (idx[i] >= 0 && pf[idx[i]].revents)
				mon_read(m, i);
	}
}

static void fill_status(struct sandbox_result *res, int status,
			const struct rusage *ru)
{
	if (WIFEXITED(status)) {
		int code = WEXITSTATUS(status);

		/* bwrap reports a command killed by a signal as 128+sig. */
		if (code > 128 && code < 128 + NSIG) {
			res->exit_code = -1;
			res->signal = code - 128;
		} else {
			res->exit_code = code;
		}
	} else if (WIFSIGNALED(status)) {
		res->exit_code = -1;
		res->signal = WTERMSIG(status);
	}
	res->user_s = (double)ru->ru_utime.tv_sec +
		      (double)ru->ru_utime.tv_usec / 1e6;
	res->sys_s = (double)ru->ru_stime.tv_sec +
		     (double)ru->ru_stime.tv_usec / 1e6;
	res->max_rss_kb = ru->ru_maxrss;
}

void sb_mon_finish(struct sb_mon *m, struct sandbox_result *res)
{
	struct rusage ru;
	int status = 0;

	memset(&ru, 0, sizeof(ru));
	while (wait4(m->pid, &status, 0, &ru) < 0 && errno == EINTR)
		;
	/* bwrap reaped the command, which took the pid namespace with it;
	 * if bwrap was killed instead, make sure the command is gone. */
	if (m->inner_fd >= 0) {
		struct pollfd pf = { m->inner_fd, POLLIN, 0 };

		if (poll(&pf, 1, 0) == 0) {
			pidfd_send_signal(m->inner_fd, SIGKILL, NULL, 0);
			poll(&pf, 1, (int)(SB_KILL_WAIT_S * 1000));
		}
	}
	mon_drain(m);
	clock_gettime(CLOCK_REALTIME, &res->stop);
	res->wall_s = sb_mono_now() - m->t0;
	fill_status(res, status, &ru);
	res->end = m->end;
	sb_caps_finish(m->caps, res);
	res->out_bytes = m->total;
}
