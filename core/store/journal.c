/* core/store/journal.c: see journal.h. An entry is the file
 * DIR/<pid>-<n>: "KIND\nF1\nF2\nF3\nF4\n", each field percent-encoded
 * (http_escape), an empty field as an empty line. */
#include "core/store/journal.h"
#include "core/store/http.h"
#include "core/store/s3_int.h"
#include "core/util/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIELD_ENC_MAX (3 * PATH_MAX)
#define ENTRY_MAX (JOURNAL_FIELDS * (FIELD_ENC_MAX + 1) + 8)

struct journal {
	char *dir;
	unsigned long seq;
};

int journal_open(struct journal **out, const char *dir)
{
	struct journal *j;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	j = calloc(1, sizeof(*j));
	if (!j || !(j->dir = strdup(dir))) {
		free(j);
		return -ENOMEM;
	}
	*out = j;
	return 0;
}

void journal_free(struct journal *j)
{
	if (!j)
		return;
	free(j->dir);
	free(j);
}

static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

static int write_synced(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len)
		rc = -EIO;
	else if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* The entry's text into buf (ENTRY_MAX). Returns its length or -errno. */
static int format_entry(char *buf, char kind,
			const char *const fields[JOURNAL_FIELDS])
{
	size_t n = 0;

	buf[n++] = kind;
	buf[n++] = '\n';
	for (int i = 0; i < JOURNAL_FIELDS; i++) {
		const char *f = fields[i] ? fields[i] : "";

		if (http_escape(buf + n, FIELD_ENC_MAX, f, 1))
			return -ENAMETOOLONG;
		n += strlen(buf + n);
		buf[n++] = '\n';
	}
	return (int)n;
}

int journal_set(struct journal *j, const char *id, char kind,
		const char *const fields[JOURNAL_FIELDS])
{
	char path[PATH_MAX], tmp[PATH_MAX];
	char *buf = malloc(ENTRY_MAX);
	int n, rc = 0;

	if (!buf)
		return -ENOMEM;
	n = format_entry(buf, kind, fields);
	if (n < 0)
		rc = n;
	else if (snprintf(path, sizeof(path), "%s/%s", j->dir, id) >=
		 (int)sizeof(path) ||
		 snprintf(tmp, sizeof(tmp), "%s.new", path) >=
		 (int)sizeof(tmp))
		rc = -ENAMETOOLONG;
	if (!rc)
		rc = write_synced(tmp, buf, (size_t)n);
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (!rc)
		sync_dir(j->dir);
	else
		log_err("journal '%s/%s': %s", j->dir, id, strerror(-rc));
	free(buf);
	return rc;
}

int journal_add(struct journal *j, char *id, char kind,
		const char *const fields[JOURNAL_FIELDS])
{
	unsigned long seq = __atomic_add_fetch(&j->seq, 1, __ATOMIC_SEQ_CST);

	snprintf(id, JOURNAL_ID_MAX, "%ld-%lu", (long)getpid(), seq);
	return journal_set(j, id, kind, fields);
}

void journal_done(struct journal *j, const char *id)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", j->dir, id) <
	    (int)sizeof(path) && unlink(path) == 0)
		sync_dir(j->dir);
}

/* Read and settle one entry; 0 when it may be removed. Fields missing at
 * its end are empty. */
static int settle(const char *path, journal_settle_cb cb, void *arg)
{
	char *buf = malloc(ENTRY_MAX), *f[JOURNAL_FIELDS] = { NULL };
	char *line, *eol, kind;
	ssize_t n;
	int fd, rc = 0;

	for (int i = 0; i < JOURNAL_FIELDS && buf; i++)
		if ((f[i] = calloc(1, PATH_MAX)) == NULL)
			rc = -ENOMEM;
	if (!buf || rc) {
		rc = -ENOMEM;
		goto out;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	n = read(fd, buf, ENTRY_MAX - 1);
	close(fd);
	if (n <= 2)
		goto out;	/* cut short before its fsync: never begun */
	buf[n] = '\0';
	kind = buf[0];
	line = buf + 2;
	for (int k = 0; k < JOURNAL_FIELDS && (eol = strchr(line, '\n'));
	     k++) {
		*eol = '\0';
		if (*line && s3_pct_decode(f[k], PATH_MAX, line, strlen(line)))
			goto out;	/* not ours: dropped */
		line = eol + 1;
	}
	rc = cb(arg, kind, f);
out:
	for (int i = 0; i < JOURNAL_FIELDS; i++)
		free(f[i]);
	free(buf);
	return rc;
}

int journal_replay(struct journal *j, journal_settle_cb cb, void *arg)
{
	DIR *d = opendir(j->dir);
	struct dirent *de;
	int rc = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d)) && !rc) {
		char path[PATH_MAX];
		size_t k = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", j->dir,
			     de->d_name) >= (int)sizeof(path))
			continue;
		if (k > 4 && !strcmp(de->d_name + k - 4, ".new")) {
			unlink(path);	/* a rewrite cut short */
			continue;
		}
		log_info("settling what a stop interrupted ('%s')",
			 de->d_name);
		rc = settle(path, cb, arg);
		if (!rc)
			unlink(path);
		else
			log_err("could not settle '%s': %s", path,
				strerror(-rc));
	}
	closedir(d);
	if (!rc)
		sync_dir(j->dir);
	return rc;
}
