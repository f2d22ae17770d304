/* core/llm/llm_anthropic.c: the Anthropic Messages API (POST /v1/messages
 * with "stream": true), as its reference describes it.
 *
 * Request: model, max_tokens, stream, system, messages (alternating user
 * and assistant, starting with the user; content as blocks: text,
 * tool_use {id, name, input}, tool_result {tool_use_id, content,
 * is_error}), tools [{name, description, input_schema}]. Headers:
 * x-api-key, anthropic-version: 2023-06-01, content-type.
 *
 * Stream: message_start (the message, its usage.input_tokens),
 * content_block_start (index, a text or tool_use block), ping,
 * content_block_delta (text_delta text; input_json_delta partial_json,
 * the tool's input in pieces), content_block_stop, message_delta
 * (stop_reason, usage.output_tokens counted so far), message_stop; or an
 * error event {"type":"error","error":{"type","message"}} at any point,
 * also after the 200. Errors before the stream are that same object with
 * an HTTP status.
 */
#include "core/llm/llm_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* --- the request --------------------------------------------------------- */

static json_t *block_json(const struct llm_block *b)
{
	json_t *o = json_object(), *in;

	if (!o)
		return NULL;
	switch (b->type) {
	case LLM_TEXT:
		json_object_set_new(o, "type", json_string("text"));
		json_object_set_new(o, "text", json_string(b->text));
		break;
	case LLM_TOOL_USE:
		in = llm_jparse(b->input, strlen(b->input));
		if (!json_is_object(in)) {
			json_decref(in);
			in = json_object();
		}
		json_object_set_new(o, "type", json_string("tool_use"));
		json_object_set_new(o, "id", json_string(b->id));
		json_object_set_new(o, "name", json_string(b->name));
		json_object_set_new(o, "input", in);
		break;
	case LLM_TOOL_RESULT:
		json_object_set_new(o, "type", json_string("tool_result"));
		json_object_set_new(o, "tool_use_id", json_string(b->id));
		json_object_set_new(o, "content", json_string(b->text));
		if (b->is_error)
			json_object_set_new(o, "is_error", json_true());
		break;
	}
	return o;
}

/* A text block must not be empty: such blocks are left out, and a
 * message left with nothing is too. */
static json_t *messages_json(const struct llm_conv *c)
{
	json_t *msgs = json_array();

	for (size_t i = 0; msgs && i < c->n; i++) {
		const struct llm_msg *m = &c->v[i];
		json_t *content = json_array(), *msg;

		for (size_t k = 0; content && k < m->n; k++) {
			const struct llm_block *b = &m->v[k];

			if (b->type == LLM_TEXT && (!b->text || !*b->text))
				continue;
			json_array_append_new(content, block_json(b));
		}
		if (!content || json_array_size(content) == 0) {
			json_decref(content);
			continue;
		}
		msg = json_object();
		json_object_set_new(msg, "role", json_string(m->assistant ?
							     "assistant" :
							     "user"));
		json_object_set_new(msg, "content", content);
		json_array_append_new(msgs, msg);
	}
	return msgs;
}

static int anthropic_body(const struct llm *l, const struct llm_request *r,
			  struct buf *out)
{
	json_t *o = json_object(), *tools;
	int rc;

	if (!o)
		return -ENOMEM;
	json_object_set_new(o, "model", json_string(l->model));
	json_object_set_new(o, "max_tokens", json_integer(l->max_tokens));
	json_object_set_new(o, "stream", json_true());
	if (r->system && *r->system)
		json_object_set_new(o, "system", json_string(r->system));
	json_object_set_new(o, "messages", messages_json(r->conv));
	if (r->ntools) {
		tools = json_array();
		for (size_t i = 0; tools && i < r->ntools; i++) {
			json_array_append_new(tools, json_pack(
				"{s:s,s:s,s:o}", "name", r->tools[i].name,
				"description", r->tools[i].description,
				"input_schema", llm_schema(&r->tools[i])));
		}
		json_object_set_new(o, "tools", tools);
	}
	rc = llm_jdump(o, out);
	json_decref(o);
	return rc;
}

/* --- the stream ------------------------------------------------------------ */

static void usage(struct llm_parse *p, const json_t *u)
{
	static const char *const in[] = { "input_tokens",
					  "cache_creation_input_tokens",
					  "cache_read_input_tokens" };
	json_int_t total = 0;
	int any = 0;

	if (!json_is_object(u))
		return;
	for (size_t i = 0; i < sizeof(in) / sizeof(*in); i++) {
		json_t *v = json_object_get(u, in[i]);

		if (json_is_integer(v) && json_integer_value(v) > 0) {
			total += json_integer_value(v);
			any = 1;
		}
	}
	if (any && (uint64_t)total > p->out->in_tokens)
		p->out->in_tokens = (uint64_t)total;
	if (json_is_integer(json_object_get(u, "output_tokens")) &&
	    json_integer_value(json_object_get(u, "output_tokens")) >= 0)
		p->out->out_tokens = (uint64_t)json_integer_value(
			json_object_get(u, "output_tokens"));
}

static int block_start(struct llm_parse *p, const json_t *ev)
{
	const json_t *b = json_object_get(ev, "content_block");
	json_t *idx = json_object_get(ev, "index");
	const char *type = llm_jstr(b, "type");
	struct llm_part *part;

	if (!type || strcmp(type, "tool_use") != 0 || !json_is_integer(idx))
		return 0;
	part = llm_part_get(p, (long)json_integer_value(idx));
	if (!part)
		return -ENOMEM;
	free(part->id);
	free(part->name);
	part->id = strdup(llm_jstr(b, "id") ? llm_jstr(b, "id") : "");
	part->name = strdup(llm_jstr(b, "name") ? llm_jstr(b, "name") : "");
	if (!part->id || !part->name)
		return -ENOMEM;
	return 0;
}

static int block_delta(struct llm_parse *p, const json_t *ev)
{
	const json_t *d = json_object_get(ev, "delta");
	json_t *idx = json_object_get(ev, "index");
	const char *type = llm_jstr(d, "type");
	const char *s;
	struct llm_part *part;

	if (!type)
		return 0;
	if (strcmp(type, "text_delta") == 0) {
		s = llm_jstr(d, "text");
		return s ? llm_emit(p, s, strlen(s)) : 0;
	}
	if (strcmp(type, "input_json_delta") != 0 || !json_is_integer(idx))
		return 0;	/* thinking, signatures: not shown */
	s = llm_jstr(d, "partial_json");
	part = llm_part_get(p, (long)json_integer_value(idx));
	if (!part)
		return -ENOMEM;
	return s ? buf_append(&part->input, s, strlen(s)) : 0;
}

static int block_stop(struct llm_parse *p, const json_t *ev)
{
	json_t *idx = json_object_get(ev, "index");

	if (!json_is_integer(idx))
		return 0;
	for (size_t i = 0; i < p->nparts; i++)
		if (p->parts[i].index == (long)json_integer_value(idx) &&
		    p->parts[i].open)
			return llm_part_finish(p, &p->parts[i]);
	return 0;
}

/* An error event: overloaded and server errors may be tried again. */
static void stream_error(struct llm_parse *p, const json_t *ev)
{
	const json_t *e = json_object_get(ev, "error");
	const char *type = llm_jstr(e, "type"), *msg = llm_jstr(e, "message");

	llm_fail(p, type && (!strcmp(type, "overloaded_error") ||
			     !strcmp(type, "api_error") ||
			     !strcmp(type, "rate_limit_error")),
		 "anthropic: the stream ended with an error: %.60s: %.300s",
		 type ? type : "error", msg ? msg : "(no message)");
}

static int anthropic_event(struct llm_parse *p, const char *event,
			   const char *data, size_t len)
{
	json_t *ev;
	const char *type;
	int rc = 0;

	if (strcmp(event, "ping") == 0)
		return 0;
	ev = llm_jparse(data, len);
	type = llm_jstr(ev, "type");
	if (!type) {
		/* The event name says it too. */
		type = event;
	}
	if (!ev) {
		llm_fail(p, 0, "anthropic: an event that is not JSON "
			 "(%s: %.80s)", event, data);
	} else if (strcmp(type, "message_start") == 0) {
		usage(p, json_object_get(json_object_get(ev, "message"),
					 "usage"));
	} else if (strcmp(type, "content_block_start") == 0) {
		rc = block_start(p, ev);
	} else if (strcmp(type, "content_block_delta") == 0) {
		rc = block_delta(p, ev);
	} else if (strcmp(type, "content_block_stop") == 0) {
		rc = block_stop(p, ev);
	} else if (strcmp(type, "message_delta") == 0) {
		const char *stop = llm_jstr(json_object_get(ev, "delta"),
					    "stop_reason");

		if (stop)
			snprintf(p->out->stop, sizeof(p->out->stop), "%s",
				 stop);
		usage(p, json_object_get(ev, "usage"));
	} else if (strcmp(type, "message_stop") == 0) {
		rc = llm_parts_finish(p);
		p->done = 1;
	} else if (strcmp(type, "error") == 0) {
		stream_error(p, ev);
	}
	json_decref(ev);
	return rc;
}

static void anthropic_error(const char *body, size_t len, char *type,
			    size_t tcap, char *msg, size_t mcap)
{
	json_t *o = llm_jparse(body, len);
	const json_t *e = json_object_get(o, "error");

	snprintf(type, tcap, "%s", llm_jstr(e, "type") ?
		 llm_jstr(e, "type") : "");
	snprintf(msg, mcap, "%s", llm_jstr(e, "message") ?
		 llm_jstr(e, "message") : "");
	json_decref(o);
}

const struct llm_proto llm_anthropic = {
	.name = "anthropic",
	.key_env = "ANTHROPIC_API_KEY",
	.default_base = "https://api.anthropic.com",
	.default_model = "claude-sonnet-4-5",
	.path = "/v1/messages",
	.body = anthropic_body,
	.event = anthropic_event,
	.error = anthropic_error,
};
