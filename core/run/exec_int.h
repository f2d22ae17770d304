/* core/run/exec_int.h: running one node (run_exec.c) and its cache
 * (run_cache.c), inside the engine (engine_int.h). A job_ctx is one
 * node's run on a worker; no lock is held while it runs. */
#ifndef LLMUNIX_RUN_EXEC_INT_H
#define LLMUNIX_RUN_EXEC_INT_H

#include "core/run/engine_int.h"

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
	uint64_t held;		/* reserved for this node's files */
};

/* Write `file` of the node's record folder, printf-style: 0 or -errno. */
int exec_putf(struct job_ctx *c, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Reserve room for `want` bytes of the node's files in the user's quota:
 * 0, or -1 with the node failed with the quota's message. */
int exec_reserve(struct job_ctx *c, uint64_t want, const char *what,
		 struct exec_result *res);
void exec_unreserve(struct job_ctx *c, uint64_t n);

/* Copy `src`/out/ and the outputs into the record: 0, 1 when copying
 * out/ failed, -1 with the node failed. */
int exec_keep_outputs(struct job_ctx *c, const char *src, json_t *outputs,
		      const char *what, struct du *out,
		      struct exec_result *res);

/* A cached result copied into the record: 1 when there was one. */
int cache_fetch(struct job_ctx *c, struct exec_result *res);

/* Keep the node's result in the cache when there is room for it. */
void cache_store(struct job_ctx *c, const char *work, json_t *outputs,
		 const struct du *out);

#endif
