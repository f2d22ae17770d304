/* core/run/run_exec.c: one node, from its inputs to its record: the
 * runner and the outputs (the cache is in run_cache.c), see exec_int.h.
 * Runs on a worker with no lock held. */
#include "core/run/exec_int.h"
#include "core/util/log.h"
#include "core/runner/sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static double limit_of(struct engine *e, const struct graph_node *gn,
		       enum skill_limit l)
{
	double v = e->cfg->limit[l];

	if (gn->sk && (gn->sk->limits_set & (1u << l)))
		v = gn->sk->limits[l];
	if (gn->limits_set & (1u << l))
		v = gn->limits[l];
	return v < e->cfg->limit_max[l] ? v : e->cfg->limit_max[l];
}

/* A whole limit, rounded up: "procs: 0.5" must not become 0, which the
 * sandbox reads as no limit at all. */
static uint64_t whole_limit_of(struct engine *e, const struct graph_node *gn,
			       enum skill_limit l)
{
	double v = limit_of(e, gn, l);
	uint64_t n = (uint64_t)v;

	return n < v || !n ? n + 1 : n;
}

static void effective_limits(struct job_ctx *c, const struct graph_node *gn)
{
	c->lim.timeout_s = limit_of(c->e, gn, SKILL_LIMIT_TIMEOUT_S);
	c->lim.cpu_s = limit_of(c->e, gn, SKILL_LIMIT_CPU_S);
	c->lim.memory_mb = whole_limit_of(c->e, gn, SKILL_LIMIT_MEMORY_MB);
	c->lim.procs = whole_limit_of(c->e, gn, SKILL_LIMIT_PROCS);
	c->lim.file_mb = whole_limit_of(c->e, gn, SKILL_LIMIT_FILE_MB);
	c->lim.output_mb = whole_limit_of(c->e, gn, SKILL_LIMIT_OUTPUT_MB);
}

int exec_putf(struct job_ctx *c, const char *file, const char *fmt, ...)
{
	char rel[512];
	va_list ap;
	int rc;

	snprintf(rel, sizeof(rel), "%s/%s", c->rel, file);
	va_start(ap, fmt);
	rc = rec_vputf(c->r->dirfd, rel, fmt, ap);
	va_end(ap);
	return rc;
}

static int fail(struct exec_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct exec_result *res, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	res->st = NODE_FAILED;
	free(res->error);
	res->error = strdup(msg);
	return -1;
}

/* Reserve room for `want` bytes of the node's files in the record: 0, or
 * -1 with the node failed with the quota's message. */
int exec_reserve(struct job_ctx *c, uint64_t want, const char *what,
		 struct exec_result *res)
{
	char msg[1024];
	int rc;

	pthread_mutex_lock(&c->e->mu);
	rc = quota_reserve(c->e, c->r->qu, want, what, msg, sizeof(msg));
	if (!rc)
		c->held += want;
	pthread_mutex_unlock(&c->e->mu);
	return rc ? fail(res, "%s", msg) : 0;
}

void exec_unreserve(struct job_ctx *c, uint64_t n)
{
	pthread_mutex_lock(&c->e->mu);
	quota_unhold(c->r->qu, n);
	c->held -= n < c->held ? n : c->held;
	pthread_mutex_unlock(&c->e->mu);
}

/* The node's files are written: measure them, charge them and give back
 * what was reserved for them. */
static void node_settle(struct job_ctx *c)
{
	struct run *r = c->r;
	uint64_t now = rec_du_node(r->dirfd, c->id);

	pthread_mutex_lock(&c->e->mu);
	quota_unhold(r->qu, c->held);
	r->nodes[c->i].settled = 1;
	quota_settle(r, &r->nodes[c->i].charged, now, c->held);
	c->held = 0;
	pthread_mutex_unlock(&c->e->mu);
}

/* --- inputs -------------------------------------------------------------- */

struct inputs {
	json_t *values;
	struct runner_file files[GRAPH_MAX_INPUTS];
	char *paths[GRAPH_MAX_INPUTS];
	size_t nfiles;
};

static void inputs_release(struct inputs *in)
{
	json_decref(in->values);
	for (size_t k = 0; k < in->nfiles; k++)
		free(in->paths[k]);
}

/* Literals, defaults and what the node's parents produced. */
static int gather_inputs(struct job_ctx *c, struct inputs *in,
			 struct exec_result *res)
{
	const struct graph_node *gn = &c->r->g->nodes[c->i];

	in->values = run_literal_inputs(c->r->g, c->i);
	if (!in->values)
		return fail(res, "out of memory gathering the inputs");
	for (size_t k = 0; k < c->r->skills.nfiles; k++) {
		const struct run_file *f = &c->r->skills.files[k];
		char path[4600];
		size_t n = in->nfiles;

		if (f->node != c->i)
			continue;
		json_object_del(in->values, f->port);
		snprintf(path, sizeof(path), "%s/inputs/%s/%s/%s", c->real,
			 c->id, f->port, f->name);
		in->paths[n] = strdup(path);
		if (!in->paths[n])
			return fail(res, "out of memory");
		in->files[n].port = f->port;
		in->files[n].path = in->paths[n];
		in->files[n].name = f->name;
		in->nfiles++;
	}
	for (size_t k = 0; k < gn->ninputs; k++) {
		const struct graph_input *gi = &gn->inputs[k];
		const char *up;
		json_t *v;

		if (gi->literal || gi->from == GRAPH_NONE)
			continue;
		up = c->r->g->nodes[gi->from].id;
		v = json_object_get(c->r->nodes[gi->from].outputs,
				    gi->from_port);
		if (!v)
			return fail(res, "input '%s': node '%s' gave no output "
				    "'%s'", gi->port, up, gi->from_port);
		if (run_link_is_file(c->r->g, gn, gi)) {
			const char *name = json_string_value(v);
			char path[4600];
			size_t n = in->nfiles;

			if (!name || !rec_name_ok(name))
				return fail(res, "input '%s': output '%s.%s' "
					    "is not the name of a file", gi->port,
					    up, gi->from_port);
			snprintf(path, sizeof(path), "%s/outputs/%s/%s",
				 c->real, up, name);
			in->paths[n] = strdup(path);
			if (!in->paths[n])
				return fail(res, "out of memory");
			in->files[n].port = gi->port;
			in->files[n].path = in->paths[n];
			in->files[n].name = name;
			in->nfiles++;
			continue;
		}
		if (json_object_set(in->values, gi->port, v))
			return fail(res, "out of memory gathering the inputs");
	}
	return 0;
}

static int write_inputs_json(struct job_ctx *c, const struct inputs *in,
			     struct exec_result *res)
{
	json_t *all = json_deep_copy(in->values);
	char *text;
	int rc = 0;

	if (!all)
		return 0;
	for (size_t k = 0; k < in->nfiles; k++) {
		char where[600];

		snprintf(where, sizeof(where), "/work/in/%s/%s",
			 in->files[k].port, in->files[k].name);
		json_object_set_new(all, in->files[k].port, json_string(where));
	}
	text = json_dumps(all, JSON_INDENT(2) | JSON_SORT_KEYS |
			  JSON_REAL_PRECISION(17));
	if (text)
		rc = exec_reserve(c, du_charge(strlen(text) + 1),
				  "inputs.json", res);
	if (text && !rc)
		exec_putf(c, "inputs.json", "%s\n", text);
	free(text);
	json_decref(all);
	return rc;
}

/* --- outputs ------------------------------------------------------------- */

/* An output's file, made in memory before anything is written, so that
 * its room can be reserved first. */
struct otext {
	char rel[600];
	char *text;
	size_t len;
};

struct otexts {
	struct otext *v;
	size_t n;
	uint64_t charge;	/* du_charge() of them all */
};

static void otexts_release(struct otexts *t)
{
	for (size_t k = 0; k < t->n; k++)
		free(t->v[k].text);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/* Text for strings and numbers, JSON otherwise; a newline at the end. */
static char *render_one(json_t *v, size_t *len)
{
	size_t flags = JSON_REAL_PRECISION(17) |
		       (json_is_object(v) || json_is_array(v) ?
			JSON_INDENT(2) : JSON_ENCODE_ANY);
	char *text, *t;
	size_t n;

	if (json_is_string(v)) {
		n = json_string_length(v);
		text = malloc(n + 1);
		if (text)
			memcpy(text, json_string_value(v), n);
	} else {
		text = json_dumps(v, flags);
		n = text ? strlen(text) : 0;
		t = text ? realloc(text, n + 1) : NULL;
		if (!t)
			free(text);
		text = t;
	}
	if (text)
		text[n] = '\n';
	*len = n + 1;
	return text;
}

/* outputs/<id>/<port> for each output. A regular file or folder of the
 * same name in `srcfd` (the out/ folder that is copied beside them, or
 * -1) wins. 0 or -ENOMEM. */
static int outputs_render(struct job_ctx *c, json_t *outputs, int srcfd,
			  struct otexts *t)
{
	const char *key;
	json_t *v;

	json_object_foreach(outputs, key, v) {
		struct otext *o;
		struct stat st;

		if (!rec_name_ok(key))
			continue;
		if (srcfd >= 0 &&
		    fstatat(srcfd, key, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
			continue;
		o = realloc(t->v, (t->n + 1) * sizeof(*o));
		if (!o)
			return -ENOMEM;
		t->v = o;
		o = &t->v[t->n];
		snprintf(o->rel, sizeof(o->rel), "outputs/%s/%s", c->id, key);
		o->text = render_one(v, &o->len);
		if (!o->text)
			return -ENOMEM;
		t->n++;
		t->charge += du_charge(o->len);
	}
	return 0;
}

/* Write what outputs_render() made: 0 or -errno, when the outputs the
 * user reads are missing and the node did not succeed. */
static int outputs_write(struct job_ctx *c, const struct otexts *t)
{
	char odir[256];

	snprintf(odir, sizeof(odir), "outputs/%s", c->id);
	mkdirat(c->r->dirfd, odir, 0755);	/* outputs/ exists */
	for (size_t k = 0; k < t->n; k++) {
		struct stat st;
		int rc;

		if (fstatat(c->r->dirfd, t->v[k].rel, &st,
			    AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		rc = rec_put(c->r->dirfd, t->v[k].rel, t->v[k].text,
			     t->v[k].len);
		if (rc)
			return rc;
	}
	return 0;
}

/* Remove outputs/<id>/ after a copy into it failed: no half of it is
 * kept. */
static void outputs_remove(struct job_ctx *c)
{
	char path[4400];

	snprintf(path, sizeof(path), "%s/outputs/%s", c->dir, c->id);
	runner_work_remove(path);
}

/* Reserve room for the out/ folder `src` (measured into `out`) and the
 * outputs' files, then copy and write them into outputs/<id>/: 0, 1
 * when copying out/ failed (the node may do without), or -1 with the
 * node failed (a quota, no memory, a write). Nothing is left half
 * written. */
int exec_keep_outputs(struct job_ctx *c, const char *src, json_t *outputs,
		      const char *what, struct du *out,
		      struct exec_result *res)
{
	char path[4400], dest[4400], err[512];
	uint64_t cap = c->lim.file_mb << 20, want;
	struct otexts t = { NULL, 0, 0 };
	int sfd, rc;

	snprintf(path, sizeof(path), "%s/out", src);
	rc = du_tree(AT_FDCWD, path, MAX_OUT_FILES + 1, out);
	if (rc && rc != -EFBIG)	/* EFBIG: the copy below says so */
		return fail(res, "out/: cannot read it: %s", strerror(-rc));
	sfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	rc = outputs_render(c, outputs, sfd, &t);
	if (sfd >= 0)
		close(sfd);
	if (rc) {
		rc = fail(res, "out of memory writing the outputs");
		goto out;
	}
	want = out->charge + t.charge;
	rc = exec_reserve(c, want, what, res);
	if (rc)
		goto out;
	snprintf(dest, sizeof(dest), "%s/outputs/%s", c->dir, c->id);
	if (out->bytes < cap)
		cap = out->bytes;	/* never more than was reserved */
	if (runner_copy_out(src, dest, MAX_OUT_FILES, cap, err,
			    sizeof(err))) {
		outputs_remove(c);
		exec_unreserve(c, want);
		fail(res, "out/: %s", err);
		rc = 1;
		goto out;
	}
	rc = outputs_write(c, &t);
	if (rc) {
		outputs_remove(c);
		rc = fail(res, "cannot write the outputs into the record: %s",
			  strerror(-rc));
	}
out:
	otexts_release(&t);
	return rc;
}

static void write_time(struct job_ctx *c, const struct runner_result *rr,
		       int cached)
{
	char a[32], b[32];
	double wall = (double)(c->end.tv_sec - c->start.tv_sec) +
		      (double)(c->end.tv_nsec - c->start.tv_nsec) / 1e9;

	rec_time(&c->start, a);
	rec_time(&c->end, b);
	exec_putf(c, "time",
		  "{\n  \"start\": \"%s\",\n  \"end\": \"%s\",\n"
		  "  \"start_epoch\": %.6f,\n  \"end_epoch\": %.6f,\n"
		  "  \"wall_s\": %.6f,\n  \"user_s\": %.6f,\n"
		  "  \"sys_s\": %.6f,\n  \"max_rss_kb\": %ld,\n"
		  "  \"cached\": %s\n}\n", a, b,
		  (double)c->start.tv_sec + (double)c->start.tv_nsec / 1e9,
		  (double)c->end.tv_sec + (double)c->end.tv_nsec / 1e9, wall,
		  rr ? rr->user_s : 0.0, rr ? rr->sys_s : 0.0,
		  rr ? rr->max_rss_kb : 0L, cached ? "true" : "false");
}

/* --- running ------------------------------------------------------------- */

static void run_code(struct job_ctx *c, struct inputs *in,
		     struct exec_result *res)
{
	const struct graph_node *gn = &c->r->g->nodes[c->i];
	const struct run_skill *rs = run_skill_of(c->r, gn->sk);
	char work[4200], out_path[4400], err_path[4400], err[512];
	struct du out = { 0, 0, 0 };
	struct runner_result rr;
	struct runner_job job;
	uint64_t seq;
	int rc;

	memset(&rr, 0, sizeof(rr));
	if (!gn->sk->code) {
		fail(res, "skill '%s' has no code to run (a context skill)",
		     gn->skill);
		return;
	}
	if (runner_available(gn->sk->code->runner, err, sizeof(err))) {
		fail(res, "%s", err);
		return;
	}
	/* What the sandbox writes straight into the record. */
	if (exec_reserve(c, c->lim.output_mb << 20, "stdout and stderr "
			 "(output_mb)", res))
		return;
	pthread_mutex_lock(&c->e->mu);
	seq = ++c->e->seq;
	pthread_mutex_unlock(&c->e->mu);
	snprintf(work, sizeof(work), "%s/%d-%llu", c->e->work_dir,
		 (int)getpid(), (unsigned long long)seq);
	if (mkdir(work, 0700)) {
		fail(res, "cannot make the work folder: %s", strerror(errno));
		return;
	}
	snprintf(out_path, sizeof(out_path), "%s/%s/stdout", c->dir, c->rel);
	snprintf(err_path, sizeof(err_path), "%s/%s/stderr", c->dir, c->rel);
	memset(&job, 0, sizeof(job));
	job.sk = gn->sk;
	job.skill_path = rs ? rs->path : gn->skill;
	job.inputs = in->values;
	job.files = in->files;
	job.nfiles = in->nfiles;
	job.uid = c->r->uid;
	job.gid = c->r->gid;
	job.user = c->r->user;
	job.work = work;
	job.stdout_path = out_path;
	job.stderr_path = err_path;
	job.lim = c->lim;
	job.network = gn->sk->network && c->e->cfg->network;

	rc = runner_run(&job, c->r->nodes[c->i].ctl, &rr);
	clock_gettime(CLOCK_REALTIME, &c->end);
	if (rc) {
		fail(res, "could not run the node: %s", strerror(-rc));
		goto out;
	}
	exec_putf(c, "exitcode", "%d\n",
		  rr.signal ? 128 + rr.signal : rr.exit_code);
	switch (rr.outcome) {
	case RUNNER_OK:
		if (exec_keep_outputs(c, work, rr.outputs, "out/",
				 &out, res))
			break;
		res->st = NODE_SUCCEEDED;
		res->outputs = rr.outputs;
		rr.outputs = NULL;
		if (c->r->nodes[c->i].cacheable)
			cache_store(c, work, res->outputs, &out);
		break;
	case RUNNER_CANCELLED:
		res->st = NODE_CANCELLED;
		res->error = strdup("cancelled");
		break;
	default:
		/* As the runner kept it: its end says what went wrong. */
		res->st = NODE_FAILED;
		free(res->error);
		res->error = rr.error ? rr.error : strdup("failed");
		rr.error = NULL;
		break;
	}
	write_time(c, &rr, 0);
out:
	runner_result_release(&rr);
	runner_work_remove(work);
}

void exec_node(struct engine *e, struct run *r, size_t i,
	       struct exec_result *res)
{
	const struct graph_node *gn = &r->g->nodes[i];
	struct inputs in;
	struct job_ctx c;

	memset(&c, 0, sizeof(c));
	memset(&in, 0, sizeof(in));
	c.e = e;
	c.r = r;
	c.i = i;
	c.id = gn->id;
	/* Writes go through the record's descriptor, which follows it
	 * when rm -r moves it to the trash: a new run of the same name
	 * never gets this node's files. */
	pthread_mutex_lock(&e->mu);
	snprintf(c.real, sizeof(c.real), "%s", r->dir);
	pthread_mutex_unlock(&e->mu);
	if (e->proc_fd)
		snprintf(c.dir, sizeof(c.dir), "/proc/self/fd/%d", r->dirfd);
	else
		snprintf(c.dir, sizeof(c.dir), "%s", c.real);
	snprintf(c.rel, sizeof(c.rel), "nodes/%s", gn->id);
	effective_limits(&c, gn);
	clock_gettime(CLOCK_REALTIME, &c.start);
	res->st = NODE_FAILED;

	if (gather_inputs(&c, &in, res) == 0 &&
	    write_inputs_json(&c, &in, res) == 0) {
		if (r->nodes[i].cacheable && cache_fetch(&c, res)) {
			clock_gettime(CLOCK_REALTIME, &c.end);
			write_time(&c, NULL, 1);
		} else {
			node_started(e, r, i);
			run_code(&c, &in, res);
		}
	}
	if (res->st == NODE_FAILED && res->error)
		exec_putf(&c, "error", "%s\n", res->error);
	node_settle(&c);
	inputs_release(&in);
}
