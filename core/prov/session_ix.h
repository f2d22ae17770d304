/* core/prov/session_ix.h: the index of skills shared by all sessions
 * (session_index.c), for the context of a request (session_ctx.c). A skill
 * is parsed and made a ranking document once per version (size and
 * mtime); a request walks the tree for names, sizes and times only. */
#ifndef LLMUNIX_SESSION_IX_H
#define LLMUNIX_SESSION_IX_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "core/llm/rank.h"
#include "core/prov/session.h"

#define BUCKETS 4096

struct ix_entry {
	struct ix_entry *next;		/* hash chain */
	unsigned refs;			/* index.mu */
	char *path;			/* "system/skills/code/fibonacci.md" */
	uint64_t size;
	struct timespec mtime;
	char *id, *qid, *desc, *ports, *schema;
	char *out_types;		/* {"output": "type", ...} */
	int runnable;
	struct rank_doc doc;
};

struct sess_index {
	pthread_mutex_t mu;
	struct rank_dict *dict;
	struct ix_entry *b[BUCKETS];
};

struct want {
	char *path;
	uint64_t size;
	struct timespec mtime;
	struct ix_entry *e;	/* its entry, once current */
	unsigned order;
};

struct wants {
	struct want *v;
	size_t n, alloc;
};

/* The index of `all`, made at first use; NULL when out of memory. */
struct sess_index *sess_ix_get(struct sessions *all);
/* Let go of an entry (ix->mu held). */
void sess_ix_put_locked(struct ix_entry *e);
void sess_wants_release(struct wants *w);
/* The skills `c` can use, by path, size and time (the tree walked). */
int sess_ix_library(struct ns *ns, struct caller *c, struct wants *w);
/* Bring every wanted skill's entry up to date (parsing what changed). */
int sess_ix_entries(struct sessions *all, struct sess_index *ix,
		    struct caller *c, struct wants *w);
/* The first of an id wins, in resolution order. */
void sess_ix_resolve(struct sess_index *ix, struct wants *w);

#endif
