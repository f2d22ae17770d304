/* core/runner/runner.c: running one node (runner.h). The work folder, the
 * sandbox, telling the limits apart, checking the outputs against the
 * skill's ports; the runners themselves are runner_python.c,
 * runner_sh.c and runner_spice.c. */
#include "core/runner/runner.h"
#include "core/util/log.h"
#include "core/runner/runner_int.h"
#include "core/runner/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SCAN_BYTES 65536		/* of stderr, from each end */

struct runner_ctl {
	struct sandbox_ctl sb;
};

int runner_ctl_new(struct runner_ctl **out)
{
	struct runner_ctl *c = calloc(1, sizeof(*c));
	int rc;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	rc = sandbox_ctl_init(&c->sb);
	if (rc) {
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void runner_ctl_free(struct runner_ctl *c)
{
	if (!c)
		return;
	sandbox_ctl_release(&c->sb);
	free(c);
}

void runner_cancel(struct runner_ctl *c, double grace_s)
{
	if (c)
		sandbox_ctl_cancel(&c->sb, grace_s);
}

void runner_result_release(struct runner_result *res)
{
	json_decref(res->outputs);
	free(res->error);
	memset(res, 0, sizeof(*res));
}

/* --- helpers for the runners (runner_int.h) ---------------------------- */

void runner_msg_add(struct runner_ctx *c, const char *s, size_t len)
{
	size_t room = c->msg.cap - c->msg.len;	/* cap set in runner_run() */

	/* past the cap: cut (buf_append would refuse the whole text) */
	buf_append(&c->msg, s, len < room ? len : room);
}

int runner_fail(struct runner_ctx *c, enum runner_kind k, const char *fmt,
		...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	c->kind = k;
	buf_resize(&c->msg, 0);
	runner_msg_add(c, s, (size_t)n);
	free(s);
	return 1;
}

int runner_write(struct runner_ctx *c, const char *name, const void *data,
		 size_t len)
{
	return sandbox_write_at(c->dirfd, name, data, len, 0444);
}

const char *runner_ended(const struct runner_ctx *c, char *out, size_t cap)
{
	const char *abbrev;

	if (c->sb.exit_code >= 0) {
		snprintf(out, cap, "exited with status %d", c->sb.exit_code);
		return out;
	}
	abbrev = sigabbrev_np(c->sb.signal);
	snprintf(out, cap, "was killed by signal %d%s%s%s", c->sb.signal,
		 abbrev ? " (SIG" : "", abbrev ? abbrev : "",
		 abbrev ? ")" : "");
	return out;
}

int runner_read_captured(const char *path, long long off, size_t max,
			 struct buf *out)
{
	char chunk[65536];
	struct stat st;
	size_t got = 0;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		rc = -errno;
		goto out;
	}
	if (off < 0)
		off = st.st_size > (off_t)max ? (long long)st.st_size -
							(long long)max :
						0;
	while (got < max) {
		size_t want = max - got < sizeof(chunk) ? max - got :
							  sizeof(chunk);
		ssize_t n = pread(fd, chunk, want,
				  (off_t)(off + (long long)got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : 0;
			break;
		}
		if ((rc = buf_append(out, chunk, (size_t)n)))
			break;
		got += (size_t)n;
	}
out:
	close(fd);
	return rc;
}

int runner_tail(const char *path, unsigned lines, size_t max,
		struct buf *out)
{
	struct buf b;
	size_t end, start, pos;
	unsigned n = 0;
	int rc;

	buf_init(&b, SCAN_BYTES);
	rc = runner_read_captured(path, -1, SCAN_BYTES, &b);
	if (rc || !b.len)
		goto out;
	end = b.len;
	while (end > 0 && strchr(" \t\r\n", b.data[end - 1]))
		end--;
	start = pos = end;
	while (n < lines && pos > 0) {
		size_t ls = pos;

		while (ls > 0 && b.data[ls - 1] != '\n')
			ls--;
		for (size_t i = ls; i < pos; i++)
			if (!strchr(" \t\r", b.data[i])) {
				n++;
				break;
			}
		start = ls;
		pos = ls ? ls - 1 : 0;
	}
	if (end - start > max)
		start = end - max;
	rc = buf_append(out, b.data + start, end - start);
out:
	buf_release(&b);
	return rc;
}

int runner_fail_stderr(struct runner_ctx *c, const char *what)
{
	struct buf tail;
	int rc;

	rc = runner_fail(c, RUNNER_KIND_FAILED, "%s", what);
	if (rc < 0)
		return rc;
	buf_init(&tail, 0);
	if (!runner_tail(c->job->stderr_path, 5, 2048, &tail) && tail.len) {
		runner_msg_add(c, "\n", 1);
		runner_msg_add(c, tail.data, tail.len);
	}
	buf_release(&tail);
	return 1;
}

/* --- the work folder --------------------------------------------------- */

static int valid_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n > 0 && n <= NAME_MAX && !strchr(s, '/') && strcmp(s, ".") &&
	       strcmp(s, "..");
}

static int make_dir(int at, const char *name, mode_t mode,
		    const struct runner_job *job, int give)
{
	if (mkdirat(at, name, mode) && errno != EEXIST)
		return -errno;
	if (give && geteuid() == 0 &&
	    fchownat(at, name, job->uid, job->gid, AT_SYMLINK_NOFOLLOW))
		return -errno;
	return 0;
}

/* The inputs the code sees: job->inputs, and each file input's path in
 * the sandbox (several files on one port make a list). */
static int merge_inputs(struct runner_ctx *c, struct sandbox_strv *rels)
{
	const struct runner_job *job = c->job;

	c->inputs = json_is_object(job->inputs) ?
			    json_deep_copy(job->inputs) :
			    json_object();
	if (!c->inputs)
		return -ENOMEM;
	for (size_t i = 0; i < job->nfiles; i++) {
		const struct runner_file *f = &job->files[i];
		json_t *cur = json_object_get(c->inputs, f->port), *path;
		int rc;

		rc = sandbox_strv_addf(rels, "in/%s/%s", f->port, f->name);
		if (rc)
			return rc;
		path = json_sprintf("/work/%s", rels->v[rels->n - 1]);
		if (!path)
			return -ENOMEM;
		if (json_is_array(cur)) {
			rc = json_array_append_new(cur, path);
		} else if (json_is_string(cur)) {
			json_t *a = json_pack("[O,o]", cur, path);

			rc = a ? json_object_set_new(c->inputs, f->port, a) :
				 -1;
		} else {
			rc = json_object_set_new(c->inputs, f->port, path);
		}
		if (rc)
			return -ENOMEM;
	}
	return 0;
}

/* Mount points of the file inputs: in/<port>/<name>, empty files. */
static int make_file_points(struct runner_ctx *c, char *err, size_t errlen)
{
	const struct runner_job *job = c->job;
	int in, rc = 0;

	in = openat(c->workfd, "in", O_PATH | O_DIRECTORY | O_NOFOLLOW |
					     O_CLOEXEC);
	if (in < 0)
		return -errno;
	for (size_t i = 0; i < job->nfiles && !rc; i++) {
		const struct runner_file *f = &job->files[i];
		char esc[128];
		int pfd;

		if (!valid_name(f->port) || !valid_name(f->name) || !f->path) {
			snprintf(err, errlen,
				 "file input '%s': a bad port or file name "
				 "(expected a name without '/')",
				 log_escape(esc, sizeof(esc),
					    f->port ? f->port : "(null)"));
			rc = 1;
			break;
		}
		if ((rc = make_dir(in, f->port, 0755, job, 0)))
			break;
		pfd = openat(in, f->port, O_PATH | O_DIRECTORY | O_NOFOLLOW |
						  O_CLOEXEC);
		if (pfd < 0) {
			rc = -errno;
			break;
		}
		rc = sandbox_write_at(pfd, f->name, "", 0, 0444);
		close(pfd);
		if (rc == -EEXIST) {
			snprintf(err, errlen,
				 "file input '%s': two files named '%s'",
				 log_escape(esc, sizeof(esc), f->port),
				 f->name);
			rc = 1;
		}
	}
	close(in);
	return rc;
}

/* Make the work folder the code's /work: .llmunix/ (the runner's files;
 * the user's, for result.json), out/ (the user's), in/ (root's), and
 * inputs.json. 0, 1 with `err` (a setup failure) or -errno. */
static int work_prepare(struct runner_ctx *c, struct sandbox_strv *rels,
			char *err, size_t errlen)
{
	const struct runner_job *job = c->job;
	char *text;
	int rc;

	rc = sandbox_work_mount(job->work, job->lim.file_mb, job->uid,
				job->gid, err, errlen);
	if (rc)
		return rc == -ENOMEM ? rc : 1;
	c->workfd = open(job->work,
			 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (c->workfd < 0)
		return -errno;
	if ((rc = make_dir(c->workfd, RUNNER_DIR, 0700, job, 1)) ||
	    (rc = make_dir(c->workfd, "out", 0755, job, 1)) ||
	    (rc = make_dir(c->workfd, "in", 0755, job, 0)))
		return rc;
	c->dirfd = openat(c->workfd, RUNNER_DIR,
			  O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (c->dirfd < 0)
		return -errno;
	if ((rc = make_file_points(c, err, errlen)) ||
	    (rc = merge_inputs(c, rels)))
		return rc;
	text = json_dumps(c->inputs, JSON_COMPACT);
	if (!text)
		return -ENOMEM;
	rc = runner_write(c, "inputs.json", text, strlen(text));
	free(text);
	return rc;
}

/* --- telling the limits apart ------------------------------------------ */

static const char *const pat_procs[] = {
	"fork: Resource temporarily unavailable", "fork: retry:",
	"Cannot fork", "can't fork", "fork failed",
	"BlockingIOError: [Errno 11]", "can't start new thread", NULL,
};
static const char *const pat_memory[] = {
	"Cannot allocate memory", "MemoryError", "bad_alloc",
	"out of memory", "Out of memory", "memory exhausted",
	"Memory exhausted", NULL,
};
static const char *const pat_fsize[] = {
	"File too large", "No space left on device", "Disk quota exceeded",
	NULL,
};

/* The captured stderr's first and last SCAN_BYTES into `b` (initialised
 * here; the caller releases it). Left empty when it cannot be read. */
static void stderr_ends(const struct runner_ctx *c, struct buf *b)
{
	buf_init(b, 2 * SCAN_BYTES + 2);
	if (runner_read_captured(c->job->stderr_path, 0, SCAN_BYTES, b) ||
	    buf_append(b, "\n", 1) ||
	    runner_read_captured(c->job->stderr_path, -1, SCAN_BYTES, b))
		b->len = 0;
}

/* Whether `b` (from stderr_ends()) says one of `pats`. */
static int says(const struct buf *b, const char *const *pats)
{
	for (const char *const *p = pats; *p && b->len; p++)
		if (memmem(b->data, b->len, *p, strlen(*p)))
			return 1;
	return 0;
}

static int stderr_says(const struct runner_ctx *c, const char *const *pats)
{
	struct buf b;
	int hit;

	stderr_ends(c, &b);
	hit = says(&b, pats);
	buf_release(&b);
	return hit;
}

/* bwrap itself failed: it exits 1 with "bwrap: ..." on stderr. */
static int bwrap_failed(const struct runner_ctx *c, char *out, size_t cap)
{
	struct buf b;
	int hit = 0;

	if (c->sb.exit_code != 1)
		return 0;
	buf_init(&b, 1024);
	if (!runner_read_captured(c->job->stderr_path, 0, 512, &b) &&
	    b.len > 7 && !memcmp(b.data, "bwrap: ", 7)) {
		snprintf(out, cap, "the sandbox could not start: %.*s",
			 (int)strcspn(b.data, "\n"), b.data);
		hit = 1;
	}
	buf_release(&b);
	return hit;
}

/* A failure with no structured reason: the limits leave traces. */
static void refine(struct runner_ctx *c)
{
	struct buf b;

	if (c->sb.signal == SIGXFSZ) {
		c->kind = RUNNER_KIND_FILESIZE;
		return;
	}
	stderr_ends(c, &b);	/* read once for the three looks */
	if (c->job->lim.procs && (c->sb.procs_refused || says(&b, pat_procs)))
		c->kind = RUNNER_KIND_PROCS;
	else if (says(&b, pat_memory))
		c->kind = RUNNER_KIND_MEMORY;
	else if (says(&b, pat_fsize))
		c->kind = RUNNER_KIND_FILESIZE;
	buf_release(&b);
}

static int set_error(struct runner_result *res, enum runner_outcome o,
		     const char *head, const struct buf *detail)
{
	size_t hl = strlen(head), dl = detail ? detail->len : 0, skip = 0;
	char *e;

	while (dl && strchr(" \t\r\n", detail->data[dl - 1]))
		dl--;
	if (dl > RUNNER_MAX_ERROR)
		skip = dl - RUNNER_MAX_ERROR;
	res->outcome = o;
	free(res->error);
	res->error = e = malloc(hl + dl - skip + 8);
	if (!e)
		return -ENOMEM;
	memcpy(e, head, hl);
	if (dl && hl)
		e[hl++] = '\n';
	if (skip) {
		memcpy(e + hl, "...", 3);
		hl += 3;
	}
	if (dl > skip)
		memcpy(e + hl, detail->data + skip, dl - skip);
	e[hl + dl - skip] = '\0';
	return 0;
}

/* --- running ----------------------------------------------------------- */

static const struct runner_ops *ops_for(enum skill_runner r)
{
	switch (r) {
	case SKILL_RUNNER_PYTHON:
		return &runner_python_ops;
	case SKILL_RUNNER_SH:
		return &runner_sh_ops;
	case SKILL_RUNNER_SPICE:
		return &runner_spice_ops;
	case SKILL_RUNNER_JS:
		return &runner_js_ops;
	default:
		return NULL;
	}
}

static int report(struct runner_ctx *c, struct runner_result *res)
{
	const struct runner_limits *l = &c->job->lim;
	char head[160];
	int rc;

	switch (c->kind) {
	case RUNNER_KIND_NONE:
		rc = runner_check_outputs(c);
		if (rc < 0)
			return rc;
		if (rc)
			return set_error(res, RUNNER_FAILED, "", &c->msg);
		res->outcome = RUNNER_OK;
		res->outputs = json_incref(c->outputs);
		return 0;
	case RUNNER_KIND_SETUP:
		return set_error(res, RUNNER_SETUP, "", &c->msg);
	case RUNNER_KIND_MEMORY:
		snprintf(head, sizeof(head), "memory limit %llu MB exceeded",
			 (unsigned long long)l->memory_mb);
		break;
	case RUNNER_KIND_PROCS:
		if (l->procs)
			snprintf(head, sizeof(head), "process limit %llu "
				 "reached", (unsigned long long)l->procs);
		else
			snprintf(head, sizeof(head), "process limit reached "
				 "(the system's)");
		break;
	case RUNNER_KIND_FILESIZE:
		snprintf(head, sizeof(head), "file size limit %llu MB exceeded",
			 (unsigned long long)l->file_mb);
		break;
	case RUNNER_KIND_CPU:
		snprintf(head, sizeof(head), "cpu limit %g s exceeded",
			 l->cpu_s);
		break;
	default:
		return set_error(res, RUNNER_FAILED, "", &c->msg);
	}
	return set_error(res, RUNNER_LIMIT, head, &c->msg);
}

static int classify(struct runner_ctx *c, const struct runner_ops *ops,
		    struct runner_result *res)
{
	const struct sandbox_result *sb = &c->sb;
	const struct runner_limits *l = &c->job->lim;
	char head[640], bw[640];
	int rc, bwrap;

	res->start = sb->start;
	res->end = sb->stop;
	res->exit_code = sb->exit_code;
	res->signal = sb->signal;
	res->user_s = sb->user_s;
	res->sys_s = sb->sys_s;
	res->max_rss_kb = sb->max_rss_kb;
	res->mem_peak_kb = sb->mem_peak >> 10;
	bwrap = bwrap_failed(c, bw, sizeof(bw));	/* reads stderr once */
	if (sb->setup_procs || (bwrap && strstr(bw, "Resource temporarily"))) {
		/* RLIMIT_NPROC counts the user's processes everywhere. */
		snprintf(head, sizeof(head), "process limit %llu reached "
			 "(counting the user's other processes)",
			 (unsigned long long)l->procs);
		return set_error(res, RUNNER_LIMIT, head, NULL);
	}
	if (sb->setup_err[0])
		return set_error(res, RUNNER_SETUP, sb->setup_err, NULL);
	switch (sb->end) {
	case SANDBOX_CANCELLED:
		return set_error(res, RUNNER_CANCELLED, "cancelled", NULL);
	case SANDBOX_OUTPUT:
		snprintf(head, sizeof(head), "output limit %llu MB exceeded",
			 (unsigned long long)l->output_mb);
		return set_error(res, RUNNER_LIMIT, head, NULL);
	case SANDBOX_MEMORY:
		snprintf(head, sizeof(head), "memory limit %llu MB exceeded",
			 (unsigned long long)l->memory_mb);
		return set_error(res, RUNNER_LIMIT, head, NULL);
	case SANDBOX_TIMEOUT:
		if (l->procs &&
		    (sb->procs_refused || stderr_says(c, pat_procs)))
			snprintf(head, sizeof(head), "timeout after %g s "
				 "(process limit %llu reached)", l->timeout_s,
				 (unsigned long long)l->procs);
		else
			snprintf(head, sizeof(head), "timeout after %g s",
				 l->timeout_s);
		return set_error(res, RUNNER_LIMIT, head, NULL);
	case SANDBOX_EXITED:
		break;
	}
	if (bwrap)
		return set_error(res, RUNNER_SETUP, bw, NULL);
	/* SIGXCPU at the soft limit; pid 1 ignores it without a handler,
	 * and the kernel's SIGKILL comes at the hard limit, a second on. */
	if (sb->signal == SIGXCPU ||
	    (sb->signal == SIGKILL && sb->user_s + sb->sys_s >= l->cpu_s)) {
		c->kind = RUNNER_KIND_CPU;
	} else {
		rc = ops->collect(c);
		if (rc < 0)
			return rc;
	}
	if (c->kind == RUNNER_KIND_FAILED)
		refine(c);
	return report(c, res);
}

/* Reasons not to start at all; 1 with `res` set. */
static int precheck(const struct runner_job *job, struct runner_ctl *ctl,
		    const struct runner_ops **ops, struct runner_result *res,
		    int *rc)
{
	const struct skill *sk = job->sk;
	enum skill_runner r = SKILL_RUNNER_NONE;
	char msg[256];

	*rc = 0;
	if (ctl && sandbox_ctl_cancelled(&ctl->sb, NULL)) {
		*rc = set_error(res, RUNNER_CANCELLED, "cancelled", NULL);
		return 1;
	}
	if (sk && sk->code)
		r = sk->code->runner != SKILL_RUNNER_NONE ? sk->code->runner :
							    sk->runner;
	*ops = ops_for(r);
	if (!sk || !sk->code || !*ops) {
		*rc = set_error(res, RUNNER_SETUP,
				!sk || !sk->code ?
					"the skill has no code block (a "
					"context skill cannot run)" :
					"the skill's code block has no runner "
					"(expected python, sh or spice)",
				NULL);
		return 1;
	}
	if (job->uid == 0) {
		*rc = set_error(res, RUNNER_SETUP, "refusing to run code as "
				"root (uid 0): code runs as the requesting "
				"user", NULL);
		return 1;
	}
	if (geteuid() != 0 && job->uid != geteuid()) {
		snprintf(msg, sizeof(msg),
			 "the daemon runs as uid %u and cannot run code as "
			 "another user (uid %u): mount llmunixfs as root",
			 (unsigned)geteuid(), (unsigned)job->uid);
		*rc = set_error(res, RUNNER_SETUP, msg, NULL);
		return 1;
	}
	if (runner_available(r, msg, sizeof(msg))) {
		*rc = set_error(res, RUNNER_SETUP, msg, NULL);
		return 1;
	}
	return 0;
}

static int run_sandbox(struct runner_ctx *c, struct runner_ctl *ctl,
		       const struct sandbox_strv *rels)
{
	const struct runner_job *job = c->job;
	struct sandbox_file *files = NULL;
	struct sandbox_spec spec;
	int rc;

	if (job->nfiles) {
		files = calloc(job->nfiles, sizeof(*files));
		if (!files)
			return -ENOMEM;
	}
	for (size_t i = 0; i < job->nfiles; i++) {
		files[i].src = job->files[i].path;
		files[i].rel = rels->v[i];
	}
	memset(&spec, 0, sizeof(spec));
	spec.uid = job->uid;
	spec.gid = job->gid;
	spec.user = job->user;
	spec.work = job->work;
	spec.files = files;
	spec.nfiles = job->nfiles;
	spec.argv = c->argv.v;
	spec.env = c->env.v;
	spec.stdin_fd = c->stdin_fd;
	spec.network = job->network;
	spec.lim = &job->lim;
	spec.stdout_path = job->stdout_path;
	spec.stderr_path = job->stderr_path;
	rc = sandbox_run(&spec, ctl ? &ctl->sb : NULL, &c->sb);
	free(files);
	return rc;
}

int runner_run(const struct runner_job *job, struct runner_ctl *ctl,
	       struct runner_result *res)
{
	const struct runner_ops *ops;
	struct sandbox_strv rels;
	struct runner_ctx c;
	char err[512];
	int rc;

	memset(res, 0, sizeof(*res));
	memset(&c, 0, sizeof(c));
	res->exit_code = -1;
	clock_gettime(CLOCK_REALTIME, &res->start);
	res->end = res->start;
	c.job = job;
	c.workfd = c.dirfd = c.stdin_fd = -1;
	sandbox_strv_init(&c.argv);
	sandbox_strv_init(&c.env);
	sandbox_strv_init(&rels);
	buf_init(&c.msg, 4 * RUNNER_MAX_ERROR);
	err[0] = '\0';
	if (precheck(job, ctl, &ops, res, &rc))
		goto out;
	rc = work_prepare(&c, &rels, err, sizeof(err));
	if (rc > 0) {
		rc = set_error(res, RUNNER_SETUP, err, NULL);
		goto out;
	}
	if (rc)
		goto out;
	rc = ops->prepare(&c);
	if (rc > 0) {	/* failed before running: a bad placeholder */
		rc = report(&c, res);
		goto out;
	}
	if (rc)
		goto out;
	rc = run_sandbox(&c, ctl, &rels);
	if (rc)
		goto out;
	rc = classify(&c, ops, res);
out:
	if (rc < 0 && !res->error)	/* the sandbox's reason, if it said */
		set_error(res, RUNNER_SETUP,
			  c.sb.setup_err[0] ? c.sb.setup_err : strerror(-rc),
			  NULL);
	if (c.workfd >= 0)
		close(c.workfd);
	if (c.dirfd >= 0)
		close(c.dirfd);
	if (c.stdin_fd >= 0)
		close(c.stdin_fd);
	json_decref(c.inputs);
	json_decref(c.outputs);
	sandbox_strv_release(&c.argv);
	sandbox_strv_release(&c.env);
	sandbox_strv_release(&rels);
	buf_release(&c.msg);
	return rc;
}

int runner_setup(int use_cgroup, int require, char *desc, size_t desclen)
{
	return sandbox_setup(use_cgroup, require, desc, desclen);
}

void runner_teardown(void)
{
	sandbox_teardown();
}

int runner_available(enum skill_runner r, char *err, size_t errlen)
{
	const struct runner_ops *ops = ops_for(r);

	if (!ops) {
		snprintf(err, errlen, "no runner for this kind of skill "
			 "(expected python, sh or spice)");
		return -ENOENT;
	}
	if (access(ops->interp, X_OK)) {
		snprintf(err, errlen, "%s", ops->missing);
		return -ENOENT;
	}
	if (access(SANDBOX_BWRAP, X_OK)) {
		snprintf(err, errlen, "bubblewrap is not installed (%s; on "
			 "Debian: apt-get install bubblewrap)", SANDBOX_BWRAP);
		return -ENOENT;
	}
	return 0;
}
