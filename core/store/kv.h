/* core/store/kv.h: a key-value store with the few Redis types the sessions
 * need (strings, lists, sets), behind one table of operations, as blob.h
 * is for contents: the embedded backend keeps them in files under the
 * state folder (kv_local.c), the shared one in Redis (kv_redis.c, the only
 * file that includes hiredis.h). The sessions keep the LLMos-Lite layout
 * on it (core/chat/chat.h); the volumes' metadata may later.
 *
 * Keys in use: the sessions' (core/chat/chat.h), and the history's
 * "history:<store>:<volume>:head" (core/history/history_refs.c; store is
 * "s3/<bucket>" or "vercel"), the commit id in hex at the head of the
 * volume's branch when history is shared.
 *
 * Keys are byte strings of at most KV_KEY_MAX bytes with no NUL; values
 * are byte strings (NUL bytes allowed) whose size the caller caps. The
 * semantics are Redis's: a missing key reads as an empty list or set, a
 * list keeps its order, a set has each member once (listed in no
 * particular order).
 *
 * Every call is bounded in time: the Redis backend has a timeout on
 * connecting and on each command, and when Redis is down a call fails
 * with -EIO (no connection) or -EAGAIN (no answer in time) and the next
 * call connects again by itself. Errors are a negative errno; what went
 * wrong in words (host and port, never a password) is kv_error() of the
 * calling thread. All operations are thread-safe.
 */
#ifndef LLMUNIX_KV_H
#define LLMUNIX_KV_H

#include <stddef.h>
#include <stdint.h>

#include "core/util/buf.h"
#include "core/util/config.h"

#define KV_KEY_MAX 1024
#define KV_NX (1u << 0)		/* set: only when the key does not exist */

struct kv;

/* Called with each element of a list or set; borrowed data, not
 * NUL-terminated in general (it is, here, for convenience). A non-zero
 * return stops the walk and is returned. */
typedef int (*kv_item_cb)(void *arg, const char *data, size_t len);

struct kv_ops {
	const char *name;	/* "local", "redis" */
	/* The string at `key` appended to `out` (whose cap bounds it,
	 * -EFBIG past it); -ENOENT when there is none. */
	int (*get)(struct kv *kv, const char *key, struct buf *out);
	/* flags: KV_NX; then -EEXIST when the key exists. */
	int (*set)(struct kv *kv, const char *key, const void *v, size_t len,
		   unsigned flags);
	/* Remove the key, whatever its type; 0 also when there was none. */
	int (*del)(struct kv *kv, const char *key);
	/* Append to the list. Never retried by the backend: an append that
	 * failed may or may not have happened. */
	int (*rpush)(struct kv *kv, const char *key, const void *v,
		     size_t len);
	int (*llen)(struct kv *kv, const char *key, uint64_t *out);
	/* Elements `start` to `stop` included, counted from 0; negative
	 * from the end (-1 is the last), as LRANGE. */
	int (*lrange)(struct kv *kv, const char *key, int64_t start,
		      int64_t stop, kv_item_cb cb, void *arg);
	int (*sadd)(struct kv *kv, const char *key, const char *member);
	int (*srem)(struct kv *kv, const char *key, const char *member);
	int (*smembers)(struct kv *kv, const char *key, kv_item_cb cb,
			void *arg);
	/* Compare-and-swap of a string: set `key` to `v` when it holds
	 * `old` (old NULL: when it does not exist), atomically against
	 * every other call on the store, other hosts' included. 0 when
	 * set, and also when the key already holds `v` (so a call retried
	 * after a lost answer gives the answer of the first: callers make
	 * every new value unique, a commit id say); -ESTALE when it holds
	 * anything else. */
	int (*cas)(struct kv *kv, const char *key, const void *old,
		   size_t oldlen, const void *v, size_t len);
	void (*free)(struct kv *kv);
};

struct kv {
	const struct kv_ops *ops;
	char where[128];	/* "the state folder", "redis 10.0.0.2:6379" */
};

/* The store the configuration names: Redis when cfg->redis_url (or the
 * environment's REDIS_URL) is set, else files in STATE/kv. A Redis that
 * does not answer yet is no error (calls fail until it does); a URL that
 * does not parse is -EINVAL, said in `err`. */
int kv_open(struct kv **out, const struct config *cfg, char *err,
	    size_t errlen);

/* Backends. */
int kv_local_open(struct kv **out, const char *dir);
/* timeout: seconds for connecting and for each command. */
int kv_redis_open(struct kv **out, const char *url, double timeout,
		  char *err, size_t errlen);

/* What the last failed call of this thread said, "" when none did. */
const char *kv_error(void);
/* Set it (backends). */
void kv_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static inline int kv_get(struct kv *kv, const char *key, struct buf *out)
{
	return kv->ops->get(kv, key, out);
}

static inline int kv_set(struct kv *kv, const char *key, const void *v,
			 size_t len, unsigned flags)
{
	return kv->ops->set(kv, key, v, len, flags);
}

static inline int kv_del(struct kv *kv, const char *key)
{
	return kv->ops->del(kv, key);
}

static inline int kv_rpush(struct kv *kv, const char *key, const void *v,
			   size_t len)
{
	return kv->ops->rpush(kv, key, v, len);
}

static inline int kv_llen(struct kv *kv, const char *key, uint64_t *out)
{
	return kv->ops->llen(kv, key, out);
}

static inline int kv_lrange(struct kv *kv, const char *key, int64_t start,
			    int64_t stop, kv_item_cb cb, void *arg)
{
	return kv->ops->lrange(kv, key, start, stop, cb, arg);
}

static inline int kv_sadd(struct kv *kv, const char *key, const char *m)
{
	return kv->ops->sadd(kv, key, m);
}

static inline int kv_srem(struct kv *kv, const char *key, const char *m)
{
	return kv->ops->srem(kv, key, m);
}

static inline int kv_smembers(struct kv *kv, const char *key, kv_item_cb cb,
			      void *arg)
{
	return kv->ops->smembers(kv, key, cb, arg);
}

static inline int kv_cas(struct kv *kv, const char *key, const void *old,
			 size_t oldlen, const void *v, size_t len)
{
	return kv->ops->cas(kv, key, old, oldlen, v, len);
}

static inline void kv_free(struct kv *kv)
{
	if (kv)
		kv->ops->free(kv);
}

#endif
