/* core/history/history_journal.c: the changes noted and not yet
 * committed, so that a crash loses no author.
 *
 * STATE/history/journal.<n>: one line per change, appended with one
 * write() by history_note() (no fsync: the files themselves reach stable
 * storage only on fsync, DESIGN.md section 3; a killed daemon loses
 * nothing of either). A line holds no content, only what the change was:
 *
 *   1 <time> <op> <uid> <volume> <user> <path> <to> <run> <session> <tool>
 *
 * Fields are percent-encoded (bytes up to space, DEL and above, '%'), an
 * absent one is "-". After a crash the lines are queued again with the
 * content read from the volume as it is then. A journal whose changes are
 * all committed is emptied (the current one) or removed (an older one);
 * past HIST_JOURNAL_ROTATE bytes with changes pending, a new one starts.
 * A torn last line (a crash mid-write) is skipped.
 */
#include "core/history/history_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util/log.h"

#define LINE_MAX_BYTES 16384
#define NFIELDS 11

static const char ops[] = "WCURMDX";	/* by enum history_op */

static int path_of(const struct history *h, unsigned gen, char *out,
		   size_t cap)
{
	if ((size_t)snprintf(out, cap, "%s/journal.%u", h->dir, gen) >= cap)
		return -ENAMETOOLONG;
	return 0;
}

static size_t put_field(char *out, size_t o, size_t cap, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	if (o + 4 >= cap)
		return cap;
	out[o++] = ' ';
	if (!s || !*s) {
		out[o++] = '-';
		return o;
	}
	if (strcmp(s, "-") == 0) {
		memcpy(out + o, "%2D", 3);
		return o + 3;
	}
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (o + 4 >= cap)
			return cap;
		if (c <= 0x20 || c >= 0x7f || c == '%') {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else {
			out[o++] = (char)c;
		}
	}
	return o;
}

static int gen_add(struct history *h, unsigned gen, size_t n)
{
	struct hist_gen *g;

	for (g = h->gens; g; g = g->next)
		if (g->gen == gen) {
			g->pending += n;
			return 0;
		}
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->gen = gen;
	g->pending = n;
	g->next = h->gens;
	h->gens = g;
	return 0;
}

static int open_current(struct history *h)
{
	char path[4096];
	off_t off;
	int rc = path_of(h, h->jgen, path, sizeof(path));

	if (rc)
		return rc;
	h->jfd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (h->jfd < 0)
		return -errno;
	/* Opened again after a failure, it may hold lines already. */
	off = lseek(h->jfd, 0, SEEK_END);
	h->jsize = off > 0 ? (uint64_t)off : 0;
	return 0;
}

/* A new journal file when the current one is long and still needed. */
static void maybe_rotate(struct history *h)
{
	struct hist_gen *g;

	if (h->jsize < HIST_JOURNAL_ROTATE)
		return;
	for (g = h->gens; g; g = g->next)
		if (g->gen == h->jgen && g->pending)
			break;
	if (!g)
		return;
	close(h->jfd);
	h->jgen++;
	if (open_current(h))
		h->jfd = -1;
}

int hist_journal_append(struct history *h, const char *volume,
			const struct history_author *a,
			const struct history_change *c, int64_t when,
			unsigned *gen)
{
	char line[LINE_MAX_BYTES];
	size_t o;
	ssize_t n;
	int rc;

	maybe_rotate(h);
	if (h->jfd < 0) {
		rc = open_current(h);
		if (rc)
			return rc;
	}
	o = (size_t)snprintf(line, sizeof(line), "1 %lld %c %u",
			     (long long)when, ops[c->op], (unsigned)a->uid);
	o = put_field(line, o, sizeof(line), volume);
	o = put_field(line, o, sizeof(line), a->user);
	o = put_field(line, o, sizeof(line), c->path);
	o = put_field(line, o, sizeof(line),
		      c->op == HISTORY_RENAME ? c->to : NULL);
	o = put_field(line, o, sizeof(line), a->run);
	o = put_field(line, o, sizeof(line), a->session);
	o = put_field(line, o, sizeof(line), a->tool);
	if (o + 1 >= sizeof(line))
		return -ENAMETOOLONG;
	line[o++] = '\n';
	n = write(h->jfd, line, o);
	if (n == (ssize_t)o) {
		h->jsize += o;
		h->jerr[0] = '\0';	/* writing works again */
		rc = gen_add(h, h->jgen, 1);
		if (rc == 0)
			*gen = h->jgen;
		return rc;
	}
	rc = n < 0 ? -errno : -ENOSPC;
	/* Never leave half a line for the next one to follow. */
	if (n > 0 && ftruncate(h->jfd, (off_t)h->jsize) < 0)
		log_warn("history: cannot cut a torn journal line: %s",
			 strerror(errno));
	hist_set_error_locked(h, NULL, "cannot write the journal %s/journal.%u "
			      "(changes are kept in memory, but not across a "
			      "crash; free space in the state folder): %s",
			      h->dir, h->jgen, strerror(-rc));
	return rc;
}

void hist_journal_done(struct history *h, unsigned gen, size_t n)
{
	struct hist_gen **pp, *g;
	char path[4096];

	for (pp = &h->gens; (g = *pp); pp = &g->next)
		if (g->gen == gen)
			break;
	if (g) {
		g->pending = g->pending > n ? g->pending - n : 0;
		if (g->pending)
			return;
	}
	if (gen == h->jgen) {
		if (h->jfd >= 0 && ftruncate(h->jfd, 0) == 0)
			h->jsize = 0;
		return;
	}
	if (g) {
		*pp = g->next;
		free(g);
	}
	if (path_of(h, gen, path, sizeof(path)) == 0)
		unlink(path);
}

/* ---- start-up ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode a field in place; NULL for "-", `bad` set on a broken one. */
static char *decode(char *s, int *bad)
{
	char *o = s;

	if (strcmp(s, "-") == 0)
		return NULL;
	for (char *p = s; *p; p++) {
		if (*p != '%') {
			*o++ = *p;
			continue;
		}
		if (hexval(p[1]) < 0 || hexval(p[2]) < 0) {
			*bad = 1;
			return NULL;
		}
		*o++ = (char)(hexval(p[1]) * 16 + hexval(p[2]));
		p += 2;
	}
	*o = '\0';
	return s;
}

static int replay_line(struct history *h, unsigned gen, char *line)
{
	char *f[NFIELDS], *save = NULL, *op;
	struct history_author a = { 0 };
	struct history_change c = { 0 };
	struct hist_change *ch = NULL;
	struct hist_vol *v;
	long long when;
	int bad = 0, rc;
	size_t n = 0;

	for (char *t = strtok_r(line, " ", &save); t && n < NFIELDS;
	     t = strtok_r(NULL, " ", &save))
		f[n++] = t;
	if (n != NFIELDS || strcmp(f[0], "1") != 0 || strlen(f[2]) != 1 ||
	    !(op = strchr(ops, f[2][0])))
		return -EINVAL;
	when = strtoll(f[1], NULL, 10);
	a.uid = (uid_t)strtoul(f[3], NULL, 10);
	for (size_t i = 4; i < NFIELDS; i++)
		f[i] = decode(f[i], &bad);
	a.user = f[5];
	c.op = (enum history_op)(op - ops);
	c.path = f[6];
	c.to = f[7];
	a.run = f[8];
	a.session = f[9];
	a.tool = f[10];
	if (bad || !f[4] || !a.user || !c.path ||
	    hist_volume_check(f[4]) || (c.op == HISTORY_RENAME && !c.to))
		return -EINVAL;
	ch = hist_change_new(h, &c, 0);
	if (!ch)
		return -ENOMEM;
	ch->gen = gen;
	rc = gen_add(h, gen, 1);
	v = rc ? NULL : hist_vol_get(h, f[4], 1);
	rc = v ? hist_enqueue(h, v, &a, ch, (int64_t)when) : -ENOMEM;
	if (rc) {
		hist_change_free(h, ch);
		return rc;
	}
	return 0;
}

static int replay_file(struct history *h, unsigned gen)
{
	char path[4096], *line = NULL;
	size_t cap = 0, lineno = 0, bad = 0;
	ssize_t n;
	FILE *f;
	int rc;

	rc = path_of(h, gen, path, sizeof(path));
	if (rc)
		return rc;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while ((n = getline(&line, &cap, f)) > 0) {
		lineno++;
		if (line[n - 1] != '\n' || (size_t)n > LINE_MAX_BYTES) {
			bad++;	/* torn by a crash */
			continue;
		}
		line[n - 1] = '\0';
		rc = replay_line(h, gen, line);
		if (rc == -ENOMEM)
			break;
		if (rc)
			bad++;
		rc = 0;
	}
	free(line);
	fclose(f);
	if (bad)
		log_warn("history: %s: %zu of %zu lines unreadable, skipped "
			 "(the files are compared with history instead)", path,
			 bad, lineno);
	return rc;
}

static int gen_cmp(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

/* The numbers of the journal files in the folder, in order. */
static int list_gens(struct history *h, unsigned **out, size_t *n)
{
	unsigned *g = NULL;
	size_t alloc = 0;
	struct dirent *de;
	DIR *d = opendir(h->dir);

	*n = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		unsigned long x;

		if (strncmp(de->d_name, "journal.", 8) != 0)
			continue;
		x = strtoul(de->d_name + 8, &end, 10);
		if (*end || end == de->d_name + 8 || x == 0 || x >= 1u << 31)
			continue;
		if (*n == alloc) {
			unsigned *p;

			alloc = alloc ? 2 * alloc : 8;
			p = realloc(g, alloc * sizeof(*p));
			if (!p) {
				free(g);
				closedir(d);
				return -ENOMEM;
			}
			g = p;
		}
		g[(*n)++] = (unsigned)x;
	}
	closedir(d);
	if (*n)
		qsort(g, *n, sizeof(*g), gen_cmp);
	*out = g;
	return 0;
}

int hist_journal_open(struct history *h)
{
	unsigned *g = NULL;
	size_t n;
	int rc = list_gens(h, &g, &n);

	if (rc)
		return rc;
	h->jgen = n ? g[n - 1] + 1 : 1;
	free(g);
	return open_current(h);
}

int hist_journal_replay(struct history *h)
{
	unsigned *g = NULL;
	size_t n;
	int rc = list_gens(h, &g, &n);

	for (size_t i = 0; !rc && i < n; i++) {
		if (g[i] == h->jgen)
			continue;
		rc = replay_file(h, g[i]);
		if (!rc)
			hist_journal_done(h, g[i], 0);
	}
	if (n > 1 || (n == 1 && g[0] != h->jgen))
		h->unclean = 1;
	free(g);
	return rc;
}

void hist_journal_close(struct history *h, int clean)
{
	char path[4096];

	if (h->jfd >= 0)
		close(h->jfd);
	h->jfd = -1;
	while (h->gens) {
		struct hist_gen *g = h->gens;

		h->gens = g->next;
		if (clean && path_of(h, g->gen, path, sizeof(path)) == 0)
			unlink(path);
		free(g);
	}
	if (clean && path_of(h, h->jgen, path, sizeof(path)) == 0)
		unlink(path);
}
