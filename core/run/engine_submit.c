/* core/run/engine_submit.c: a checked graph becomes a run: its record
 * made, its skills and input files kept, its cache keys computed, queued
 * for the workers (engine_submit); or a rejected graph's record
 * (engine_reject); and what the namespace asks of runs (engine_has,
 * engine_list, engine_path, engine_state). See engine.h and
 * engine_int.h. */
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

/* Reserved when a run is accepted for the small files its nodes and its
 * shared files will gain (run_quota.c measures the real ones): a node's
 * exitcode, time, error, stdout, stderr, outputs/<id>/ and its lines in
 * log and events; the run's error and its last lines. */
#define NODE_META (7 * (uint64_t)DU_BLOCK)
#define RUN_META (4 * (uint64_t)DU_BLOCK)

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
void run_discard(struct engine *e, struct run *r)
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

/* --- what the namespace asks of runs ------------------------------------- */

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
