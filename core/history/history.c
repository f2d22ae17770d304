/* core/history/history.c: the queue of changes, the request path
 * (history_note) and the background thread that turns groups into
 * commits. See history.h. */
#include "core/history/history_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/util/log.h"
#include "core/util/name.h"

#define TRAILER_MAX 255
#define DAEMON_USER "llmunixfs"

int64_t hist_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- names ---- */

int hist_volume_check(const char *name)
{
	const char *rest;

	if (strlen(name) >= HIST_VOL_MAX)
		return -EINVAL;
	if (strcmp(name, "system") == 0)
		return 0;
	if (strncmp(name, "team/", 5) == 0)
		rest = name + 5;
	else if (strncmp(name, "user/", 5) == 0)
		rest = name + 5;
	else
		return -EINVAL;
	return name_check(rest) ? -EINVAL : 0;
}

/* 0: a path history keeps; 1: one it never keeps (outside skills/ and
 * workflows/, editor noise, a nested repository's .git); -EINVAL. */
int hist_path_check(const char *path)
{
	char comp[NAME_MAX_BYTES + 1];
	const char *p = path, *base = path;
	int keep = 1;

	if (strnlen(path, PATH_MAX_BYTES + 1) > PATH_MAX_BYTES)
		return -EINVAL;
	if (strncmp(path, "skills/", 7) && strncmp(path, "workflows/", 10))
		return 1;
	for (;;) {
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);

		if (n == 0 || n > NAME_MAX_BYTES)
			return -EINVAL;
		memcpy(comp, p, n);
		comp[n] = '\0';
		if (name_check(comp))
			return -EINVAL;
		if (strcasecmp(comp, ".git") == 0)
			keep = 0;
		base = p;
		if (!*e)
			break;
		p = e + 1;
	}
	if (name_is_noise(base))
		keep = 0;
	return keep ? 0 : 1;
}

static int trailer_check(const char *s)
{
	return !s || strnlen(s, TRAILER_MAX + 1) <= TRAILER_MAX;
}

/* ---- volumes ---- */

static unsigned vol_hash(const char *s)
{
	unsigned x = 2166136261u;

	for (; *s; s++)
		x = (x ^ (unsigned char)*s) * 16777619u;
	return x % HIST_BUCKETS;
}

struct hist_vol *hist_vol_get(struct history *h, const char *name,
			      int create)
{
	unsigned b = vol_hash(name);
	struct hist_vol *v;
	size_t len;

	for (v = h->bucket[b]; v; v = v->hnext)
		if (strcmp(v->name, name) == 0)
			return v;
	if (!create)
		return NULL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	len = strlen(h->dir) + strlen(name) + 8;
	v->gitdir = malloc(len);
	if (!v->gitdir) {
		free(v);
		return NULL;
	}
	snprintf(v->gitdir, len, "%s/%s.git", h->dir, name);
	snprintf(v->name, sizeof(v->name), "%s", name);
	v->ifd = -1;
	pthread_mutex_init(&v->rmu, NULL);
	pthread_mutex_init(&v->imu, NULL);
	v->hnext = h->bucket[b];
	h->bucket[b] = v;
	v->next = h->vols;
	h->vols = v;
	return v;
}

/* `committed`: its journal lines are no longer needed. */
void hist_group_free(struct history *h, struct hist_group *g, int committed)
{
	while (g->head) {
		struct hist_change *c = g->head;

		g->head = c->next;
		if (c->gen && committed)
			hist_journal_done(h, c->gen, 1);
		hist_change_free(h, c);
	}
	free(g->key.user);
	free(g->key.run);
	free(g->key.session);
	free(g->key.tool);
	free(g);
}

static void vol_free(struct history *h, struct hist_vol *v)
{
	while (v->qhead) {
		struct hist_group *g = v->qhead;

		v->qhead = g->next;
		hist_group_free(h, g, 0);
	}
	git_repository_free(v->wrepo);
	git_repository_free(v->rrepo);
	hist_index_close(v);
	pthread_mutex_destroy(&v->rmu);
	pthread_mutex_destroy(&v->imu);
	free(v->gitdir);
	free(v);
}

/* Store `text` with the time; returns whether it repeats the last one. */
static int store_error(struct history *h, struct hist_vol *v,
		       const char *text)
{
	char stamp[32], *slot = v ? v->err : h->jerr;
	time_t now = time(NULL);
	size_t n;
	struct tm tm;
	int same;

	n = strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S%z",
		     localtime_r(&now, &tm));
	same = strlen(slot) > n + 1 && strcmp(slot + n + 1, text) == 0;
	snprintf(slot, HIST_ERR_MAX, "%s %s", stamp, text);
	return same;
}

static void log_error(const char *text)
{
	char esc[HIST_ERR_MAX];

	log_err("history: %s", log_escape(esc, sizeof(esc), text));
}

void hist_set_error_locked(struct history *h, struct hist_vol *v,
			   const char *fmt, ...)
{
	char text[HIST_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (!store_error(h, v, text))
		log_error(text);
}

void hist_set_error(struct history *h, struct hist_vol *v, const char *fmt,
		    ...)
{
	char text[HIST_ERR_MAX];
	va_list ap;
	int same;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&h->mu);
	same = store_error(h, v, text);
	pthread_mutex_unlock(&h->mu);
	if (!same)
		log_error(text);
}

size_t history_error(struct history *h, const char *volume, char *out,
		     size_t cap)
{
	struct hist_vol *v;
	size_t n = 0;

	if (!cap)
		return 0;
	out[0] = '\0';
	pthread_mutex_lock(&h->mu);
	v = volume ? hist_vol_get(h, volume, 0) : NULL;
	if (!volume || v)
		n = (size_t)snprintf(out, cap, "%s", v ? v->err : h->jerr);
	pthread_mutex_unlock(&h->mu);
	return n < cap ? n : cap - 1;
}

/* ---- the queue ---- */

struct hist_change *hist_change_new(struct history *h,
				    const struct history_change *c, int copy)
{
	size_t plen = strlen(c->path) + 1;
	size_t tlen = c->op == HISTORY_RENAME ? strlen(c->to) + 1 : 0;
	struct hist_change *ch = malloc(sizeof(*ch) + plen + tlen);

	if (!ch)
		return NULL;
	ch->next = NULL;
	ch->op = c->op;
	ch->mode = c->mode;
	ch->gen = 0;
	ch->data = NULL;
	ch->len = 0;
	memcpy(ch->path, c->path, plen);
	ch->to = tlen ? ch->path + plen : NULL;
	if (tlen)
		memcpy(ch->to, c->to, tlen);
	if (!copy || !c->data ||
	    (c->op != HISTORY_WRITE && c->op != HISTORY_CREATE))
		return ch;
	/* Reserve before copying, outside the lock: a large file must
	 * not hold up other requests. Past the budget the content is read
	 * from the source at commit time instead. */
	if (__atomic_add_fetch(&h->bytes, c->len, __ATOMIC_RELAXED) >
	    h->cfg.max_queued_bytes) {
		__atomic_sub_fetch(&h->bytes, c->len, __ATOMIC_RELAXED);
		return ch;
	}
	ch->data = malloc(c->len ? c->len : 1);
	if (!ch->data) {
		__atomic_sub_fetch(&h->bytes, c->len, __ATOMIC_RELAXED);
		return ch;
	}
	memcpy(ch->data, c->data, c->len);
	ch->len = c->len;
	return ch;
}

void hist_change_free(struct history *h, struct hist_change *ch)
{
	if (ch->data)
		__atomic_sub_fetch(&h->bytes, ch->len, __ATOMIC_RELAXED);
	free(ch->data);
	free(ch);
}

static int same_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static int key_eq(const struct hist_key *k, const struct history_author *a)
{
	return k->uid == a->uid && same_str(k->user, a->user) &&
	       same_str(k->run, a->run) && same_str(k->session, a->session) &&
	       same_str(k->tool, a->tool);
}

static int dup_opt(char **out, const char *s)
{
	*out = NULL;
	if (!s || !*s)
		return 0;
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

static struct hist_group *group_new(struct history *h, struct hist_vol *v,
				    enum hist_group_kind kind,
				    const struct history_author *a)
{
	struct hist_group *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->kind = kind;
	g->key.uid = a->uid;
	g->key.user = strdup(a->user);
	if (!g->key.user || dup_opt(&g->key.run, a->run) ||
	    dup_opt(&g->key.session, a->session) ||
	    dup_opt(&g->key.tool, a->tool)) {
		hist_group_free(h, g, 0);
		return NULL;
	}
	g->first_ms = g->last_ms = hist_now_ms();
	g->when = time(NULL);
	/* A new group closes the one before: commits keep the order. */
	if (v->qtail)
		v->qtail->sealed = 1;
	if (v->qtail)
		v->qtail->next = g;
	else
		v->qhead = g;
	v->qtail = g;
	return g;
}

int hist_enqueue(struct history *h, struct hist_vol *v,
		 const struct history_author *a, struct hist_change *ch,
		 int64_t when)
{
	struct hist_group *g = v->qtail;

	if (!g || g->sealed || g->busy || g->kind != HG_CHANGES ||
	    g->n >= h->cfg.max_group || !key_eq(&g->key, a)) {
		g = group_new(h, v, HG_CHANGES, a);
		if (!g)
			return -ENOMEM;
	}
	if (g->tail)
		g->tail->next = ch;
	else
		g->head = ch;
	g->tail = ch;
	g->n++;
	g->bytes += ch->len;
	g->last_ms = hist_now_ms();
	g->when = when;
	h->nchanges++;
	return 0;
}

struct hist_group *hist_enqueue_scan(struct history *h, struct hist_vol *v)
{
	struct history_author daemon = { .uid = getuid(), .user = DAEMON_USER };
	struct hist_group *g = group_new(h, v, HG_SCAN, &daemon);

	if (g)
		g->sealed = 1;
	return g;
}

/* Wake the writer when it sleeps past `due`. */
static void wake_by(struct history *h, int64_t due)
{
	if (h->idle && h->wake_at > due)
		pthread_cond_signal(&h->wake);
}

/* Translate a change into what history records: noise and paths outside
 * the areas vanish, renames across the boundary become a write or an
 * unlink. 1: nothing to record. */
static int translate(struct history_change *c)
{
	int from, to;

	if (!c->path || (unsigned)c->op > HISTORY_CHMOD)
		return -EINVAL;
	from = hist_path_check(c->path);
	if (from < 0)
		return from;
	if (c->op != HISTORY_RENAME)
		return from;
	if (!c->to)
		return -EINVAL;
	to = hist_path_check(c->to);
	if (to < 0)
		return to;
	if (from == 0 && to == 0)
		return 0;
	if (from == 0) {
		c->op = HISTORY_UNLINK;
		c->to = NULL;
		return 0;
	}
	if (to == 0) {
		c->op = HISTORY_WRITE;
		c->path = c->to;
		c->to = NULL;
		c->data = NULL;
		c->mode = 0;
		return 0;
	}
	return 1;
}

int history_note(struct history *h, const char *volume,
		 const struct history_author *a, const struct history_change *c)
{
	struct history_change t = *c;
	struct hist_change *ch;
	struct hist_vol *v;
	int64_t when = time(NULL);
	unsigned gen = 0;
	int rc, jrc;

	if (!volume || hist_volume_check(volume) || !a || !a->user ||
	    !*a->user || strlen(a->user) >= 64 || !trailer_check(a->run) ||
	    !trailer_check(a->session) || !trailer_check(a->tool))
		return -EINVAL;
	rc = translate(&t);
	if (rc)
		return rc < 0 ? rc : 0;
	ch = hist_change_new(h, &t, 1);
	if (!ch)
		return -ENOMEM;
	pthread_mutex_lock(&h->mu);
	v = hist_vol_get(h, volume, 1);
	if (!v) {
		rc = -ENOMEM;
		goto out;
	}
	if (h->nchanges >= HIST_MAX_CHANGES) {
		v->need_scan = 1;
		rc = -ENOBUFS;
		goto out;
	}
	/* A volume's first change: a volume that has files but no
	 * repository gets one holding them first. */
	if (!v->seen) {
		char head[4096];

		v->seen = 1;
		snprintf(head, sizeof(head), "%s/HEAD", v->gitdir);
		if (access(head, F_OK) != 0 && !hist_enqueue_scan(h, v)) {
			rc = -ENOMEM;
			goto out;
		}
	}
	jrc = hist_journal_append(h, volume, a, &t, when, &gen);
	ch->gen = gen;
	rc = hist_enqueue(h, v, a, ch, when);
	if (rc) {
		if (gen)
			hist_journal_done(h, gen, 1);
		goto out;
	}
	ch = NULL;
	wake_by(h, hist_now_ms() + h->cfg.quiet_ms);
	rc = jrc;
out:
	pthread_mutex_unlock(&h->mu);
	if (ch)
		hist_change_free(h, ch);
	return rc;
}

int history_scan(struct history *h, const char *volume)
{
	struct hist_vol *v;
	int rc = 0;

	if (!volume || hist_volume_check(volume))
		return -EINVAL;
	pthread_mutex_lock(&h->mu);
	v = hist_vol_get(h, volume, 1);
	if (!v || !hist_enqueue_scan(h, v))
		rc = -ENOMEM;
	else
		v->seen = 1;
	wake_by(h, 0);
	pthread_mutex_unlock(&h->mu);
	return rc;
}

/* ---- open and close ---- */

static int mkdir_p(const char *path)
{
	char tmp[4096];
	size_t n = strlen(path);

	if (n >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static void fill_defaults(struct history_config *c)
{
	if (!c->quiet_ms)
		c->quiet_ms = 1000;
	if (!c->max_delay_ms)
		c->max_delay_ms = 10000;
	if (c->max_delay_ms < c->quiet_ms)
		c->max_delay_ms = c->quiet_ms;
	if (!c->max_group)
		c->max_group = 10000;
	if (!c->max_queued_bytes)
		c->max_queued_bytes = (size_t)256 << 20;
	if (!c->max_file)
		c->max_file = (size_t)256 << 20;
	if (!c->pack_every)
		c->pack_every = 1000;
}

/* After an unclean shutdown: compare every volume that has a repository
 * (STATE/history/system.git, team/<t>.git, user/<u>.git) or a line in the
 * journal with its files. */
static int queue_recovery(struct history *h)
{
	static const char *const cls[] = { "team", "user" };
	char path[4096], name[HIST_VOL_MAX];
	struct dirent *de;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/system.git", h->dir);
	if (access(path, F_OK) == 0)
		hist_vol_get(h, "system", 1);
	for (size_t i = 0; i < 2; i++) {
		DIR *d;

		snprintf(path, sizeof(path), "%s/%s", h->dir, cls[i]);
		d = opendir(path);
		if (!d)
			continue;
		while ((de = readdir(d))) {
			size_t n = strlen(de->d_name);

			if (n <= 4 || strcmp(de->d_name + n - 4, ".git") ||
			    (size_t)snprintf(name, sizeof(name), "%s/%.*s",
					     cls[i], (int)(n - 4),
					     de->d_name) >= sizeof(name) ||
			    hist_volume_check(name))
				continue;
			hist_vol_get(h, name, 1);
		}
		closedir(d);
	}
	for (struct hist_vol *v = h->vols; v && !rc; v = v->next) {
		v->seen = 1;
		if (!hist_enqueue_scan(h, v))
			rc = -ENOMEM;
	}
	return rc;
}

/* STATE/history/running: there while a daemon uses the folder (found at
 * start: the last one did not end cleanly), and locked by it (a second
 * daemon on the same folder is refused). */
static int marker_open(struct history *h)
{
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s/running", h->dir) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	if (access(path, F_OK) == 0)
		h->unclean = 1;
	h->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (h->lock_fd < 0)
		return -errno;
	if (flock(h->lock_fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? -EBUSY : -errno;
	return 0;
}

static void marker_close(struct history *h, int clean)
{
	char path[4096];

	if (clean && (size_t)snprintf(path, sizeof(path), "%s/running",
				      h->dir) < sizeof(path))
		unlink(path);
	if (h->lock_fd >= 0)
		close(h->lock_fd);
	h->lock_fd = -1;
}

static void set_host(struct history *h)
{
	const char *host = h->cfg.host;

	if (host && *host) {
		snprintf(h->host, sizeof(h->host), "%s", host);
	} else if (gethostname(h->host, sizeof(h->host) - 1) < 0) {
		h->host[0] = '\0';
	}
	h->host[sizeof(h->host) - 1] = '\0';
	/* An e-mail's domain: no '<', '>', '@' or spaces. */
	for (char *p = h->host; *p; p++)
		if (strchr("<>@ \t\n", *p))
			*p = '-';
	if (!h->host[0])
		snprintf(h->host, sizeof(h->host), "localhost");
}

/* libgit2 reads no configuration but the repository's own: the
 * daemon's behaviour does not depend on root's ~/.gitconfig. */
static void git_setup(void)
{
	static const int levels[] = { GIT_CONFIG_LEVEL_SYSTEM,
				      GIT_CONFIG_LEVEL_XDG,
				      GIT_CONFIG_LEVEL_GLOBAL,
				      GIT_CONFIG_LEVEL_PROGRAMDATA };

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, levels[i], "");
}

static void history_free(struct history *h)
{
	while (h->vols) {
		struct hist_vol *v = h->vols;

		h->vols = v->next;
		vol_free(h, v);
	}
	pthread_cond_destroy(&h->wake);
	pthread_cond_destroy(&h->done);
	pthread_mutex_destroy(&h->mu);
	free(h->dir);
	free(h->scope);
	free(h);
	git_libgit2_shutdown();
}

int history_open(struct history **out, const struct history_config *cfg)
{
	pthread_condattr_t ca;
	struct history *h;
	size_t len;
	int rc;

	if (!cfg->state_dir || !cfg->src)
		return -EINVAL;
	if (git_libgit2_init() < 0)
		return -ENOMEM;
	git_setup();
	h = calloc(1, sizeof(*h));
	if (!h) {
		git_libgit2_shutdown();
		return -ENOMEM;
	}
	pthread_mutex_init(&h->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->wake, &ca);
	pthread_cond_init(&h->done, &ca);	/* hist_shared_poll() times it */
	pthread_condattr_destroy(&ca);
	h->jfd = -1;
	h->lock_fd = -1;
	h->cfg = *cfg;
	fill_defaults(&h->cfg);
	set_host(h);
	len = strlen(cfg->state_dir) + sizeof("/history");
	h->dir = malloc(len);
	h->cfg.scope = cfg->scope ? h->scope = strdup(cfg->scope) : NULL;
	if (!h->dir || (cfg->scope && !h->scope)) {
		rc = -ENOMEM;
		goto fail;
	}
	snprintf(h->dir, len, "%s/history", cfg->state_dir);
	rc = mkdir_p(h->dir);
	if (!rc)
		rc = marker_open(h);
	if (!rc)
		rc = hist_journal_open(h);
	if (rc == -EBUSY)
		log_err("history: '%s' is in use by another llmunixfs "
			"(unmount it first)", h->dir);
	else if (rc)
		log_err("history: cannot use '%s': %s", h->dir, strerror(-rc));
	if (rc)
		goto fail;
	pthread_mutex_lock(&h->mu);
	rc = hist_journal_replay(h);
	if (!rc && h->unclean)
		rc = queue_recovery(h);
	pthread_mutex_unlock(&h->mu);
	if (rc) {
		log_err("history: cannot read the journal in '%s': %s", h->dir,
			strerror(-rc));
		goto fail;
	}
	if (h->unclean)
		log_warn("history: the last run did not end cleanly; what it "
			 "had not committed is being recorded now");
	rc = -pthread_create(&h->thread, NULL, hist_writer_main, h);
	if (rc)
		goto fail;
	h->started = 1;
	*out = h;
	return 0;
fail:
	hist_journal_close(h, 0);
	marker_close(h, 0);
	history_free(h);
	return rc;
}

void history_close(struct history *h)
{
	int clean, rc;

	if (!h)
		return;
	rc = history_flush(h);
	pthread_mutex_lock(&h->mu);
	h->stop = 1;
	pthread_cond_signal(&h->wake);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->thread, NULL);
	clean = rc == 0 && h->nchanges == 0;
	for (struct hist_vol *v = h->vols; v && clean; v = v->next)
		if (v->qhead || v->need_scan)
			clean = 0;
	hist_journal_close(h, clean);
	marker_close(h, clean);
	history_free(h);
}
