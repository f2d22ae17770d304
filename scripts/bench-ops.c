/* scripts/bench-ops.c: the timed operations of scripts/bench-fs.
 *
 * One mode per invocation; each prints the elapsed wall-clock time of the
 * operation (CLOCK_MONOTONIC) in seconds on stdout, and nothing else. Any
 * failure prints a message on stderr and exits 1, so that a broken file
 * system never shows up as a fast one.
 *
 *   bench-ops stat DIR COUNT          stat(2) DIR/f000000 .. COUNT-1
 *   bench-ops read DIR COUNT SIZE     open+read to EOF+close each file;
 *                                     each must hold SIZE bytes
 *   bench-ops create DIR COUNT SIZE   create (O_EXCL) + write SIZE bytes +
 *                                     close each file
 *   bench-ops run CMD [ARG...]        run CMD with stdout on /dev/null and
 *                                     time it until it exits (status 0)
 *
 * File names are "f%06d"; the content is a fixed pattern.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BUF_MAX (1024 * 1024)

static char buf[BUF_MAX];

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: bench-ops stat DIR COUNT\n"
		"       bench-ops read DIR COUNT SIZE\n"
		"       bench-ops create DIR COUNT SIZE\n"
		"       bench-ops run CMD [ARG...]\n");
	return 2;
}

/* parse_count: a decimal in [0, max]; -1 when it is not one. */
static long parse_count(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > max)
		return -1;
	return v;
}

static int file_path(char *out, size_t cap, const char *dir, long i)
{
	int n = snprintf(out, cap, "%s/f%06ld", dir, i);

	if (n < 0 || (size_t)n >= cap) {
		fprintf(stderr, "bench-ops: path too long under '%s'\n", dir);
		return -1;
	}
	return 0;
}

static int op_stat(const char *dir, long count)
{
	char path[PATH_MAX];
	struct stat st;
	long i;

	for (i = 0; i < count; i++) {
		if (file_path(path, sizeof(path), dir, i))
			return -1;
		if (stat(path, &st)) {
			fprintf(stderr, "bench-ops: stat '%s': %s\n", path,
				strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int read_one(const char *path, long size)
{
	long total = 0;
	ssize_t n;
	int fd, err;

	fd = open(path, O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "bench-ops: open '%s': %s\n", path,
			strerror(errno));
		return -1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	err = errno;
	if (close(fd) && n >= 0) {
		n = -1;
		err = errno;
	}
	if (n < 0) {
		fprintf(stderr, "bench-ops: read '%s': %s\n", path,
			strerror(err));
		return -1;
	}
	if (total != size) {
		fprintf(stderr, "bench-ops: '%s' holds %ld bytes, not %ld\n",
			path, total, size);
		return -1;
	}
	return 0;
}

static int write_one(const char *path, long size)
{
	long done = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0) {
		fprintf(stderr, "bench-ops: create '%s': %s\n", path,
			strerror(errno));
		return -1;
	}
	while (done < size) {
		n = write(fd, buf, (size_t)(size - done));
		if (n <= 0) {
			fprintf(stderr, "bench-ops: write '%s': %s\n", path,
				n < 0 ? strerror(errno) : "short write");
			close(fd);
			return -1;
		}
		done += n;
	}
	if (close(fd)) {
		fprintf(stderr, "bench-ops: close '%s': %s\n", path,
			strerror(errno));
		return -1;
	}
	return 0;
}

/* `one` (read_one or write_one) on each of the `count` files in dir. */
static int each_file(const char *dir, long count, long size,
		     int (*one)(const char *path, long size))
{
	char path[PATH_MAX];
	long i;

	for (i = 0; i < count; i++) {
		if (file_path(path, sizeof(path), dir, i) || one(path, size))
			return -1;
	}
	return 0;
}

/* op_run: fork, exec argv with stdout on /dev/null, wait. The time
 * includes fork and exec, as it does for a shell. */
static int op_run(char **argv)
{
	int status, fd;
	pid_t pid;

	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "bench-ops: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		fd = open("/dev/null", O_WRONLY);
		if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
			_exit(127);
		close(fd);
		execvp(argv[0], argv);
		fprintf(stderr, "bench-ops: cannot run '%s': %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "bench-ops: waitpid: %s\n",
				strerror(errno));
			return -1;
		}
	}
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "bench-ops: '%s' killed by signal %d\n",
			argv[0], WTERMSIG(status));
		return -1;
	}
	if (WEXITSTATUS(status)) {
		fprintf(stderr, "bench-ops: '%s' exited with status %d\n",
			argv[0], WEXITSTATUS(status));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	long count = 0, size = 0;
	const char *mode;
	double t0, t1;
	size_t i;
	int ret;

	if (argc < 3)
		return usage();
	mode = argv[1];
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (char)('a' + i % 26);

	if (!strcmp(mode, "run")) {
		/* run -C DIR CMD...: CMD in DIR, as a user who cd'ed there */
		if (argc > 4 && !strcmp(argv[2], "-C")) {
			if (chdir(argv[3])) {
				fprintf(stderr, "bench-ops: cd '%s': %s\n",
					argv[3], strerror(errno));
				return 1;
			}
			argv += 2;
		}
		t0 = now();
		ret = op_run(argv + 2);
		t1 = now();
	} else {
		if (argc < 4)
			return usage();
		count = parse_count(argv[3], 100000000L);
		if (count < 0)
			return usage();
		if (strcmp(mode, "stat")) {
			if (argc != 5)
				return usage();
			size = parse_count(argv[4], 1L << 30);
			if (size < 0)
				return usage();
		} else if (argc != 4) {
			return usage();
		}
		/* Names relative to the folder, as find, ls and rsync
		 * use them (fstatat and openat on the folder). */
		if (chdir(argv[2])) {
			fprintf(stderr, "bench-ops: cd '%s': %s\n", argv[2],
				strerror(errno));
			return 1;
		}
		t0 = now();
		if (!strcmp(mode, "stat"))
			ret = op_stat(".", count);
		else if (!strcmp(mode, "read"))
			ret = each_file(".", count, size, read_one);
		else if (!strcmp(mode, "create"))
			ret = each_file(".", count, size, write_one);
		else
			return usage();
		t1 = now();
	}
	if (ret)
		return 1;
	printf("%.6f\n", t1 - t0);
	return 0;
}
