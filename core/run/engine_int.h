/* core/run/engine_int.h: the engine's internals, shared by core/run/engine.c,
 * core/run/run_exec.c, core/run/run_record.c, core/run/run_keys.c and
 * core/run/run_quota.c only.
 *
 * Locking: one mutex, e->mu, guards the list of runs and every field of a
 * run and its nodes, each user's disk use and the cache index, and is held
 * while a run's shared record files (status, progress, log, events, error)
 * are written. A worker running a node holds no lock: it writes only its
 * node's own files (nodes/<id>/, outputs/<id>/) and reads only what is
 * fixed while it runs (the graph, the skills, the outputs of finished
 * ancestors).
 *
 * Record files are written through r->dirfd (open while the run may still
 * change; a worker uses /proc/self/fd/N for paths), so a record renamed
 * away by a delete never receives a write meant for a new run of the same
 * name.
 */
#ifndef LLMUNIX_ENGINE_INT_H
#define LLMUNIX_ENGINE_INT_H

#include <pthread.h>
#include <stdarg.h>
#include <time.h>

#include "core/run/engine.h"
#include "core/runner/runner.h"

enum node_state {
	NODE_WAITING,	/* for its parents */
	NODE_READY,	/* in the run's ready queue */
	NODE_RUNNING,
	NODE_SUCCEEDED,
	NODE_CACHED,
	NODE_FAILED,
	NODE_SKIPPED,
	NODE_CANCELLED,
};

struct rnode {
	enum node_state st;
	uint64_t charged;		/* nodes/<id>/ + outputs/<id>/, as
					 * last measured */
	unsigned settled:1;		/* measured after it ran */
	size_t waiting;			/* parents not finished */
	size_t *children;
	size_t nchildren;
	uint8_t key[SHA256_LEN];
	int cacheable;			/* it and its ancestors are cached */
	json_t *outputs;		/* when succeeded or cached */
	struct runner_ctl *ctl;		/* while running */
};

struct run {
	struct run *next;
	unsigned refs;			/* the list's, and workers' */
	char *user, *name;
	char *dir;			/* record path */
	int dirfd;			/* record, or -1 when finished */
	int log_fd, events_fd;		/* opened at the first line */
	uid_t uid;
	gid_t gid;
	enum run_status status;
	unsigned rejected:1, cancel:1;
	unsigned deleting:1;		/* out of the list, writes nothing */
	unsigned trash:1;		/* dir is in the trash: remove it */
	struct engine *engine;		/* set with trash */
	struct graph *g;
	struct run_skills skills;
	struct rnode *nodes;
	size_t *ready;			/* FIFO of node indexes */
	size_t ready_head, ready_tail;
	size_t ndone, nrunning, nfailed;
	uint64_t events_len, log_len;
	struct timespec started;
	/* Disk use (run_quota.c): the record's charge as last measured,
	 * and what is reserved for its small files still to come. */
	struct quser *qu;		/* the owner's, lives with the engine */
	uint64_t charged, shared, hold;
};

struct engine {
	const struct config *cfg;
	engine_notify_fn notify;
	void *notify_arg;
	char *runs_dir, *cache_dir, *work_dir, *trash_dir;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct run *runs;		/* in name order per user */
	struct run *cursor;		/* the run served last */
	pthread_t *workers;
	unsigned nworkers;
	int stopping;
	uint64_t seq;			/* for unique work and trash names */
	int proc_fd;			/* /proc/self/fd can be used */
	/* Records in the trash are removed by the janitor, outside every
	 * lock: a large one must not stall the runs or the namespace. */
	pthread_t janitor;
	int has_janitor, janitor_stop;
	pthread_cond_t jcv;
	char **trash_q;
	size_t ntrash, trash_alloc;
	/* Each user's disk use and cache index (run_quota.c). */
	struct quser *qusers;
	struct centry **ctab;		/* hash of (user, key) */
	size_t ctab_size, nentries;
};

/* What running one node gave. */
struct exec_result {
	enum node_state st;		/* SUCCEEDED, CACHED, FAILED,
					 * CANCELLED */
	json_t *outputs;
	char *error;
};

const char *node_state_name(enum node_state s);
int node_state_final(enum node_state s);

/* engine.c: remove `path` (taken) outside every lock; e->mu held. */
void janitor_add(struct engine *e, char *path);

/* engine.c: what exec_node() calls before running code. */
void node_started(struct engine *e, struct run *r, size_t i);
/* The run's entry for skill `sk` (borrowed), or NULL. */
const struct run_skill *run_skill_of(const struct run *r,
				     const struct skill *sk);

/* run_exec.c: run node `i` of `r` (a reference held, no lock held). */
void exec_node(struct engine *e, struct run *r, size_t i,
	       struct exec_result *res);

/* run_record.c */
/* 1 when `s` may name one file of a record: not empty, at most 255
 * bytes, no '/', not "." nor "..". */
int rec_name_ok(const char *s);
int rec_mkdirs(int dirfd, const char *rel, mode_t mode);
/* Replace `rel` (under dirfd) with `len` bytes, atomically. */
int rec_put(int dirfd, const char *rel, const void *data, size_t len);
int rec_putf(int dirfd, const char *rel, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int rec_vputf(int dirfd, const char *rel, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
int rec_append(int dirfd, const char *rel, const void *data, size_t len);
/* The same through *fd, opened at the first call and kept. */
int rec_append_fd(int *fd, int dirfd, const char *rel, const void *data,
		  size_t len);
/* Read the whole regular file `rel` into a new string: -EFBIG past `cap`
 * bytes, -ELOOP for a symbolic link anywhere on the way. */
int rec_get(int dirfd, const char *rel, size_t cap, char **out);
/* "2026-11-25T14:03:07.123Z" */
void rec_time(const struct timespec *ts, char out[32]);
/* What nodes/<id>/ and outputs/<id>/ cost; what the files a run shares
 * (status, progress, log, events, error) cost. */
uint64_t rec_du_node(int dirfd, const char *id);
uint64_t rec_du_shared(int dirfd);
/* Load the records under e->runs_dir into e->runs, marking unfinished
 * ones failed, each with its charge. Called at start-up, before the
 * workers. */
int rec_load_all(struct engine *e);

/* engine.c, for run_record.c: a run record in memory. */
struct run *run_new(const char *user, const char *name, const char *dir);
void run_close_files(struct run *r);
void run_insert(struct engine *e, struct run *r);

/* run_quota.c: each user's disk use, kept in memory (engine.h says what
 * counts). Every function here but du_tree() wants e->mu held. */

/* What a file or folder costs: its size in 4 KiB blocks, at least one
 * (an empty file takes an inode, which a quota in bytes must not make
 * free: it also bounds the files a start-up scan may meet). */
#define DU_BLOCK 4096u
uint64_t du_charge(uint64_t size);

struct du {
	uint64_t charge;	/* du_charge() of everything, the top too */
	uint64_t bytes;		/* regular files' sizes */
	size_t entries;
};

/* Measure `rel` under `dirfd` ("." for dirfd itself) without following
 * links. Adds to `out`. 0 (a missing `rel` costs nothing), -EFBIG after
 * `max_entries` entries (what was seen is in `out`), or -errno. Needs no
 * lock. */
int du_tree(int dirfd, const char *rel, size_t max_entries, struct du *out);

/* A cached result in the index. */
struct centry {
	struct centry *older, *newer;	/* its user's list, oldest first */
	struct centry *hnext;		/* in e->ctab */
	struct quser *qu;
	uint64_t bytes;			/* du_charge() of the folder */
	unsigned pins;			/* copies from it under way */
	uint8_t key[SHA256_LEN];
};

/* One user's use: records and cache as measured, `held` for writes under
 * way (reserved before they start, measured when they end). */
struct quser {
	struct quser *next;
	char *name;
	uint64_t records, cache, held;
	struct centry *oldest, *newest;
};

/* The user's entry, made at the first call; NULL when out of memory. */
struct quser *quota_user(struct engine *e, const char *user);
/* Reserve `want` more bytes for `qu`, evicting the least recently used
 * cache entries that no copy is using while it does not fit. 0, or
 * -EDQUOT with a message for the user in `msg` naming `what` needs the
 * room. The caller gives it back with quota_unhold(). */
int quota_reserve(struct engine *e, struct quser *qu, uint64_t want,
		  const char *what, char *msg, size_t msglen);
void quota_unhold(struct quser *qu, uint64_t n);
/* The record part `*part` of `r` now measures `now`: charge the change to
 * the records, out of the run's hold past the first `covered` bytes
 * (which a reservation of the caller's paid for). Nothing is charged
 * once the run is deleted. */
void quota_settle(struct run *r, uint64_t *part, uint64_t now,
		  uint64_t covered);
/* The record is gone: its charge and hold go back. */
void quota_forget(struct run *r);

/* The cache entry `key` of `qu` (borrowed), made the most recently used;
 * NULL when there is none. */
struct centry *cache_find(struct engine *e, struct quser *qu,
			  const uint8_t key[SHA256_LEN]);
/* A new entry (or one replaced) of `bytes`, the most recently used. */
int cache_put(struct engine *e, struct quser *qu,
	      const uint8_t key[SHA256_LEN], uint64_t bytes);
/* Find every user's records (e->runs, loaded) and cache entries: their
 * charges, and the cache's order from the entries' mtimes. At start-up,
 * before the workers. */
int quota_load(struct engine *e);
void quota_free(struct engine *e);

/* run_keys.c */
/* 1 when the link `gi` into `n` brings a file: into a `file` input, or
 * from a `file` output into an `any` input (the file, not its name). */
int run_link_is_file(const struct graph *g, const struct graph_node *n,
		     const struct graph_input *gi);

/* engine.c, for engine_submit.c: the run list, the shared record files
 * and the scheduler (e->mu held unless said). */
struct run *run_find(struct engine *e, const char *user, const char *name);
void run_remove(struct engine *e, struct run *r);
void run_unref(struct run *r);
void run_log(struct run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void json_line(struct run *r, const char *node, const char *event,
	       const char *k1, json_t *v1, const char *k2, json_t *v2);
void write_status(struct run *r);
void write_progress(struct run *r);
void push_ready(struct run *r, size_t i);
void run_finish(struct run *r);
/* Wake the blocked readers (no engine lock held). */
void notify(struct engine *e);

/* engine_submit.c: forget `r` and move its record to the trash. */
void run_discard(struct engine *e, struct run *r);

#endif
