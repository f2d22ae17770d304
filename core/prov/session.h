/* core/prov/session.h: user/<u>/sessions, chat sessions as files
 * (DESIGN.md section 6).
 *
 *   sessions/<name>/       a session (mkdir makes one, rm -r removes it)
 *     prompt               a write (sent at close) asks; a read gives the
 *                          last prompt
 *     reply                the latest answer; a read follows the stream
 *     session.json         id, name, provider, model, created, title, ...
 *     transcript.md        the whole conversation
 *     usage.json           tokens in and out, per answer and in all
 *     error                what went wrong with the last answer, or empty
 *     ctl                  write "cancel" to stop the answer
 *     messages/NNNN-<role>.md     each message
 *     messages/NNNN-assistant.json  what an answer was made from: the
 *                          skills sent and why, tool calls, usage
 *     artifacts/           the code and skills the assistant wrote
 *
 * The parts:
 *   session.c       the tree: lookups, listings, mkdir, rm, mv, stat,
 *                   xattrs of artifacts
 *   session_reg.c   the sessions in memory, from the store (core/chat)
 *   session_file.c  open files: reads that follow the stream, prompts
 *   session_text.c  the generated files' content
 *   session_turn.c  an answer: the request, the stream, tool rounds
 *   session_ctx.c   the skills a request carries: catalog, full texts,
 *                   tools, ranked against the conversation
 *   session_tool.c  a tool call as a run of the engine, in run/
 *
 * Locks, in this order only: the tree (node.h), then sessions.mu, then a
 * session's io, then its mu. The store is never called with the tree,
 * sessions.mu or a session's mu held (a slow Redis must not stop the
 * tree), only with its io held, which orders the writes of one session.
 * Answers run on threads of their own, at most cfg->llm_max_turns at once;
 * blocked reads of `reply` are parked in the FUSE layer (fs/wait.c) and
 * retried at each notify.
 */
#ifndef LLMUNIX_PROV_SESSION_H
#define LLMUNIX_PROV_SESSION_H

#include <jansson.h>
#include <pthread.h>

#include "core/chat/chat.h"
#include "core/chat/chat_md.h"
#include "core/llm/llm.h"
#include "core/ns/prov.h"
#include "core/store/kv.h"
#include "core/util/name.h"

enum sess_sub {
	SESS_TOP,		/* user/<u>/sessions */
	SESS_DIR,		/* sessions/<name> */
	SESS_MSGS,		/* messages/ */
	SESS_ARTS,		/* artifacts/ */
	SESS_PROMPT,
	SESS_REPLY,
	SESS_JSON,		/* session.json */
	SESS_TRANSCRIPT,
	SESS_USAGE,
	SESS_ERROR,
	SESS_CTL,
	SESS_MSG,		/* messages/NNNN-<role>.md */
	SESS_TURN,		/* messages/NNNN-assistant.json */
	SESS_ART,		/* artifacts/<name> */
};

struct sess_index;

struct sessions {
	struct ns *ns;
	struct kv *kv;
	struct llm *llm;
	void (*notify)(void *arg);
	void *notify_arg;
	pthread_mutex_t mu;
	pthread_cond_t idle;		/* turns reached 0 */
	struct sess **v;		/* every session loaded */
	size_t n, alloc;
	unsigned turns;			/* answers running */
	unsigned live;			/* sessions in memory */
	int stopping;
	int stopped;			/* session_stop() is done: the last
					 * session freed frees this */
	struct sess_index *index;	/* session_ctx.c */
};

/* One session. `id`, `owner` never change; `folder` and `refs` are
 * guarded by sessions.mu, the rest by `mu`. */
struct sess {
	struct sessions *all;
	char *id;
	char owner[IDENT_NAME_MAX];
	char *folder;
	unsigned refs;
	int gone;			/* removed */
	double created;			/* for the order of names */

	pthread_mutex_t io;
	pthread_mutex_t mu;
	pthread_cond_t cond;		/* a cancel, a run's progress */
	int loaded;			/* messages read from the store */
	json_t *doc;			/* session:{id} */
	struct chat_msg *msgs;
	size_t nmsgs, amsgs;
	json_t **turns;			/* session:{id}:turns */
	size_t nturns, aturns;
	uint64_t gen;			/* bumps when messages change */
	struct chat_artifacts arts;	/* of `gen` */
	uint64_t arts_gen;
	int arts_valid;

	/* The answers. */
	unsigned turn;			/* answers started since loaded */
	int busy;			/* one is running */
	int cancel;
	struct buf reply;		/* the latest answer */
	struct buf prev_reply;		/* the one before (turn - 1) */
	char *error;			/* the last answer's, NULL: none */
};

/* --- session.c ------------------------------------------------------------ */

/* Start serving sessions: borrowed kv and llm, which outlive the
 * namespace's use of them (session_stop()). `notify` is called after
 * anything a blocked read may wait for. */
int session_start(struct ns *ns, struct kv *kv, struct llm *llm,
		  void (*notify)(void *arg), void *arg);
/* Cancel every answer and wait for them to end; then nothing calls the
 * store or the provider any more. */
void session_stop(struct ns *ns);
/* Free `all` once nothing refers to it (session_reg.c, session.c). */
void sessions_free(struct sessions *all);

struct node *sess_node_new(struct ns *ns, struct node *dir, const char *name,
			   enum sess_sub sub, mode_t mode);
/* The session folder `n` is in (SESS_DIR or below), or NULL. */
struct node *sess_dir_of(struct node *n);

/* --- session_reg.c -------------------------------------------------------- */

/* Read the user's set from the store: new sessions loaded, removed ones
 * forgotten, folder names made anew. No lock held. */
int sess_sync_user(struct sessions *all, const char *owner);
/* The session of `owner` shown as `folder`, with a reference; NULL. */
struct sess *sess_find(struct sessions *all, const char *owner,
		       const char *folder);
/* ... of a node (SESS_DIR or below); the tree is held. */
struct sess *sess_of_node(struct sessions *all, struct node *n);
void sess_get(struct sess *s);
void sess_put(struct sess *s);
/* Call `fn` with each folder name of `owner`'s sessions (sessions.mu
 * held: no store calls, no tree lock). */
int sess_folders(struct sessions *all, const char *owner,
		 int (*fn)(void *arg, const char *folder), void *arg);
/* Make a session (mkdir): the store first, then memory. -EEXIST when
 * the folder name is taken, -EINVAL for a name that cannot be one. */
int sess_create(struct sessions *all, const char *owner, const char *name);
/* Remove one (rmdir): its answer cancelled, its keys deleted. */
int sess_remove(struct sessions *all, struct sess *s);
/* Rename (mv sessions/a sessions/b): its name in the store. */
int sess_rename(struct sessions *all, struct sess *s, const char *name);
/* Bring the messages and records up to date with the store (what the web
 * app added), unless an answer runs. Takes io, then mu. */
int sess_refresh(struct sess *s);
/* Whether `name` may be a session's folder name. */
int sess_name_ok(const char *name);
/* Add a message to memory (mu held). */
int sess_msg_add(struct sess *s, const char *role, const char *content,
		 const char *ts);
/* The artifacts of the current messages (mu held); hidden ones (moved
 * away) are left out. */
const struct chat_artifacts *sess_artifacts(struct sess *s);
int sess_artifact_hidden(struct sess *s, const char *name);
/* Hide an artifact (unlink, the end of mv): kept in the session's
 * metadata. Takes io and mu. */
int sess_artifact_hide(struct sess *s, const char *name);

/* --- session_text.c ------------------------------------------------------- */

/* The content of a generated file `n` of session `s` into `out` (s->mu
 * held). -ENOENT when it is no longer there. */
int sess_text(struct sess *s, const struct node *n, struct buf *out);
/* "NNNN-role.md" of message i (0-based). */
void sess_msg_name(char *out, size_t cap, const struct sess *s, size_t i);
/* The turn record of message i, or NULL (borrowed; mu held). */
json_t *sess_turn_of(struct sess *s, size_t i);

/* --- session_file.c ------------------------------------------------------- */

int sess_open(struct ns *ns, struct caller *c, struct node *n, int flags,
	      struct ns_file **out, int *keep_cache);
int sess_direct_io(const struct ns_file *f);
ssize_t sess_read(struct ns *ns, struct ns_file *f, char *dst, size_t size,
		  off_t off);
ssize_t sess_write(struct ns *ns, struct ns_file *f, const char *src,
		   size_t size, off_t off);
int sess_flush(struct ns *ns, struct ns_file *f);
void sess_release(struct ns *ns, struct ns_file *f);

/* --- session_ctx.c -------------------------------------------------------- */

struct ix_entry;

/* What a request carries about skills, made once per answer. */
struct sess_ctx {
	char *system;			/* the system prompt */
	struct llm_tool *tools;
	size_t ntools;
	char **tool_skill;		/* each tool's skill (qualified id);
					 * NULL for the built-in tools */
	json_t *record;			/* which skills were sent and why */
	char *relevant;			/* the most relevant, a line each */
	struct ix_entry **lib;		/* the skills the user can use */
	size_t nlib;
	struct sess_index *ix;		/* theirs */
};

/* The context for a conversation `conv` (its last user message is the
 * prompt) as the caller `c` may use skills. No lock held. */
int sess_ctx_build(struct sessions *all, struct caller *c,
		   const struct llm_conv *conv, struct sess_ctx *out);
void sess_ctx_release(struct sess_ctx *ctx);
/* The built-in tools: skills matching `query`, a line each; the text of
 * skill `id` (qualified or bare) as `c` may read it. */
int sess_ctx_search(struct sessions *all, struct sess_ctx *ctx,
		    const char *query, struct buf *out);
int sess_ctx_read(struct sessions *all, struct caller *c,
		  struct sess_ctx *ctx, const char *id, struct buf *out);
/* The types of skill `qid`'s outputs, {"name": "type"} (new reference,
 * NULL when unknown). */
json_t *sess_ctx_output_types(struct sess_ctx *ctx, const char *qid);
/* The qualified id of a skill named `id` (bare or qualified) in the
 * context, or NULL. */
const char *sess_ctx_resolve(struct sess_ctx *ctx, const char *id);
void sess_index_free(struct sess_index *ix);

/* --- session_turn.c ------------------------------------------------------- */

/* One answer being made (session_turn.c, session_tool.c). */
struct turn {
	struct sessions *all;
	struct sess *s;
	struct caller opener;
	unsigned msgno;			/* the answer's message number */
	char folder[NAME_MAX_BYTES + 1];
	double start, deadline;		/* llm_clock() */
	struct sess_ctx ctx;
	double ctx_ms;			/* making the context took */
	unsigned ncalls;		/* tool calls so far */
	json_t *tools;			/* their records */
};

/* Append text to the answer (what readers of reply see). 0, -EFBIG past
 * llm_max_reply. */
int turn_say(struct turn *t, const char *text, size_t len);
int turn_cancelled(struct turn *t);

/* --- session_tool.c ------------------------------------------------------- */

/* Answer the tool call `call`: its result (for the model) into `result`,
 * *is_error when it failed. Runs skills through the engine as a run of
 * the session's owner, resolved as t->opener. */
int sess_tool(struct turn *t, const struct llm_block *call,
	      struct buf *result, int *is_error);

/* --- session_turn.c (for the files) -------------------------------------- */

/* Send `prompt` as `opener` (kept: rights after open): the user's
 * message is stored, then the answer runs on a thread of its own. 0,
 * -EBUSY (an answer runs), -EAGAIN (too many answers at once), or a
 * store error. */
int sess_prompt(struct sessions *all, struct sess *s, struct caller *opener,
		const char *prompt, size_t len);
/* Stop the running answer, if any. */
void sess_cancel(struct sess *s);

#endif
