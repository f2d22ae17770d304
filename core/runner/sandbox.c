/* core/runner/sandbox.c: see sandbox.h. sandbox_run(): check the spec, open the
 * pipes and files, fork the child (sandbox_child.c) and hand the running
 * sandbox to the monitor (sandbox_mon.c); and cancellation. The other
 * files of the sandbox are listed in sandbox_int.h. */
#include "core/runner/sandbox_int.h"
#include "core/util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* --- cancellation ------------------------------------------------------ */

int sandbox_ctl_init(struct sandbox_ctl *c)
{
	memset(c, 0, sizeof(*c));
	c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->efd < 0)
		return -errno;
	pthread_mutex_init(&c->lock, NULL);
	return 0;
}

void sandbox_ctl_release(struct sandbox_ctl *c)
{
	if (c->efd >= 0)
		close(c->efd);
	c->efd = -1;
	pthread_mutex_destroy(&c->lock);
}

void sandbox_ctl_cancel(struct sandbox_ctl *c, double grace_s)
{
	uint64_t one = 1;
	ssize_t n;

	if (!(grace_s >= 0))	/* also NaN */
		grace_s = 0;
	if (grace_s > 3600)
		grace_s = 3600;
	pthread_mutex_lock(&c->lock);
	if (!c->cancelled || grace_s < c->grace_s) {	/* a hurry wins */
		c->cancelled = 1;
		c->grace_s = grace_s;
	}
	pthread_mutex_unlock(&c->lock);
	n = write(c->efd, &one, sizeof(one));
	(void)n;	/* a full counter is still readable */
}

int sandbox_ctl_cancelled(struct sandbox_ctl *c, double *grace_s)
{
	int r;

	pthread_mutex_lock(&c->lock);
	r = c->cancelled;
	if (grace_s)
		*grace_s = c->grace_s;
	pthread_mutex_unlock(&c->lock);
	return r;
}

/* --- checking the spec ------------------------------------------------- */

static int check_spec(const struct sandbox_spec *sp, int root,
		      struct sandbox_result *res)
{
	const struct runner_limits *l = sp->lim;
	const char *bad = NULL;

	if (sp->uid == 0) {
		snprintf(res->setup_err, sizeof(res->setup_err),
			 "refusing to run code as root (uid 0): code runs as "
			 "the requesting user");
		return 1;
	}
	if (!root && sp->uid != geteuid()) {
		snprintf(res->setup_err, sizeof(res->setup_err),
			 "the daemon runs as uid %u and cannot run code as "
			 "another user (uid %u): mount llmunixfs as root",
			 (unsigned)geteuid(), (unsigned)sp->uid);
		return 1;
	}
	if (!(l->timeout_s > 0))
		bad = "timeout_s";
	else if (!(l->cpu_s > 0))
		bad = "cpu_s";
	else if (!l->memory_mb)
		bad = "memory_mb";
	else if (!l->file_mb)
		bad = "file_mb";
	else if (!l->output_mb)
		bad = "output_mb";
	if (bad) {
		snprintf(res->setup_err, sizeof(res->setup_err),
			 "limit %s is 0 (expected a positive limit)", bad);
		return 1;
	}
	if (!sp->argv || !sp->argv[0]) {
		snprintf(res->setup_err, sizeof(res->setup_err),
			 "no command to run");
		return 1;
	}
	return 0;
}

/* --- the fds ----------------------------------------------------------- */

/* Move `fd` above 2 (the child dup2s onto 0, 1, 2). */
static int fd_above2(int *fd)
{
	int nfd;

	if (*fd > 2)
		return 0;
	nfd = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
	if (nfd < 0)
		return -errno;
	close(*fd);
	*fd = nfd;
	return 0;
}

void sb_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void fds_release(struct sb_fds *f)
{
	for (int i = 0; i < 2; i++) {
		sb_close_fd(&f->out[i]);
		sb_close_fd(&f->err[i]);
		sb_close_fd(&f->info[i]);
		sb_close_fd(&f->errp[i]);
	}
	sb_close_fd(&f->passwd);
	sb_close_fd(&f->group);
	sb_close_fd(&f->in);
}

static int make_pipe(int p[2], const char *what, char *err, size_t errlen)
{
	if (pipe2(p, O_CLOEXEC)) {
		int rc = -errno;

		snprintf(err, errlen, "cannot make the %s pipe: %s", what,
			 strerror(-rc));
		return rc;
	}
	if (fd_above2(&p[0]) || fd_above2(&p[1]))
		return -EMFILE;
	return 0;
}

/* The input files: regular files, not links (the child binds them as
 * root, bwrap as the user otherwise). 0, or 1 with `err` set. */
static int check_files(const struct sandbox_spec *sp, char *err,
		       size_t errlen)
{
	int rc;

	for (size_t i = 0; i < sp->nfiles; i++) {
		struct stat st;
		char esc[256];
		int fd = open(sp->files[i].src,
			      O_PATH | O_NOFOLLOW | O_CLOEXEC);

		rc = fd < 0 ? -errno : 0;
		if (fd >= 0 && (fstat(fd, &st) || !S_ISREG(st.st_mode)))
			rc = -EINVAL;
		if (fd >= 0)
			close(fd);
		if (rc) {
			snprintf(err, errlen, "input file '%s': %s",
				 log_escape(esc, sizeof(esc),
					    sp->files[i].src),
				 rc == -EINVAL ? "not a regular file" :
						 strerror(-rc));
			return 1;
		}
	}
	return 0;
}

static int open_fds(const struct sandbox_spec *sp, struct sb_fds *f, char *err,
		    size_t errlen)
{
	int rc;

	if ((rc = make_pipe(f->out, "stdout", err, errlen)) ||
	    (rc = make_pipe(f->err, "stderr", err, errlen)) ||
	    (rc = make_pipe(f->info, "info", err, errlen)) ||
	    (rc = make_pipe(f->errp, "status", err, errlen)))
		return rc;
	fcntl(f->out[0], F_SETFL, O_NONBLOCK);
	fcntl(f->err[0], F_SETFL, O_NONBLOCK);
	fcntl(f->info[0], F_SETFL, O_NONBLOCK);
	if ((rc = sb_make_id_files(sp, f))) {
		snprintf(err, errlen, "cannot make /etc/passwd: %s",
			 strerror(-rc));
		return rc;
	}
	if (sp->stdin_fd >= 0)
		f->in = fcntl(sp->stdin_fd, F_DUPFD_CLOEXEC, 3);
	else
		f->in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (f->in < 0 || fd_above2(&f->in)) {
		rc = -errno;
		snprintf(err, errlen, "cannot open stdin: %s", strerror(-rc));
		return rc;
	}
	return check_files(sp, err, errlen);
}

static int open_outputs(const struct sandbox_spec *sp, int file[2],
			char *err, size_t errlen)
{
	const char *path[2] = { sp->stdout_path, sp->stderr_path };

	for (int i = 0; i < 2; i++) {
		file[i] = open(path[i],
			       O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
				       O_CLOEXEC,
			       0600);
		if (file[i] < 0) {
			int rc = -errno;
			char esc[256];

			snprintf(err, errlen, "cannot create '%s': %s",
				 log_escape(esc, sizeof(esc), path[i]),
				 strerror(-rc));
			return rc;
		}
	}
	return 0;
}

/* --- starting ---------------------------------------------------------- */

/* The child failed before exec (read from the status pipe); reap it. */
static int child_failed(struct sandbox_result *res, pid_t pid,
			const struct sb_err *e)
{
	int status;
	const char *what = sb_step_name(e->step);

	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (e->step == STEP_EXEC && e->err == ENOENT)
		snprintf(res->setup_err, sizeof(res->setup_err),
			 "bubblewrap (%s) is not installed", SANDBOX_BWRAP);
	else if (e->step == STEP_EXEC && e->err == EAGAIN)
		res->setup_procs = snprintf(res->setup_err,
					    sizeof(res->setup_err),
					    "the user has too many processes "
					    "already") > 0;
	else
		snprintf(res->setup_err, sizeof(res->setup_err), "%s: %s",
			 what, strerror(e->err));
	clock_gettime(CLOCK_REALTIME, &res->stop);
	return 0;
}

/* Fork the child and wait until it has exec'd bwrap: 1 when bwrap runs
 * (m->pid, m->pidfd and m->deadline set), 0 when it could not start
 * (res->setup_err says why), -ENOMEM when fork() could not get memory. */
static int start(const struct sandbox_spec *sp, struct sb_fds *f,
		 struct sb_child *x, struct sb_mon *m,
		 struct sandbox_result *res)
{
	struct sb_err e;
	ssize_t n;
	pid_t pid;

	clock_gettime(CLOCK_REALTIME, &res->start);
	m->t0 = sb_mono_now();
	pid = fork();
	if (pid < 0) {
		int rc = -errno;

		snprintf(res->setup_err, sizeof(res->setup_err),
			 "cannot fork: %s", strerror(-rc));
		clock_gettime(CLOCK_REALTIME, &res->stop);
		return rc == -ENOMEM ? rc : 0;
	}
	if (pid == 0)
		sb_child_main(x);
	sb_close_fd(&f->out[1]);
	sb_close_fd(&f->err[1]);
	sb_close_fd(&f->info[1]);
	sb_close_fd(&f->errp[1]);
	sb_close_fd(&f->passwd);
	sb_close_fd(&f->group);
	sb_close_fd(&f->in);
	do
		n = read(f->errp[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(e))
		return child_failed(res, pid, &e);
	m->pid = pid;
	m->pidfd = pidfd_open(pid, 0);
	if (m->pidfd < 0) {
		int rc = -errno;

		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		snprintf(res->setup_err, sizeof(res->setup_err),
			 "cannot watch the sandbox (pidfd_open): %s",
			 strerror(-rc));
		clock_gettime(CLOCK_REALTIME, &res->stop);
		return 0;
	}
	m->deadline = m->t0 + sp->lim->timeout_s;
	return 1;
}

int sandbox_run(const struct sandbox_spec *sp, struct sandbox_ctl *ctl,
		struct sandbox_result *res)
{
	struct sandbox_strv argv, env, mnt[4];
	struct sb_fds f = { { -1, -1 }, { -1, -1 }, { -1, -1 }, { -1, -1 },
			    -1, -1, -1 };
	struct sb_child x;
	struct sb_caps caps;
	struct sb_mon m;
	int root = geteuid() == 0, rc;

	memset(res, 0, sizeof(*res));
	memset(&x, 0, sizeof(x));
	res->exit_code = -1;
	sb_caps_init(&caps);
	sb_mon_init(&m, sp, ctl, &caps);
	sandbox_strv_init(&argv);
	sandbox_strv_init(&env);
	for (int i = 0; i < 4; i++)
		sandbox_strv_init(&mnt[i]);
	clock_gettime(CLOCK_REALTIME, &res->start);
	res->stop = res->start;
	if (check_spec(sp, root, res)) {
		rc = 0;
		goto out;
	}
	rc = open_outputs(sp, m.file, res->setup_err, sizeof(res->setup_err));
	if (rc)
		goto out;
	rc = open_fds(sp, &f, res->setup_err, sizeof(res->setup_err));
	if (rc > 0) {	/* an input file that is not a file */
		rc = 0;
		goto out;
	}
	if (rc)
		goto out;
	if ((rc = sb_caps_prepare(&caps, sp->lim)) ||
	    (rc = sb_build_argv(sp, &f, root, caps.nproc, &argv)) ||
	    (rc = sb_build_env(sp, &env)) ||
	    (rc = sb_prepare_child(sp, root, &caps, &f, &x, mnt)))
		goto out;
	x.argv = argv.v;
	x.envp = env.v;
	if (ctl && sandbox_ctl_cancelled(ctl, NULL)) {
		res->end = SANDBOX_CANCELLED;
		goto out;
	}
	rc = start(sp, &f, &x, &m, res);
	if (rc <= 0)
		goto out;	/* could not start: setup_err says why */
	rc = 0;
	m.rd[0] = f.out[0];
	m.rd[1] = f.err[0];
	m.info = f.info[0];
	f.out[0] = f.err[0] = f.info[0] = -1;
	sb_mon_loop(&m);
	sb_mon_finish(&m, res);
out:
	if (rc && !res->setup_err[0])
		snprintf(res->setup_err, sizeof(res->setup_err),
			 "cannot start the sandbox: %s", strerror(-rc));
	sb_mon_release(&m);
	sb_caps_release(&caps);
	fds_release(&f);
	free(x.groups);
	sandbox_strv_release(&argv);
	sandbox_strv_release(&env);
	for (int i = 0; i < 4; i++)
		sandbox_strv_release(&mnt[i]);
	return rc;
}
