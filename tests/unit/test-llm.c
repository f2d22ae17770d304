/* tests/unit/test-llm.c: the LLM client's parsers and requests
 * (core/llm): the server-sent events parser and both providers' stream
 * protocols, on the recorded streams in tests/llm/ fed whole, a byte at a
 * time and with CRLF line ends; and the JSON of requests, as each API's
 * reference wants it. The HTTP side (statuses, retries, stalls) is tested
 * through a mount against tests/llm-server.py (tests/t-sessions*.sh). */
#include "core/llm/llm_int.h"
#include "core/llm/sse.h"
#include "unit.h"

struct got {
	struct buf text;
	int events;
};

static int sink_text(void *arg, const char *s, size_t len)
{
	return buf_append(&((struct got *)arg)->text, s, len);
}

struct feed {
	struct llm_parse p;
	const struct llm_proto *proto;
	struct got *got;
};

static int on_event(void *arg, const char *event, const char *data,
		    size_t len)
{
	struct feed *f = arg;

	f->got->events++;
	if (f->p.failed)
		return 0;
	return f->proto->event(&f->p, event, data, len);
}

static char *slurp(const char *name, size_t *len)
{
	char path[256];
	FILE *fp;
	char *data;
	long n;

	snprintf(path, sizeof(path), "tests/llm/%s", name);
	fp = fopen(path, "rb");
	if (!fp)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	data = malloc((size_t)n + 1);
	if (data && fread(data, 1, (size_t)n, fp) != (size_t)n) {
		free(data);
		data = NULL;
	}
	fclose(fp);
	if (data)
		data[n] = '\0';
	*len = (size_t)n;
	return data;
}

/* LF -> CRLF */
static char *crlf(const char *s, size_t len, size_t *out)
{
	char *d = malloc(2 * len + 1);
	size_t k = 0;

	for (size_t i = 0; d && i < len; i++) {
		if (s[i] == '\n')
			d[k++] = '\r';
		d[k++] = s[i];
	}
	*out = k;
	return d;
}

/* Feed `data` in pieces of `step` bytes (0: whole); the call's result. */
static int run(const struct llm_proto *proto, const char *data, size_t len,
	       size_t step, struct got *got, struct llm_call *call)
{
	struct llm_sink sink = { sink_text, NULL, got };
	struct feed f = { .proto = proto, .got = got };
	struct sse sse;
	int rc = 0;

	memset(call, 0, sizeof(*call));
	buf_init(&got->text, 0);
	got->events = 0;
	f.p.sink = &sink;
	f.p.out = call;
	f.p.provider = proto->name;
	sse_init(&sse, 1 << 20, on_event, &f);
	for (size_t off = 0; off < len && !rc;) {
		size_t n = step && step < len - off ? step : len - off;

		rc = sse_feed(&sse, data + off, n);
		off += n;
	}
	if (!rc && !f.p.failed && (f.p.done || call->stop[0]))
		rc = llm_parts_finish(&f.p);
	if (!rc && f.p.failed)
		rc = -EPROTO;
	else if (!rc && !f.p.done && !call->stop[0])
		rc = -EPIPE;	/* cut short */
	for (size_t i = 0; i < f.p.nparts; i++) {
		free(f.p.parts[i].id);
		free(f.p.parts[i].name);
		buf_release(&f.p.parts[i].input);
	}
	free(f.p.parts);
	sse_release(&sse);
	return rc;
}

static const char *text_of(struct got *g)
{
	return g->text.data ? g->text.data : "";
}

/* Each fixture whole, byte by byte, and with CRLF: the same result. */
static void each_way(const struct llm_proto *proto, const char *file,
		     void (*check)(const char *how, int rc, struct got *g,
				   struct llm_call *c))
{
	static const char *const how[] = { "whole", "a byte at a time",
					   "7 bytes at a time", "with CRLF" };
	size_t len, len2;
	char *data = slurp(file, &len), *d2;

	if (!CHECK(data != NULL, "fixture tests/llm/%s", file))
		return;
	d2 = crlf(data, len, &len2);
	for (int i = 0; i < 4; i++) {
		struct got g;
		struct llm_call c;
		char desc[128];
		int rc = i == 3 ? run(proto, d2, len2, 3, &g, &c) :
			 run(proto, data, len, i == 0 ? 0 : i == 1 ? 1 : 7,
			     &g, &c);

		snprintf(desc, sizeof(desc), "%s, %s", file, how[i]);
		check(desc, rc, &g, &c);
		llm_call_release(&c);
		buf_release(&g.text);
	}
	free(d2);
	free(data);
}

static void check_text(const char *how, int rc, struct got *g,
		       struct llm_call *c)
{
	CHECK(rc == 0 && strcmp(text_of(g), "The ground state of H₂ is −1.137 "
				"Ha.") == 0,
	      "%s: the text, UTF-8 whole: '%s'", how, text_of(g));
	CHECK(c->in_tokens == 25 && c->out_tokens == 15 && c->ncalls == 0,
	      "%s: usage 25 in, 15 out (%llu, %llu), no tool call", how,
	      (unsigned long long)c->in_tokens,
	      (unsigned long long)c->out_tokens);
	CHECK(strcmp(c->stop, "end_turn") == 0 || strcmp(c->stop, "stop") == 0,
	      "%s: stop reason '%s'", how, c->stop);
}

static void check_tool(const char *how, int rc, struct got *g,
		       struct llm_call *c)
{
	CHECK(rc == 0 && c->ncalls == 1 &&
	      strcmp(c->calls[0].name, "fibonacci") == 0 &&
	      c->calls[0].id[0] && !c->calls[0].is_error,
	      "%s: one tool call, fibonacci, with its id (rc %d, %zu calls)",
	      how, rc, c->ncalls);
	CHECK(c->ncalls == 1 &&
	      strcmp(c->calls[0].input, "{\"n\": 10, \"sequence\": false}") == 0,
	      "%s: its input, joined from pieces split mid-token: %s", how,
	      c->ncalls ? c->calls[0].input : "-");
	CHECK(c->in_tokens == 472 && c->out_tokens == 89,
	      "%s: usage 472 in, 89 out", how);
	CHECK(strcmp(c->stop, "tool_use") == 0 ||
	      strcmp(c->stop, "tool_calls") == 0, "%s: stop reason '%s'", how,
	      c->stop);
	(void)g;
}

static void check_error(const char *how, int rc, struct got *g,
			struct llm_call *c)
{
	CHECK(rc == -EPROTO && strstr(c->err, "overloaded_error") &&
	      strstr(c->err, "Overloaded"),
	      "%s: an error event after the 200 fails the answer: %s", how,
	      c->err);
	CHECK(strcmp(text_of(g), "Partial") == 0,
	      "%s: what came before it was passed on", how);
}

static void test_sse(void)
{
	struct got g;
	struct llm_call c;
	static const char bom[] = "\xEF\xBB\xBF" "data: {\"choices\":[{\"delta\":"
		"{\"content\":\"x\"},\"finish_reason\":\"stop\"}]}\r\r";
	static const char cut[] = "data: {\"choices\":[{\"delta\":{\"content\""
		":\"y\"}}]}\n\ndata: {\"choi";

	CHECK(run(&llm_openai, bom, sizeof(bom) - 1, 1, &g, &c) == 0 &&
	      strcmp(text_of(&g), "x") == 0,
	      "a byte order mark and CR line ends, a byte at a time");
	buf_release(&g.text);
	llm_call_release(&c);
	CHECK(run(&llm_openai, cut, sizeof(cut) - 1, 0, &g, &c) == -EPIPE &&
	      strcmp(text_of(&g), "y") == 0 && g.events == 1,
	      "a stream cut mid-event: what came is kept, the rest not "
	      "dispatched, and it is not complete");
	buf_release(&g.text);
	llm_call_release(&c);
	{
		struct feed f = { .got = &g };
		struct sse s;
		struct got *gp = &g;

		(void)gp;
		g.events = 0;
		buf_init(&g.text, 0);
		f.proto = NULL;
		sse_init(&s, 64, on_event, &f);
		static const char line[] = "data: 0123456789012345678901"
			"234567890123456789012345678901234567890123456789";

		CHECK_INT_EQ(-EFBIG, sse_feed(&s, line, sizeof(line) - 1),
			     "a line over the cap stops the parse");
		sse_release(&s);
		buf_release(&g.text);
	}
}

/* --- requests ------------------------------------------------------------ */

static struct llm fake(enum llm_kind k)
{
	struct llm l = { .kind = k, .model = "m-1", .max_tokens = 77 };

	l.proto = k == LLM_ANTHROPIC ? &llm_anthropic : &llm_openai;
	return l;
}

static void make_conv(struct llm_conv *c)
{
	struct llm_block use = { .type = LLM_TOOL_USE, .id = "t1",
				 .name = "fibonacci", .input = "{\"n\":10}" };
	struct llm_block res = { .type = LLM_TOOL_RESULT, .id = "t1",
				 .text = "{\"value\":\"55\"}" };

	memset(c, 0, sizeof(*c));
	llm_conv_add_text(c, 0, "F(10)?");
	llm_conv_add_text(c, 1, "Computing.");
	llm_conv_add(c, 1, &use);
	llm_conv_add(c, 0, &res);
}

static void test_requests(void)
{
	struct llm_tool tool = { "fibonacci", "F(n)",
				 "{\"type\":\"object\",\"properties\":{\"n\":"
				 "{\"type\":\"integer\"}},\"required\":[\"n\"]}" };
	struct llm_conv conv;
	struct llm_request r = { "You know skills.", &conv, &tool, 1, 0 };
	struct llm a = fake(LLM_ANTHROPIC), o = fake(LLM_OPENAI);
	struct buf b;
	json_t *j, *m;

	make_conv(&conv);
	buf_init(&b, 0);
	CHECK_INT_EQ(0, a.proto->body(&a, &r, &b), "an Anthropic request");
	j = llm_jparse(b.data, b.len);
	m = json_object_get(j, "messages");
	CHECK(json_is_true(json_object_get(j, "stream")) &&
	      json_integer_value(json_object_get(j, "max_tokens")) == 77 &&
	      strcmp(llm_jstr(j, "system"), "You know skills.") == 0,
	      "anthropic: stream, max_tokens and system at the top");
	CHECK(json_array_size(m) == 3 &&
	      strcmp(llm_jstr(json_array_get(m, 1), "role"), "assistant") == 0,
	      "anthropic: user, assistant, user (the tool result)");
	CHECK(json_integer_value(json_object_get(json_object_get(
		json_array_get(json_object_get(json_array_get(m, 1),
					       "content"), 1), "input"),
		"n")) == 10 &&
	      strcmp(llm_jstr(json_array_get(json_object_get(
		      json_array_get(m, 2), "content"), 0), "type"),
		     "tool_result") == 0,
	      "anthropic: tool_use with its input as an object, then "
	      "tool_result: %s", b.data);
	CHECK(json_is_object(json_object_get(json_array_get(
		json_object_get(j, "tools"), 0), "input_schema")),
	      "anthropic: tools with input_schema");
	json_decref(j);

	buf_resize(&b, 0);
	CHECK_INT_EQ(0, o.proto->body(&o, &r, &b), "an OpenAI request");
	j = llm_jparse(b.data, b.len);
	m = json_object_get(j, "messages");
	CHECK(json_array_size(m) == 4 &&
	      strcmp(llm_jstr(json_array_get(m, 0), "role"), "system") == 0 &&
	      strcmp(llm_jstr(json_array_get(m, 3), "role"), "tool") == 0 &&
	      strcmp(llm_jstr(json_array_get(m, 3), "tool_call_id"), "t1") == 0,
	      "openai: system, user, assistant, tool: %s", b.data);
	CHECK(strcmp(llm_jstr(json_object_get(json_array_get(json_object_get(
		json_array_get(m, 2), "tool_calls"), 0), "function"),
		"arguments"), "{\"n\":10}") == 0,
	      "openai: the call's arguments as JSON text");
	CHECK(json_is_true(json_object_get(json_object_get(j,
							   "stream_options"),
					   "include_usage")) &&
	      strcmp(llm_jstr(json_object_get(json_array_get(
		      json_object_get(j, "tools"), 0), "function"), "name"),
		     "fibonacci") == 0,
	      "openai: usage asked for, tools as functions");
	json_decref(j);
	buf_release(&b);
	llm_conv_release(&conv);
}

static void test_names(void)
{
	char out[80];

	llm_tool_name(out, sizeof(out), "quantum.vqe/x y");
	CHECK_STR_EQ("quantum_vqe_x_y", out, "a tool name from an id");
	llm_tool_name(out, sizeof(out), "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	CHECK(strlen(out) == LLM_TOOL_NAME_MAX, "cut to 64 bytes");
}

int main(void)
{
	test_sse();
	each_way(&llm_anthropic, "anthropic-text.sse", check_text);
	each_way(&llm_anthropic, "anthropic-tool.sse", check_tool);
	each_way(&llm_anthropic, "anthropic-error.sse", check_error);
	each_way(&llm_openai, "openai-text.sse", check_text);
	each_way(&llm_openai, "openai-tool.sse", check_tool);
	test_requests();
	test_names();
	return unit_done();
}
