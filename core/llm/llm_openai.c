/* core/llm/llm_openai.c: the OpenAI chat completions API (POST
 * BASE/chat/completions with "stream": true), which OpenRouter, Ollama,
 * llama.cpp's server and vLLM speak too.
 *
 * Request: model, messages (system, user, assistant with tool_calls
 * [{id, type: function, function: {name, arguments: JSON text}}], tool
 * {tool_call_id, content}), tools [{type: function, function: {name,
 * description, parameters}}], stream, stream_options.include_usage,
 * max_tokens. Header: Authorization: Bearer KEY (none when no key is
 * set, for local servers).
 *
 * Stream: "data: {chunk}" lines, each chunk with choices[0].delta
 * (content; tool_calls [{index, id, function: {name, arguments}}] whose
 * arguments arrive in pieces) and finish_reason (stop, tool_calls,
 * length), then a usage chunk whose choices are empty or null, then
 * "data: [DONE]" (which some servers leave out). Comments (": ...") keep
 * a stream alive; a chunk {"error": {...}} is an error after the 200.
 */
#include "core/llm/llm_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static json_t *tool_calls_json(const struct llm_msg *m)
{
	json_t *calls = json_array();

	for (size_t k = 0; calls && k < m->n; k++) {
		const struct llm_block *b = &m->v[k];
		json_t *c;

		if (b->type != LLM_TOOL_USE)
			continue;
		c = json_pack("{s:s,s:s,s:{s:s,s:s}}", "id", b->id, "type",
			      "function", "function", "name", b->name,
			      "arguments", b->input && *b->input ?
			      b->input : "{}");
		json_array_append_new(calls, c);
	}
	return calls;
}

/* The text of a message's text blocks, joined. */
static json_t *text_of(const struct llm_msg *m)
{
	struct buf b;
	json_t *s;

	buf_init(&b, 0);
	for (size_t k = 0; k < m->n; k++) {
		if (m->v[k].type != LLM_TEXT || !m->v[k].text)
			continue;
		if (b.len)
			buf_append(&b, "\n\n", 2);
		buf_append(&b, m->v[k].text, strlen(m->v[k].text));
	}
	s = b.len ? json_string(b.data) : NULL;
	buf_release(&b);
	return s;
}

static int add_message(json_t *msgs, const struct llm_msg *m)
{
	json_t *text = text_of(m), *o;

	if (m->assistant) {
		json_t *calls = tool_calls_json(m);

		if (!text && json_array_size(calls) == 0) {
			json_decref(calls);
			return 0;
		}
		o = json_object();
		json_object_set_new(o, "role", json_string("assistant"));
		json_object_set_new(o, "content", text ? text : json_null());
		if (json_array_size(calls))
			json_object_set_new(o, "tool_calls", calls);
		else
			json_decref(calls);
		return json_array_append_new(msgs, o);
	}
	/* The user's side: tool results first (they answer the calls just
	 * before), then the text. */
	for (size_t k = 0; k < m->n; k++) {
		const struct llm_block *b = &m->v[k];

		if (b->type != LLM_TOOL_RESULT)
			continue;
		o = json_pack("{s:s,s:s,s:s}", "role", "tool", "tool_call_id",
			      b->id, "content", b->text ? b->text : "");
		json_array_append_new(msgs, o);
	}
	if (text)
		json_array_append_new(msgs, json_pack("{s:s,s:o}", "role",
						      "user", "content",
						      text));
	return 0;
}

static int openai_body(const struct llm *l, const struct llm_request *r,
		       struct buf *out)
{
	json_t *o = json_object(), *msgs = json_array();
	int rc;

	if (!o || !msgs) {
		json_decref(o);
		json_decref(msgs);
		return -ENOMEM;
	}
	json_object_set_new(o, "model", json_string(l->model));
	json_object_set_new(o, "stream", json_true());
	json_object_set_new(o, "stream_options",
			    json_pack("{s:b}", "include_usage", 1));
	json_object_set_new(o, "max_tokens", json_integer(l->max_tokens));
	if (r->system && *r->system)
		json_array_append_new(msgs, json_pack("{s:s,s:s}", "role",
						      "system", "content",
						      r->system));
	for (size_t i = 0; i < r->conv->n; i++)
		add_message(msgs, &r->conv->v[i]);
	json_object_set_new(o, "messages", msgs);
	if (r->ntools) {
		json_t *tools = json_array();

		for (size_t i = 0; tools && i < r->ntools; i++)
			json_array_append_new(tools, json_pack(
				"{s:s,s:{s:s,s:s,s:o}}", "type", "function",
				"function", "name", r->tools[i].name,
				"description", r->tools[i].description,
				"parameters", llm_schema(&r->tools[i])));
		json_object_set_new(o, "tools", tools);
	}
	rc = llm_jdump(o, out);
	json_decref(o);
	return rc;
}

static int tool_delta(struct llm_parse *p, const json_t *calls)
{
	size_t i;
	json_t *c;

	json_array_foreach(calls, i, c) {
		json_t *idx = json_object_get(c, "index");
		const json_t *fn = json_object_get(c, "function");
		const char *id = llm_jstr(c, "id");
		const char *name = llm_jstr(fn, "name");
		const char *args = llm_jstr(fn, "arguments");
		struct llm_part *part;

		part = llm_part_get(p, json_is_integer(idx) ?
				    (long)json_integer_value(idx) : (long)i);
		if (!part)
			return -ENOMEM;
		if (id && *id && !part->id && !(part->id = strdup(id)))
			return -ENOMEM;
		if (name && *name && !part->name &&
		    !(part->name = strdup(name)))
			return -ENOMEM;
		if (args && buf_append(&part->input, args, strlen(args)))
			return -ENOMEM;
	}
	return 0;
}

static void usage(struct llm_parse *p, const json_t *u)
{
	json_t *in = json_object_get(u, "prompt_tokens");
	json_t *out = json_object_get(u, "completion_tokens");

	if (json_is_integer(in) && json_integer_value(in) >= 0)
		p->out->in_tokens = (uint64_t)json_integer_value(in);
	if (json_is_integer(out) && json_integer_value(out) >= 0)
		p->out->out_tokens = (uint64_t)json_integer_value(out);
}

static int openai_event(struct llm_parse *p, const char *event,
			const char *data, size_t len)
{
	json_t *ev, *choices, *ch, *err;
	const char *s;
	int rc = 0;

	(void)event;
	if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
		p->done = 1;
		return llm_parts_finish(p);
	}
	ev = llm_jparse(data, len);
	if (!json_is_object(ev)) {
		llm_fail(p, 0, "openai: a chunk that is not JSON: %.80s",
			 data);
		json_decref(ev);
		return 0;
	}
	err = json_object_get(ev, "error");
	if (err) {
		const char *m = json_is_string(err) ? json_string_value(err) :
				llm_jstr(err, "message");

		llm_fail(p, 1, "openai: the stream ended with an error: %.300s",
			 m ? m : "(no message)");
		json_decref(ev);
		return 0;
	}
	if (json_is_object(json_object_get(ev, "usage")))
		usage(p, json_object_get(ev, "usage"));
	choices = json_object_get(ev, "choices");
	ch = json_is_array(choices) ? json_array_get(choices, 0) : NULL;
	if (ch) {
		const json_t *d = json_object_get(ch, "delta");

		s = llm_jstr(d, "content");
		if (s && *s)
			rc = llm_emit(p, s, strlen(s));
		if (!rc && json_is_array(json_object_get(d, "tool_calls")))
			rc = tool_delta(p, json_object_get(d, "tool_calls"));
		s = llm_jstr(ch, "finish_reason");
		if (!rc && s) {
			snprintf(p->out->stop, sizeof(p->out->stop), "%s", s);
			rc = llm_parts_finish(p);
		}
	}
	json_decref(ev);
	return rc;
}

static void openai_error(const char *body, size_t len, char *type,
			 size_t tcap, char *msg, size_t mcap)
{
	json_t *o = llm_jparse(body, len);
	const json_t *e = json_object_get(o, "error");
	const char *t = llm_jstr(e, "code");

	if (!t)
		t = llm_jstr(e, "type");
	snprintf(type, tcap, "%s", t ? t : "");
	if (json_is_string(e))
		snprintf(msg, mcap, "%s", json_string_value(e));
	else
		snprintf(msg, mcap, "%s", llm_jstr(e, "message") ?
			 llm_jstr(e, "message") : "");
	json_decref(o);
}

const struct llm_proto llm_openai = {
	.name = "openai",
	.key_env = "OPENAI_API_KEY",
	.default_base = "https://api.openai.com/v1",
	.default_model = "gpt-4o-mini",
	.path = "/chat/completions",
	.body = openai_body,
	.event = openai_event,
	.error = openai_error,
};
