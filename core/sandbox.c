/* core/sandbox.c: see sandbox.h. Process setup and monitoring; the work
 * folder's helpers are at the end. */
#include "core/sandbox.h"
#include "core/buf.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define STRV_MAX 100000
#define SB_MAX_GROUPS 65536
#define SB_KILL_WAIT_S 3.0	/* after SIGKILL to the command, for bwrap */
#define SB_TERM_AGAIN_S 0.1	/* TERM repeated while the grace runs */
#define SB_DRAIN_S 2.0		/* to read what is left in the pipes */
/* In the child's private mount namespace (root only), the work folder is
 * bound here, a path the user can reach: bwrap resolves its sources as
 * the user, and the caller's folder may sit in a root-only state folder. */
#define SB_WORK_MNT "/tmp"

/* --- string vectors ---------------------------------------------------- */

void sandbox_strv_init(struct sandbox_strv *s)
{
	memset(s, 0, sizeof(*s));
}

void sandbox_strv_release(struct sandbox_strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int strv_take(struct sandbox_strv *s, char *str)
{
	if (s->n + 2 > s->alloc) {
		size_t na = s->alloc ? s->alloc * 2 : 16;
		char **nv;

		if (s->n >= STRV_MAX) {
			free(str);
			return -E2BIG;
		}
		nv = realloc(s->v, na * sizeof(*nv));
		if (!nv) {
			free(str);
			return -ENOMEM;
		}
		s->v = nv;
		s->alloc = na;
	}
	s->v[s->n++] = str;
	s->v[s->n] = NULL;
	return 0;
}

int sandbox_strv_add(struct sandbox_strv *s, const char *str)
{
	char *d = strdup(str);

	if (!d)
		return -ENOMEM;
	return strv_take(s, d);
}

int sandbox_strv_addf(struct sandbox_strv *s, const char *fmt, ...)
{
	va_list ap;
	char *d;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&d, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	return strv_take(s, d);
}

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

/* --- what the child needs, computed before fork ------------------------ */

enum sb_step {
	STEP_DUP, STEP_UNSHARE, STEP_PRIVATE, STEP_BIND_FILE, STEP_RO_FILE,
	STEP_BIND_WORK, STEP_SETGROUPS, STEP_SETGID, STEP_SETUID, STEP_CHECK_ID,
	STEP_RLIMIT, STEP_PDEATHSIG, STEP_FDS, STEP_EXEC,
};

static const char *const step_names[] = {
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

struct sb_err {
	int step;
	int err;
};

#define SB_NRLIM 5

struct sb_child {
	char *const *argv;
	char *const *envp;
	int in_fd, out_fd, err_fd;	/* become 0, 1, 2 */
	int errpipe;			/* close-on-exec: EOF means exec'd */
	int keep[4];			/* fds left open (bwrap's, and
					 * errpipe), sorted */
	int nkeep;
	int maxfd;			/* when close_range() is missing */
	int root;
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	size_t ngroups;
	int rlres[SB_NRLIM];
	struct rlimit rl[SB_NRLIM];
	pid_t parent;
	char **mnt_src;			/* root: input files to bind */
	char **mnt_buf;			/* room for "/proc/self/fd/N" */
	char **mnt_dst;
	size_t nmnt;
	char **hide;			/* root: FUSE mounts to detach */
	size_t nhide;
	const char *work;
	struct sigaction dfl;
	sigset_t empty;
};

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
static void __attribute__((noreturn)) child_main(const struct sb_child *x)
{
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaction(s, &x->dfl, NULL);	/* fails for some */
	sigprocmask(SIG_SETMASK, &x->empty, NULL);

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

/* --- building the command ---------------------------------------------- */

/* /etc files that interpreters read; never shadow, gshadow, sudoers... */
static const char *const etc_files[] = {
	"ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "fonts",
	"localtime", "timezone", "matplotlibrc", "python3", "python3.11",
	"python3.12", "python3.13", "ssl/certs", "ssl/openssl.cnf",
	"services", "protocols", "mime.types",
};

static const char *const etc_net[] = {
	"resolv.conf", "hosts", "nsswitch.conf", "gai.conf", "host.conf",
};

static uint64_t mib(uint64_t mb)
{
	return mb > (UINT64_MAX >> 20) ? UINT64_MAX : mb << 20;
}

#define ADD(s, str)                                 \
	do {                                        \
		if ((rc = sandbox_strv_add(s, str))) \
			goto out;                   \
	} while (0)
#define ADDF(s, ...)                                         \
	do {                                                 \
		if ((rc = sandbox_strv_addf(s, __VA_ARGS__))) \
			goto out;                            \
	} while (0)

/* /bin, /lib... as on the host: links (merged /usr) or read-only binds. */
static int add_root_links(struct sandbox_strv *a)
{
	static const char *const top[] = {
		"/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32",
	};
	char target[PATH_MAX];
	struct stat st;
	int rc = 0;

	for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++) {
		ssize_t n;

		if (lstat(top[i], &st))
			continue;
		if (S_ISLNK(st.st_mode)) {
			n = readlink(top[i], target, sizeof(target) - 1);
			if (n <= 0)
				continue;
			target[n] = '\0';
			ADD(a, "--symlink");
			ADD(a, target);
			ADD(a, top[i]);
		} else if (S_ISDIR(st.st_mode)) {
			ADD(a, "--ro-bind");
			ADD(a, top[i]);
			ADD(a, top[i]);
		}
	}
out:
	return rc;
}

static int add_etc(struct sandbox_strv *a, const char *const *v, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		ADD(a, "--ro-bind-try");
		ADDF(a, "/etc/%s", v[i]);
		ADDF(a, "/etc/%s", v[i]);
	}
out:
	return rc;
}

struct sb_fds {
	int out[2], err[2], info[2], errp[2];
	int passwd, group;
	int in;
};

static int build_argv(const struct sandbox_spec *sp, const struct sb_fds *f,
		      int root, struct sandbox_strv *a)
{
	uint64_t tmp_bytes = mib(sp->lim->file_mb);
	int rc = 0;

	ADD(a, "bwrap");
	ADD(a, "--unshare-all");
	if (sp->network)
		ADD(a, "--share-net");
	ADD(a, "--unshare-user");
	ADD(a, "--disable-userns");
	ADD(a, "--die-with-parent");
	ADD(a, "--new-session");
	ADD(a, "--as-pid-1");
	ADD(a, "--hostname");
	ADD(a, "sandbox");
	ADD(a, "--ro-bind");
	ADD(a, "/usr");
	ADD(a, "/usr");
	if ((rc = add_root_links(a)))
		goto out;
	rc = add_etc(a, etc_files, sizeof(etc_files) / sizeof(*etc_files));
	if (rc)
		goto out;
	if (sp->network &&
	    (rc = add_etc(a, etc_net, sizeof(etc_net) / sizeof(*etc_net))))
		goto out;
	ADD(a, "--ro-bind-data");
	ADDF(a, "%d", f->passwd);
	ADD(a, "/etc/passwd");
	ADD(a, "--ro-bind-data");
	ADDF(a, "%d", f->group);
	ADD(a, "/etc/group");
	ADD(a, "--proc");
	ADD(a, "/proc");
	ADD(a, "--dev");
	ADD(a, "/dev");
	ADD(a, "--size");
	ADDF(a, "%llu", (unsigned long long)tmp_bytes);
	ADD(a, "--tmpfs");
	ADD(a, "/dev/shm");
	ADD(a, "--remount-ro");
	ADD(a, "/dev");
	ADD(a, "--size");
	ADDF(a, "%llu", (unsigned long long)tmp_bytes);
	ADD(a, "--tmpfs");
	ADD(a, "/tmp");
	ADD(a, "--bind");
	ADD(a, root ? SB_WORK_MNT : sp->work);
	ADD(a, "/work");
	for (size_t i = 0; !root && i < sp->nfiles; i++) {
		ADD(a, "--ro-bind");
		ADD(a, sp->files[i].src);
		ADDF(a, "/work/%s", sp->files[i].rel);
	}
	ADD(a, "--remount-ro");
	ADD(a, "/");
	ADD(a, "--chdir");
	ADD(a, "/work");
	ADD(a, "--info-fd");
	ADDF(a, "%d", f->info[1]);
	ADD(a, "--");
	for (char *const *p = sp->argv; *p; p++)
		ADD(a, *p);
out:
	return rc;
}

/* The user's name for USER and /etc/passwd, or "user" when it would not
 * fit in a passwd line. */
static const char *user_name(const struct sandbox_spec *sp)
{
	const char *u = sp->user;

	if (!u || !*u || strlen(u) > 64)
		return "user";
	for (const char *p = u; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == ':' || *p == 0x7f)
			return "user";
	return u;
}

static int build_env(const struct sandbox_spec *sp, struct sandbox_strv *e)
{
	const char *user = user_name(sp);
	int rc = 0;

	ADD(e, "PATH=/usr/bin:/bin");
	ADD(e, "HOME=/work");
	ADD(e, "TMPDIR=/tmp");
	ADD(e, "LANG=C.UTF-8");
	ADDF(e, "USER=%s", user);
	ADDF(e, "LOGNAME=%s", user);
	ADD(e, "OPENBLAS_NUM_THREADS=1");
	ADD(e, "OMP_NUM_THREADS=1");
	ADD(e, "MKL_NUM_THREADS=1");
	ADD(e, "MPLBACKEND=Agg");
	ADD(e, "MPLCONFIGDIR=/tmp");
	ADD(e, "PYTHONDONTWRITEBYTECODE=1");
	for (char *const *p = sp->env; p && *p; p++)
		ADD(e, *p);
out:
	return rc;
}

/* A memfd holding `len` bytes of `data`, at offset 0, close-on-exec. */
static int memfd_with(const char *name, const char *data, size_t len)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	size_t off = 0;

	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;

			close(fd);
			return -e;
		}
		off += (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

/* /etc/passwd and /etc/group of the sandbox: the user, and nobody. */
static int make_id_files(const struct sandbox_spec *sp, struct sb_fds *f)
{
	const char *user = user_name(sp);
	char pw[512], gr[512];
	int n, m;

	n = snprintf(pw, sizeof(pw),
		     "%s:x:%u:%u::/work:/bin/sh\n"
		     "nobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n",
		     user, (unsigned)sp->uid, (unsigned)sp->gid);
	m = snprintf(gr, sizeof(gr), "%s:x:%u:\nnogroup:x:65534:\n",
		     sp->gid == sp->uid ? user : "users", (unsigned)sp->gid);
	if (n < 0 || (size_t)n >= sizeof(pw) || m < 0 ||
	    (size_t)m >= sizeof(gr))
		return -ENAMETOOLONG;
	f->passwd = memfd_with("passwd", pw, (size_t)n);
	if (f->passwd < 0)
		return f->passwd;
	f->group = memfd_with("group", gr, (size_t)m);
	if (f->group < 0)
		return f->group;
	return 0;
}

/* The user's supplementary groups (the primary one at least). */
static int user_groups(const struct sandbox_spec *sp, gid_t **out,
		       size_t *n)
{
	int cap = 64, got;
	gid_t *g = NULL;

	for (;;) {
		gid_t *ng = realloc(g, (size_t)cap * sizeof(*g));

		if (!ng) {
			free(g);
			return -ENOMEM;
		}
		g = ng;
		got = cap;
		if (!sp->user || !*sp->user) {
			g[0] = sp->gid;
			got = 1;
			break;
		}
		if (getgrouplist(sp->user, sp->gid, g, &got) >= 0)
			break;
		if (got <= cap || cap >= SB_MAX_GROUPS) {
			/* Unknown user or silly numbers: the gid alone. */
			g[0] = sp->gid;
			got = 1;
			break;
		}
		cap = got > SB_MAX_GROUPS ? SB_MAX_GROUPS : got;
	}
	*out = g;
	*n = (size_t)got;
	return 0;
}

static void set_rlimits(const struct runner_limits *lim, struct sb_child *x)
{
	static const int res[SB_NRLIM] = {
		RLIMIT_AS, RLIMIT_CPU, RLIMIT_NPROC, RLIMIT_FSIZE, RLIMIT_CORE,
	};
	double cpu = lim->cpu_s;
	rlim_t want[SB_NRLIM][2];

	if (!(cpu >= 1))	/* also NaN */
		cpu = 1;
	if (cpu > 1e9)
		cpu = 1e9;
	if (cpu > (double)(rlim_t)cpu)	/* round up, without libm */
		cpu = (double)((rlim_t)cpu + 1);
	want[0][0] = want[0][1] = lim->memory_mb ? mib(lim->memory_mb) :
						   RLIM_INFINITY;
	want[1][0] = (rlim_t)cpu;
	want[1][1] = (rlim_t)cpu + 1;
	want[2][0] = want[2][1] = lim->procs ? lim->procs : RLIM_INFINITY;
	want[3][0] = want[3][1] = mib(lim->file_mb);
	want[4][0] = want[4][1] = 0;
	for (int i = 0; i < SB_NRLIM; i++) {
		struct rlimit cur;

		x->rlres[i] = res[i];
		x->rl[i].rlim_cur = want[i][0];
		x->rl[i].rlim_max = want[i][1];
		/* Never above the daemon's own hard limit (raising it
		 * would fail once the uid is dropped). */
		if (getrlimit(res[i], &cur) == 0 &&
		    cur.rlim_max != RLIM_INFINITY) {
			if (x->rl[i].rlim_max > cur.rlim_max)
				x->rl[i].rlim_max = cur.rlim_max;
			if (x->rl[i].rlim_cur > x->rl[i].rlim_max)
				x->rl[i].rlim_cur = x->rl[i].rlim_max;
		}
	}
}

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

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void fds_release(struct sb_fds *f)
{
	for (int i = 0; i < 2; i++) {
		close_fd(&f->out[i]);
		close_fd(&f->err[i]);
		close_fd(&f->info[i]);
		close_fd(&f->errp[i]);
	}
	close_fd(&f->passwd);
	close_fd(&f->group);
	close_fd(&f->in);
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
	if ((rc = make_id_files(sp, f))) {
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
	/* The input files: regular files, not links (the child binds them
	 * as root, bwrap as the user otherwise). */
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

/* --- monitoring -------------------------------------------------------- */

struct sb_mon {
	const struct sandbox_spec *sp;
	struct sandbox_ctl *ctl;
	pid_t pid;		/* bwrap, our child */
	int pidfd;
	pid_t inner;		/* the command, pid 1 of the sandbox */
	int inner_fd;		/* its pidfd, once known */
	int rd[2];		/* stdout, stderr pipes (read ends) */
	int file[2];		/* stdout_path, stderr_path */
	int info;
	struct buf infobuf;
	uint64_t cap, total, written;
	double t0, deadline, kill_at, force_at, term_again;
	int killed, term_sent, exited, warned;
	enum sandbox_end end;
};

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Kill the sandbox: SIGKILL to its pid 1 takes the whole pid namespace
 * down and bwrap, its parent, reaps it and exits; bwrap itself is killed
 * only when the command is not known yet, or bwrap lingers. */
static void mon_kill(struct sb_mon *m, enum sandbox_end why)
{
	if (m->end == SANDBOX_EXITED)
		m->end = why;
	if (m->killed)
		return;
	m->killed = 1;
	if (m->inner_fd >= 0 &&
	    pidfd_send_signal(m->inner_fd, SIGKILL, NULL, 0) == 0) {
		m->force_at = mono_now() + SB_KILL_WAIT_S;
		return;
	}
	kill(m->pid, SIGKILL);	/* not reaped yet: the pid is ours */
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
		else if (mono_now() + grace < m->kill_at)
			m->kill_at = mono_now() + grace;
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
	m->kill_at = mono_now() + grace;
	m->term_again = mono_now() + SB_TERM_AGAIN_S;
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
			close_fd(&m->rd[which]);
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
			close_fd(&m->info);
			break;
		}
		if (buf_append(&m->infobuf, chunk, (size_t)n)) {
			close_fd(&m->info);
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
		close_fd(&m->inner_fd);
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

static void mon_loop(struct sb_mon *m)
{
	while (!m->exited) {
		struct pollfd pf[5];
		int n = 0, wait_ms = 1000, t, ipipe[2] = { -1, -1 };
		int iinfo = -1, ictl = -1, ipid;
		double now = mono_now();

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
		if (poll(pf, (nfds_t)n, wait_ms) < 0) {
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
	double stop = mono_now() + SB_DRAIN_S;

	while (m->rd[0] >= 0 || m->rd[1] >= 0) {
		struct pollfd pf[2];
		int n = 0, idx[2] = { -1, -1 };
		double now = mono_now();

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

/* The child failed before exec (read from the status pipe); reap it. */
static int child_failed(struct sandbox_result *res, pid_t pid,
			const struct sb_err *e)
{
	int status;
	const char *what = "cannot start the sandbox";

	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (e->step >= 0 && e->step <= STEP_EXEC)
		what = step_names[e->step];
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

/* "\\040" and friends in /proc/self/mountinfo back to bytes, in place. */
static void mountinfo_unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 |
				      (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = '\0';
}

/* The mount points of every FUSE filesystem (this daemon's mount among
 * them), from /proc/self/mountinfo: "ID PARENT MAJ:MIN ROOT POINT OPTS
 * [TAGS...] - FSTYPE SOURCE SUPEROPTS". */
static int fuse_mounts(struct sandbox_strv *out)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;

	if (!f)
		return 0;	/* no /proc: nothing we can do here */
	while (!rc && getline(&line, &cap, f) > 0) {
		char *save = NULL, *tok, *point = NULL;
		int field = 0, after_dash = 0;

		for (tok = strtok_r(line, " \n", &save); tok;
		     tok = strtok_r(NULL, " \n", &save), field++) {
			if (field == 4)
				point = tok;
			if (after_dash) {
				if (point && (!strcmp(tok, "fuse") ||
					      !strncmp(tok, "fuse.", 5))) {
					mountinfo_unescape(point);
					rc = sandbox_strv_add(out, point);
				}
				break;
			}
			if (field > 5 && !strcmp(tok, "-"))
				after_dash = 1;
		}
	}
	free(line);
	fclose(f);
	return rc;
}

static int prepare_child(const struct sandbox_spec *sp, int root,
			 struct sb_fds *f, struct sb_child *x,
			 struct sandbox_strv *mnt)
{
	struct rlimit nofile;
	int rc = 0;

	x->in_fd = f->in;
	x->out_fd = f->out[1];
	x->err_fd = f->err[1];
	x->errpipe = f->errp[1];
	x->keep[0] = f->info[1];
	x->keep[1] = f->passwd;
	x->keep[2] = f->group;
	x->keep[3] = f->errp[1];
	x->nkeep = 4;
	for (int i = 0; i < x->nkeep; i++)	/* sort, four items */
		for (int j = i + 1; j < x->nkeep; j++)
			if (x->keep[j] < x->keep[i]) {
				int t = x->keep[i];

				x->keep[i] = x->keep[j];
				x->keep[j] = t;
			}
	x->maxfd = 65535;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 &&
	    nofile.rlim_cur < 65536)
		x->maxfd = (int)nofile.rlim_cur;
	x->root = root;
	x->uid = sp->uid;
	x->gid = sp->gid;
	x->parent = getpid();
	x->work = sp->work;
	memset(&x->dfl, 0, sizeof(x->dfl));
	x->dfl.sa_handler = SIG_DFL;
	sigemptyset(&x->empty);
	set_rlimits(sp->lim, x);
	if (root && (rc = user_groups(sp, &x->groups, &x->ngroups)))
		return rc;
	/* The sources (checked to be files by open_fds()), room for their
	 * /proc/self/fd/N, and the mount points in the work folder. */
	for (size_t i = 0; root && i < sp->nfiles; i++) {
		if ((rc = sandbox_strv_add(&mnt[0], sp->files[i].src)) ||
		    (rc = sandbox_strv_add(&mnt[1],
					   "/proc/self/fd/0123456789ab")) ||
		    (rc = sandbox_strv_addf(&mnt[2], "%s/%s", sp->work,
					    sp->files[i].rel)))
			return rc;
	}
	x->mnt_src = mnt[0].v;
	x->mnt_buf = mnt[1].v;
	x->mnt_dst = mnt[2].v;
	x->nmnt = mnt[0].n;
	if (root && (rc = fuse_mounts(&mnt[3])))
		return rc;
	x->hide = mnt[3].v;
	x->nhide = mnt[3].n;
	return 0;
}

static int start(const struct sandbox_spec *sp, struct sb_fds *f,
		 struct sb_child *x, struct sb_mon *m,
		 struct sandbox_result *res)
{
	struct sb_err e;
	ssize_t n;
	pid_t pid;

	clock_gettime(CLOCK_REALTIME, &res->start);
	m->t0 = mono_now();
	pid = fork();
	if (pid < 0) {
		int rc = -errno;

		snprintf(res->setup_err, sizeof(res->setup_err),
			 "cannot fork: %s", strerror(-rc));
		clock_gettime(CLOCK_REALTIME, &res->stop);
		return rc == -ENOMEM ? rc : 0;
	}
	if (pid == 0)
		child_main(x);
	close_fd(&f->out[1]);
	close_fd(&f->err[1]);
	close_fd(&f->info[1]);
	close_fd(&f->errp[1]);
	close_fd(&f->passwd);
	close_fd(&f->group);
	close_fd(&f->in);
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

static void finish(struct sb_mon *m, struct sandbox_result *res)
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
	res->wall_s = mono_now() - m->t0;
	fill_status(res, status, &ru);
	res->end = m->end;
	res->out_bytes = m->total;
}

int sandbox_run(const struct sandbox_spec *sp, struct sandbox_ctl *ctl,
		struct sandbox_result *res)
{
	struct sandbox_strv argv, env, mnt[4];
	struct sb_fds f = { { -1, -1 }, { -1, -1 }, { -1, -1 }, { -1, -1 },
			    -1, -1, -1 };
	struct sb_child x;
	struct sb_mon m;
	int root = geteuid() == 0, rc;

	memset(res, 0, sizeof(*res));
	memset(&x, 0, sizeof(x));
	memset(&m, 0, sizeof(m));
	res->exit_code = -1;
	m.sp = sp;
	m.ctl = ctl;
	m.pidfd = m.inner_fd = m.info = -1;
	m.rd[0] = m.rd[1] = m.file[0] = m.file[1] = -1;
	buf_init(&m.infobuf, 4096);
	m.cap = mib(sp->lim->output_mb);
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
	if ((rc = build_argv(sp, &f, root, &argv)) ||
	    (rc = build_env(sp, &env)) ||
	    (rc = prepare_child(sp, root, &f, &x, mnt)))
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
	mon_loop(&m);
	finish(&m, res);
out:
	if (rc && !res->setup_err[0])
		snprintf(res->setup_err, sizeof(res->setup_err),
			 "cannot start the sandbox: %s", strerror(-rc));
	close_fd(&m.pidfd);
	close_fd(&m.inner_fd);
	close_fd(&m.rd[0]);
	close_fd(&m.rd[1]);
	close_fd(&m.info);
	close_fd(&m.file[0]);
	close_fd(&m.file[1]);
	buf_release(&m.infobuf);
	fds_release(&f);
	free(x.groups);
	sandbox_strv_release(&argv);
	sandbox_strv_release(&env);
	for (int i = 0; i < 4; i++)
		sandbox_strv_release(&mnt[i]);
	return rc;
}

/* --- the work folder --------------------------------------------------- */

int sandbox_work_mount(const char *work, uint64_t size_mb, uid_t uid,
		       gid_t gid, char *err, size_t errlen)
{
	char opts[160], esc[256];
	int rc;

	if (geteuid() != 0)
		return 0;
	if (!size_mb || size_mb > (UINT64_MAX >> 20))
		return -EINVAL;
	/* nr_inodes: empty files cost memory that size= does not count. */
	snprintf(opts, sizeof(opts),
		 "size=%llum,nr_inodes=32768,mode=0700,uid=%u,gid=%u",
		 (unsigned long long)size_mb, (unsigned)uid, (unsigned)gid);
	if (mount("llmunix-work", work, "tmpfs", MS_NOSUID | MS_NODEV, opts)) {
		rc = -errno;
		snprintf(err, errlen,
			 "cannot mount a tmpfs on the work folder '%s': %s",
			 log_escape(esc, sizeof(esc), work), strerror(-rc));
		return rc;
	}
	return 0;
}

int sandbox_open_beneath(int dirfd, const char *rel, int flags)
{
	char comp[NAME_MAX + 1];
	const char *p = rel;
	int cur = dirfd, rc;

	if (!rel || !*rel || *rel == '/')
		return -EINVAL;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		int next;

		if (len == 0 || len > NAME_MAX) {
			rc = -EINVAL;
			goto out;
		}
		memcpy(comp, p, len);
		comp[len] = '\0';
		if (!strcmp(comp, ".") || !strcmp(comp, "..")) {
			rc = -EINVAL;
			goto out;
		}
		if (!slash) {
			rc = openat(cur, comp, flags | O_CLOEXEC | O_NOFOLLOW);
			if (rc < 0)
				rc = -errno;
			goto out;
		}
		next = openat(cur, comp,
			      O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			rc = -errno;
			goto out;
		}
		if (cur != dirfd)
			close(cur);
		cur = next;
		p = slash + 1;
	}
out:
	if (cur != dirfd)
		close(cur);
	return rc;
}

int sandbox_read_beneath(int dirfd, const char *rel, size_t cap,
			 struct buf *out)
{
	char chunk[65536];
	size_t got = 0;
	struct stat st;
	int fd, rc = 0;

	fd = sandbox_open_beneath(dirfd, rel, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st)) {
		rc = -errno;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto out_close;
	}
	if ((uint64_t)st.st_size > cap) {
		rc = -EFBIG;
		goto out_close;
	}
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > cap) {
			rc = -EFBIG;
			break;
		}
		if ((rc = buf_append(out, chunk, (size_t)n)))
			break;
	}
out_close:
	close(fd);
	return rc;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int sandbox_write_at(int dirfd, const char *name, const void *data,
		     size_t len, mode_t mode)
{
	int fd, rc;

	fd = openat(dirfd, name,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	rc = write_all(fd, data, len);
	if (!rc && fchmod(fd, mode))
		rc = -errno;
	if (close(fd) && !rc)
		rc = -errno;
	return rc;
}

/* --- copying out/ ------------------------------------------------------ */

#define COPY_MAX_DEPTH 32

struct copy_ctx {
	size_t files, max_files;
	uint64_t bytes, max_bytes;
	char *err;
	size_t errlen;
};

static int copy_file(struct copy_ctx *cx, int sfd, int dfd, const char *name)
{
	char chunk[65536];
	struct stat st;
	int in, out, rc = 0;

	in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (in < 0)
		return -errno;
	if (fstat(in, &st) || !S_ISREG(st.st_mode)) {
		close(in);
		return 0;	/* changed under us: not a file any more */
	}
	out = openat(dfd, name,
		     O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		     0644);
	if (out < 0) {
		rc = -errno;
		goto out_in;
	}
	for (;;) {
		ssize_t n = read(in, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		cx->bytes += (uint64_t)n;
		if (cx->bytes > cx->max_bytes) {
			snprintf(cx->err, cx->errlen,
				 "out/ holds more than %llu bytes (the rest "
				 "was not copied)",
				 (unsigned long long)cx->max_bytes);
			rc = -EFBIG;
			break;
		}
		if ((rc = write_all(out, chunk, (size_t)n)))
			break;
	}
	if (close(out) && !rc)
		rc = -errno;
	if (rc == -EFBIG)
		unlinkat(dfd, name, 0);
out_in:
	close(in);
	return rc;
}

/* Copy the folder `sfd` into `dfd`; takes `sfd` (closed on return). */
static int copy_dir(struct copy_ctx *cx, int sfd, int dfd, int depth)
{
	struct dirent *de;
	DIR *d = fdopendir(sfd);
	int rc = 0;

	if (!d) {
		rc = -errno;
		close(sfd);
		return rc;
	}
	while (!rc && (errno = 0, de = readdir(d))) {
		const char *name = de->d_name;
		struct stat st;
		int sub, dsub;

		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
			continue;	/* links, FIFOs, sockets, devices */
		if (++cx->files > cx->max_files) {
			snprintf(cx->err, cx->errlen,
				 "out/ holds more than %zu files and folders "
				 "(the rest was not copied)", cx->max_files);
			rc = -EFBIG;
			break;
		}
		if (S_ISREG(st.st_mode)) {
			rc = copy_file(cx, dirfd(d), dfd, name);
			continue;
		}
		if (depth + 1 >= COPY_MAX_DEPTH) {
			snprintf(cx->err, cx->errlen,
				 "out/ has folders nested deeper than %d (the "
				 "rest was not copied)", COPY_MAX_DEPTH);
			rc = -EFBIG;
			break;
		}
		if (mkdirat(dfd, name, 0755) && errno != EEXIST) {
			rc = -errno;
			break;
		}
		sub = openat(dirfd(d), name,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			continue;
		dsub = openat(dfd, name,
			      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dsub < 0) {
			rc = -errno;
			close(sub);
			break;
		}
		rc = copy_dir(cx, sub, dsub, depth + 1);
		close(dsub);
	}
	if (!rc && errno)
		rc = -errno;
	closedir(d);
	return rc;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, len + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

int runner_copy_out(const char *work, const char *dest, size_t max_files,
		    uint64_t max_bytes, char *err, size_t errlen)
{
	struct copy_ctx cx = { 0, max_files, 0, max_bytes, err, errlen };
	int wfd, sfd, dfd, rc;

	if (errlen)
		err[0] = '\0';
	wfd = open(work, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (wfd < 0)
		return -errno;
	rc = mkdir_p(dest, 0755);
	if (rc) {
		snprintf(err, errlen, "cannot create the folder for out/: %s",
			 strerror(-rc));
		goto out_w;
	}
	sfd = openat(wfd, "out", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
				 O_CLOEXEC);
	if (sfd < 0) {
		rc = errno == ENOENT ? 0 : -errno;	/* nothing to copy */
		if (rc)
			snprintf(err, errlen, "out/ is not a folder (the code "
				 "replaced it): %s", strerror(-rc));
		goto out_w;
	}
	dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		rc = -errno;
		close(sfd);
		goto out_w;
	}
	rc = copy_dir(&cx, sfd, dfd, 0);
	close(dfd);
	if (rc && rc != -EFBIG && errlen && !err[0])
		snprintf(err, errlen, "cannot copy out/: %s", strerror(-rc));
out_w:
	close(wfd);
	return rc;
}

/* --- removing the work folder ------------------------------------------ */

#define RM_MAX_DEPTH 64

struct rm_ctx {
	int top;	/* the work folder */
	unsigned seq;
	int moved;	/* a deep folder was moved up to `top` */
	int rc;
};

/* Empty the folder `dfd` (taken, closed on return). Folders deeper than
 * RM_MAX_DEPTH are moved up to the top instead of recursed into, so a
 * hostile tree cannot exhaust the stack or the fds. */
static void rm_contents(struct rm_ctx *cx, int dfd, int depth)
{
	struct dirent *de;
	DIR *d = fdopendir(dfd);

	if (!d) {
		close(dfd);
		return;
	}
	rewinddir(d);	/* a dup of the top shares its offset */
	while ((de = readdir(d))) {
		const char *name = de->d_name;
		char tmp[32];
		int sub;

		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		if (unlinkat(dirfd(d), name, 0) == 0 || errno == ENOENT)
			continue;
		if (errno != EISDIR && errno != EPERM) {
			cx->rc = -errno;
			continue;
		}
		if (depth >= RM_MAX_DEPTH) {
			snprintf(tmp, sizeof(tmp), ".rm.%u", cx->seq++);
			if (renameat(dirfd(d), name, cx->top, tmp) == 0)
				cx->moved = 1;
			else
				cx->rc = -errno;
			continue;
		}
		sub = openat(dirfd(d), name,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0 && errno == EACCES &&
		    fchmodat(dirfd(d), name, 0700, 0) == 0)
			sub = openat(dirfd(d), name, O_RDONLY | O_DIRECTORY |
						     O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			cx->rc = -errno;
			continue;
		}
		rm_contents(cx, sub, depth + 1);
		if (unlinkat(dirfd(d), name, AT_REMOVEDIR) && errno != ENOENT)
			cx->rc = -errno;
	}
	closedir(d);
}

int runner_work_remove(const char *work)
{
	struct rm_ctx cx = { -1, 0, 0, 0 };
	int i;

	/* The tmpfs (and anything under it) goes with its contents. */
	for (i = 0; i < 8; i++)
		if (umount2(work, MNT_DETACH | UMOUNT_NOFOLLOW))
			break;
	cx.top = open(work, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (cx.top < 0)
		return errno == ENOENT ? 0 : -errno;
	for (i = 0; i < 1000; i++) {
		int fd = fcntl(cx.top, F_DUPFD_CLOEXEC, 0);

		if (fd < 0) {
			cx.rc = -errno;
			break;
		}
		cx.moved = 0;
		cx.rc = 0;
		rm_contents(&cx, fd, 0);
		if (!cx.moved)
			break;
	}
	close(cx.top);
	if (rmdir(work) && errno != ENOENT && !cx.rc)
		cx.rc = -errno;
	return cx.rc;
}
