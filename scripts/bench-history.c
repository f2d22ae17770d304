/* scripts/bench-history.c: the timed parts of scripts/bench-history, on
 * the history engine (core/history/history.h) with no mount.
 *
 *   bench-history make STATE N      a repository STATE/history/user/bench.git
 *                                   with N commits (git fast-import), one
 *                                   file changed in each, ten minutes apart
 *   bench-history read STATE REPS   time what history/ will do: open, the
 *                                   log's newest page, names of commits,
 *                                   dates, a tree and a file at the oldest
 *                                   commit; prints "OP MEDIAN_US" lines
 *   bench-history note STATE COUNT  time COUNT history_note() calls (4 KiB
 *                                   writes) as the request path makes them,
 *                                   with the writer idle, then committing
 *
 * Times are CLOCK_MONOTONIC; each read operation is repeated REPS times
 * and the median reported. Any failure prints a message on stderr and
 * exits 1: a broken engine never shows up as a fast one.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/history/history.h"
#include "core/store/blob_local.h"
#include "core/util/log.h"

#define VOL "user/bench"
#define FILES 200		/* files the commits change, in 20 folders */
#define START 1704067200	/* 2024-01-01T00:00:00Z */
#define STEP 600		/* seconds between commits */

/* Say what failed (and why, when rc is an errno) and exit 1. */
static void die(int rc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
static void die(int rc, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bench-history: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (rc)
		fprintf(stderr, ": %s", strerror(rc < 0 ? -rc : rc));
	fputc('\n', stderr);
	exit(1);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- make ---- */

static int make_repo(const char *state, long n)
{
	char dir[4096], gd[4200];
	int p[2], status;
	FILE *f;
	pid_t pid;

	snprintf(dir, sizeof(dir), "%s/history/user/bench.git", state);
	snprintf(gd, sizeof(gd), "--git-dir=%s", dir);
	pid = fork();
	if (pid == 0) {
		execlp("git", "git", "init", "--quiet", "--bare",
		       "--initial-branch=main", dir, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || status != 0)
		die(0, "git init %s failed", dir);
	if (pipe(p) < 0)
		die(errno, "pipe");
	pid = fork();
	if (pid == 0) {
		dup2(p[0], 0);
		close(p[0]);
		close(p[1]);
		execlp("git", "git", gd, "fast-import", "--quiet",
		       (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	f = fdopen(p[1], "w");
	if (!f)
		die(errno, "fdopen");
	for (long i = 0; i < n; i++) {
		char path[64], msg[96], data[128];
		long t = START + i * STEP;

		snprintf(path, sizeof(path), "skills/d%02ld/f%03ld.md",
			 (i % FILES) % 20, i % FILES);
		snprintf(msg, sizeof(msg), "%s %s\n",
			 i < FILES ? "add" : "update", path);
		snprintf(data, sizeof(data),
			 "---\nname: f%03ld\n---\nversion %ld\n", i % FILES, i);
		fprintf(f,
			"commit refs/heads/main\n"
			"author Bench <bench@host> %ld +0000\n"
			"committer llmunixfs <llmunixfs@host> %ld +0000\n"
			"data %zu\n%s"
			"M 100644 inline %s\ndata %zu\n%s\n",
			t, t, strlen(msg), msg, path, strlen(data), data);
	}
	if (fclose(f) != 0 || waitpid(pid, &status, 0) < 0 || status != 0)
		die(0, "git fast-import into %s failed", dir);
	return 0;
}

/* ---- read ---- */

struct bench {
	struct blob *blob;
	struct history_source *src;
	struct history *h;
	struct history_config cfg;
};

static void bench_open(struct bench *b, const char *state, unsigned quiet)
{
	int rc = blob_local_open(&b->blob, state);

	if (!rc)
		rc = history_source_blob_new(&b->src, b->blob);
	if (rc)
		die(rc, "cannot open the store in %s", state);
	memset(&b->cfg, 0, sizeof(b->cfg));
	b->cfg.state_dir = state;
	b->cfg.src = b->src;
	b->cfg.host = "bench.host";
	b->cfg.quiet_ms = quiet;
	rc = history_open(&b->h, &b->cfg);
	if (rc)
		die(rc, "history_open %s", state);
}

static void bench_close(struct bench *b)
{
	history_close(b->h);
	b->src->ops->free(b->src);
	b->blob->ops->free(b->blob);
}

static int count_cb(void *arg, const struct history_commit *c)
{
	(void)c;
	++*(size_t *)arg;
	return 0;
}

static int day_cb(void *arg, const struct history_day *d)
{
	(void)d;
	++*(size_t *)arg;
	return 0;
}

static int entry_cb(void *arg, const struct history_entry *e)
{
	(void)e;
	++*(size_t *)arg;
	return 0;
}

enum op {
	OP_OPEN, OP_LOG, OP_LOG_MID, OP_HEAD_N, OP_PREFIX7, OP_PREFIX4,
	OP_AT, OP_DAYS, OP_LIST_OLD, OP_READ_OLD, OP_FILE_LOG, OP_NR
};

static const char *const op_name[OP_NR] = {
	"open+count", "log-newest-10", "log-middle-10", "resolve-HEAD~oldest",
	"resolve-prefix-7", "resolve-prefix-4", "at-date", "list-days",
	"list-tree-oldest", "read-file-oldest", "file-log-10",
};

static void check(int rc, const char *what)
{
	if (rc && rc != -ENOTUNIQ)
		die(rc, "%s failed", what);
}

static double time_op(struct bench *b, enum op op,
		      uint64_t n, const char *mid_hex)
{
	struct history_id id;
	struct buf out;
	char spec[64];
	uint64_t cursor = HISTORY_NEWEST;
	size_t k = 0;
	double t0 = now_us();

	buf_init(&out, 0);
	switch (op) {
	case OP_OPEN:
		/* What the first look at history/ costs after a start: open
		 * the history, the volume's repository and commit list. */
		history_close(b->h);
		t0 = now_us();
		check(history_open(&b->h, &b->cfg), "history_open");
		check(history_count(b->h, VOL, &n), "count");
		break;
	case OP_LOG:
		check(history_log(b->h, VOL, 0, 10, HISTORY_FILES, count_cb, &k),
		      "log");
		break;
	case OP_LOG_MID:
		check(history_log(b->h, VOL, n / 2, 10, HISTORY_FILES, count_cb,
				  &k), "log middle");
		break;
	case OP_HEAD_N:
		snprintf(spec, sizeof(spec), "HEAD~%llu",
			 (unsigned long long)(n - 1));
		check(history_resolve(b->h, VOL, spec, &id), spec);
		break;
	case OP_PREFIX7:
	case OP_PREFIX4:
		snprintf(spec, sizeof(spec), "%.*s", op == OP_PREFIX7 ? 7 : 4,
			 mid_hex);
		check(history_resolve(b->h, VOL, spec, &id), spec);
		break;
	case OP_AT:
		check(history_at(b->h, VOL,
				 (time_t)(START + (int64_t)(n / 2) * STEP), &id),
		      "at");
		break;
	case OP_DAYS:
		check(history_days(b->h, VOL, day_cb, &k), "days");
		break;
	case OP_LIST_OLD:
	case OP_READ_OLD:
		snprintf(spec, sizeof(spec), "HEAD~%llu",
			 (unsigned long long)(n - 1));
		check(history_resolve(b->h, VOL, spec, &id), spec);
		if (op == OP_LIST_OLD)
			check(history_list(b->h, VOL, &id, "skills/d00",
					   entry_cb, &k), "list");
		else
			check(history_read(b->h, VOL, &id,
					   "skills/d00/f000.md", &out), "read");
		break;
	case OP_FILE_LOG:
		check(history_file_log(b->h, VOL, "skills/d00/f000.md", &cursor,
				       10, 0, 0, count_cb, &k), "file log");
		break;
	default:
		break;
	}
	buf_release(&out);
	return now_us() - t0;
}

static int bench_read(const char *state, int reps)
{
	double *t = calloc((size_t)reps, sizeof(*t)), first;
	char mid_hex[HISTORY_HEX], spec[64], keep_dir[4200];
	struct history_id id;
	struct bench b, keep;
	uint64_t n = 0;
	int rc;

	if (!t)
		die(ENOMEM, "out of memory");
	/* The daemon keeps its history open for its life, and libgit2 set
	 * up with it: a second one on a folder of its own does that here. */
	snprintf(keep_dir, sizeof(keep_dir), "%s/keep", state);
	if (mkdir(keep_dir, 0700) < 0 && errno != EEXIST)
		die(errno, "mkdir %s", keep_dir);
	bench_open(&keep, keep_dir, 0);
	/* The first open builds the commit list of a repository it did not
	 * make: timed apart. */
	first = now_us();
	bench_open(&b, state, 0);
	rc = history_count(b.h, VOL, &n);
	first = now_us() - first;
	if (rc || n == 0)
		die(rc, "no commits in %s", state);
	printf("first-open %.1f\n", first);
	snprintf(spec, sizeof(spec), "HEAD~%llu", (unsigned long long)(n / 2));
	check(history_resolve(b.h, VOL, spec, &id), spec);
	history_id_hex(&id, mid_hex);
	for (int op = 0; op < OP_NR; op++) {
		for (int r = 0; r < reps; r++)
			t[r] = time_op(&b, (enum op)op, n, mid_hex);
		printf("%s %.1f\n", op_name[op], median(t, (size_t)reps));
	}
	bench_close(&b);
	bench_close(&keep);
	free(t);
	return 0;
}

/* ---- note ---- */

/* `gap_us`: a pause between notes (not timed), so that the writer
 * commits while they come. */
static void note_round(struct bench *b, int count, const char *dir,
		       const char *label, long gap_us)
{
	struct timespec gap = { 0, gap_us * 1000 };
	static char data[4096];
	double *t = calloc((size_t)count, sizeof(*t)), total = 0, t0;
	struct history_author a = { .uid = 1000, .user = "bench",
				    .tool = "bench" };
	struct history_change c = { .op = HISTORY_WRITE, .data = data,
				    .len = sizeof(data), .mode = 0644 };

	if (!t)
		die(ENOMEM, "out of memory");
	memset(data, 'x', sizeof(data));
	for (int i = 0; i < count; i++) {
		char path[128];
		int rc;

		snprintf(path, sizeof(path), "skills/%s/f%05d.md", dir, i);
		c.path = path;
		t0 = now_us();
		rc = history_note(b->h, VOL, &a, &c);
		t[i] = now_us() - t0;
		if (rc)
			die(rc, "history_note %s", path);
		total += t[i];
		if (gap_us)
			nanosleep(&gap, NULL);
	}
	qsort(t, (size_t)count, sizeof(*t), cmp_double);
	printf("note-%s median_us %.2f p99_us %.2f max_us %.1f total_ms %.2f\n",
	       label, median(t, (size_t)count), t[(size_t)count * 99 / 100],
	       t[count - 1], total / 1000);
	free(t);
}

static int bench_note(const char *state, int count)
{
	struct bench b;
	uint64_t n = 0;
	double t0;
	int rc;

	bench_open(&b, state, 1000);
	note_round(&b, count, "idle", "writer-idle", 0);
	t0 = now_us();
	rc = history_flush(b.h);
	if (rc)
		die(rc, "flush");
	printf("commit-%d-changes_ms %.1f\n", count, (now_us() - t0) / 1000);
	bench_close(&b);
	/* Again while the writer commits all the time. */
	b.cfg.quiet_ms = 1;
	bench_open(&b, state, 1);
	note_round(&b, count, "busy", "writer-busy", 200);
	rc = history_flush(b.h);
	if (!rc)
		rc = history_count(b.h, VOL, &n);
	if (rc)
		die(rc, "flush");
	printf("commits-made %llu\n", (unsigned long long)n);
	bench_close(&b);
	return 0;
}

/* A count from the command line, 1 .. 10,000,000. */
static long count_arg(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < 1 || v > 10000000)
		die(0, "'%s' is not a count (1 to 10000000)", s);
	return v;
}

int main(int argc, char **argv)
{
	log_set_level(LOG_LVL_WARN);
	if (argc == 4 && strcmp(argv[1], "make") == 0)
		return make_repo(argv[2], count_arg(argv[3]));
	if (argc == 4 && strcmp(argv[1], "read") == 0)
		return bench_read(argv[2], (int)count_arg(argv[3]));
	if (argc == 4 && strcmp(argv[1], "note") == 0)
		return bench_note(argv[2], (int)count_arg(argv[3]));
	fprintf(stderr, "usage: bench-history make STATE N | read STATE REPS | "
		"note STATE COUNT\n");
	return 2;
}
