/* core/run/run_record.c: the files of a run's record, and the records found
 * at start-up, see engine_int.h. */
#include "core/run/engine_int.h"
#include "core/util/buf.h"
#include "core/util/log.h"
#include "core/runner/sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void rec_time(const struct timespec *ts, char out[32])
{
	struct tm tm;

	char date[24];

	gmtime_r(&ts->tv_sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 32, "%.19s.%03dZ", date,
		 (int)((ts->tv_nsec / 1000000) % 1000));
}

int rec_name_ok(const char *s)
{
	return *s && strlen(s) <= 255 && !strchr(s, '/') && strcmp(s, ".") &&
	       strcmp(s, "..");
}

int rec_mkdirs(int dirfd, const char *rel, mode_t mode)
{
	char path[1024];
	size_t n = strlen(rel);

	if (n >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, rel, n + 1);
	for (char *p = path; ; p++) {
		if (*p == '/' || !*p) {
			char c = *p;

			*p = '\0';
			if (mkdirat(dirfd, path, mode) && errno != EEXIST)
				return -errno;
			*p = c;
			if (!c)
				break;
		}
	}
	return 0;
}

/* Write `len` bytes into `rel` under dirfd, opened with `flags`. */
static int write_at(int dirfd, const char *rel, int flags, const void *data,
		    size_t len)
{
	int fd, rc;

	if (dirfd < 0)
		return -EBADF;
	fd = openat(dirfd, rel, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
		    flags, 0644);
	if (fd < 0)
		return -errno;
	rc = sandbox_write_all(fd, data, len);
	if (close(fd) && !rc)
		rc = -errno;
	return rc;
}

int rec_put(int dirfd, const char *rel, const void *data, size_t len)
{
	char tmp[1100];
	int rc;

	if (snprintf(tmp, sizeof(tmp), "%s" REC_TMP, rel) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	rc = write_at(dirfd, tmp, O_TRUNC, data, len);
	if (rc == -EBADF)
		return rc;
	if (!rc && renameat(dirfd, tmp, dirfd, rel))
		rc = -errno;
	if (rc)
		unlinkat(dirfd, tmp, 0);
	return rc;
}

int rec_vputf(int dirfd, const char *rel, const char *fmt, va_list ap)
{
	char *text;
	int n, rc;

	n = vasprintf(&text, fmt, ap);
	if (n < 0)
		return -ENOMEM;
	rc = rec_put(dirfd, rel, text, (size_t)n);
	free(text);
	return rc;
}

int rec_putf(int dirfd, const char *rel, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = rec_vputf(dirfd, rel, fmt, ap);
	va_end(ap);
	return rc;
}

int rec_append(int dirfd, const char *rel, const void *data, size_t len)
{
	return write_at(dirfd, rel, O_APPEND, data, len);
}

int rec_append_fd(int *fd, int dirfd, const char *rel, const void *data,
		  size_t len)
{
	if (dirfd < 0)
		return -EBADF;
	if (*fd < 0) {
		*fd = openat(dirfd, rel, O_WRONLY | O_CREAT | O_APPEND |
			     O_CLOEXEC | O_NOFOLLOW, 0644);
		if (*fd < 0)
			return -errno;
	}
	return sandbox_write_all(*fd, data, len);
}

int rec_get(int dirfd, const char *rel, size_t cap, char **out)
{
	struct buf b;
	int rc;

	*out = NULL;
	buf_init(&b, cap);
	rc = sandbox_read_beneath(dirfd, rel, cap, &b);
	if (!rc && !b.data)
		rc = buf_resize(&b, 0);	/* an empty file: "" */
	if (rc) {
		buf_release(&b);
		return rc;
	}
	*out = b.data;
	return 0;
}

/* --- what a record costs (run_quota.c) ----------------------------------- */

uint64_t rec_du_node(int dirfd, const char *id)
{
	struct du du = { 0, 0, 0 };
	char rel[128];

	snprintf(rel, sizeof(rel), "nodes/%s", id);
	du_tree(dirfd, rel, SIZE_MAX, &du);
	snprintf(rel, sizeof(rel), "outputs/%s", id);
	du_tree(dirfd, rel, SIZE_MAX, &du);
	return du.charge;
}

uint64_t rec_du_shared(int dirfd)
{
	static const char *const shared[] = { "status", "progress", "log",
					      "events", "error" };
	struct du du = { 0, 0, 0 };

	for (size_t k = 0; k < sizeof(shared) / sizeof(shared[0]); k++)
		du_tree(dirfd, shared[k], SIZE_MAX, &du);
	return du.charge;
}

/* --- records found at start-up ------------------------------------------- */

static enum run_status status_of(const char *text)
{
	for (int s = RUN_QUEUED; s <= RUN_CANCELLED; s++) {
		const char *name = run_status_name(s);
		size_t n = strlen(name);

		if (strncmp(text, name, n) == 0 &&
		    (text[n] == '\n' || text[n] == '\0'))
			return s;
	}
	return RUN_QUEUED;	/* unreadable: treat as unfinished */
}

/* Nodes still queued or running when the daemon stopped. */
static void fix_nodes(int dirfd)
{
	int fd = openat(dirfd, "nodes", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;

	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d))) {
		char rel[512], *st = NULL;

		if (de->d_name[0] == '.')
			continue;
		snprintf(rel, sizeof(rel), "nodes/%s/status", de->d_name);
		if (rec_get(dirfd, rel, 64, &st))
			continue;
		if (!strcmp(st, "queued\n") || !strcmp(st, "running\n"))
			rec_putf(dirfd, rel, "%s\n", !strcmp(st, "running\n") ?
				 "failed" : "cancelled");
		free(st);
	}
	closedir(d);
}

static void fix_unfinished(struct run *r)
{
	static const char why[] = "the daemon stopped while the run was "
				  "running";
	char line[256], when[32];
	struct timespec now;
	int fd = open(r->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	rec_time(&now, when);
	fix_nodes(fd);
	snprintf(line, sizeof(line), "%s\n", why);
	rec_append(fd, "error", line, strlen(line));
	snprintf(line, sizeof(line), "%s run failed: %s\n", when, why);
	rec_append(fd, "log", line, strlen(line));
	snprintf(line, sizeof(line), "{\"time\":\"%s\",\"event\":"
		 "\"run_finished\",\"status\":\"failed\",\"error\":\"%s\"}\n",
		 when, why);
	rec_append(fd, "events", line, strlen(line));
	rec_putf(fd, "status", "failed\n");
	close(fd);
	r->status = RUN_FAILED;
}

static uint64_t file_len(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct stat st;
	int n = snprintf(path, sizeof(path), "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= sizeof(path))
		return 0;
	return stat(path, &st) ? 0 : (uint64_t)st.st_size;
}

static int load_user(struct engine *e, const char *user)
{
	char udir[4096];
	struct dirent *de;
	DIR *d;

	snprintf(udir, sizeof(udir), "%s/%s", e->runs_dir, user);
	d = opendir(udir);
	if (!d)
		return errno == ENOTDIR ? 0 : -errno;
	while ((de = readdir(d))) {
		char dir[4400], *st = NULL;
		struct run *r;
		struct stat sb;

		if (!strncmp(de->d_name, ".new-", 5)) {
			/* a record a stopped daemon was still writing */
			snprintf(dir, sizeof(dir), "%s/%s", udir, de->d_name);
			runner_work_remove(dir);
			continue;
		}
		if (de->d_name[0] == '.' || strlen(de->d_name) > RUN_NAME_MAX)
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", udir, de->d_name);
		if (lstat(dir, &sb) || !S_ISDIR(sb.st_mode))
			continue;	/* not a record */
		r = run_new(user, de->d_name, dir);
		if (!r) {
			closedir(d);
			return -ENOMEM;
		}
		{
			int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

			if (fd >= 0) {
				rec_get(fd, "status", 64, &st);
				close(fd);
			}
		}
		r->status = st ? status_of(st) : RUN_QUEUED;
		free(st);
		if (r->status < RUN_SUCCEEDED)
			fix_unfinished(r);
		{
			struct du du = { 0, 0, 0 };

			/* unreadable parts cannot grow: not counted */
			du_tree(dirfd(d), de->d_name, SIZE_MAX, &du);
			r->charged = du.charge;
		}
		/* a record without nodes/ is a rejected graph */
		{
			char nodes[4500];
			struct stat sb;

			snprintf(nodes, sizeof(nodes), "%s/nodes", dir);
			r->rejected = stat(nodes, &sb) != 0;
		}
		r->events_len = file_len(dir, "events");
		r->log_len = file_len(dir, "log");
		run_insert(e, r);
	}
	closedir(d);
	return 0;
}

int rec_load_all(struct engine *e)
{
	struct dirent *de;
	DIR *d = opendir(e->runs_dir);
	int rc = 0;

	if (!d)
		return -errno;
	while (!rc && (de = readdir(d)))
		if (de->d_name[0] != '.')
			rc = load_user(e, de->d_name);
	closedir(d);
	return rc;
}
