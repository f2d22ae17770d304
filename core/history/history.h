/* core/history/history.h: every change under skills/ and workflows/ as a
 * git commit by its author (DESIGN.md section 7), and the reads that the
 * history/ directory serves.
 *
 * Layout: one bare repository per volume, STATE/history/system.git,
 * STATE/history/team/<t>.git, STATE/history/user/<u>.git, on branch
 * "main", readable and clonable by the git CLI. Beside the repositories:
 * STATE/history/journal.<n> (the changes noted and not yet committed) and
 * STATE/history/running (present while the daemon runs; found at start
 * it means the last run did not end cleanly). Inside each repository,
 * llmunix-commits lists the commits oldest first (id and time, 32 bytes
 * each): HEAD~N, a date and a page of the log are found there without a
 * walk; it is rebuilt from the repository when it does not match HEAD.
 *
 * Recording: the namespace calls history_note() from its request threads
 * after a change is stored and before it acknowledges it. The call only
 * appends to an in-memory queue and one line to the journal; a background
 * thread does all the git work. Changes of one volume by one author with
 * the same trailers are grouped into one commit after a quiet time
 * (history_config.quiet_ms); another author's change closes the group, so
 * commits keep the order of the changes. Editor noise (name_is_noise())
 * and everything outside skills/ and workflows/ is never recorded.
 *
 * Crash consistency: history_flush() and history_close() commit all that
 * is pending. After a crash, history_open() queues again what the journal
 * holds (with its authors, the content read from the volume as it is now),
 * then compares every volume that has a repository with its files and
 * commits any difference as the daemon: the history ends up equal to the
 * files, at worst with the last group committed at the next start.
 *
 * Faults: a failed commit (full disk, corrupt repository) is logged, kept
 * as the volume's error (history_error(), for history/error) and retried
 * later (1 s, doubling up to a minute); the changes wait in memory. Nothing
 * here ever makes a file operation fail.
 *
 * Reading: history_* readers take a volume name ("system", "team/eng",
 * "user/alice") and are lazy: none walks all commits except the per-file
 * log, which walks at most what the caller asks for and says where to go
 * on. A volume without a repository yet gives -ENOENT.
 *
 * What history/ is meant to show with these (gitfs groups history by
 * day, RepoFS has commits by date and by hash, git-commit-folders lists
 * only the last 100 commits so that a listing stays small):
 *   log                 newest first, a page per history_log() call
 *   HEAD/, HEAD~N/      history_resolve(); HEAD~N found, not listed
 *   by-commit/          lists the newest 100 (short_hex); any unique
 *                       prefix of 4+ digits is found, not listed
 *   by-date/            lists history_days(); <day>/ is the tree at the
 *                       day's last commit, <day>T<hh:mm[:ss]>/ the tree at
 *                       that time (history_at), found, not listed
 *   file/<path>         history_file_log(), read page by page
 *   error               history_error()
 *
 * Shared stores (DESIGN.md section 8): with history_config.blob and .kv
 * set, several hosts keep one history per volume. The objects are written
 * to the blob store as well as the local repository (history_odb.c), the
 * branch head is a kv key swapped from parent to commit (history_refs.c);
 * a commit is built on the shared head, and rebuilt on a lost race. The
 * local repository stays complete and readable by git on every host; the
 * commit list stays local. Redis down: commits wait (and are retried like
 * any failed commit), history/ shows this host's view, history/error
 * says why.
 *
 * Threads: history_note() and the readers may be called from any thread
 * at once; history_open() and history_close() from one thread, when no
 * other call is running. Strings passed in are copied; everything handed
 * to a callback is borrowed for the length of the call. A reader's
 * callback runs with that volume's reader lock held: it must not call
 * the history of the same volume (collect, then call).
 */
#ifndef LLMUNIX_HISTORY_H
#define LLMUNIX_HISTORY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "core/util/buf.h"

struct history;

/* Where the files of a volume are read from when a change carries no
 * content, after a crash and when a repository starts (its first commit
 * holds the files the volume already has). Paths are relative to the
 * volume: "skills/a/x.md". */
typedef int (*history_walk_cb)(void *arg, const char *path, mode_t mode);

struct history_source;

struct history_source_ops {
	/* The content of `path` into `out` (whose cap bounds the size) and
	 * its mode (0 when unknown): 0, -ENOENT when it is gone, -EISDIR
	 * for a folder, or another negative errno. */
	int (*read)(struct history_source *s, const char *volume,
		    const char *path, struct buf *out, mode_t *mode);
	/* Call cb for every regular file under the folder `dir` of the
	 * volume ("skills", "skills/a"); 0 when the folder does not exist.
	 * A non-zero return of cb stops the walk and is returned. */
	int (*walk)(struct history_source *s, const char *volume,
		    const char *dir, history_walk_cb cb, void *arg);
	void (*free)(struct history_source *s);
};

/* Every source embeds this as its first member. */
struct history_source {
	const struct history_source_ops *ops;
};

struct blob;
struct kv;
/* The source over the blob store (keys "volumes/<volume>/<path>",
 * DESIGN.md section 8). `b` is borrowed and must outlive the source. */
int history_source_blob_new(struct history_source **out, struct blob *b);

struct history_config {
	const char *state_dir;		/* STATE */
	struct history_source *src;	/* borrowed; outlives the history */
	const char *host;		/* for e-mails; NULL: gethostname() */
	unsigned quiet_ms;		/* group changes this close; 0: 1000 */
	unsigned max_delay_ms;		/* commit a group by then; 0: 10000 */
	unsigned max_group;		/* changes in one commit; 0: 10000 */
	size_t max_queued_bytes;	/* content copies held; 0: 256 MiB */
	size_t max_file;		/* largest file read; 0: 256 MiB */
	unsigned pack_every;		/* pack after N commits; 0: 1000 */
	/* Shared history (both set, both borrowed): the objects also in
	 * `blob` under "history/<volume>/objects/", the head of each
	 * volume in `kv` under "history:<scope>:<volume>:head", `scope`
	 * naming the blob store ("s3/<bucket>") so that stores sharing a
	 * Redis keep their heads apart (NULL: "history:<volume>:head").
	 * NULL: this host's history only. */
	struct blob *blob;
	struct kv *kv;
	const char *scope;
};

/* Open the history under cfg->state_dir/history (created as needed, mode
 * 0700), start the background thread and, after an unclean shutdown,
 * queue the recovery described above. Returns 0, or -errno with a
 * message logged when the folder cannot be used. */
int history_open(struct history **out, const struct history_config *cfg);

/* Commit everything noted so far. Returns 0, or the first error of a
 * commit that failed (its changes stay queued and are retried). */
int history_flush(struct history *h);

/* Flush, stop the thread and free everything. When all was committed the
 * journal and the running marker are removed: the next open has nothing
 * to recover. NULL is accepted. */
void history_close(struct history *h);

/* A change. data: the content of a WRITE or CREATE (copied; "" with
 * len 0 for an empty file), or NULL to read it from the source when the
 * commit is made. mode: of a WRITE, CREATE or CHMOD; only the execute bit
 * is kept (git keeps no other), 0 to keep what the file had. */
enum history_op {
	HISTORY_WRITE,
	HISTORY_CREATE,
	HISTORY_UNLINK,
	HISTORY_RENAME,		/* path -> to */
	HISTORY_MKDIR,
	HISTORY_RMDIR,
	HISTORY_CHMOD,
};

struct history_change {
	enum history_op op;
	const char *path;	/* "skills/x.md" */
	const char *to;		/* RENAME: the new path */
	const void *data;
	size_t len;
	mode_t mode;
};

/* Who made a change: the opener of the file (DESIGN.md section 2). The
 * commit's author is the account's full name (GECOS) or `user`, with the
 * e-mail <user>@<host>; run, session and tool (NULL: none) become the
 * trailers Run:, Session: and Tool:. */
struct history_author {
	uid_t uid;
	const char *user;
	const char *run;
	const char *session;
	const char *tool;
};

/* Note a change in `volume` ("system", "team/<t>", "user/<u>"), from a
 * request thread: no git work, no waiting on the background thread.
 * Changes outside skills/ and workflows/ and editor noise are ignored
 * (0). A rename from noise to a real name records the real name's content,
 * a rename to noise records a deletion. Returns 0; -EINVAL for a bad
 * volume, path or op; -ENOBUFS when the queue is full (the change is not
 * recorded now, the volume is compared with its files later); or the
 * error of the journal write (-ENOSPC, -EIO): the change is queued but
 * would not survive a crash. The filesystem must not fail for any of
 * these. */
int history_note(struct history *h, const char *volume,
		 const struct history_author *a, const struct history_change *c);

/* Queue a comparison of the volume with its files: anything that differs
 * is committed as the daemon. For a volume without a repository, this
 * makes it with the files the volume has. */
int history_scan(struct history *h, const char *volume);

/* The volume's last error or warning into `out`, with the time it
 * happened ("" when there is none; a failure is cleared by the commit
 * that succeeds after it); volume NULL: errors not tied to a volume (the
 * journal). Returns the length. */
size_t history_error(struct history *h, const char *volume, char *out,
		     size_t cap);

/* ---- Reading ---- */

#define HISTORY_ID_LEN 20
#define HISTORY_HEX (2 * HISTORY_ID_LEN + 1)
#define HISTORY_PREFIX_MIN 4	/* hex digits a prefix needs */

struct history_id {
	unsigned char raw[HISTORY_ID_LEN];
};

/* Lower-case hex of `id`, NUL-terminated; returns `hex`. */
char *history_id_hex(const struct history_id *id, char hex[HISTORY_HEX]);

/* The number of commits (0: none yet). */
int history_count(struct history *h, const char *volume, uint64_t *n);

/* Resolve "HEAD", "HEAD~N", "HEAD^" or a hex prefix of a commit id (at
 * least HISTORY_PREFIX_MIN digits; a prefix is ambiguous only when two
 * commits share it). Returns 0; -ENOENT: no such commit; -ENOTUNIQ:
 * ambiguous; -EINVAL: not a name of a commit (a prefix too short). */
int history_resolve(struct history *h, const char *volume, const char *spec,
		    struct history_id *out);

/* The last commit made at or before `t`: 0 or -ENOENT (none that old). */
int history_at(struct history *h, const char *volume, time_t t,
	       struct history_id *out);

/* The days (in the daemon's time zone) on which commits were made, newest
 * first: "2026-12-04", how many, the day's last commit (what
 * history/by-date/2026-12-04/ shows), and `skip`, the commits newer than
 * the day: history_log(skip, ncommits) lists the day's commits. Costs a
 * binary search per day. */
struct history_day {
	char date[16];
	uint64_t ncommits;
	uint64_t skip;
	struct history_id last;
	int64_t last_time;
};
typedef int (*history_day_cb)(void *arg, const struct history_day *d);
int history_days(struct history *h, const char *volume, history_day_cb cb,
		 void *arg);

struct history_file {
	char status;		/* 'A', 'M', 'D', 'R' (renamed), 'T' (mode) */
	char *path;
	char *from;		/* 'R': the old path, else NULL */
};

struct history_commit {
	struct history_id id;
	char hex[HISTORY_HEX];
	char short_hex[HISTORY_HEX];	/* unique abbreviation (>= 7) */
	int64_t time;			/* author time, seconds */
	int tz_min;			/* its offset from UTC, minutes */
	int64_t commit_time;
	char *author;			/* name */
	char *email;
	char *summary;			/* first line of the message */
	char *message;			/* all of it, with the trailers */
	struct history_file *files;	/* with HISTORY_FILES: vs. parent */
	size_t nfiles;
};

void history_commit_release(struct history_commit *c);

#define HISTORY_FILES 1u	/* fill files and nfiles (a tree diff) */

/* Called with each commit; a non-zero return stops and is returned. */
typedef int (*history_commit_cb)(void *arg, const struct history_commit *c);

/* One commit. */
int history_commit(struct history *h, const char *volume,
		   const struct history_id *id, unsigned flags,
		   struct history_commit *out);

/* The log, newest first: `max` commits after skipping the newest `skip`.
 * Cost: `max` commit reads, whatever the length of the history. */
int history_log(struct history *h, const char *volume, uint64_t skip,
		size_t max, unsigned flags, history_commit_cb cb, void *arg);

#define HISTORY_NEWEST UINT64_MAX

/* The commits that changed `path` (a file or a folder), newest first.
 * *cursor: HISTORY_NEWEST to start, then as returned; 0 when the walk
 * reached the first commit. Stops after `max` commits found or `budget`
 * commits looked at (0: no limit), whichever comes first. */
int history_file_log(struct history *h, const char *volume, const char *path,
		     uint64_t *cursor, size_t max, uint64_t budget,
		     unsigned flags, history_commit_cb cb, void *arg);

/* An entry of a tree at a commit. mode: S_IFDIR | 0755, S_IFREG | 0644
 * or S_IFREG | 0755; size: bytes of a file. */
struct history_entry {
	const char *name;	/* NULL from history_stat() */
	mode_t mode;
	uint64_t size;
	struct history_id id;
};
typedef int (*history_entry_cb)(void *arg, const struct history_entry *e);

/* What `path` ("" for the volume's root) is at commit `id`: 0, -ENOENT. */
int history_stat(struct history *h, const char *volume,
		 const struct history_id *id, const char *path,
		 struct history_entry *out);

/* List the folder `dir` ("" for the root) at commit `id`, in git's order:
 * 0, -ENOENT, -ENOTDIR; a non-zero return of cb stops and is returned. */
int history_list(struct history *h, const char *volume,
		 const struct history_id *id, const char *dir,
		 history_entry_cb cb, void *arg);

/* Append the content of the file `path` at commit `id` to `out`: 0,
 * -ENOENT, -EISDIR, -EFBIG past out's cap. */
int history_read(struct history *h, const char *volume,
		 const struct history_id *id, const char *path,
		 struct buf *out);

#endif
