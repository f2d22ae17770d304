/* core/run/run_exec.c: one node, from its inputs to its record: the cache,
 * the runner, the outputs, see engine_int.h. Runs on a worker with no
 * lock held. */
#include "core/run/engine_int.h"
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

#define MAX_OUT_FILES 10000

struct job_ctx {
	struct engine *e;
	struct run *r;
	size_t i;
	const char *id;
	char dir[4096];		/* the record, for writes: through its fd */
	char real[4096];	/* ... and by name, for the sandbox's reads */
	char rel[256];		/* "nodes/<id>" */
	struct runner_limits lim;
	struct timespec start, end;
};

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

static int node_putf(struct job_ctx *c, const char *file, const char *fmt,
		     ...) __attribute__((format(printf, 3, 4)));

static int node_putf(struct job_ctx *c, const char *file, const char *fmt,
		     ...)
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

static void write_inputs_json(struct job_ctx *c, const struct inputs *in)
{
	json_t *all = json_deep_copy(in->values);
	char *text;

	if (!all)
		return;
	for (size_t k = 0; k < in->nfiles; k++) {
		char where[600];

		snprintf(where, sizeof(where), "/work/in/%s/%s",
			 in->files[k].port, in->files[k].name);
		json_object_set_new(all, in->files[k].port, json_string(where));
	}
	text = json_dumps(all, JSON_INDENT(2) | JSON_SORT_KEYS |
			  JSON_REAL_PRECISION(17));
	if (text)
		node_putf(c, "inputs.json", "%s\n", text);
	free(text);
	json_decref(all);
}

/* --- outputs ------------------------------------------------------------- */

/* outputs/<id>/<port> for each output: text for strings and numbers, JSON
 * otherwise. A file the node wrote under the same name wins. 0 or -errno:
 * the outputs the user reads are then missing, the node did not succeed. */
static int write_output_files(struct job_ctx *c, json_t *outputs)
{
	const char *key;
	json_t *v;
	char odir[256];

	snprintf(odir, sizeof(odir), "outputs/%s", c->id);
	mkdirat(c->r->dirfd, odir, 0755);	/* outputs/ exists */
	json_object_foreach(outputs, key, v) {
		char rel[600], *text;
		struct stat st;
		int rc;

		if (!rec_name_ok(key))
			continue;
		snprintf(rel, sizeof(rel), "%s/%s", odir, key);
		if (fstatat(c->r->dirfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		if (json_is_string(v)) {
			size_t n = json_string_length(v);

			text = malloc(n + 1);
			if (!text)
				return -ENOMEM;
			memcpy(text, json_string_value(v), n);
			text[n] = '\n';
			rc = rec_put(c->r->dirfd, rel, text, n + 1);
			free(text);
		} else {
			size_t flags = JSON_REAL_PRECISION(17) |
				       (json_is_object(v) || json_is_array(v) ?
					JSON_INDENT(2) : JSON_ENCODE_ANY);

			text = json_dumps(v, flags);
			if (!text)
				return -ENOMEM;
			rc = rec_putf(c->r->dirfd, rel, "%s\n", text);
			free(text);
		}
		if (rc)
			return rc;
	}
	return 0;
}

static void write_time(struct job_ctx *c, const struct runner_result *rr,
		       int cached)
{
	char a[32], b[32];
	double wall = (double)(c->end.tv_sec - c->start.tv_sec) +
		      (double)(c->end.tv_nsec - c->start.tv_nsec) / 1e9;

	rec_time(&c->start, a);
	rec_time(&c->end, b);
	node_putf(c, "time",
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

/* --- cache --------------------------------------------------------------- */

static int copy_file(const char *from, const char *to, uint64_t cap)
{
	int in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), out, rc = 0;
	char buf[65536];
	uint64_t total = 0;

	if (in < 0)
		return errno == ENOENT ? 0 : -errno;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		   0644);
	if (out < 0) {
		rc = -errno;
		close(in);
		return rc;
	}
	for (;;) {
		ssize_t k = read(in, buf, sizeof(buf));

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			rc = k < 0 ? -errno : 0;
			break;
		}
		total += (uint64_t)k;
		rc = total > cap ? -EFBIG : sandbox_write_all(out, buf, (size_t)k);
		if (rc)
			break;
	}
	close(in);
	if (close(out) && !rc)
		rc = -errno;
	return rc;
}

static void cache_dir_of(struct job_ctx *c, char *out, size_t cap)
{
	char hex[SHA256_HEX];

	snprintf(out, cap, "%s/%s/%s", c->e->cache_dir, c->r->user,
		 sha256_hex(c->r->nodes[c->i].key, hex));
}

/* 1 when the folder `name` under `dirfd` holds anything. Its link count
 * cannot tell: it counts subfolders, not files. */
static int dir_has_entries(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	int any = 0;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while (!any && (de = readdir(d)))
		any = strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return any;
}

/* A cached result, copied into the record: 1 when there was one. */
static int cache_fetch(struct job_ctx *c, struct exec_result *res)
{
	char dir[4300], from[4400], to[4400], err[256];
	uint64_t cap = c->lim.file_mb << 20;
	json_t *outputs;
	char *text = NULL;
	int fd, files, rc;

	cache_dir_of(c, dir, sizeof(dir));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	rec_get(fd, "outputs.json", 64u << 20, &text);
	files = dir_has_entries(fd, "out");
	close(fd);
	outputs = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	if (!json_is_object(outputs)) {
		json_decref(outputs);
		return 0;	/* half written or damaged: run again */
	}
	snprintf(to, sizeof(to), "%s/outputs/%s", c->dir, c->id);
	if (files && runner_copy_out(dir, to, MAX_OUT_FILES, cap, err,
				     sizeof(err))) {
		json_decref(outputs);
		return 0;
	}
	for (int k = 0; k < 2; k++) {
		const char *f = k ? "stderr" : "stdout";

		snprintf(from, sizeof(from), "%s/%s", dir, f);
		snprintf(to, sizeof(to), "%s/%s/%s", c->dir, c->rel, f);
		/* Nobody writes either file again: they may share it. */
		if (linkat(AT_FDCWD, from, AT_FDCWD, to, 0) &&
		    (rc = copy_file(from, to, c->lim.output_mb << 20)))
			log_warn("run '%s': node '%s': cached %s not copied: %s",
				 c->r->name, c->id, f, strerror(-rc));
	}
	rc = write_output_files(c, outputs);
	if (rc) {
		json_decref(outputs);
		fail(res, "cannot write the cached outputs into the record: "
		     "%s", strerror(-rc));
		return 1;
	}
	node_putf(c, "exitcode", "0\n");
	res->st = NODE_CACHED;
	res->outputs = outputs;
	return 1;
}

static void cache_store(struct job_ctx *c, const char *work, json_t *outputs)
{
	char udir[4200], tmp[4300], dir[4300], from[4400], to[4400], err[256];
	uint64_t seq;
	char *text;

	snprintf(udir, sizeof(udir), "%s/%s", c->e->cache_dir, c->r->user);
	if (mkdir(udir, 0700) && errno != EEXIST)
		return;
	pthread_mutex_lock(&c->e->mu);
	seq = ++c->e->seq;
	pthread_mutex_unlock(&c->e->mu);
	snprintf(tmp, sizeof(tmp), "%s/.tmp-%llu", udir,
		 (unsigned long long)seq);
	if (mkdir(tmp, 0700))
		return;
	text = json_dumps(outputs, JSON_COMPACT | JSON_REAL_PRECISION(17));
	snprintf(to, sizeof(to), "%s/outputs.json", tmp);
	if (!text)
		goto out;
	{
		int fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			      0600);
		int rc = fd < 0 ? -errno :
				  sandbox_write_all(fd, text, strlen(text));

		if (fd >= 0 && close(fd) && !rc)
			rc = -errno;
		if (rc)
			goto out;
	}
	snprintf(to, sizeof(to), "%s/out", tmp);
	if (runner_copy_out(work, to, MAX_OUT_FILES, c->lim.file_mb << 20,
			    err, sizeof(err)))
		goto out;
	for (int k = 0; k < 2; k++) {
		const char *f = k ? "stderr" : "stdout";

		snprintf(from, sizeof(from), "%s/%s/%s", c->dir, c->rel, f);
		snprintf(to, sizeof(to), "%s/%s", tmp, f);
		if (copy_file(from, to, c->lim.output_mb << 20))
			goto out;
	}
	cache_dir_of(c, dir, sizeof(dir));
	if (rename(tmp, dir) == 0)
		tmp[0] = '\0';
out:
	free(text);
	if (tmp[0])
		runner_work_remove(tmp);
}

/* --- running ------------------------------------------------------------- */

static void run_code(struct job_ctx *c, struct inputs *in,
		     struct exec_result *res)
{
	const struct graph_node *gn = &c->r->g->nodes[c->i];
	const struct run_skill *rs = run_skill_of(c->r, gn->sk);
	char work[4200], out_path[4400], err_path[4400], dest[4400];
	char err[512];
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
	node_putf(c, "exitcode", "%d\n",
		  rr.signal ? 128 + rr.signal : rr.exit_code);
	switch (rr.outcome) {
	case RUNNER_OK:
		snprintf(dest, sizeof(dest), "%s/outputs/%s", c->dir, c->id);
		if (runner_copy_out(work, dest, MAX_OUT_FILES,
				    c->lim.file_mb << 20, err, sizeof(err))) {
			fail(res, "out/: %s", err);
			break;
		}
		rc = write_output_files(c, rr.outputs);
		if (rc) {
			fail(res, "cannot write the outputs into the record: "
			     "%s", strerror(-rc));
			break;
		}
		res->st = NODE_SUCCEEDED;
		res->outputs = rr.outputs;
		rr.outputs = NULL;
		if (c->r->nodes[c->i].cacheable)
			cache_store(c, work, res->outputs);
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

	if (gather_inputs(&c, &in, res) == 0) {
		write_inputs_json(&c, &in);
		if (r->nodes[i].cacheable && cache_fetch(&c, res)) {
			clock_gettime(CLOCK_REALTIME, &c.end);
			write_time(&c, NULL, 1);
		} else {
			node_started(e, r, i);
			run_code(&c, &in, res);
		}
	}
	if (res->st == NODE_FAILED && res->error)
		node_putf(&c, "error", "%s\n", res->error);
	inputs_release(&in);
}
