/* core/run/engine.c: runs in memory, their scheduling on the workers, and the
 * shared files of each record, see engine.h and engine_int.h. */
#include "core/run/engine_int.h"
#include "core/util/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define CANCEL_GRACE_S 2.0

const char *run_status_name(enum run_status s)
{
	static const char *const name[] = {
		[RUN_QUEUED] = "queued", [RUN_RUNNING] = "running",
		[RUN_SUCCEEDED] = "succeeded", [RUN_FAILED] = "failed",
		[RUN_CANCELLED] = "cancelled",
	};

	return name[s];
}

const char *node_state_name(enum node_state s)
{
	static const char *const name[] = {
		[NODE_WAITING] = "queued", [NODE_READY] = "queued",
		[NODE_RUNNING] = "running", [NODE_SUCCEEDED] = "succeeded",
		[NODE_CACHED] = "cached", [NODE_FAILED] = "failed",
		[NODE_SKIPPED] = "skipped", [NODE_CANCELLED] = "cancelled",
	};

	return name[s];
}

int node_state_final(enum node_state s)
{
	return s >= NODE_SUCCEEDED;
}

void run_skills_release(struct run_skills *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].path);
		skill_free(s->v[i].sk);
	}
	free(s->v);
	s->v = NULL;
	s->n = 0;
	for (size_t i = 0; i < s->nfiles; i++) {
		free(s->files[i].port);
		free(s->files[i].name);
		free(s->files[i].data);
	}
	free(s->files);
	s->files = NULL;
	s->nfiles = 0;
}

const struct run_skill *run_skill_of(const struct run *r,
				     const struct skill *sk)
{
	for (size_t k = 0; k < r->skills.n; k++)
		if (r->skills.v[k].sk == sk)
			return &r->skills.v[k];
	return NULL;
}

/* --- runs in memory ------------------------------------------------------ */

struct run *run_new(const char *user, const char *name, const char *dir)
{
	struct run *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->refs = 1;
	r->dirfd = r->log_fd = r->events_fd = -1;
	r->user = strdup(user);
	r->name = strdup(name);
	r->dir = strdup(dir);
	if (!r->user || !r->name || !r->dir) {
		free(r->user);
		free(r->name);
		free(r->dir);
		free(r);
		return NULL;
	}
	return r;
}

/* Hand a trashed record to the janitor (e->mu held); removed at once
 * when the janitor cannot take it. */
static int trash_room(struct engine *e)
{
	size_t k = e->trash_alloc ? 2 * e->trash_alloc : 8;
	char **v;

	if (e->ntrash < e->trash_alloc)
		return 0;
	v = realloc(e->trash_q, k * sizeof(*v));
	if (!v)
		return -ENOMEM;
	e->trash_q = v;
	e->trash_alloc = k;
	return 0;
}

void janitor_add(struct engine *e, char *path)
{
	if (e->has_janitor && !e->janitor_stop && trash_room(e) == 0) {
		e->trash_q[e->ntrash++] = path;
		pthread_cond_signal(&e->jcv);
		return;
	}
	runner_work_remove(path);
	free(path);
}

static void *janitor(void *arg)
{
	struct engine *e = arg;

	pthread_mutex_lock(&e->mu);
	for (;;) {
		char *path;

		if (!e->ntrash) {
			if (e->janitor_stop)
				break;
			pthread_cond_wait(&e->jcv, &e->mu);
			continue;
		}
		path = e->trash_q[--e->ntrash];
		pthread_mutex_unlock(&e->mu);
		runner_work_remove(path);
		free(path);
		pthread_mutex_lock(&e->mu);
	}
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

static void run_free(struct run *r)
{
	if (r->trash) {
		janitor_add(r->engine, r->dir);
		r->dir = NULL;
	}
	run_close_files(r);
	for (size_t i = 0; r->g && r->nodes && i < r->g->nnodes; i++) {
		json_decref(r->nodes[i].outputs);
		free(r->nodes[i].children);
		runner_ctl_free(r->nodes[i].ctl);
	}
	free(r->nodes);
	free(r->ready);
	graph_free(r->g);
	run_skills_release(&r->skills);
	free(r->user);
	free(r->name);
	free(r->dir);
	free(r);
}

/* The record's files, once the run can no longer change. */
void run_close_files(struct run *r)
{
	if (r->log_fd >= 0)
		close(r->log_fd);
	if (r->events_fd >= 0)
		close(r->events_fd);
	if (r->dirfd >= 0)
		close(r->dirfd);
	r->dirfd = r->log_fd = r->events_fd = -1;
}

/* Called with e->mu held. */
void run_unref(struct run *r)
{
	if (--r->refs == 0)
		run_free(r);
}

static int run_cmp(const struct run *r, const char *user, const char *name)
{
	int c = strcmp(r->user, user);

	return c ? c : strcmp(r->name, name);
}

/* Keep the list in (user, name) order, for listings. */
void run_insert(struct engine *e, struct run *r)
{
	struct run **p = &e->runs;

	while (*p && run_cmp(*p, r->user, r->name) < 0)
		p = &(*p)->next;
	r->next = *p;
	*p = r;
}

struct run *run_find(struct engine *e, const char *user,
			    const char *name)
{
	for (struct run *r = e->runs; r; r = r->next)
		if (run_cmp(r, user, name) == 0)
			return r;
	return NULL;
}

void run_remove(struct engine *e, struct run *r)
{
	for (struct run **p = &e->runs; *p; p = &(*p)->next) {
		if (*p == r) {
			*p = r->next;
			break;
		}
	}
	if (e->cursor == r)
		e->cursor = NULL;
	r->next = NULL;
}

/* --- the shared record files (e->mu held) -------------------------------- */

void json_line(struct run *r, const char *node, const char *event,
		      const char *k1, json_t *v1, const char *k2, json_t *v2)
{
	struct timespec now;
	char when[32], *text;
	json_t *o = json_object();

	clock_gettime(CLOCK_REALTIME, &now);
	rec_time(&now, when);
	if (!o)
		goto out;
	json_object_set_new(o, "time", json_string(when));
	if (node)
		json_object_set_new(o, "node", json_string(node));
	json_object_set_new(o, "event", json_string(event));
	if (k1 && v1)
		json_object_set(o, k1, v1);
	if (k2 && v2)
		json_object_set(o, k2, v2);
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER |
			  JSON_ENSURE_ASCII);
	if (text) {
		size_t n = strlen(text);

		text[n] = '\n';	/* over the NUL: n + 1 bytes go out */
		if (rec_append_fd(&r->events_fd, r->dirfd, "events", text,
				  n + 1) == 0)
			r->events_len += n + 1;
		else if (r->events_fd >= 0)	/* no half line, ever */
			(void)!ftruncate(r->events_fd, (off_t)r->events_len);
		free(text);
	}
out:
	json_decref(v1);
	json_decref(v2);
	json_decref(o);
}

void run_log(struct run *r, const char *fmt, ...)
{
	char msg[2048], line[4096], when[32];
	struct timespec now;
	va_list ap;
	int n;

	clock_gettime(CLOCK_REALTIME, &now);
	rec_time(&now, when);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = (int)strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	/* Names, paths and errors come from users: one entry is one line
	 * from its time stamp, whatever they hold (log_text_escape). */
	n = snprintf(line, sizeof(line), "%s ", when);
	n += (int)log_text_escape(line + n, sizeof(line) - (size_t)n - 1, msg);
	line[n++] = '\n';
	if (rec_append_fd(&r->log_fd, r->dirfd, "log", line, (size_t)n) == 0)
		r->log_len += (size_t)n;
	else if (r->log_fd >= 0)
		(void)!ftruncate(r->log_fd, (off_t)r->log_len);
}

/* A status file that could not be written leaves `wait` and `ls` wrong:
 * say so in the daemon's log. */
static void put_warn(const struct run *r, const char *rel, int rc)
{
	char esc[256];

	if (rc)
		log_warn("run '%s': cannot write '%s': %s",
			 log_escape(esc, sizeof(esc), r->name), rel,
			 strerror(-rc));
}

void write_progress(struct run *r)
{
	put_warn(r, "progress",
		 rec_putf(r->dirfd, "progress", "%zu/%zu\n", r->ndone,
			  r->g ? r->g->nnodes : 0));
}

void write_status(struct run *r)
{
	put_warn(r, "status", rec_putf(r->dirfd, "status", "%s\n",
				       run_status_name(r->status)));
}

static void node_set_status(struct run *r, size_t i, enum node_state st)
{
	char rel[128];

	r->nodes[i].st = st;
	snprintf(rel, sizeof(rel), "nodes/%s/status", r->g->nodes[i].id);
	put_warn(r, rel, rec_putf(r->dirfd, rel, "%s\n",
				  node_state_name(st)));
}

/* --- the end of nodes and runs (e->mu held) ------------------------------ */

void notify(struct engine *e)
{
	if (e->notify)
		e->notify(e->notify_arg);
}

/* Measure what changed in the record besides the nodes that ran (they
 * settle when they end): the shared files, and the nodes skipped or
 * cancelled before they started. Then give back what the run reserved
 * for them and did not use. */
static void run_settle_rest(struct run *r)
{
	for (size_t i = 0; r->nodes && i < r->g->nnodes; i++) {
		struct rnode *n = &r->nodes[i];

		if (!n->settled && n->st != NODE_RUNNING) {
			n->settled = 1;
			quota_settle(r, &n->charged,
				     rec_du_node(r->dirfd, r->g->nodes[i].id),
				     0);
		}
	}
	quota_settle(r, &r->shared, rec_du_shared(r->dirfd), 0);
	quota_unhold(r->qu, r->hold);
	r->hold = 0;
}

void run_finish(struct run *r)
{
	struct timespec now;
	double secs;

	if (r->cancel)
		r->status = RUN_CANCELLED;
	else if (r->nfailed)
		r->status = RUN_FAILED;
	else
		r->status = RUN_SUCCEEDED;
	clock_gettime(CLOCK_MONOTONIC, &now);
	secs = (double)(now.tv_sec - r->started.tv_sec) +
	       (double)(now.tv_nsec - r->started.tv_nsec) / 1e9;
	if (r->status == RUN_CANCELLED && !r->nfailed)
		put_warn(r, "error",
			 rec_putf(r->dirfd, "error", "cancelled\n"));
	run_log(r, "run %s in %.3f s: %zu of %zu nodes did not succeed",
		run_status_name(r->status), secs, r->nfailed,
		r->g->nnodes);
	json_line(r, NULL, "run_finished", "status",
		  json_string(run_status_name(r->status)), "seconds",
		  json_real(secs));
	write_status(r);
	run_settle_rest(r);
	run_close_files(r);
}

/* Mark the descendants of `i` skipped, naming `cause`. */
static void skip_descendants(struct run *r, size_t i, const char *cause)
{
	struct rnode *n = &r->nodes[i];

	for (size_t k = 0; k < n->nchildren; k++) {
		size_t c = n->children[k];
		const char *id = r->g->nodes[c].id;
		char why[256];

		if (node_state_final(r->nodes[c].st))
			continue;
		snprintf(why, sizeof(why), "ancestor '%s' failed", cause);
		node_set_status(r, c, NODE_SKIPPED);
		r->ndone++;
		r->nfailed++;
		run_log(r, "node '%s' skipped: %s", id, why);
		json_line(r, id, "skipped", "reason", json_string(why), NULL,
			  NULL);
		{
			char rel[128];

			snprintf(rel, sizeof(rel), "nodes/%s/error", id);
			put_warn(r, rel, rec_putf(r->dirfd, rel,
						  "skipped: %s\n", why));
		}
		skip_descendants(r, c, cause);
	}
}

void push_ready(struct run *r, size_t i)
{
	r->nodes[i].st = NODE_READY;
	r->ready[r->ready_tail++ % r->g->nnodes] = i;
}

/* Record the end of node `i` and release what it unblocks. */
static void node_done(struct engine *e, struct run *r, size_t i,
		      struct exec_result *res)
{
	struct rnode *n = &r->nodes[i];
	const char *id = r->g->nodes[i].id;

	r->nrunning--;
	runner_ctl_free(n->ctl);
	n->ctl = NULL;
	if (r->deleting) {
		n->st = res->st;
		r->ndone++;
		return;
	}
	if (res->st == NODE_FAILED && r->cancel)
		res->st = NODE_CANCELLED;
	if (res->st == NODE_CANCELLED && !r->cancel && e->stopping) {
		res->st = NODE_FAILED;
		free(res->error);
		res->error = strdup("the daemon stopped while the run was "
				    "running");
	}
	node_set_status(r, i, res->st);
	r->ndone++;
	n->outputs = res->outputs;
	res->outputs = NULL;
	switch (res->st) {
	case NODE_SUCCEEDED:
	case NODE_CACHED:
		run_log(r, "node '%s' %s", id, node_state_name(res->st));
		json_line(r, id, node_state_name(res->st), NULL, NULL, NULL,
			  NULL);
		for (size_t k = 0; k < n->nchildren; k++) {
			size_t c = n->children[k];

			if (--r->nodes[c].waiting == 0 &&
			    r->nodes[c].st == NODE_WAITING)
				push_ready(r, c);
		}
		break;
	default:
		r->nfailed++;
		run_log(r, "node '%s' %s: %s", id, node_state_name(res->st),
			res->error ? res->error : "?");
		json_line(r, id, node_state_name(res->st), "error",
			  json_string(res->error ? res->error : "?"), NULL,
			  NULL);
		if (res->st == NODE_FAILED) {
			char line[8192];

			snprintf(line, sizeof(line), "node '%s': %s\n", id,
				 res->error ? res->error : "failed");
			put_warn(r, "error", rec_append(r->dirfd, "error",
							line, strlen(line)));
		}
		skip_descendants(r, i, id);
		break;
	}
	write_progress(r);
	quota_settle(r, &r->shared, rec_du_shared(r->dirfd), 0);
	if (r->ndone == r->g->nnodes)
		run_finish(r);
}

/* --- scheduling ---------------------------------------------------------- */

/* The next ready node, taking runs in turn after the one served last. */
static int pick(struct engine *e, struct run **rp, size_t *ip)
{
	struct run *start = e->cursor ? e->cursor->next : NULL, *r;

	for (int pass = 0; pass < 2; pass++) {
		for (r = pass ? e->runs : start; r; r = r->next) {
			if (pass && r == start)
				break;
			if (r->ready_head == r->ready_tail || r->deleting)
				continue;
			*rp = r;
			*ip = r->ready[r->ready_head++ % r->g->nnodes];
			e->cursor = r;
			return 1;
		}
	}
	return 0;
}

/* e->mu held. */
static void mark_running(struct run *r)
{
	if (r->status == RUN_QUEUED) {
		r->status = RUN_RUNNING;
		write_status(r);
	}
}

/* The node's code is about to run (not served from the cache): say so.
 * Called by exec_node() with no lock held. */
void node_started(struct engine *e, struct run *r, size_t i)
{
	const struct run_skill *rs = run_skill_of(r, r->g->nodes[i].sk);

	pthread_mutex_lock(&e->mu);
	if (r->deleting || r->cancel) {	/* the runner will not start it */
		pthread_mutex_unlock(&e->mu);
		return;
	}
	node_set_status(r, i, NODE_RUNNING);
	run_log(r, "node '%s' started (%s)", r->g->nodes[i].id,
		rs ? rs->path : r->g->nodes[i].skill);
	json_line(r, r->g->nodes[i].id, "started", "skill",
		  json_string(rs ? rs->path : r->g->nodes[i].skill), NULL,
		  NULL);
	pthread_mutex_unlock(&e->mu);
	notify(e);
}

static void *worker(void *arg)
{
	struct engine *e = arg;

	pthread_mutex_lock(&e->mu);
	while (!e->stopping) {
		struct exec_result res;
		struct run *r;
		size_t i;

		if (!pick(e, &r, &i)) {
			pthread_cond_wait(&e->cv, &e->mu);
			continue;
		}
		if (runner_ctl_new(&r->nodes[i].ctl)) {
			/* no memory for the handle: try again later */
			r->ready[--r->ready_head % r->g->nnodes] = i;
			pthread_mutex_unlock(&e->mu);
			usleep(100000);
			pthread_mutex_lock(&e->mu);
			continue;
		}
		mark_running(r);
		r->nodes[i].st = NODE_RUNNING;	/* its file says so once
						 * it is not cached */
		r->nrunning++;
		r->refs++;
		pthread_mutex_unlock(&e->mu);

		memset(&res, 0, sizeof(res));
		exec_node(e, r, i, &res);

		pthread_mutex_lock(&e->mu);
		node_done(e, r, i, &res);
		run_unref(r);
		pthread_cond_broadcast(&e->cv);	/* what it made ready */
		pthread_mutex_unlock(&e->mu);
		json_decref(res.outputs);
		free(res.error);
		notify(e);
		pthread_mutex_lock(&e->mu);
	}
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

/* e->mu held. */
static void run_cancel(struct run *r)
{
	if (r->status >= RUN_SUCCEEDED || r->cancel || !r->g)
		return;	/* no graph: a record loaded from disk */
	r->cancel = 1;
	run_log(r, "run '%s': cancel asked", r->name);
	json_line(r, NULL, "cancel", NULL, NULL, NULL, NULL);
	for (size_t i = 0; i < r->g->nnodes; i++) {
		struct rnode *n = &r->nodes[i];

		if (n->st == NODE_RUNNING && n->ctl) {
			runner_cancel(n->ctl, CANCEL_GRACE_S);
		} else if (!node_state_final(n->st)) {
			node_set_status(r, i, NODE_CANCELLED);
			r->ndone++;
			json_line(r, r->g->nodes[i].id, "cancelled", NULL,
				  NULL, NULL, NULL);
		}
	}
	r->ready_head = r->ready_tail = 0;
	write_progress(r);
	if (r->ndone == r->g->nnodes)
		run_finish(r);
}

int engine_cancel(struct engine *e, const char *user, const char *name)
{
	struct run *r;

	pthread_mutex_lock(&e->mu);
	r = run_find(e, user, name);
	if (r)
		run_cancel(r);
	pthread_mutex_unlock(&e->mu);
	notify(e);
	return r ? 0 : -ENOENT;
}

int engine_delete(struct engine *e, const char *user, const char *name)
{
	struct run *r;

	pthread_mutex_lock(&e->mu);
	r = run_find(e, user, name);
	if (r) {
		run_cancel(r);
		run_discard(e, r);
	}
	pthread_mutex_unlock(&e->mu);
	notify(e);
	return r ? 0 : -ENOENT;
}

/* --- life ---------------------------------------------------------------- */

/* Work folders a killed daemon left, some of them still mounted. */
static void work_clean(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[PATH_MAX];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) <
		    (int)sizeof(path))
			runner_work_remove(path);
	}
	closedir(d);
	runner_work_remove(dir);
}

static int make_dir(char **out, const char *state, const char *name)
{
	size_t n = strlen(state) + strlen(name) + 2;

	*out = malloc(n);
	if (!*out)
		return -ENOMEM;
	snprintf(*out, n, "%s/%s", state, name);
	if (mkdir(*out, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

int engine_new(struct engine **out, const struct config *cfg,
	       engine_notify_fn notify_fn, void *arg)
{
	struct engine *e = calloc(1, sizeof(*e));
	int rc;

	if (!e)
		return -ENOMEM;
	e->cfg = cfg;
	e->notify = notify_fn;
	e->notify_arg = arg;
	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->cv, NULL);
	rc = make_dir(&e->runs_dir, cfg->state_dir, "runs");
	if (!rc)
		rc = make_dir(&e->cache_dir, cfg->state_dir, "cache");
	if (!rc)
		rc = make_dir(&e->work_dir, cfg->state_dir, "work");
	if (!rc)
		rc = make_dir(&e->trash_dir, cfg->state_dir, "trash");
	if (rc)
		goto fail;
	/* Whatever a previous daemon left half done. */
	runner_work_remove(e->trash_dir);
	work_clean(e->work_dir);
	if ((mkdir(e->trash_dir, 0700) && errno != EEXIST) ||
	    (mkdir(e->work_dir, 0700) && errno != EEXIST)) {
		rc = -errno;
		goto fail;
	}
	e->proc_fd = access("/proc/self/fd", X_OK) == 0;
	rc = rec_load_all(e);
	if (!rc)
		rc = quota_load(e);
	if (rc)
		goto fail;
	pthread_cond_init(&e->jcv, NULL);
	rc = -pthread_create(&e->janitor, NULL, janitor, e);
	if (rc)
		goto fail;
	e->has_janitor = 1;
	e->workers = calloc(cfg->jobs, sizeof(*e->workers));
	if (!e->workers) {
		rc = -ENOMEM;
		goto fail;
	}
	for (unsigned i = 0; i < cfg->jobs; i++) {
		rc = -pthread_create(&e->workers[i], NULL, worker, e);
		if (rc)
			goto fail;
		e->nworkers++;
	}
	*out = e;
	return 0;
fail:
	engine_free(e);
	return rc;
}

void engine_free(struct engine *e)
{
	struct run *r;

	if (!e)
		return;
	pthread_mutex_lock(&e->mu);
	e->stopping = 1;
	for (r = e->runs; r; r = r->next)
		for (size_t i = 0; r->g && i < r->g->nnodes; i++)
			if (r->nodes[i].ctl)
				runner_cancel(r->nodes[i].ctl, 0);
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
	for (unsigned i = 0; i < e->nworkers; i++)
		pthread_join(e->workers[i], NULL);
	pthread_mutex_lock(&e->mu);
	while ((r = e->runs)) {
		e->runs = r->next;
		if (r->dirfd >= 0 && r->status < RUN_SUCCEEDED) {
			static const char why[] = "the daemon stopped while "
						  "the run was running\n";

			r->status = RUN_FAILED;
			/* after the failed nodes' lines, as at start-up */
			rec_append(r->dirfd, "error", why, sizeof(why) - 1);
			for (size_t i = 0; r->g && i < r->g->nnodes; i++) {
				if (node_state_final(r->nodes[i].st))
					continue;
				node_set_status(r, i, NODE_CANCELLED);
				r->ndone++;
			}
			write_progress(r);
			run_log(r, "run failed: the daemon stopped");
			json_line(r, NULL, "run_finished", "status",
				  json_string("failed"), NULL, NULL);
			write_status(r);
		}
		run_unref(r);
	}
	pthread_mutex_unlock(&e->mu);
	if (e->has_janitor) {
		pthread_mutex_lock(&e->mu);
		e->janitor_stop = 1;
		pthread_cond_signal(&e->jcv);
		pthread_mutex_unlock(&e->mu);
		pthread_join(e->janitor, NULL);
		pthread_cond_destroy(&e->jcv);
	}
	quota_free(e);
	free(e->trash_q);
	free(e->workers);
	free(e->runs_dir);
	free(e->cache_dir);
	free(e->work_dir);
	free(e->trash_dir);
	pthread_mutex_destroy(&e->mu);
	pthread_cond_destroy(&e->cv);
	free(e);
}
