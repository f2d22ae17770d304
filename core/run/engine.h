/* core/run/engine.h: runs of workflow graphs (DESIGN.md section 5).
 *
 * The engine keeps every user's runs, schedules their nodes on `jobs`
 * worker threads (several runs share them in turn), runs each node through
 * core/runner/runner.h, caches results, and writes everything about a run as
 * files in its record, STATE/runs/<user>/<name>/:
 *
 *   graph.json  status  progress  log  events  error
 *   nodes/<id>/{status,key,inputs.json,stdout,stderr,exitcode,time,error}
 *   outputs/<id>/<output>  and the files the node wrote into out/
 *
 * Files that change are replaced whole (status, progress, a node's status)
 * or appended a line at a time (log, events), so a reader always sees a
 * complete version. Records outlive the daemon: a run that was not
 * finished when the daemon stopped is marked failed at the next start.
 *
 * Cache: STATE/cache/<user>/<key>/{outputs.json,stdout,stderr,out/}, where
 * a node's key is the SHA-256 of its skill file's content, the canonical
 * JSON of its literal inputs and defaults, and its ancestors' keys
 * (run_keys()). An entry is stored as .tmp-N and renamed into place; its
 * folder's mtime is its last use.
 *
 * Disk quota: each user's records and cache entries together may take
 * cfg->user_quota_mb (0: no limit), counted in 4 KiB blocks, at least one
 * per file or folder. The use is measured at start-up and kept in memory
 * (core/run/run_quota.c); room is reserved before a record, a node's
 * files or a cache entry is written, evicting the user's least recently
 * used cache entries when needed. What still does not fit fails: the
 * node, with the quota's message in its error, or the submission, with
 * -EDQUOT. Running nodes' work folders are not counted.
 *
 * All functions are thread-safe. `notify` is called (from any engine
 * thread, with no engine lock held) after anything a blocked reader may
 * wait for: an event line, the end of a run.
 */
#ifndef LLMUNIX_ENGINE_H
#define LLMUNIX_ENGINE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/util/config.h"
#include "core/run/graph.h"
#include "core/util/sha256.h"
#include "core/skill/skill.h"

#define RUN_NAME_MAX 128	/* bytes in a run's name */
/* A record file being replaced is written as NAME REC_TMP first; such
 * names are not part of the record. */
#define REC_TMP ".llmunix-tmp"

enum run_status {
	RUN_QUEUED,
	RUN_RUNNING,
	RUN_SUCCEEDED,
	RUN_FAILED,
	RUN_CANCELLED,
};

/* "queued", "running", "succeeded", "failed", "cancelled". */
const char *run_status_name(enum run_status s);

/* A skill a run uses, as it was when the graph was submitted. */
struct run_skill {
	char *path;		/* from the mount: "system/skills/code/f.md" */
	struct skill *sk;
	uint8_t hash[SHA256_LEN];	/* of the file's content */
};

/* A file-typed input given as a literal: a path from the mount, read as
 * the caller when the graph was submitted. */
struct run_file {
	size_t node;		/* index in the graph */
	char *port;
	char *name;		/* the file's name, e.g. "data.csv" */
	char *data;
	size_t len;
};

/* What a run takes from the namespace when it is submitted. */
struct run_skills {
	struct run_skill *v;
	size_t n;
	struct run_file *files;
	size_t nfiles;
};

void run_skills_release(struct run_skills *s);

/* Whose run it is: code runs as this user. */
struct run_owner {
	const char *user;
	uid_t uid;
	gid_t gid;
};

struct engine;
typedef void (*engine_notify_fn)(void *arg);

/* Borrowed: cfg. Makes STATE/runs, STATE/cache and STATE/work, loads the
 * records there (marking unfinished ones failed) and starts cfg->jobs
 * workers. */
int engine_new(struct engine **out, const struct config *cfg,
	       engine_notify_fn notify, void *arg);
/* Stops every running node, marks unfinished runs failed ("the daemon
 * stopped"), joins the workers and frees everything. */
void engine_free(struct engine *e);

/* Start the run `name` of `o->user` from a graph that graph_check()
 * accepted, whose nodes' `sk` point into `skills`. Takes ownership of `g`
 * and `skills` in every case. `json` is the graph's text, kept as
 * graph.json. Returns 0, -EEXIST when the user has a run of that name
 * (a rejected graph's record is replaced instead), -EDQUOT when its
 * record does not fit in the user's quota (a rejected record says so,
 * when that fits), or another -errno. */
int engine_submit(struct engine *e, const struct run_owner *o,
		  const char *name, struct graph *g, struct run_skills *skills,
		  const char *json, size_t len);

/* Keep the record of a graph that was not accepted: status failed, error
 * `msg`, graph.json the text. Replaces an earlier rejected record; -EEXIST
 * for a run that was accepted, -EDQUOT when it does not fit in the user's
 * quota (nothing is kept). */
int engine_reject(struct engine *e, const char *user, const char *name,
		  const char *json, size_t len, const char *msg);

/* 2 when the user has a run `name`, 1 when it is a rejected graph's
 * record, 0 when there is none. */
int engine_has(struct engine *e, const char *user, const char *name);
/* Call `fn` for each of the user's runs, in name order. */
int engine_list(struct engine *e, const char *user,
		int (*fn)(void *arg, const char *name), void *arg);
/* The record folder's path, into `path`. -ENOENT, -ENAMETOOLONG. */
int engine_path(struct engine *e, const char *user, const char *name,
		char *path, size_t cap);

/* What a blocked reader waits for. */
struct run_state {
	enum run_status status;
	int finished;
	uint64_t events_len;	/* bytes of complete lines in `events` */
	uint64_t log_len;	/* ... in `log` */
};

int engine_state(struct engine *e, const char *user, const char *name,
		 struct run_state *st);

/* Cancel: queued nodes are cancelled, running ones get SIGTERM, then
 * SIGKILL after a grace period. 0, or -ENOENT. A finished run: 0. */
int engine_cancel(struct engine *e, const char *user, const char *name);
/* Cancel, then forget the run and remove its record. */
int engine_delete(struct engine *e, const char *user, const char *name);

/* Cache keys of every node of a checked graph (pure computation). The key
 * of node i covers: the runner, skill_hash[i] (the content of the node's
 * skill file), the canonical JSON of its literal inputs and the skill's
 * defaults for the rest, and for each link the port names and the
 * upstream node's key. A node with "cache": false also mixes in `nonce`,
 * so its descendants' keys change with it. Returns 0 or -ENOMEM. */
int run_keys(const struct graph *g, const uint8_t (*skill_hash)[SHA256_LEN],
	     const uint8_t nonce[SHA256_LEN], uint8_t (*keys)[SHA256_LEN]);

/* The inputs of node `i` that are literals or defaults, as one JSON
 * object (new reference), or NULL when out of memory or a literal does
 * not parse. */
json_t *run_literal_inputs(const struct graph *g, size_t i);

#endif
