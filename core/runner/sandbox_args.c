/* core/runner/sandbox_args.c: what bwrap is given (sandbox_int.h): its argument
 * vector, the environment of the command, and the sandbox's /etc/passwd
 * and /etc/group; the string vectors they are built in (sandbox.h). */
#include "core/runner/sandbox_int.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define STRV_MAX 100000

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

/* --- the command line -------------------------------------------------- */

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

/* What the sandbox sees of the host, read-only: /usr, /bin..., some /etc
 * files; and the made-up /etc/passwd and /etc/group. */
static int add_host(const struct sandbox_spec *sp, const struct sb_fds *f,
		    struct sandbox_strv *a)
{
	int rc = 0;

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
out:
	return rc;
}

int sb_build_argv(const struct sandbox_spec *sp, const struct sb_fds *f,
		  int root, uint64_t nproc, struct sandbox_strv *a)
{
	uint64_t tmp_bytes = sb_mib(sp->lim->file_mb);
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
	if ((rc = add_host(sp, f, a)))
		goto out;
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
	if (nproc) {
		ADD(a, SB_PRLIMIT);
		ADDF(a, "--nproc=%llu:%llu", (unsigned long long)nproc,
		     (unsigned long long)nproc);
		ADD(a, "--");
	}
	for (char *const *p = sp->argv; *p; p++)
		ADD(a, *p);
out:
	return rc;
}

/* --- the environment and the ids --------------------------------------- */

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

int sb_build_env(const struct sandbox_spec *sp, struct sandbox_strv *e)
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
	int fd = memfd_create(name, MFD_CLOEXEC), rc;

	if (fd < 0)
		return -errno;
	rc = sandbox_write_all(fd, data, len);
	if (!rc && lseek(fd, 0, SEEK_SET) < 0)
		rc = -errno;
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}

/* /etc/passwd and /etc/group of the sandbox: the user, and nobody. */
int sb_make_id_files(const struct sandbox_spec *sp, struct sb_fds *f)
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
