/* core/chat/chat.h: chat sessions as LLMos-Lite keeps them, on a
 * key-value store (core/store/kv.h), so that the web app and llmunixfs
 * see each other's sessions when they share a Redis.
 *
 *   session:{id}            a string: the session, JSON {"id", "name",
 *                           "volume": "user"|"team"|"system", "volume_id",
 *                           "status": "active"|"paused"|"completed",
 *                           "messages": [...], "traces_count",
 *                           "created_at", "updated_at" (ISO 8601, "Z"),
 *                           "metadata": {}}
 *   session:{id}:messages   a list: each message, JSON {"role",
 *                           "content", "timestamp", "traces": null or
 *                           [int], "artifacts": null or [string]}
 *   {volume}:{volume_id}:sessions   a set of ids (here user:<name>:...)
 *   all:sessions            a set of every id
 *
 * An id is "sess_" + the name in lower case with spaces as "_" + "_" +
 * the Unix time in seconds ("sess_h2_1764900000"), as the web app makes
 * them; one already taken gets the next second. The list holds the
 * messages (the web app puts only a first message in the session's own
 * "messages", and so does this module, which writes []); "updated_at" moves
 * with each message. What llmunixfs adds is in keys of its own and in
 * "metadata":
 *
 *   session:{id}:turns      a list: one JSON record per answer (which
 *                           skills were sent and why, tool calls, usage,
 *                           errors), see core/prov/session.h
 *   metadata.llmunix        {"provider", "model", "title",
 *                           "hidden_artifacts": [...]}
 *
 * Unknown fields of a session are kept when it is written back. All
 * functions take the store and may block for its timeout; none holds a
 * lock of its own. Thread-safe as the store is.
 */
#ifndef LLMUNIX_CHAT_H
#define LLMUNIX_CHAT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/store/kv.h"

#define CHAT_ID_MAX 320		/* bytes of an id this module makes */
#define CHAT_MSG_MAX ((size_t)16 << 20)	/* one stored message */

struct chat_msg {
	char *role;		/* "user", "assistant", or as written */
	char *content;
	char *timestamp;	/* as written; "" when none */
	json_t *extra;		/* the object as read (traces, artifacts,
				 * and what else the writer put) */
};

void chat_msg_release(struct chat_msg *m);

/* "2026-12-05T01:02:03.456Z" for `t` (0: now), into out[32]. */
void chat_iso_time(char out[32], time_t t);

/* The id a new session named `name` gets at time `t`. */
void chat_id_make(char *out, size_t cap, const char *name, time_t t);

/* Make the session `name` of user `user` (keys as above); its id, into
 * `id`. `meta` (may be NULL) becomes metadata.llmunix. Returns 0 or a
 * store error. */
int chat_create(struct kv *kv, const char *user, const char *name,
		json_t *meta, char *id, size_t cap);

/* The ids in the user's set: `cb` for each. */
int chat_list(struct kv *kv, const char *user, kv_item_cb cb, void *arg);

/* The session's JSON object (a new reference); -ENOENT when there is no
 * such key, -EINVAL when it is not a JSON object. */
int chat_load(struct kv *kv, const char *id, json_t **out);
/* Write it back, "updated_at" set to now. */
int chat_save(struct kv *kv, const char *id, json_t *doc);

/* Remove every key of the session and its id from both sets. */
int chat_delete(struct kv *kv, const char *user, const char *id);

/* Messages `from` (0-based) to the end: `cb` with each, parsed (an
 * element that is not a JSON object is a message whose content is its
 * text, role "unknown"). */
typedef int (*chat_msg_cb)(void *arg, struct chat_msg *m);
int chat_messages(struct kv *kv, const char *id, uint64_t from,
		  chat_msg_cb cb, void *arg);
int chat_count(struct kv *kv, const char *id, uint64_t *n);
/* Append a message {"role", "content", "timestamp": now, "traces":
 * null, "artifacts": `artifacts` or null}; `ts` gets its timestamp. */
int chat_append(struct kv *kv, const char *id, const char *role,
		const char *content, json_t *artifacts, char ts[32]);

/* The answer records (session:{id}:turns) from `from` on, each a JSON
 * object (new reference passed to `cb`, which owns it). */
int chat_turns(struct kv *kv, const char *id, uint64_t from,
	       int (*cb)(void *arg, json_t *turn), void *arg);
int chat_turns_count(struct kv *kv, const char *id, uint64_t *n);
int chat_turn_append(struct kv *kv, const char *id, json_t *turn);

/* metadata.llmunix of a session's object (borrowed; NULL when none). */
json_t *chat_meta(json_t *doc);
/* ... made when missing (borrowed; NULL when out of memory). */
json_t *chat_meta_get(json_t *doc);

#endif
