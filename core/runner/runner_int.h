/* core/runner/runner_int.h: what runner.c shares with the runners.
 *
 * runner.c makes the work folder, runs the sandbox (sandbox.h), tells the
 * limits apart and checks the outputs against the skill's ports. Each
 * runner (runner_python.c, runner_sh.c, runner_spice.c) is a table of
 * operations: prepare() writes what the code needs under .llmunix/ and
 * says what to run; collect() turns what the code left (files, stdout,
 * exit status) into outputs or a failure.
 *
 * A runner_ctx belongs to the one thread running the node.
 */
#ifndef LLMUNIX_RUNNER_INT_H
#define LLMUNIX_RUNNER_INT_H

#include <jansson.h>
#include <stddef.h>

#include "core/util/buf.h"
#include "core/runner/runner.h"
#include "core/runner/sandbox.h"

/* The runner's own files: WORK/.llmunix, /work/.llmunix in the sandbox. */
#define RUNNER_DIR ".llmunix"
#define RUNNER_SB_DIR "/work/.llmunix"
#define RUNNER_MAX_RESULT ((size_t)256 << 20)	/* result.json, out.raw */
#define RUNNER_MAX_ERROR 16384	/* bytes of a traceback or message kept */

enum runner_kind {
	RUNNER_KIND_NONE,	/* c->outputs is set */
	RUNNER_KIND_FAILED,	/* failed without saying why: exit status,
				 * stderr (limits are looked for there) */
	RUNNER_KIND_EXCEPTION,	/* failed and said why (a traceback) */
	RUNNER_KIND_SETUP,	/* could not start: a missing module */
	RUNNER_KIND_MEMORY,
	RUNNER_KIND_PROCS,
	RUNNER_KIND_FILESIZE,
	RUNNER_KIND_CPU,
};

struct runner_ctx {
	const struct runner_job *job;	/* borrowed */
	int workfd;			/* job->work (the tmpfs, as root) */
	int dirfd;			/* job->work/.llmunix */
	json_t *inputs;			/* owned: job->inputs and the file
					 * inputs' paths; inputs.json */
	struct sandbox_strv argv;	/* set by prepare() */
	struct sandbox_strv env;	/* extra NAME=VALUE, by prepare() */
	int stdin_fd;			/* owned, or -1 for /dev/null */
	const char *hint;		/* how outputs are given, for the
					 * "missing" message */
	struct sandbox_result sb;	/* how it ended, for collect() */
	enum runner_kind kind;		/* set by collect() */
	struct buf msg;			/* the failure's text */
	json_t *outputs;		/* owned, RUNNER_KIND_NONE */
};

struct runner_ops {
	const char *name;		/* "python" */
	const char *interp;		/* "/usr/bin/python3" */
	const char *missing;		/* "python3 is not installed ..." */
	/* 0: ready to run; 1: a failure is recorded (runner_fail()), do
	 * not run; or -errno. */
	int (*prepare)(struct runner_ctx *c);
	/* After the code ended by itself: set c->outputs, or record a
	 * failure. 0 or 1 as above, or -errno. */
	int (*collect)(struct runner_ctx *c);
};

extern const struct runner_ops runner_python_ops;
extern const struct runner_ops runner_sh_ops;
extern const struct runner_ops runner_spice_ops;
extern const struct runner_ops runner_js_ops;

/* The runners whose harness calls execute(inputs) (python, javascript)
 * share their files (runner_python.c): */

/* .llmunix/job.json: {"filename": the skill's path for messages, "line":
 * the code's first line in the .md file, "requires": [...]}. 0 or
 * -errno. */
int runner_write_job(struct runner_ctx *c);

/* A harness's "kind" of failure in result.json, and what it means. */
struct runner_result_kind {
	const char *name;
	enum runner_kind kind;
};

/* Read .llmunix/result.json ({"ok": true, "outputs": {...}} or {"ok":
 * false, "kind": ..., "error": ...}) into c->outputs or a failure;
 * `interp` names the program in "python3 exited with status 3 without a
 * result". 0 or 1 as collect() says, or -errno. */
int runner_collect_result(struct runner_ctx *c, const char *interp,
			  const struct runner_result_kind *kinds, size_t n);

/* Record a failure of kind `k`, the message replacing any earlier one
 * (capped at RUNNER_MAX_ERROR, keeping the end). Returns 1, or -ENOMEM. */
int runner_fail(struct runner_ctx *c, enum runner_kind k, const char *fmt,
		...) __attribute__((format(printf, 3, 4)));
/* Append to the failure's message. It is gathered up to 4 *
 * RUNNER_MAX_ERROR bytes (what comes later is cut) and then kept by its
 * last RUNNER_MAX_ERROR bytes, as runner_fail() says. */
void runner_msg_add(struct runner_ctx *c, const char *s, size_t len);

/* Create .llmunix/`name` (read-only for the code) with `len` bytes. */
int runner_write(struct runner_ctx *c, const char *name, const void *data,
		 size_t len);

/* "exited with status 2", "was killed by signal 9 (SIGKILL)". */
const char *runner_ended(const struct runner_ctx *c, char *out, size_t cap);

/* Append the last `lines` non-empty lines of the captured file `path`
 * (stdout_path or stderr_path), at most `max` bytes, to `out`. */
int runner_tail(const char *path, unsigned lines, size_t max,
		struct buf *out);

/* The failure message "<what>" plus the last lines of stderr. */
int runner_fail_stderr(struct runner_ctx *c, const char *what);

/* Read up to `max` bytes of the captured file `path` from `off` (from the
 * end when `off` is negative) into `out`. */
int runner_read_captured(const char *path, long long off, size_t max,
			 struct buf *out);

/* runner_outputs.c: check the outputs in c->outputs and out/ against the
 * skill's ports; 0, or a failure set with runner_fail(). */
int runner_check_outputs(struct runner_ctx *c);

#endif
