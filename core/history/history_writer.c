/* core/history/history_writer.c: the background thread that turns the
 * queued changes into commits (history_int.h). */
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

#define BACKOFF_MAX_MS 60000

/* ---- the writer ---- */

static int group_due(const struct history *h, const struct hist_group *g,
		     int64_t now, int64_t *next)
{
	int64_t quiet, late;

	/* A repository's first scan waits for the group noted with it, so
	 * that what that group changes is left for it to record. */
	if (g->kind == HG_SCAN && g->next)
		return group_due(h, g->next, now, next);
	quiet = g->last_ms + h->cfg.quiet_ms;
	late = g->first_ms + h->cfg.max_delay_ms;
	if (g->sealed || now >= quiet || now >= late)
		return 1;
	if (quiet < *next)
		*next = quiet;
	if (late < *next)
		*next = late;
	return 0;
}

/* The paths that groups after `g` change: a scan leaves them as the last
 * commit has them, for those groups to record with their authors. */
static int later_paths(const struct hist_group *g, char ***out, size_t *n)
{
	size_t count = 0, i = 0;
	char **p;

	*out = NULL;
	*n = 0;
	for (const struct hist_group *x = g->next; x; x = x->next)
		for (const struct hist_change *c = x->head; c; c = c->next)
			count += c->to ? 2 : 1;
	if (!count)
		return 0;
	p = calloc(count, sizeof(*p));
	if (!p)
		return -ENOMEM;
	for (const struct hist_group *x = g->next; x; x = x->next)
		for (const struct hist_change *c = x->head; c; c = c->next) {
			p[i++] = strdup(c->path);
			if (c->to)
				p[i++] = strdup(c->to);
		}
	*out = p;
	*n = count;
	for (i = 0; i < count; i++)
		if (!p[i])
			return -ENOMEM;
	return 0;
}

static void strv_free(char **p, size_t n)
{
	for (size_t i = 0; p && i < n; i++)
		free(p[i]);
	free(p);
}

/* Commit the first group of `v` (h->mu held; released meanwhile). */
static int run_group(struct history *h, struct hist_vol *v)
{
	struct hist_group *g = v->qhead;
	char **keep = NULL;
	size_t nkeep = 0;
	int rc = 0;

	g->busy = 1;
	g->sealed = 1;
	if (g->kind == HG_SCAN)
		rc = later_paths(g, &keep, &nkeep);
	pthread_mutex_unlock(&h->mu);
	if (!rc)
		rc = hist_commit_group(h, v, g, (const char *const *)keep,
				       nkeep);
	strv_free(keep, nkeep);
	pthread_mutex_lock(&h->mu);
	g->busy = 0;
	if (rc) {
		v->backoff_ms = v->backoff_ms ? 2 * v->backoff_ms : 1000;
		if (v->backoff_ms > BACKOFF_MAX_MS)
			v->backoff_ms = BACKOFF_MAX_MS;
		v->retry_at = hist_now_ms() + v->backoff_ms;
		v->failing = 1;
		return rc;
	}
	v->qhead = g->next;
	if (!v->qhead)
		v->qtail = NULL;
	h->nchanges -= g->n;
	hist_group_free(h, g, 1);
	v->backoff_ms = 0;
	v->retry_at = 0;
	/* The failure is over; a warning of this commit stays. */
	if (v->failing)
		v->err[0] = '\0';
	v->failing = 0;
	if (!v->qhead && v->need_scan) {
		v->need_scan = 0;
		hist_enqueue_scan(h, v);
	}
	return 0;
}

/* The first group due, or NULL with the time of the next one. */
static struct hist_vol *pick(struct history *h, int64_t now, int64_t *next)
{
	*next = INT64_MAX;
	for (struct hist_vol *v = h->vols; v; v = v->next) {
		struct hist_group *g = v->qhead;

		/* Changes were dropped while the queue was full: compare
		 * the volume with its files. */
		if (!g && v->need_scan && hist_enqueue_scan(h, v)) {
			v->need_scan = 0;
			g = v->qhead;
		}
		if (!g || g->busy)
			continue;
		if (v->retry_at > now) {
			if (v->retry_at < *next)
				*next = v->retry_at;
			continue;
		}
		if (group_due(h, g, now, next))
			return v;
	}
	return NULL;
}

/* Commit every group noted before the flush; one attempt each. */
static void flush_pass(struct history *h)
{
	uint64_t target = h->flush_req;
	int first = 0;

	for (struct hist_vol *v = h->vols; v; v = v->next)
		if (v->qtail)
			v->qtail->sealed = 1;
	for (struct hist_vol *v = h->vols; v; v = v->next) {
		while (v->qhead && v->qhead->sealed) {
			int rc = run_group(h, v);

			if (rc) {
				if (!first)
					first = rc;
				break;
			}
		}
	}
	h->flush_done = target;
	h->flush_rc = first;
	pthread_cond_broadcast(&h->done);
}

static void wait_until(struct history *h, int64_t due)
{
	struct timespec ts;

	h->idle = 1;
	h->wake_at = due;
	if (due == INT64_MAX) {
		pthread_cond_wait(&h->wake, &h->mu);
	} else {
		ts.tv_sec = due / 1000;
		ts.tv_nsec = (due % 1000) * 1000000;
		pthread_cond_timedwait(&h->wake, &h->mu, &ts);
	}
	h->idle = 0;
}

/* A volume whose readers asked for the shared head. */
static struct hist_vol *wants_sync(struct history *h)
{
	for (struct hist_vol *v = h->vols; v; v = v->next)
		if (v->sync_req > v->sync_done)
			return v;
	return NULL;
}

void *hist_writer_main(void *arg)
{
	struct history *h = arg;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		struct hist_vol *v;
		int64_t next;

		if (h->flush_req > h->flush_done) {
			flush_pass(h);
			continue;
		}
		if (h->stop)
			break;
		v = wants_sync(h);
		if (v) {
			hist_shared_sync(h, v);
			continue;
		}
		v = pick(h, hist_now_ms(), &next);
		if (v)
			run_group(h, v);
		else
			wait_until(h, next);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

int history_flush(struct history *h)
{
	uint64_t ticket;
	int rc;

	pthread_mutex_lock(&h->mu);
	ticket = ++h->flush_req;
	pthread_cond_signal(&h->wake);
	while (h->flush_done < ticket)
		pthread_cond_wait(&h->done, &h->mu);
	rc = h->flush_rc;
	pthread_mutex_unlock(&h->mu);
	return rc;
}

