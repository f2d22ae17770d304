/* tests/unit/unit.h: a tiny test framework for the unit tests of core/.
 *
 * Each check prints one line, "ok - DESC" or "not ok - DESC" followed by
 * "#   ..." lines saying what was expected and what came; tests/run counts
 * them. A test program ends with `return unit_done();`, which prints the
 * totals and returns the exit status (1 when a check failed).
 *
 *   CHECK(cond, "desc %s", arg);
 *   CHECK_INT_EQ(expected, actual, "desc");   integers; negative errnos
 *                                             are shown by name
 *   CHECK_STR_EQ(expected, actual, "desc");   NUL-terminated strings
 *   CHECK_MEM_EQ(exp, explen, act, actlen, "desc");
 *
 * Every macro evaluates to 1 when the check passed, so a test can stop
 * early when what follows depends on it. Helpers: unit_note() for
 * comment lines, unit_run_child() to run checks in a child process,
 * unit_tmpdir() and unit_rm_rf() for temporary folders. Everything here
 * is static inline, as the header is included by each test program.
 */
#ifndef LLMUNIX_UNIT_H
#define LLMUNIX_UNIT_H

#include <errno.h>
#include <ftw.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int unit_npass, unit_nfail;

static inline void unit_vline(int ok, const char *fmt, va_list ap)
{
	char desc[512];

	vsnprintf(desc, sizeof(desc), fmt, ap);
	/* One line per check: a newline in a description would break the
	 * count. */
	for (char *p = desc; *p; p++)
		if (*p == '\n')
			*p = ' ';
	printf("%s - %s\n", ok ? "ok" : "not ok", desc);
	if (ok)
		unit_npass++;
	else
		unit_nfail++;
}

static inline int unit_check(int ok, const char *file, int line,
			     const char *expr, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static inline int unit_check(int ok, const char *file, int line,
			     const char *expr, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	unit_vline(ok, fmt, ap);
	va_end(ap);
	if (!ok)
		printf("#   %s:%d: failed: %s\n", file, line, expr);
	fflush(stdout);
	return ok;
}

/* "-EACCES (Permission denied)" for small negative numbers. */
static inline void unit_print_int(const char *what, long long v)
{
	const char *name = NULL;

	if (v < 0 && v > -4096)
		name = strerrorname_np((int)-v);
	if (name)
		printf("#   %s: %lld (-%s: %s)\n", what, v, name,
		       strerror((int)-v));
	else
		printf("#   %s: %lld\n", what, v);
}

static inline int unit_check_int(long long exp, long long act,
				 const char *file, int line, const char *expr,
				 const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
static inline int unit_check_int(long long exp, long long act,
				 const char *file, int line, const char *expr,
				 const char *fmt, ...)
{
	va_list ap;
	int ok = exp == act;

	va_start(ap, fmt);
	unit_vline(ok, fmt, ap);
	va_end(ap);
	if (!ok) {
		printf("#   %s:%d: %s\n", file, line, expr);
		unit_print_int("expected", exp);
		unit_print_int("got     ", act);
	}
	fflush(stdout);
	return ok;
}

static inline void unit_print_mem(const char *what, const char *s,
				  size_t len)
{
	size_t show = len > 200 ? 200 : len;

	if (!s) {
		printf("#   %s: NULL\n", what);
		return;
	}
	printf("#   %s (%zu bytes): \"", what, len);
	for (size_t i = 0; i < show; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
			putchar(ch);
		else
			printf("\\x%02x", ch);
	}
	printf("\"%s\n", show < len ? "..." : "");
}

static inline int unit_check_mem(const char *exp, size_t explen,
				 const char *act, size_t actlen,
				 const char *file, int line, const char *expr,
				 const char *fmt, ...)
	__attribute__((format(printf, 8, 9)));
static inline int unit_check_mem(const char *exp, size_t explen,
				 const char *act, size_t actlen,
				 const char *file, int line, const char *expr,
				 const char *fmt, ...)
{
	va_list ap;
	int ok;

	if (!exp || !act)
		ok = exp == act;
	else
		ok = explen == actlen && memcmp(exp, act, explen) == 0;
	va_start(ap, fmt);
	unit_vline(ok, fmt, ap);
	va_end(ap);
	if (!ok) {
		printf("#   %s:%d: %s\n", file, line, expr);
		unit_print_mem("expected", exp, explen);
		unit_print_mem("got     ", act, actlen);
	}
	fflush(stdout);
	return ok;
}

#define CHECK(cond, ...) \
	unit_check(!!(cond), __FILE__, __LINE__, #cond, __VA_ARGS__)
#define CHECK_INT_EQ(exp, act, ...) \
	unit_check_int((long long)(exp), (long long)(act), __FILE__, \
		       __LINE__, #act " == " #exp, __VA_ARGS__)
#define CHECK_STR_EQ(exp, act, ...) \
	unit_check_str((exp), (act), __FILE__, __LINE__, \
		       #act " == " #exp, __VA_ARGS__)
#define CHECK_MEM_EQ(exp, explen, act, actlen, ...) \
	unit_check_mem((exp), (explen), (act), (actlen), __FILE__, \
		       __LINE__, #act " == " #exp, __VA_ARGS__)

static inline int unit_check_str(const char *exp, const char *act,
				 const char *file, int line, const char *expr,
				 const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
static inline int unit_check_str(const char *exp, const char *act,
				 const char *file, int line, const char *expr,
				 const char *fmt, ...)
{
	va_list ap;
	int ok = (!exp || !act) ? exp == act : strcmp(exp, act) == 0;

	va_start(ap, fmt);
	unit_vline(ok, fmt, ap);
	va_end(ap);
	if (!ok) {
		printf("#   %s:%d: %s\n", file, line, expr);
		unit_print_mem("expected", exp, exp ? strlen(exp) : 0);
		unit_print_mem("got     ", act, act ? strlen(act) : 0);
	}
	fflush(stdout);
	return ok;
}

/* A comment line in the output, for skips and context. */
static inline void unit_note(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline void unit_note(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* Print the totals; the exit status for main(). */
static inline int unit_done(void)
{
	printf("# %d passed, %d failed\n", unit_npass, unit_nfail);
	fflush(stdout);
	return unit_nfail ? 1 : 0;
}

/* Run fn(arg) in a child process, so that a crash there (a sanitizer
 * abort) is reported as a failed check and the rest of the program goes
 * on; the child's checks are added to this process's totals. The child
 * ends with exit(0), so LeakSanitizer checks it too. */
static inline void unit_run_child(void (*fn)(void *), void *arg,
				  const char *what)
{
	int *counts, status = 0;
	pid_t pid;

	counts = mmap(NULL, 2 * sizeof(int), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (counts == MAP_FAILED) {
		unit_check(0, __FILE__, __LINE__, "mmap", "%s: mmap: %s",
			   what, strerror(errno));
		return;
	}
	counts[0] = counts[1] = 0;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		unit_npass = unit_nfail = 0;
		fn(arg);
		fflush(stdout);
		counts[0] = unit_npass;
		counts[1] = unit_nfail;
		exit(0);	/* with the sanitizers' leak check */
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0) {
		unit_check(0, __FILE__, __LINE__, "fork", "%s: fork: %s",
			   what, strerror(errno));
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		unit_check(0, __FILE__, __LINE__, "child exit",
			   "%s: ran to the end (the child died: %s %d)", what,
			   WIFSIGNALED(status) ? "signal" : "exit status",
			   WIFSIGNALED(status) ? WTERMSIG(status) :
						 WEXITSTATUS(status));
		unit_npass += counts[0];
		unit_nfail += counts[1];
	} else {
		unit_npass += counts[0];
		unit_nfail += counts[1];
	}
	munmap(counts, 2 * sizeof(int));
}

/* A new folder /tmp/llmunix-unit-NAME.XXXXXX, written into `out` (at least
 * 64 bytes + strlen(name)); exits on failure, which only start-up may do. */
static inline char *unit_tmpdir(char *out, size_t cap, const char *name)
{
	if ((size_t)snprintf(out, cap, "/tmp/llmunix-unit-%s.XXXXXX", name) >=
	    cap || !mkdtemp(out)) {
		printf("not ok - cannot make a temporary folder for %s: %s\n",
		       name, strerror(errno));
		exit(1);
	}
	return out;
}

static inline int unit_rm_one(const char *path, const struct stat *st,
			      int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* rm -rf PATH (leaves nothing on a failed test run unless UNIT_KEEP=1). */
/* The number of entries of the folder `dir` (without . and ..), or -1
 * when it cannot be read. */
static inline int unit_count_entries(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static inline void unit_rm_rf(const char *path)
{
	const char *keep = getenv("UNIT_KEEP");

	if (keep && strcmp(keep, "1") == 0) {
		unit_note("kept %s", path);
		return;
	}
	nftw(path, unit_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
