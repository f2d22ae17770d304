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
/* Reserved when a run is accepted for the small files its nodes and its
 * shared files will gain (run_quota.c measures the real ones): a node's
 * exitcode, time, error, stdout, stderr, outputs/<id>/ and its lines in
 * log and events; the run's error and its last lines. */
#define NODE_META (7 * (uint64_t)DU_BLOCK)
#define RUN_META (4 * (uint64_t)DU_BLOCK)

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
static void run_unref(struct run *r)
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

static struct run *run_find(struct engine *e, const char *user,
			    const char *name)
{
	for (struct run *r = e->runs; r; r = r->next)
		if (run_cmp(r, user, name) == 0)
			return r;
	return NULL;
}

static void run_remove(struct engine *e, struct run *r)
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

static void json_line(struct run *r, const char *node, const char *event,
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

static void run_log(struct run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void run_log(struct run *r, const char *fmt, ...)
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

static void write_progress(struct run *r)
{
	put_warn(r, "progress",
		 rec_putf(r->dirfd, "progress", "%zu/%zu\n", r->ndone,
			  r->g ? r->g->nnodes : 0));
}

static void write_status(struct run *r)
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

static void notify(struct engine *e)
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

static void run_finish(struct run *r)
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

static void push_ready(struct run *r, size_t i)
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

/* --- submit -------------------------------------------------------------- */

static int valid_name(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n <= RUN_NAME_MAX && name[0] != '.' &&
	       !strchr(name, '/');
}

static int record_dir(struct engine *e, const char *user, const char *name,
		      char *path, size_t cap)
{
	int n = snprintf(path, cap, "%s/%s/%s", e->runs_dir, user, name);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* Move a record out of the way, to be removed when nothing uses it. */
static void run_discard(struct engine *e, struct run *r)
{
	char trash[4096];

	run_remove(e, r);
	if (r->nrunning)
		for (size_t i = 0; i < r->g->nnodes; i++)
			if (r->nodes[i].ctl)
				runner_cancel(r->nodes[i].ctl, 0);
	snprintf(trash, sizeof(trash), "%s/%llu", e->trash_dir,
		 (unsigned long long)++e->seq);
	quota_forget(r);
	r->deleting = 1;
	r->engine = e;
	if (rename(r->dir, trash) == 0) {
		char *t = strdup(trash);

		if (t) {
			free(r->dir);
			r->dir = t;
			r->trash = 1;
		}
	} else if (errno != ENOENT) {
		log_warn("could not move a run's record to the trash: %s",
			 strerror(errno));
	}
	r->cancel = 1;
	run_unref(r);
}

/* A fresh record folder for `r` and its dirfd. */
static int record_create(struct engine *e, struct run *r, const char *json,
			 size_t len)
{
	char udir[4096];
	int rc;

	snprintf(udir, sizeof(udir), "%s/%s", e->runs_dir, r->user);
	if (mkdir(udir, 0700) && errno != EEXIST)
		return -errno;
	runner_work_remove(r->dir);	/* a leftover nobody knew of */
	if (mkdir(r->dir, 0755))
		return -errno;
	r->dirfd = open(r->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->dirfd < 0)
		return -errno;
	rc = rec_put(r->dirfd, "graph.json", json, len);
	if (!rc)
		rc = rec_put(r->dirfd, "error", "", 0);
	if (!rc)
		rc = rec_put(r->dirfd, "log", "", 0);
	if (!rc)
		rc = rec_put(r->dirfd, "events", "", 0);
	return rc;
}

/* A node's files given as literals count in its key by their content. */
static void mix_files(const struct run *r, size_t i, uint8_t h[SHA256_LEN])
{
	for (size_t k = 0; k < r->skills.nfiles; k++) {
		const struct run_file *f = &r->skills.files[k];
		uint8_t fh[SHA256_LEN];
		struct sha256 s;

		if (f->node != i)
			continue;
		sha256(f->data, f->len, fh);
		sha256_begin(&s);
		sha256_add(&s, h, SHA256_LEN);
		sha256_add(&s, f->port, strlen(f->port) + 1);
		sha256_add(&s, fh, SHA256_LEN);
		sha256_end(&s, h);
	}
}

/* The literal file inputs, as inputs/<id>/<port>/<name> in the record. */
static int write_input_files(struct run *r)
{
	for (size_t k = 0; k < r->skills.nfiles; k++) {
		const struct run_file *f = &r->skills.files[k];
		char rel[1024];
		int rc;

		/* both become names under the record, written as root */
		if (!rec_name_ok(f->port) || !rec_name_ok(f->name))
			return -EINVAL;
		snprintf(rel, sizeof(rel), "inputs/%s/%s",
			 r->g->nodes[f->node].id, f->port);
		rc = rec_mkdirs(r->dirfd, rel, 0755);
		if (rc)
			return rc;
		snprintf(rel, sizeof(rel), "inputs/%s/%s/%s",
			 r->g->nodes[f->node].id, f->port, f->name);
		rc = rec_put(r->dirfd, rel, f->data, f->len);
		if (rc)
			return rc;
	}
	return 0;
}

/* Children lists, waiting counts, keys and the first ready nodes. */
static int run_prepare(struct run *r)
{
	struct graph *g = r->g;
	uint8_t (*hash)[SHA256_LEN], nonce[SHA256_LEN];
	uint8_t (*keys)[SHA256_LEN];
	int rc = -ENOMEM;

	r->nodes = calloc(g->nnodes, sizeof(*r->nodes));
	r->ready = calloc(g->nnodes, sizeof(*r->ready));
	hash = calloc(g->nnodes, sizeof(*hash));
	keys = calloc(g->nnodes, sizeof(*keys));
	if (!r->nodes || !r->ready || !hash || !keys)
		goto out;
	for (size_t i = 0; i < g->nnodes; i++) {
		const struct run_skill *rs = run_skill_of(r, g->nodes[i].sk);

		if (rs)
			memcpy(hash[i], rs->hash, SHA256_LEN);
		mix_files(r, i, hash[i]);
		for (size_t k = 0; k < g->nodes[i].ninputs; k++) {
			size_t p = g->nodes[i].inputs[k].from;
			struct rnode *pn;
			size_t *v;

			if (g->nodes[i].inputs[k].literal || p == GRAPH_NONE)
				continue;
			pn = &r->nodes[p];
			/* one edge per parent, however many links */
			if (pn->nchildren && pn->children[pn->nchildren - 1] == i)
				continue;
			v = realloc(pn->children,
				    (pn->nchildren + 1) * sizeof(*v));
			if (!v)
				goto out;
			pn->children = v;
			v[pn->nchildren++] = i;
			r->nodes[i].waiting++;
		}
	}
	if (getrandom(nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce))
		memset(nonce, 0, sizeof(nonce));
	rc = run_keys(g, (const uint8_t(*)[SHA256_LEN])hash, nonce, keys);
	if (rc)
		goto out;
	for (size_t i = 0; i < g->nnodes; i++)
		memcpy(r->nodes[i].key, keys[i], SHA256_LEN);
	/* Under a "cache": false node the keys are new every run: storing
	 * such results would only fill the cache. Parents come first in
	 * g->order, so one pass sees each node's parents settled. */
	for (size_t k = 0; k < g->nnodes; k++) {
		size_t i = g->order[k];
		struct rnode *n = &r->nodes[i];

		n->cacheable = g->nodes[i].cache;
		for (size_t j = 0; j < g->nodes[i].ninputs; j++) {
			size_t p = g->nodes[i].inputs[j].from;

			if (!g->nodes[i].inputs[j].literal && p != GRAPH_NONE &&
			    !r->nodes[p].cacheable)
				n->cacheable = 0;
		}
	}
	for (size_t k = 0; k < g->nnodes; k++) {
		size_t i = g->order[k];

		if (r->nodes[i].waiting == 0)
			push_ready(r, i);
	}
	rc = 0;
out:
	free(hash);
	free(keys);
	return rc;
}

/* Write each node's folder with its status and key: 0 or -errno. */
static int run_write_nodes(struct run *r)
{
	char rel[160], hex[SHA256_HEX];
	int rc = rec_mkdirs(r->dirfd, "nodes", 0755);

	if (!rc)
		rc = rec_mkdirs(r->dirfd, "outputs", 0755);
	for (size_t i = 0; !rc && i < r->g->nnodes; i++) {
		const char *id = r->g->nodes[i].id;

		snprintf(rel, sizeof(rel), "nodes/%s", id);
		rc = rec_mkdirs(r->dirfd, rel, 0755);
		snprintf(rel, sizeof(rel), "nodes/%s/status", id);
		if (!rc)
			rc = rec_putf(r->dirfd, rel, "queued\n");
		snprintf(rel, sizeof(rel), "nodes/%s/key", id);
		if (!rc)
			rc = rec_putf(r->dirfd, rel, "%s\n",
				      sha256_hex(r->nodes[i].key, hex));
	}
	return rc;
}

/* What the record of `r` costs once written (run_quota.c): the record's
 * folder, graph.json, the shared files, nodes/, outputs/, inputs/ and
 * each input file in its two folders, and each node's folder with its
 * status and key. An upper bound, reserved before it is written. */
static uint64_t record_estimate(const struct run *r, size_t len)
{
	uint64_t est = du_charge(len) + 9 * (uint64_t)DU_BLOCK;

	for (size_t k = 0; k < r->skills.nfiles; k++)
		est += du_charge(r->skills.files[k].len) + 2 * DU_BLOCK;
	return est + r->g->nnodes * 3 * (uint64_t)DU_BLOCK;
}

/* Measure the record just written: all of it into `charged`, and the
 * parts that change later (shared files, each node's folders). */
static void record_measure(struct run *r, uint64_t *charged)
{
	struct du du = { 0, 0, 0 };

	du_tree(r->dirfd, ".", SIZE_MAX, &du);
	*charged = du.charge;
	r->shared = rec_du_shared(r->dirfd);
	for (size_t i = 0; i < r->g->nnodes; i++)
		r->nodes[i].charged = rec_du_node(r->dirfd,
						  r->g->nodes[i].id);
}

int engine_submit(struct engine *e, const struct run_owner *o,
		  const char *name, struct graph *g, struct run_skills *skills,
		  const char *json, size_t len)
{
	char dir[4096], tmp[4096], msg[1024];
	uint64_t seq, est, hold, charged = 0, reserved = 0;
	struct run *r, *old;
	int rc;

	if (!valid_name(name) || !g->order) {
		rc = -EINVAL;
		goto out_free;
	}
	rc = record_dir(e, o->user, name, dir, sizeof(dir));
	if (rc)
		goto out_free;
	r = run_new(o->user, name, dir);
	if (!r) {
		rc = -ENOMEM;
		goto out_free;
	}
	r->uid = o->uid;
	r->gid = o->gid;
	r->g = g;
	r->skills = *skills;
	memset(skills, 0, sizeof(*skills));
	g = NULL;
	clock_gettime(CLOCK_MONOTONIC, &r->started);
	rc = run_prepare(r);
	if (rc)
		goto out_run;
	est = record_estimate(r, len);
	hold = r->g->nnodes * NODE_META + RUN_META;

	/* The record is written under a hidden name, outside the lock
	 * (its input files may be large), then renamed into place. */
	pthread_mutex_lock(&e->mu);
	seq = ++e->seq;
	r->qu = quota_user(e, o->user);
	rc = quota_reserve(e, r->qu, est + hold, "this run's record (its "
			   "graph and input files)", msg, sizeof(msg) - 1);
	pthread_mutex_unlock(&e->mu);
	if (rc == -EDQUOT) {
		size_t n = strlen(msg);

		/* a record that says why, where the user looks */
		memcpy(msg + n, "\n", 2);	/* room was left for it */
		if (engine_reject(e, o->user, name, json, len, msg) == -EEXIST)
			rc = -EEXIST;
		goto out_run;
	}
	if (rc)
		goto out_run;
	reserved = est + hold;
	snprintf(tmp, sizeof(tmp), "%s/%s/.new-%d-%llu", e->runs_dir,
		 o->user, (int)getpid(), (unsigned long long)seq);
	free(r->dir);
	r->dir = strdup(tmp);
	if (!r->dir) {
		rc = -ENOMEM;
		goto out_run;
	}
	rc = record_create(e, r, json, len);
	if (!rc)
		rc = write_input_files(r);
	if (!rc)
		rc = run_write_nodes(r);
	if (rc)
		goto out_tmp;
	r->status = RUN_QUEUED;
	write_status(r);
	write_progress(r);
	run_log(r, "run '%s' queued: %zu nodes", name, r->g->nnodes);
	json_line(r, NULL, "run_queued", "nodes",
		  json_integer((json_int_t)r->g->nnodes), NULL, NULL);
	record_measure(r, &charged);

	pthread_mutex_lock(&e->mu);
	old = run_find(e, o->user, name);
	if (old && !old->rejected) {
		pthread_mutex_unlock(&e->mu);
		rc = -EEXIST;
		goto out_tmp;
	}
	if (old)
		run_discard(e, old);
	if (rename(tmp, dir) && (errno == ENOTEMPTY || errno == EEXIST)) {
		runner_work_remove(dir);	/* a leftover nobody knew of */
		rename(tmp, dir);
	}
	if (access(dir, F_OK)) {
		rc = -errno;
		pthread_mutex_unlock(&e->mu);
		goto out_tmp;
	}
	free(r->dir);
	r->dir = strdup(dir);
	if (!r->dir) {		/* the record is in place: forget it */
		pthread_mutex_unlock(&e->mu);
		runner_work_remove(dir);
		rc = -ENOMEM;
		goto out_run;
	}
	run_insert(e, r);
	/* the record is measured: what was reserved for it is charged */
	r->charged = charged;
	r->qu->records += charged;
	quota_unhold(r->qu, est);
	r->hold = hold;
	if (r->g->nnodes == 0)
		run_finish(r);
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
	notify(e);
	return 0;

out_tmp:
	run_close_files(r);
	runner_work_remove(tmp);
out_run:
	pthread_mutex_lock(&e->mu);
	quota_unhold(r->qu, reserved);
	run_unref(r);
	pthread_mutex_unlock(&e->mu);
	return rc;
out_free:
	graph_free(g);
	run_skills_release(skills);
	return rc;
}

int engine_reject(struct engine *e, const char *user, const char *name,
		  const char *json, size_t len, const char *msg)
{
	char dir[4096], qmsg[1024];
	struct quser *qu = NULL;
	struct run *r, *old;
	uint64_t need, held = 0;
	int rc;

	if (!valid_name(name))
		return -EINVAL;
	rc = record_dir(e, user, name, dir, sizeof(dir));
	if (rc)
		return rc;
	r = run_new(user, name, dir);
	if (!r)
		return -ENOMEM;
	r->rejected = 1;
	r->status = RUN_FAILED;
	/* graph.json, error, and the message again in log and events */
	need = du_charge(len) + 3 * du_charge(2 * strlen(msg) + 512) +
	       3 * (uint64_t)DU_BLOCK;
	pthread_mutex_lock(&e->mu);
	old = run_find(e, user, name);
	if (old && !old->rejected) {
		rc = -EEXIST;
		goto out;
	}
	qu = r->qu = quota_user(e, user);
	rc = quota_reserve(e, qu, need, "the record of the rejected graph",
			   qmsg, sizeof(qmsg));
	if (rc)
		goto out;	/* no room even for that: nothing is kept */
	held = need;
	if (old)
		run_discard(e, old);
	rc = record_create(e, r, json, len);
	if (!rc)
		rc = rec_putf(r->dirfd, "error", "%s", msg);
	if (!rc) {
		struct du du = { 0, 0, 0 };

		write_status(r);
		write_progress(r);	/* no graph: 0/0 */
		run_log(r, "run '%s' rejected: %s", name, msg);
		json_line(r, NULL, "run_rejected", "error", json_string(msg),
			  NULL, NULL);
		du_tree(r->dirfd, ".", SIZE_MAX, &du);
		r->charged = du.charge;
		r->qu->records += du.charge;
		run_close_files(r);
		run_insert(e, r);
		r = NULL;
	} else {
		runner_work_remove(dir);
	}
out:
	quota_unhold(qu, held);
	if (r)
		run_unref(r);
	pthread_mutex_unlock(&e->mu);
	notify(e);
	return rc;
}

/* --- queries ------------------------------------------------------------- */

int engine_has(struct engine *e, const char *user, const char *name)
{
	struct run *r;
	int has;

	pthread_mutex_lock(&e->mu);
	r = run_find(e, user, name);
	has = !r ? 0 : r->rejected ? 1 : 2;
	pthread_mutex_unlock(&e->mu);
	return has;
}

int engine_list(struct engine *e, const char *user,
		int (*fn)(void *arg, const char *name), void *arg)
{
	int rc = 0;

	pthread_mutex_lock(&e->mu);
	for (struct run *r = e->runs; r && !rc; r = r->next)
		if (strcmp(r->user, user) == 0)
			rc = fn(arg, r->name);
	pthread_mutex_unlock(&e->mu);
	return rc;
}

int engine_path(struct engine *e, const char *user, const char *name,
		char *path, size_t cap)
{
	struct run *r;
	int rc = -ENOENT;

	pthread_mutex_lock(&e->mu);
	r = run_find(e, user, name);
	if (r)
		rc = strlen(r->dir) < cap ? 0 : -ENAMETOOLONG;
	if (!rc)
		memcpy(path, r->dir, strlen(r->dir) + 1);
	pthread_mutex_unlock(&e->mu);
	return rc;
}

int engine_state(struct engine *e, const char *user, const char *name,
		 struct run_state *st)
{
	struct run *r;

	pthread_mutex_lock(&e->mu);
	r = run_find(e, user, name);
	if (r) {
		st->status = r->status;
		st->finished = r->status >= RUN_SUCCEEDED;
		st->events_len = r->events_len;
		st->log_len = r->log_len;
	}
	pthread_mutex_unlock(&e->mu);
	return r ? 0 : -ENOENT;
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
