/* core/history/history_int.h: the history's internals, shared by
 * the files of core/history only (the one folder that includes git2.h).
 *
 * Locking: h->mu guards the queue (every volume's groups), the volume
 * table, the journal and the error strings; it is never held during git
 * work. A volume's `rmu` guards its readers' repository handle; `imu` its
 * commit list. Order: rmu, then imu, then h->mu; the background thread
 * (the writer) takes imu and h->mu, never rmu. `wrepo` and `since_pack`
 * belong to the writer alone.
 */
#ifndef LLMUNIX_HISTORY_INT_H
#define LLMUNIX_HISTORY_INT_H

#include <git2.h>
#include <pthread.h>
#include <stdint.h>

#include "core/history/history.h"

#define HIST_VOL_MAX 80		/* "user/" + a 32-byte account name */
#define HIST_ERR_MAX 512
#define HIST_BUCKETS 64
#define HIST_MAX_CHANGES 1000000	/* queued, all volumes together */
#define HIST_JOURNAL_ROTATE (4u << 20)	/* bytes before a new journal */

/* Who a group is by: the author and the trailers. */
struct hist_key {
	uid_t uid;
	char *user;		/* never NULL */
	char *run, *session, *tool;
};

struct hist_change {
	struct hist_change *next;
	enum history_op op;
	mode_t mode;
	unsigned gen;		/* journal file holding it; 0: none */
	char *data;		/* NULL: read from the source */
	size_t len;
	char *to;		/* points into path[] */
	char path[];
};

enum hist_group_kind {
	HG_CHANGES,		/* noted changes, committed as their author */
	HG_SCAN,		/* the volume against its files, as the daemon */
};

struct hist_group {
	struct hist_group *next;
	enum hist_group_kind kind;
	struct hist_key key;
	struct hist_change *head, *tail;
	size_t n, bytes;
	int64_t first_ms, last_ms;	/* monotonic, for the quiet time */
	int64_t when;		/* wall clock of the last change (seconds) */
	unsigned sealed:1;	/* nothing more joins it */
	unsigned busy:1;	/* the writer is committing it */
};

struct hist_vol {
	struct hist_vol *hnext, *next;	/* hash chain; all volumes */
	char name[HIST_VOL_MAX];
	char *gitdir;		/* STATE/history/<name>.git */

	/* Under h->mu. */
	struct hist_group *qhead, *qtail;
	int64_t retry_at;	/* monotonic ms; 0: none */
	unsigned backoff_ms;
	unsigned need_scan:1;	/* changes were dropped: compare later */
	unsigned seen:1;	/* noted at least once since start */
	unsigned failing:1;	/* its last commit failed */
	char err[HIST_ERR_MAX];

	/* The writer's. */
	git_repository *wrepo;
	unsigned since_pack;

	/* Shared history (history_refs.c), under h->mu. */
	int64_t polled_ms;	/* last asked to catch up */
	uint64_t sync_req, sync_done;
	unsigned sync_failing:1;

	pthread_mutex_t rmu;
	git_repository *rrepo;

	/* The commit list (history_index.c), under imu. */
	pthread_mutex_t imu;
	int ifd;
	uint64_t icount;
	int iok;		/* checked against HEAD */
	unsigned char *imap;	/* the file mapped read-only, or NULL */
	size_t imaplen;
};

/* Pending changes per journal file. */
struct hist_gen {
	struct hist_gen *next;
	unsigned gen;
	size_t pending;
};

struct history {
	struct history_config cfg;	/* with the defaults filled in */
	char *dir;			/* STATE/history */
	char *scope;			/* cfg.scope's copy */
	char host[256];
	int unclean;			/* the last run did not end cleanly */
	int lock_fd;			/* STATE/history/running, flock'ed */

	pthread_mutex_t mu;
	pthread_cond_t wake;		/* the writer has something to do */
	pthread_cond_t done;		/* a flush finished */
	pthread_t thread;
	int started, stop, idle;
	int64_t wake_at;		/* when the idle writer wakes */
	uint64_t flush_req, flush_done;
	int flush_rc;

	struct hist_vol *bucket[HIST_BUCKETS];
	struct hist_vol *vols;
	size_t nchanges, bytes;

	int jfd;			/* the journal being appended */
	unsigned jgen;
	uint64_t jsize;
	struct hist_gen *gens;
	char jerr[HIST_ERR_MAX];
};

/* history.c */
int64_t hist_now_ms(void);
struct hist_vol *hist_vol_get(struct history *h, const char *name,
			      int create);
/* Keep a failure as the volume's error (v NULL: the journal's) and log
 * it, once while it repeats. The _locked form with h->mu held. */
void hist_set_error(struct history *h, struct hist_vol *v,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void hist_set_error_locked(struct history *h, struct hist_vol *v,
			   const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A queued change made from `c`, with its content copied when `copy` and
 * the budget of history_config.max_queued_bytes allows (else NULL: read
 * from the source). Called without h->mu. */
struct hist_change *hist_change_new(struct history *h,
				    const struct history_change *c, int copy);
void hist_change_free(struct history *h, struct hist_change *ch);
/* Queue a change (h->mu held) in the group of its author, `when` its wall
 * clock; takes `ch` on success. Returns 0 or -ENOMEM. */
int hist_enqueue(struct history *h, struct hist_vol *v,
		 const struct history_author *a, struct hist_change *ch,
		 int64_t when);
struct hist_group *hist_enqueue_scan(struct history *h, struct hist_vol *v);
int hist_volume_check(const char *name);
int hist_path_check(const char *path);

/* history_journal.c (h->mu held for all but open/replay) */
int hist_journal_open(struct history *h);
void hist_journal_close(struct history *h, int clean);
/* Append one line; on success *gen is the journal file now holding one
 * more pending change. */
int hist_journal_append(struct history *h, const char *volume,
			const struct history_author *a,
			const struct history_change *c, int64_t when,
			unsigned *gen);
void hist_journal_done(struct history *h, unsigned gen, size_t n);
/* Queue every change of the journal files left by the last run. */
int hist_journal_replay(struct history *h);

/* history_repo.c */
/* libgit2's last error as -errno (`rc` a GIT_E* code), with its message
 * into `msg`. */
int hist_git_err(int rc, char *msg, size_t cap);
/* Open (with create: make) the repository of `v`: 0, -ENOENT without
 * create when there is none, or -errno with msg. */
int hist_repo_open(struct history *h, struct hist_vol *v, int create,
		   git_repository **out, char *msg, size_t cap);
/* Pack the loose objects of `repo` into one new pack, then remove them. */
int hist_repo_pack(git_repository *repo, char *msg, size_t cap);

/* history_odb.c: the objects in the blob store. Attach the backend to
 * the writer's repository of `v`. */
int hist_odb_attach(struct history *h, struct hist_vol *v,
		    git_repository *repo, char *msg, size_t cap);
/* Fetch every object reachable from the commit `head` that is not here. */
int hist_odb_sync(git_repository *repo, const git_oid *head, char *msg,
		  size_t cap);
/* Copy every local object to the blob store. */
int hist_odb_upload_all(git_repository *repo, char *msg, size_t cap);

/* history_refs.c: the shared head. */
int hist_shared(const struct history *h);
/* Open v->wrepo (with the blob store's objects when shared). */
int hist_wrepo_open(struct history *h, struct hist_vol *v, int create,
		    char *msg, size_t cap);
/* Swap the shared head from `old` (NULL: none) to `id`: 0, -ESTALE when
 * another host moved it, or -errno with msg. */
int hist_head_cas(struct history *h, struct hist_vol *v, const git_oid *old,
		  const git_oid *id, char *msg, size_t cap);
int hist_ref_set(git_repository *repo, const git_oid *id, char *msg,
		 size_t cap);
/* Bring v->wrepo (made as needed) to the shared head. */
int hist_catch_up(struct history *h, struct hist_vol *v, char *msg,
		  size_t cap);
/* Readers: ask the writer to catch up, wait a bounded time. */
void hist_shared_poll(struct history *h, struct hist_vol *v);
/* The writer: answer the asks (h->mu held, released meanwhile). */
void hist_shared_sync(struct history *h, struct hist_vol *v);

/* history_index.c: the commit list. Record i is the i-th commit, oldest
 * first. Callers hold v->imu. */
struct hist_rec {
	git_oid id;
	int64_t time;		/* committer time */
	int32_t tz;
};
/* Open and check it against HEAD of `repo`; rebuild when it differs. */
int hist_index_load(struct hist_vol *v, git_repository *repo, char *msg,
		    size_t cap);
int hist_index_get(struct hist_vol *v, uint64_t i, struct hist_rec *out);
int hist_index_append(struct hist_vol *v, const struct hist_rec *r);
void hist_index_close(struct hist_vol *v);
/* The commits whose id starts with the `len` hex digits of `prefix`:
 * how many (up to 2), the first into `out`. */
int hist_index_find_prefix(struct hist_vol *v, const git_oid *prefix,
			   size_t len, git_oid *out, int *count);
/* The last record with time <= t: its position, or -ENOENT. */
int hist_index_at(struct hist_vol *v, int64_t t, uint64_t *pos);
/* The first record with time >= t within [lo, hi]. */
uint64_t hist_index_first_from(struct hist_vol *v, int64_t t, uint64_t lo,
			       uint64_t hi);

/* history_stage.c: a tree being changed, loaded lazily from a base. */
struct hist_stage;
int hist_stage_new(struct hist_stage **out, git_repository *repo,
		   const git_oid *base_tree);
void hist_stage_free(struct hist_stage *s);
/* Put a blob at `path` (folders made as needed, a file in the way
 * replaced); mode 0: keep the old mode, else 0100644 or 0100755. */
int hist_stage_put(struct hist_stage *s, const char *path, const git_oid *id,
		   unsigned mode);
/* Remove a file or a whole folder; 0 also when absent. */
int hist_stage_remove(struct hist_stage *s, const char *path);
/* Move a file or folder: 0, or -ENOENT when `from` is not there. */
int hist_stage_move(struct hist_stage *s, const char *from, const char *to);
/* 1 and its git mode when `path` is a file, 2 for a folder, 0 absent. */
int hist_stage_lookup(struct hist_stage *s, const char *path,
		      unsigned *mode);
int hist_stage_chmod(struct hist_stage *s, const char *path, unsigned mode);
/* Write the changed trees (noise names left out); the root's id. */
int hist_stage_write(struct hist_stage *s, git_oid *out);

/* history_commit.c (the writer) */
int hist_commit_group(struct history *h, struct hist_vol *v,
		      struct hist_group *g, const char *const *keep,
		      size_t nkeep);
/* What changed between two trees (either may be NULL), renames found
 * when identical. */
int hist_diff_files(git_repository *repo, git_tree *old, git_tree *new_tree,
		    struct history_file **out, size_t *n);
void hist_files_free(struct history_file *f, size_t n);

/* history.c, for history_writer.c: free a group (its changes committed or
 * not). history_writer.c: the background thread's body. */
void hist_group_free(struct history *h, struct hist_group *g, int committed);
void *hist_writer_main(void *arg);

#endif
