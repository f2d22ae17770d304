/* core/llm/llm_int.h: inside the LLM client (llm.c) and its two wire
 * protocols (llm_anthropic.c, llm_openai.c). */
#ifndef LLMUNIX_LLM_INT_H
#define LLMUNIX_LLM_INT_H

#include <jansson.h>

#include "core/llm/llm.h"
#include "core/store/http.h"

/* A block being streamed: a tool call whose input arrives in pieces. */
struct llm_part {
	long index;		/* the protocol's index of the block/call */
	int open;		/* not yet finished */
	char *id, *name;
	struct buf input;	/* the JSON text so far */
};

/* The state of one streamed answer. */
struct llm_parse {
	const struct llm_sink *sink;
	struct llm_call *out;
	const char *provider;
	struct llm_part *parts;
	size_t nparts;
	int done;		/* the answer said it was complete */
	int failed;		/* an error event came */
	int retryable;		/* ... one worth another attempt */
	int sink_rc;		/* what the sink returned, when it stopped */
};

struct llm_proto {
	const char *name;		/* "anthropic", "openai" */
	const char *key_env;		/* "ANTHROPIC_API_KEY" */
	const char *default_base;
	const char *default_model;
	const char *path;		/* appended to the base URL */
	/* The request's JSON body. */
	int (*body)(const struct llm *l, const struct llm_request *r,
		    struct buf *out);
	/* One server-sent event; 0, or the sink's non-zero return. */
	int (*event)(struct llm_parse *p, const char *event,
		     const char *data, size_t len);
	/* An error answer's body: its type and message. */
	void (*error)(const char *body, size_t len, char *type,
		      size_t tcap, char *msg, size_t mcap);
};

extern const struct llm_proto llm_anthropic, llm_openai;

struct llm {
	enum llm_kind kind;
	const struct llm_proto *proto;
	char *url;			/* base + path */
	char *model;
	char *key;			/* NULL: none in the environment */
	unsigned max_tokens;
	double idle_timeout;
	struct http *http;
	/* Headers, "Name: value", NULL-ended. */
	char *hdr_store[6];
	const char *hdrs[7];
};

/* --- llm.c: shared by the protocols --------------------------------------- */

/* The tool call part of `index`, made when new; NULL when out of
 * memory. */
struct llm_part *llm_part_get(struct llm_parse *p, long index);
/* Finish a part into out->calls (input "" is "{}"; input that is not a
 * JSON object becomes an error the caller sees). 0 or -ENOMEM. */
int llm_part_finish(struct llm_parse *p, struct llm_part *part);
/* Finish every part still open, in index order. */
int llm_parts_finish(struct llm_parse *p);
/* Pass text to the sink (noting that something streamed). */
int llm_emit(struct llm_parse *p, const char *s, size_t len);
/* Say what went wrong: the first message wins. */
void llm_fail(struct llm_parse *p, int retryable, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* JSON helpers. */
const char *llm_jstr(const json_t *o, const char *key);
/* A new JSON value from text, NULL when it does not parse. */
json_t *llm_jparse(const char *s, size_t len);
/* A tool's input schema as an object (new reference): its own, or
 * {"type": "object"} when it does not parse as one. */
json_t *llm_schema(const struct llm_tool *t);
/* Append `v` compact to `out`; 0, -ENOMEM or -EFBIG. */
int llm_jdump(const json_t *v, struct buf *out);

#endif
