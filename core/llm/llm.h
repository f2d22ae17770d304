/* core/llm/llm.h: the LLM providers, over the HTTP client
 * (core/store/http.h): the Anthropic Messages API and the OpenAI chat
 * completions API (and every server that speaks it: OpenRouter, Ollama,
 * llama.cpp, vLLM), both streamed as server-sent events, with tools.
 *
 * A conversation (struct llm_conv) is a list of user and assistant
 * messages made of blocks: text, a tool call the assistant made, a tool's
 * result the user side sends back. llm_chat() sends one request for it
 * and streams the answer: text as it comes to the sink, then the tool
 * calls, the usage and why it stopped, in struct llm_call.
 *
 * Errors become one readable line (llm_call.err): a refused key (401,
 * 403), a rate limit (429, after waiting what Retry-After says), the
 * provider failing or overloaded (5xx, 529), no answer in time, an error
 * event in the stream after a 200, a stream cut short. A request is tried
 * again (at most LLM_RETRIES times, within the reply's time) only when
 * nothing of its answer was streamed yet, so no text is ever repeated.
 *
 * Keys come from the environment (ANTHROPIC_API_KEY, OPENAI_API_KEY) and
 * never appear in a message or a log. llm_chat() may be called from any
 * thread, several at once.
 */
#ifndef LLMUNIX_LLM_H
#define LLMUNIX_LLM_H

#include <stddef.h>
#include <stdint.h>

#include "core/util/buf.h"
#include "core/util/config.h"

#define LLM_RETRIES 3
#define LLM_TOOL_NAME_MAX 64	/* both APIs: ^[a-zA-Z0-9_-]{1,64}$ */

enum llm_kind { LLM_NONE, LLM_ANTHROPIC, LLM_OPENAI };

enum llm_block_type { LLM_TEXT, LLM_TOOL_USE, LLM_TOOL_RESULT };

struct llm_block {
	enum llm_block_type type;
	char *text;		/* TEXT; TOOL_RESULT: the result */
	char *id;		/* TOOL_USE, TOOL_RESULT: the call's id */
	char *name;		/* TOOL_USE: the tool */
	char *input;		/* TOOL_USE: a JSON object, as text */
	int is_error;		/* TOOL_RESULT */
};

struct llm_msg {
	int assistant;		/* 0: the user's side */
	struct llm_block *v;
	size_t n, alloc;
};

struct llm_conv {
	struct llm_msg *v;
	size_t n, alloc;
};

void llm_conv_release(struct llm_conv *c);
/* Append a block to the conversation's last message when it is of the
 * same side, else to a new message. Copies the strings (NULL allowed
 * where the type does not use them). 0 or -ENOMEM. */
int llm_conv_add(struct llm_conv *c, int assistant,
		 const struct llm_block *b);
int llm_conv_add_text(struct llm_conv *c, int assistant, const char *text);

struct llm_tool {
	const char *name;	/* LLM_TOOL_NAME_MAX of [a-zA-Z0-9_-] */
	const char *description;
	const char *schema;	/* a JSON Schema object, as text */
};

struct llm_request {
	const char *system;		/* NULL: none */
	const struct llm_conv *conv;
	const struct llm_tool *tools;
	size_t ntools;
	/* llm_clock() time by which the answer must be complete, retries
	 * included; 0: none. */
	double deadline;
};

/* Where the answer goes while it streams. */
struct llm_sink {
	/* Text as it arrives; a non-zero return stops the request (the
	 * call then fails with it, and says `why` in err when given). */
	int (*text)(void *arg, const char *s, size_t len);
	/* Asked often: non-zero stops the request with -ECANCELED. */
	int (*cancelled)(void *arg);
	void *arg;
};

/* What one request gave. */
struct llm_call {
	struct llm_block *calls;	/* the tool calls, in order */
	size_t ncalls;
	uint64_t in_tokens, out_tokens;
	char stop[32];		/* end_turn, tool_use, max_tokens; stop,
				 * tool_calls, length; "" when not said */
	unsigned attempts;
	int streamed;		/* some text was passed to the sink */
	char err[512];		/* what went wrong, one line */
};

void llm_call_release(struct llm_call *c);

struct llm;

/* The provider the configuration names: cfg->llm_provider, or the one
 * whose key is in the environment (ANTHROPIC_API_KEY first); none when
 * neither. `err` says why a configuration cannot work. */
int llm_new(struct llm **out, const struct config *cfg, char *err,
	    size_t errlen);
void llm_free(struct llm *l);

enum llm_kind llm_kind(const struct llm *l);
/* "anthropic", "openai", "none". */
const char *llm_provider_name(const struct llm *l);
const char *llm_model(const struct llm *l);

/* Send the request and stream the answer. Returns 0 when the answer
 * ended well (out->stop says how), else a negative errno with out->err
 * saying why: -EACCES (a refused key), -EAGAIN (rate limited or
 * overloaded, after the retries), -ETIMEDOUT, -ECANCELED, -EPROTO (an
 * error event in the stream, or a stream cut short), -EIO, or what the
 * sink returned. What streamed before a failure was passed to the sink
 * and stays the caller's. */
int llm_chat(struct llm *l, const struct llm_request *req,
	     const struct llm_sink *sink, struct llm_call *out);

/* Seconds on the monotonic clock, for deadlines. */
double llm_clock(void);

/* A tool name both APIs accept, made from `s` (a skill's id): bytes
 * outside [a-zA-Z0-9_-] become '_', cut to LLM_TOOL_NAME_MAX. */
void llm_tool_name(char *out, size_t cap, const char *s);

#endif
