/*
 * tests/fsop.c: perform one file-system operation and print its outcome, for
 * tests.
 *
 *   fsop [-q] [-u USER] OP PATH [ARG...]
 *
 * Prints "OK" (or, for operations that return data, the data) or the errno
 * name ("EACCES", "ENOENT", ...) on stdout and exits 0 either way, so that
 * shell tests can compare a single word.  Exit status 2 means a usage or
 * setup error (unknown op, missing argument, user not found, failed to drop
 * privileges); the reason goes to stderr.
 *
 * -u USER  first become USER: initgroups(USER, gid), setgid(gid), setuid(uid).
 * -q       print "OK" instead of the data for data-returning operations.
 *
 * fsop -b runs one command a line from stdin, in-process (see batch_one).
 * Run "fsop --help" for the list of operations.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

static int quiet;
static FILE *out;	/* where results go: stdout, or a batch buffer */
static int in_batch;
static jmp_buf batch_usage;

static const char usage_text[] =
	"usage: fsop [-q] [-u USER] OP PATH [ARG...]\n"
	"       fsop -b    (batch: one command a line on stdin, one line out each)\n"
	"prints OK, the data, or the errno name; exit 0 (2 on usage error)\n"
	"operations:\n"
	"  ls PATH                    names in the directory, sorted\n"
	"  read PATH                  content of the file\n"
	"  mmap-read PATH             content, read through mmap(2)\n"
	"  create PATH [DATA]         open O_CREAT|O_EXCL|O_WRONLY 0644, write DATA\n"
	"  write PATH DATA            open O_WRONLY|O_APPEND, write DATA\n"
	"  overwrite PATH DATA        open O_WRONLY|O_TRUNC, write DATA\n"
	"  pwrite PATH OFFSET DATA    open O_WRONLY|O_CREAT, pwrite DATA at OFFSET\n"
	"  open PATH FLAGS            open only; FLAGS letters: r w W(rdwr) c x t a d\n"
	"  truncate PATH N            truncate(2)\n"
	"  ftruncate PATH N           open O_WRONLY, ftruncate(2)\n"
	"  fsync PATH DATA            open O_WRONLY|O_CREAT|O_TRUNC, write, fsync, fdatasync, close\n"
	"  rename PATH DST            rename(2)\n"
	"  rename-noreplace PATH DST  renameat2(RENAME_NOREPLACE)\n"
	"  rename-exchange PATH DST   renameat2(RENAME_EXCHANGE)\n"
	"  unlink PATH | rmdir PATH   unlink(2) | rmdir(2)\n"
	"  mkdir PATH [MODE]          mkdir(2), default mode 0755\n"
	"  setxattr PATH VALUE [NAME] setxattr NAME (default user.test) = VALUE\n"
	"  getxattr PATH NAME         print the value\n"
	"  listxattr PATH             print the names, sorted, one a line\n"
	"  removexattr PATH NAME      removexattr(2)\n"
	"  chmod PATH MODE            chmod(2), MODE octal\n"
	"  chown PATH UID:GID         chown(2), -1 leaves one unchanged\n"
	"  stat PATH                  print the permission bits in octal (0644)\n"
	"  size PATH | owner PATH     print st_size | uid:gid\n"
	"  mtime PATH | type PATH     print st_mtime seconds | file, dir, ...\n"
	"  nlink PATH                 print st_nlink\n"
	"  access PATH R|W|X|F        access(2)\n"
	"  utimes PATH [SECONDS]      utimensat: both times to SECONDS (or now)\n"
	"  statfs PATH                statvfs(2); prints f_namemax\n"
	"  link PATH DST              link(2): new name DST for PATH\n"
	"  symlink PATH TARGET        symlink(2): PATH -> TARGET\n"
	"  mknod-fifo PATH            mknod(2) S_IFIFO 0644\n"
	"  unlink-open PATH           create, write \"first\\n\", unlink, write\n"
	"                             \"second\\n\", read back through the fd\n"
	"  append-check PATH          create \"abc\", two O_APPEND fds after lseek(0)\n"
	"                             write 1, 2, 3; print the content (abc123)\n"
	"  rename-open PATH DST       create, write \"first\\n\", rename to DST, write\n"
	"                             \"second\\n\", close; print DST's content\n"
	"  fsync-ro PATH              open O_RDONLY (file or dir), fsync\n"
	"  open-path PATH             open O_PATH: resolve the path, nothing more\n"
	"  ino PATH                   print st_ino\n"
	"  rename-atomic DIR N        N renames of a new version over DIR/target\n"
	"                             while a child re-reads it; OK or BAD: why\n";

__attribute__((noreturn)) static void usage(void)
{
	if (in_batch)
		longjmp(batch_usage, 1);
	fputs(usage_text, stderr);
	exit(2);
}

static const char *errname(int e)
{
	const char *n = strerrorname_np(e);
	static char buf[32];

	if (n)
		return n;
	snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}

/* Print the outcome of an operation: "OK" or the errno name. */
static int result(int rc)
{
	if (rc < 0)
		fprintf(out, "%s\n", errname(errno));
	else
		fprintf(out, "OK\n");
	return 0;
}

static int fail_errno(void)
{
	fprintf(out, "%s\n", errname(errno));
	return 0;
}

static void need(int argc, int n)
{
	if (argc < n)
		usage();
}

static long long parse_num(const char *s, int base)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, base);
	if (errno || end == s || *end) {
		fprintf(stderr, "fsop: bad number: %s\n", s);
		usage();
	}
	return v;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Read the whole of fd into a malloc'ed buffer.  Returns the length, or -1
 * with errno set.
 */
static ssize_t read_all(int fd, char **out)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);

	if (!buf)
		return -1;
	for (;;) {
		ssize_t r;

		if (len == cap) {
			char *nb = realloc(buf, cap * 2);

			if (!nb) {
				free(buf);
				return -1;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return -1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	*out = buf;
	return (ssize_t)len;
}

static void print_data(const char *p, size_t n)
{
	if (quiet)
		fprintf(out, "OK\n");
	else
		fwrite(p, 1, n, out);
}

/* Close fd, and report the first error of the operation or of close. */
static int finish(int fd, int rc)
{
	int saved = errno;

	if (close(fd) < 0 && rc >= 0)
		return fail_errno();
	if (rc < 0) {
		errno = saved;
		return fail_errno();
	}
	fprintf(out, "OK\n");
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int op_ls(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0, i;

	if (!d)
		return fail_errno();
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de)
			break;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			char **nn;

			cap = cap ? cap * 2 : 64;
			nn = realloc(names, cap * sizeof(*names));
			if (!nn) {
				perror("fsop: realloc");
				exit(2);
			}
			names = nn;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			perror("fsop: strdup");
			exit(2);
		}
		n++;
	}
	if (errno) {
		int e = errno;

		closedir(d);
		errno = e;
		return fail_errno();
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	if (quiet)
		fprintf(out, "OK\n");
	for (i = 0; i < n; i++) {
		if (!quiet)
			fprintf(out, "%s\n", names[i]);
		free(names[i]);
	}
	free(names);
	return 0;
}

/* Print what is left to read in `fd`, then close it. */
static int print_rest(int fd)
{
	char *buf;
	ssize_t n = read_all(fd, &buf);

	if (n < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return fail_errno();
	}
	if (close(fd) < 0) {
		free(buf);
		return fail_errno();
	}
	print_data(buf, (size_t)n);
	free(buf);
	return 0;
}

static int op_read(const char *path)
{
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return fail_errno();
	return print_rest(fd);
}

static int op_mmap_read(const char *path)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	void *p;

	if (fd < 0)
		return fail_errno();
	if (fstat(fd, &st) < 0)
		return finish(fd, -1);
	if (st.st_size == 0) {
		close(fd);
		print_data("", 0);
		return 0;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return finish(fd, -1);
	print_data(p, (size_t)st.st_size);
	munmap(p, (size_t)st.st_size);
	close(fd);
	return 0;
}

/* open PATH with FLAGS, write DATA (if any), close; report. */
static int open_write(const char *path, int flags, const char *data)
{
	int fd = open(path, flags, 0644);
	int rc = 0;

	if (fd < 0)
		return fail_errno();
	if (data)
		rc = write_all(fd, data, strlen(data));
	return finish(fd, rc);
}

static int op_pwrite(const char *path, const char *off, const char *data)
{
	long long o = parse_num(off, 10);
	int fd = open(path, O_WRONLY | O_CREAT, 0644);
	ssize_t w;
	int rc = 0;

	if (fd < 0)
		return fail_errno();
	w = pwrite(fd, data, strlen(data), (off_t)o);
	if (w < 0)
		rc = -1;
	else if ((size_t)w != strlen(data)) {
		rc = -1;
		errno = EIO;
	}
	return finish(fd, rc);
}

static int op_open(const char *path, const char *f)
{
	int flags = 0, acc = O_RDONLY, fd;

	for (; *f; f++) {
		switch (*f) {
		case 'r':
			acc = O_RDONLY;
			break;
		case 'w':
			acc = O_WRONLY;
			break;
		case 'W':
			acc = O_RDWR;
			break;
		case 'c':
			flags |= O_CREAT;
			break;
		case 'x':
			flags |= O_EXCL;
			break;
		case 't':
			flags |= O_TRUNC;
			break;
		case 'a':
			flags |= O_APPEND;
			break;
		case 'd':
			flags |= O_DIRECTORY;
			break;
		default:
			usage();
		}
	}
	fd = open(path, acc | flags, 0644);
	if (fd < 0)
		return fail_errno();
	return finish(fd, 0);
}

static int op_ftruncate(const char *path, const char *len)
{
	long long n = parse_num(len, 10);
	int fd = open(path, O_WRONLY);

	if (fd < 0)
		return fail_errno();
	return finish(fd, ftruncate(fd, (off_t)n));
}

static int op_fsync(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int rc;

	if (fd < 0)
		return fail_errno();
	rc = write_all(fd, data, strlen(data));
	if (rc == 0)
		rc = fsync(fd);
	if (rc == 0)
		rc = fdatasync(fd);
	return finish(fd, rc);
}

static int op_getxattr(const char *path, const char *name)
{
	char buf[65536];
	ssize_t n = getxattr(path, name, buf, sizeof(buf));

	if (n < 0)
		return fail_errno();
	print_data(buf, (size_t)n);
	if (!quiet)
		fprintf(out, "\n");
	return 0;
}

static int op_listxattr(const char *path)
{
	char buf[65536];
	char *names[1024];
	ssize_t n = listxattr(path, buf, sizeof(buf));
	size_t cnt = 0, i;
	char *p;

	if (n < 0)
		return fail_errno();
	for (p = buf; p < buf + n && cnt < 1024; p += strlen(p) + 1)
		names[cnt++] = p;
	if (cnt)
		qsort(names, cnt, sizeof(*names), cmp_str);
	if (quiet)
		fprintf(out, "OK\n");
	else
		for (i = 0; i < cnt; i++)
			fprintf(out, "%s\n", names[i]);
	return 0;
}

static int op_chown(const char *path, const char *spec)
{
	char ubuf[32];
	const char *colon = strchr(spec, ':');
	size_t ulen;

	if (!colon)
		usage();
	ulen = (size_t)(colon - spec);
	if (ulen == 0 || ulen >= sizeof(ubuf))
		usage();
	memcpy(ubuf, spec, ulen);
	ubuf[ulen] = '\0';
	return result(chown(path, (uid_t)parse_num(ubuf, 10),
			    (gid_t)parse_num(colon + 1, 10)));
}

static const char *type_name(mode_t m)
{
	if (S_ISREG(m))
		return "file";
	if (S_ISDIR(m))
		return "dir";
	if (S_ISLNK(m))
		return "symlink";
	if (S_ISFIFO(m))
		return "fifo";
	if (S_ISCHR(m))
		return "chardev";
	if (S_ISBLK(m))
		return "blockdev";
	if (S_ISSOCK(m))
		return "socket";
	return "unknown";
}

static int op_stat(const char *what, const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return fail_errno();
	if (quiet)
		fprintf(out, "OK\n");
	else if (!strcmp(what, "stat"))
		fprintf(out, "%04o\n", (unsigned int)(st.st_mode & 07777));
	else if (!strcmp(what, "size"))
		fprintf(out, "%lld\n", (long long)st.st_size);
	else if (!strcmp(what, "owner"))
		fprintf(out, "%u:%u\n", (unsigned int)st.st_uid,
		       (unsigned int)st.st_gid);
	else if (!strcmp(what, "mtime"))
		fprintf(out, "%lld\n", (long long)st.st_mtime);
	else if (!strcmp(what, "ino"))
		fprintf(out, "%llu\n", (unsigned long long)st.st_ino);
	else if (!strcmp(what, "nlink"))
		fprintf(out, "%lu\n", (unsigned long)st.st_nlink);
	else
		fprintf(out, "%s\n", type_name(st.st_mode));
	return 0;
}

static int op_access(const char *path, const char *how)
{
	int mode;

	if (!strcmp(how, "R"))
		mode = R_OK;
	else if (!strcmp(how, "W"))
		mode = W_OK;
	else if (!strcmp(how, "X"))
		mode = X_OK;
	else if (!strcmp(how, "F"))
		mode = F_OK;
	else
		usage();
	return result(access(path, mode));
}

static int op_utimes(const char *path, const char *secs)
{
	struct timespec ts[2];

	if (!secs)
		return result(utimensat(AT_FDCWD, path, NULL, 0));
	ts[0].tv_sec = (time_t)parse_num(secs, 10);
	ts[0].tv_nsec = 0;
	ts[1] = ts[0];
	return result(utimensat(AT_FDCWD, path, ts, 0));
}

static int op_statfs(const char *path)
{
	struct statvfs sv;

	if (statvfs(path, &sv) < 0)
		return fail_errno();
	if (quiet)
		fprintf(out, "OK\n");
	else
		fprintf(out, "%lu\n", (unsigned long)sv.f_namemax);
	return 0;
}

static int op_unlink_open(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);

	if (fd < 0)
		return fail_errno();
	if (write_all(fd, "first\n", 6) < 0 || unlink(path) < 0 ||
	    write_all(fd, "second\n", 7) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		return finish(fd, -1);
	return print_rest(fd);
}

static int op_append_check(const char *path)
{
	int fd0, fd1, fd2, rc = 0;

	fd0 = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd0 < 0)
		return fail_errno();
	if (write_all(fd0, "abc", 3) < 0)
		return finish(fd0, -1);
	if (close(fd0) < 0)
		return fail_errno();
	fd1 = open(path, O_WRONLY | O_APPEND);
	if (fd1 < 0)
		return fail_errno();
	fd2 = open(path, O_WRONLY | O_APPEND);
	if (fd2 < 0) {
		int e = errno;

		close(fd1);
		errno = e;
		return fail_errno();
	}
	if (lseek(fd1, 0, SEEK_SET) < 0 || write_all(fd1, "1", 1) < 0 ||
	    write_all(fd2, "2", 1) < 0 || lseek(fd1, 0, SEEK_SET) < 0 ||
	    write_all(fd1, "3", 1) < 0)
		rc = -1;
	if (rc < 0) {
		int e = errno;

		close(fd1);
		close(fd2);
		errno = e;
		return fail_errno();
	}
	if (close(fd1) < 0 || close(fd2) < 0)
		return fail_errno();
	return op_read(path);
}

/*
 * rename-open PATH DST: create PATH, write "first\n", rename it to DST,
 * write "second\n" through the same fd, close, print DST's content.
 */
static int op_rename_open(const char *path, const char *dst)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);

	if (fd < 0)
		return fail_errno();
	if (write_all(fd, "first\n", 6) < 0 || rename(path, dst) < 0 ||
	    write_all(fd, "second\n", 7) < 0)
		return finish(fd, -1);
	if (close(fd) < 0)
		return fail_errno();
	return op_read(dst);
}

/* open-path PATH: open O_PATH (a lookup and nothing else). */
static int op_open_path(const char *path)
{
	int fd = open(path, O_PATH);

	if (fd < 0)
		return fail_errno();
	return finish(fd, 0);
}

/* fsync-ro PATH: open O_RDONLY (a file or a directory) and fsync. */
static int op_fsync_ro(const char *path)
{
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return fail_errno();
	return finish(fd, fsync(fd));
}

/*
 * rename-atomic DIR N: the parent writes N versions to DIR/tmp.<i> and
 * renames each over DIR/target; a child keeps opening and reading
 * DIR/target.  Every read must give one whole version: never ENOENT, never
 * empty, never a mix.
 */
#define VERSION_LEN 8192

static void fill_version(char *buf, unsigned int v)
{
	size_t i;

	for (i = 0; i < VERSION_LEN; i++)
		buf[i] = (char)('a' + v % 26);
}

static int check_version(const char *buf, ssize_t n)
{
	ssize_t i;

	if (n != VERSION_LEN)
		return -1;
	for (i = 1; i < n; i++)
		if (buf[i] != buf[0])
			return -1;
	return 0;
}

static int reader_child(const char *target, volatile long *reads)
{
	for (;;) {
		int fd = open(target, O_RDONLY);
		char *buf;
		ssize_t n;

		if (fd < 0) {
			fprintf(stderr, "BAD: open target: %s\n",
				errname(errno));
			return 1;
		}
		n = read_all(fd, &buf);
		close(fd);
		if (n < 0) {
			fprintf(stderr, "BAD: read target: %s\n",
				errname(errno));
			return 1;
		}
		if (check_version(buf, n) < 0) {
			fprintf(stderr, "BAD: torn read of %zd bytes\n", n);
			free(buf);
			return 1;
		}
		free(buf);
		(*reads)++;
	}
}

static int op_rename_atomic(const char *dir, const char *count)
{
	long long n = parse_num(count, 10), i;
	char target[PATH_MAX], tmp[PATH_MAX];
	static char buf[VERSION_LEN];
	volatile long *reads;
	int status, fd;
	pid_t pid;

	/* The reader counts its whole reads here: a test that never read
	 * would prove nothing. */
	reads = mmap(NULL, sizeof(*reads), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (reads == MAP_FAILED) {
		perror("fsop: mmap");
		exit(2);
	}
	*reads = 0;
	snprintf(target, sizeof(target), "%s/target", dir);
	fill_version(buf, 0);
	fd = open(target, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return fail_errno();
	if (write_all(fd, buf, VERSION_LEN) < 0)
		return finish(fd, -1);
	if (close(fd) < 0)
		return fail_errno();
	fflush(out);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		perror("fsop: fork");
		exit(2);
	}
	if (pid == 0) {
		/* Report through the exit status; the message goes to stderr. */
		_exit(reader_child(target, reads));
	}
	for (i = 1; i <= n; i++) {
		snprintf(tmp, sizeof(tmp), "%s/tmp.%lld", dir, i);
		fill_version(buf, (unsigned int)i);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0 || write_all(fd, buf, VERSION_LEN) < 0 ||
		    close(fd) < 0 || rename(tmp, target) < 0) {
			fprintf(out, "BAD: writer: %s\n", errname(errno));
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return 0;
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			fprintf(out, "BAD: reader failed after %lld renames\n", i);
			return 0;
		}
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	if (WIFEXITED(status))
		fprintf(out, "BAD: reader failed\n");
	else if (*reads == 0)
		fprintf(out, "BAD: the reader never read\n");
	else
		fprintf(out, "OK\n");
	munmap((void *)reads, sizeof(*reads));
	return 0;
}

static void drop_to(const char *user)
{
	struct passwd *pw = getpwnam(user);

	if (!pw) {
		fprintf(stderr, "fsop: no such user: %s\n", user);
		exit(2);
	}
	if (initgroups(user, pw->pw_gid) < 0) {
		perror("fsop: initgroups");
		exit(2);
	}
	if (setgid(pw->pw_gid) < 0) {
		perror("fsop: setgid");
		exit(2);
	}
	if (setuid(pw->pw_uid) < 0) {
		perror("fsop: setuid");
		exit(2);
	}
	if (pw->pw_uid != 0 && setuid(0) == 0) {
		fprintf(stderr, "fsop: could regain root after dropping\n");
		exit(2);
	}
}

/* run_op: ARGV is OP PATH [ARG...]; print the outcome. */
static int run_op(int argc, char **argv)
{
	const char *op, *path;

	need(argc, 2);
	op = argv[0];
	path = argv[1];

	if (!strcmp(op, "ls"))
		return op_ls(path);
	if (!strcmp(op, "read"))
		return op_read(path);
	if (!strcmp(op, "mmap-read"))
		return op_mmap_read(path);
	if (!strcmp(op, "create"))
		return open_write(path, O_CREAT | O_EXCL | O_WRONLY,
				  argc > 2 ? argv[2] : NULL);
	if (!strcmp(op, "write")) {
		need(argc, 3);
		return open_write(path, O_WRONLY | O_APPEND, argv[2]);
	}
	if (!strcmp(op, "overwrite")) {
		need(argc, 3);
		return open_write(path, O_WRONLY | O_TRUNC, argv[2]);
	}
	if (!strcmp(op, "pwrite")) {
		need(argc, 4);
		return op_pwrite(path, argv[2], argv[3]);
	}
	if (!strcmp(op, "open")) {
		need(argc, 3);
		return op_open(path, argv[2]);
	}
	if (!strcmp(op, "truncate")) {
		need(argc, 3);
		return result(truncate(path, (off_t)parse_num(argv[2], 10)));
	}
	if (!strcmp(op, "ftruncate")) {
		need(argc, 3);
		return op_ftruncate(path, argv[2]);
	}
	if (!strcmp(op, "fsync")) {
		need(argc, 3);
		return op_fsync(path, argv[2]);
	}
	if (!strcmp(op, "rename")) {
		need(argc, 3);
		return result(rename(path, argv[2]));
	}
	if (!strcmp(op, "rename-noreplace")) {
		need(argc, 3);
		return result(renameat2(AT_FDCWD, path, AT_FDCWD, argv[2],
					RENAME_NOREPLACE));
	}
	if (!strcmp(op, "rename-exchange")) {
		need(argc, 3);
		return result(renameat2(AT_FDCWD, path, AT_FDCWD, argv[2],
					RENAME_EXCHANGE));
	}
	if (!strcmp(op, "unlink"))
		return result(unlink(path));
	if (!strcmp(op, "rmdir"))
		return result(rmdir(path));
	if (!strcmp(op, "mkdir"))
		return result(mkdir(path, argc > 2 ?
				    (mode_t)parse_num(argv[2], 8) : 0755));
	if (!strcmp(op, "setxattr")) {
		need(argc, 3);
		return result(setxattr(path, argc > 3 ? argv[3] : "user.test",
				       argv[2], strlen(argv[2]), 0));
	}
	if (!strcmp(op, "getxattr")) {
		need(argc, 3);
		return op_getxattr(path, argv[2]);
	}
	if (!strcmp(op, "listxattr"))
		return op_listxattr(path);
	if (!strcmp(op, "removexattr")) {
		need(argc, 3);
		return result(removexattr(path, argv[2]));
	}
	if (!strcmp(op, "chmod")) {
		need(argc, 3);
		return result(chmod(path, (mode_t)parse_num(argv[2], 8)));
	}
	if (!strcmp(op, "chown")) {
		need(argc, 3);
		return op_chown(path, argv[2]);
	}
	if (!strcmp(op, "stat") || !strcmp(op, "size") ||
	    !strcmp(op, "owner") || !strcmp(op, "mtime") ||
	    !strcmp(op, "type") || !strcmp(op, "nlink") ||
	    !strcmp(op, "ino"))
		return op_stat(op, path);
	if (!strcmp(op, "access")) {
		need(argc, 3);
		return op_access(path, argv[2]);
	}
	if (!strcmp(op, "utimes"))
		return op_utimes(path, argc > 2 ? argv[2] : NULL);
	if (!strcmp(op, "statfs"))
		return op_statfs(path);
	if (!strcmp(op, "link")) {
		need(argc, 3);
		return result(link(path, argv[2]));
	}
	if (!strcmp(op, "symlink")) {
		need(argc, 3);
		return result(symlink(argv[2], path));
	}
	if (!strcmp(op, "mknod-fifo"))
		return result(mknod(path, S_IFIFO | 0644, 0));
	if (!strcmp(op, "unlink-open"))
		return op_unlink_open(path);
	if (!strcmp(op, "append-check"))
		return op_append_check(path);
	if (!strcmp(op, "rename-open")) {
		need(argc, 3);
		return op_rename_open(path, argv[2]);
	}
	if (!strcmp(op, "open-path"))
		return op_open_path(path);
	if (!strcmp(op, "fsync-ro"))
		return op_fsync_ro(path);
	if (!strcmp(op, "rename-atomic")) {
		need(argc, 3);
		return op_rename_atomic(path, argv[2]);
	}
	fprintf(stderr, "fsop: unknown operation: %s\n", op);
	usage();
	return 2;
}

/*
 * Batch mode becomes USER reversibly: real and effective ids are the
 * user's (so FUSE requests and access(2) carry them) while the saved uid
 * stays 0 to come back with.  Supplementary groups as initgroups(3) sets.
 */
static gid_t root_groups[NGROUPS_MAX];
static int root_ngroups;

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static void become(const char *user)
{
	struct passwd *pw = getpwnam(user);

	if (!pw) {
		fprintf(stderr, "fsop: no such user: %s\n", user);
		usage();
	}
	if (initgroups(user, pw->pw_gid) < 0)
		die("fsop: initgroups");
	if (setresgid(pw->pw_gid, pw->pw_gid, 0) < 0)
		die("fsop: setresgid");
	if (setresuid(pw->pw_uid, pw->pw_uid, 0) < 0)
		die("fsop: setresuid");
}

static void become_root(void)
{
	if (setresuid(0, 0, 0) < 0)
		die("fsop: setresuid(0)");
	if (setresgid(0, 0, 0) < 0)
		die("fsop: setresgid(0)");
	if (setgroups((size_t)root_ngroups, root_groups) < 0)
		die("fsop: setgroups");
}

/* run_cmd: ARGV is [-q] [-u USER] OP PATH [ARG...]. */
static int run_cmd(int argc, char **argv)
{
	while (argc > 0 && argv[0][0] == '-') {
		if (!strcmp(argv[0], "-q")) {
			quiet = 1;
			argc--;
			argv++;
		} else if (!strcmp(argv[0], "-u") && argc > 1) {
			if (in_batch)
				become(argv[1]);
			else
				drop_to(argv[1]);
			argc -= 2;
			argv += 2;
		} else {
			usage();
		}
	}
	return run_op(argc, argv);
}

/*
 * Batch mode (-b, as root): each line of stdin is one command, "[-q] [-u
 * USER] OP PATH [ARG...]", split at blanks (no quoting), run in this
 * process (a fork costs milliseconds on small VMs and the access matrix runs
 * thousands).  Its output comes back as exactly one line: the final newline
 * dropped and the others shown as '|'.  A usage error gives "USAGE".
 */
#define BATCH_MAX_ARGS 32

static void batch_one(char *line)
{
	char *argv[BATCH_MAX_ARGS + 1], *save = NULL, *tok, *buf = NULL;
	volatile int argc = 0;
	size_t len = 0, i;

	for (tok = strtok_r(line, " \t\n", &save); tok;
	     tok = strtok_r(NULL, " \t\n", &save)) {
		if (argc == BATCH_MAX_ARGS) {
			printf("USAGE\n");
			fflush(stdout);
			return;
		}
		argv[argc++] = tok;
	}
	argv[argc] = NULL;
	if (argc == 0)
		return;
	out = open_memstream(&buf, &len);
	if (!out)
		die("fsop: open_memstream");
	quiet = 0;
	if (setjmp(batch_usage) == 0) {
		run_cmd(argc, argv);
	} else {
		rewind(out);
		fprintf(out, "USAGE");
	}
	become_root();
	if (fclose(out) != 0)
		die("fsop: fclose");
	out = stdout;
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	for (i = 0; i < len; i++)
		if (buf[i] == '\n')
			buf[i] = '|';
	fwrite(buf, 1, len, stdout);
	printf("\n");
	fflush(stdout);
	free(buf);
}

static int batch(void)
{
	char *line = NULL;
	size_t cap = 0;

	if (geteuid() != 0) {
		fprintf(stderr, "fsop: -b needs root\n");
		return 2;
	}
	root_ngroups = getgroups(NGROUPS_MAX, root_groups);
	if (root_ngroups < 0)
		die("fsop: getgroups");
	in_batch = 1;
	while (getline(&line, &cap, stdin) >= 0)
		batch_one(line);
	free(line);
	return 0;
}

int main(int argc, char **argv)
{
	out = stdout;
	if (argc > 1 && !strcmp(argv[1], "--help")) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "-b"))
		return batch();
	return run_cmd(argc - 1, argv + 1);
}
