/* core/llm/llm.c: the LLM client (llm.h): one request, streamed through
 * the SSE parser to the provider's protocol, with the errors and retries
 * both providers share. */
#include "core/llm/llm_int.h"
#include "core/llm/sse.h"
#include "core/util/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EVENT_MAX ((size_t)4 << 20)	/* one event's data */
#define ERROR_BODY_MAX ((size_t)64 << 10)
#define CONNECT_TIMEOUT 10.0

/* --- conversations ---------------------------------------------------------- */

static void block_release(struct llm_block *b)
{
	free(b->text);
	free(b->id);
	free(b->name);
	free(b->input);
}

void llm_conv_release(struct llm_conv *c)
{
	for (size_t i = 0; i < c->n; i++) {
		for (size_t k = 0; k < c->v[i].n; k++)
			block_release(&c->v[i].v[k]);
		free(c->v[i].v);
	}
	free(c->v);
	memset(c, 0, sizeof(*c));
}

static int dup_or_null(char **dst, const char *s)
{
	*dst = NULL;
	if (!s)
		return 0;
	*dst = strdup(s);
	return *dst ? 0 : -ENOMEM;
}

int llm_conv_add(struct llm_conv *c, int assistant, const struct llm_block *b)
{
	struct llm_msg *m;
	struct llm_block *nb;

	if (!c->n || c->v[c->n - 1].assistant != !!assistant) {
		if (c->n == c->alloc) {
			size_t k = c->alloc ? 2 * c->alloc : 8;
			struct llm_msg *v = realloc(c->v, k * sizeof(*v));

			if (!v)
				return -ENOMEM;
			c->v = v;
			c->alloc = k;
		}
		memset(&c->v[c->n], 0, sizeof(c->v[c->n]));
		c->v[c->n++].assistant = !!assistant;
	}
	m = &c->v[c->n - 1];
	if (m->n == m->alloc) {
		size_t k = m->alloc ? 2 * m->alloc : 4;
		struct llm_block *v = realloc(m->v, k * sizeof(*v));

		if (!v)
			return -ENOMEM;
		m->v = v;
		m->alloc = k;
	}
	nb = &m->v[m->n];
	memset(nb, 0, sizeof(*nb));
	nb->type = b->type;
	nb->is_error = b->is_error;
	if (dup_or_null(&nb->text, b->text) || dup_or_null(&nb->id, b->id) ||
	    dup_or_null(&nb->name, b->name) ||
	    dup_or_null(&nb->input, b->input)) {
		block_release(nb);
		return -ENOMEM;
	}
	m->n++;
	return 0;
}

int llm_conv_add_text(struct llm_conv *c, int assistant, const char *text)
{
	struct llm_block b = { .type = LLM_TEXT, .text = (char *)text };

	return llm_conv_add(c, assistant, &b);
}

void llm_call_release(struct llm_call *c)
{
	for (size_t i = 0; i < c->ncalls; i++)
		block_release(&c->calls[i]);
	free(c->calls);
	c->calls = NULL;
	c->ncalls = 0;
}

void llm_tool_name(char *out, size_t cap, const char *s)
{
	size_t n = 0, max = cap - 1 < LLM_TOOL_NAME_MAX ? cap - 1 :
			    LLM_TOOL_NAME_MAX;

	for (; *s && n < max; s++) {
		char c = *s;

		out[n++] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || c == '-' || c == '_' ?
			   c : '_';
	}
	if (!n && max)
		out[n++] = '_';
	out[n] = '\0';
}

/* --- JSON ---------------------------------------------------------------- */

const char *llm_jstr(const json_t *o, const char *key)
{
	json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;

	return json_is_string(v) ? json_string_value(v) : NULL;
}

json_t *llm_jparse(const char *s, size_t len)
{
	return s ? json_loadb(s, len, JSON_DECODE_ANY, NULL) : NULL;
}

static int dump_cb(const char *s, size_t len, void *arg)
{
	return buf_append(arg, s, len) ? -1 : 0;
}

json_t *llm_schema(const struct llm_tool *t)
{
	json_t *s = llm_jparse(t->schema, strlen(t->schema));

	if (json_is_object(s))
		return s;
	json_decref(s);
	return json_pack("{s:s}", "type", "object");
}

int llm_jdump(const json_t *v, struct buf *out)
{
	if (!v)
		return -ENOMEM;
	return json_dump_callback(v, dump_cb, out,
				  JSON_COMPACT | JSON_ENSURE_ASCII) ?
	       -ENOMEM : 0;
}

/* --- the parse of one answer ---------------------------------------------- */

struct llm_part *llm_part_get(struct llm_parse *p, long index)
{
	struct llm_part *v;

	for (size_t i = 0; i < p->nparts; i++)
		if (p->parts[i].index == index)
			return &p->parts[i];
	v = realloc(p->parts, (p->nparts + 1) * sizeof(*v));
	if (!v)
		return NULL;
	p->parts = v;
	memset(&v[p->nparts], 0, sizeof(*v));
	v[p->nparts].index = index;
	v[p->nparts].open = 1;
	buf_init(&v[p->nparts].input, EVENT_MAX);
	return &v[p->nparts++];
}

int llm_part_finish(struct llm_parse *p, struct llm_part *part)
{
	struct llm_call *c = p->out;
	struct llm_block *v, *b;
	json_t *in;

	if (!part->open)
		return 0;
	part->open = 0;
	v = realloc(c->calls, (c->ncalls + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	c->calls = v;
	b = &v[c->ncalls];
	memset(b, 0, sizeof(*b));
	b->type = LLM_TOOL_USE;
	in = part->input.len ? llm_jparse(part->input.data, part->input.len) :
	     json_object();
	if (!json_is_object(in)) {
		/* Kept as written: the tool says it is not an object. */
		b->input = strndup(part->input.data ? part->input.data : "",
				   part->input.len);
		b->is_error = 1;
	} else if (part->input.len) {
		b->input = strndup(part->input.data, part->input.len);
	} else {
		b->input = strdup("{}");
	}
	json_decref(in);
	b->id = strdup(part->id ? part->id : "");
	b->name = strdup(part->name ? part->name : "");
	if (!b->input || !b->id || !b->name) {
		block_release(b);
		return -ENOMEM;
	}
	c->ncalls++;
	return 0;
}

static int by_index(const void *a, const void *b)
{
	long x = ((const struct llm_part *)a)->index;
	long y = ((const struct llm_part *)b)->index;

	return (x > y) - (x < y);
}

int llm_parts_finish(struct llm_parse *p)
{
	int rc = 0;

	if (p->nparts > 1)
		qsort(p->parts, p->nparts, sizeof(*p->parts), by_index);
	for (size_t i = 0; i < p->nparts && !rc; i++)
		rc = llm_part_finish(p, &p->parts[i]);
	return rc;
}

static void parts_release(struct llm_parse *p)
{
	for (size_t i = 0; i < p->nparts; i++) {
		free(p->parts[i].id);
		free(p->parts[i].name);
		buf_release(&p->parts[i].input);
	}
	free(p->parts);
	p->parts = NULL;
	p->nparts = 0;
}

int llm_emit(struct llm_parse *p, const char *s, size_t len)
{
	int rc;

	if (!len)
		return 0;
	p->out->streamed = 1;
	rc = p->sink->text ? p->sink->text(p->sink->arg, s, len) : 0;
	if (rc)
		p->sink_rc = rc;
	return rc;
}

/* A server's words go into reply and error: no control characters (a
 * terminal would obey them). */
static void plain(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

void llm_fail(struct llm_parse *p, int retryable, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return;
	p->failed = 1;
	p->retryable = retryable;
	va_start(ap, fmt);
	vsnprintf(p->out->err, sizeof(p->out->err), fmt, ap);
	va_end(ap);
	plain(p->out->err);
}

/* --- the client -------------------------------------------------------------- */

double llm_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define now llm_clock

static const struct llm_proto *proto_named(const char *name)
{
	if (!name)
		return NULL;
	if (strcmp(name, "anthropic") == 0)
		return &llm_anthropic;
	if (strcmp(name, "openai") == 0)
		return &llm_openai;
	return NULL;
}

static int add_header(struct llm *l, size_t *n, const char *name,
		      const char *value)
{
	if (asprintf(&l->hdr_store[*n], "%s: %s", name, value) < 0) {
		l->hdr_store[*n] = NULL;
		return -ENOMEM;
	}
	l->hdrs[*n] = l->hdr_store[*n];
	(*n)++;
	return 0;
}

static int make_headers(struct llm *l)
{
	size_t n = 0;
	int rc = add_header(l, &n, "Content-Type", "application/json");

	if (!rc)
		rc = add_header(l, &n, "Accept", "text/event-stream");
	if (!rc && l->kind == LLM_ANTHROPIC) {
		rc = add_header(l, &n, "anthropic-version", "2023-06-01");
		if (!rc && l->key)
			rc = add_header(l, &n, "x-api-key", l->key);
	} else if (!rc && l->key) {
		char *v;

		if (asprintf(&v, "Bearer %s", l->key) < 0)
			return -ENOMEM;
		rc = add_header(l, &n, "Authorization", v);
		free(v);
	}
	l->hdrs[n] = NULL;
	return rc;
}

int llm_new(struct llm **out, const struct config *cfg, char *err,
	    size_t errlen)
{
	const char *name = cfg->llm_provider;
	const struct llm_proto *p;
	struct http_opts o = { .connect_timeout = CONNECT_TIMEOUT };
	struct llm *l = calloc(1, sizeof(*l));
	const char *key;
	int rc;

	if (!l)
		return -ENOMEM;
	if (!name) {
		if (getenv("ANTHROPIC_API_KEY") &&
		    *getenv("ANTHROPIC_API_KEY"))
			name = "anthropic";
		else if ((getenv("OPENAI_API_KEY") &&
			  *getenv("OPENAI_API_KEY")) || cfg->llm_base_url)
			name = "openai";
	}
	p = proto_named(name);
	*out = l;
	if (!p)
		return 0;	/* none */
	l->kind = p == &llm_anthropic ? LLM_ANTHROPIC : LLM_OPENAI;
	l->proto = p;
	key = getenv(p->key_env);
	l->key = key && *key ? strdup(key) : NULL;
	l->model = strdup(cfg->llm_model ? cfg->llm_model : p->default_model);
	rc = asprintf(&l->url, "%s%s", cfg->llm_base_url ?
		      cfg->llm_base_url : p->default_base, p->path) < 0 ?
	     -ENOMEM : 0;
	if (!rc && l->url) {
		/* "http://host/v1/" + "/chat..." : one slash. */
		char *dbl = strstr(l->url + 8, "//");

		if (dbl)
			memmove(dbl, dbl + 1, strlen(dbl));
	}
	l->max_tokens = cfg->llm_max_tokens;
	l->idle_timeout = cfg->llm_idle_timeout;
	if (!rc && (!l->model || !l->url))
		rc = -ENOMEM;
	if (!rc)
		rc = make_headers(l);
	if (!rc)
		rc = http_new(&l->http, &o);
	if (rc) {
		snprintf(err, errlen, "%s: %s", p->name, strerror(-rc));
		llm_free(l);
		*out = NULL;
		return rc;
	}
	if (!l->key && l->kind == LLM_ANTHROPIC)
		log_warn("llm: anthropic is configured but ANTHROPIC_API_KEY "
			 "is not set: replies will say so");
	log_info("llm: %s, model %s, at %s", p->name, l->model, l->url);
	return 0;
}

void llm_free(struct llm *l)
{
	if (!l)
		return;
	http_free(l->http);
	for (size_t i = 0; i < sizeof(l->hdr_store) / sizeof(*l->hdr_store);
	     i++) {
		if (l->hdr_store[i])
			memset(l->hdr_store[i], 0, strlen(l->hdr_store[i]));
		free(l->hdr_store[i]);
	}
	if (l->key)
		memset(l->key, 0, strlen(l->key));
	free(l->key);
	free(l->model);
	free(l->url);
	free(l);
}

enum llm_kind llm_kind(const struct llm *l)
{
	return l ? l->kind : LLM_NONE;
}

const char *llm_provider_name(const struct llm *l)
{
	return l && l->proto ? l->proto->name : "none";
}

const char *llm_model(const struct llm *l)
{
	return l && l->model ? l->model : "";
}

/* --- one request ---------------------------------------------------------- */

struct attempt {
	struct llm_parse parse;
	struct sse sse;
	const struct llm *l;
	double deadline;	/* 0: none */
	double last;		/* when data last came (or the start) */
	int timed_out;		/* past the deadline */
	int idle;		/* silent past idle_timeout */
};

static int on_event(void *arg, const char *event, const char *data,
		    size_t len)
{
	struct attempt *a = arg;

	if (a->parse.failed)
		return 0;	/* the first error says it */
	return a->l->proto->event(&a->parse, event, data, len);
}

static int on_chunk(void *arg, const char *data, size_t len)
{
	struct attempt *a = arg;

	a->last = now();
	return sse_feed(&a->sse, data, len);
}

static int on_abort(void *arg)
{
	struct attempt *a = arg;
	const struct llm_sink *s = a->parse.sink;

	double t = now();

	if (a->deadline && t > a->deadline) {
		a->timed_out = 1;
		return 1;
	}
	/* Asked about once a second while nothing comes: a stream that
	 * stays silent (pings count as data) fails within a second of its
	 * limit. */
	if (a->l->idle_timeout > 0 && t - a->last > a->l->idle_timeout) {
		a->idle = 1;
		return 1;
	}
	return s->cancelled && s->cancelled(s->arg);
}

/* Wait `s` seconds unless cancelled first; 0 or -ECANCELED. */
static int pause_for(const struct llm_sink *sink, double s)
{
	double end = now() + s;

	while (now() < end) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		if (sink->cancelled && sink->cancelled(sink->arg))
			return -ECANCELED;
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* What an error status says, as one line; sets *retry and the errno. */
static int status_error(const struct llm *l, struct http_resp *resp,
			struct llm_call *out, int *retry, double *wait)
{
	char type[64], msg[320], ra[64];
	const char *what;
	long st = resp->status;
	int rc;

	l->proto->error(resp->body.data, resp->body.len, type, sizeof(type),
			msg, sizeof(msg));
	plain(type);
	plain(msg);
	*retry = 0;
	*wait = -1;
	if (http_header(resp, "retry-after", ra, sizeof(ra)) == 0)
		*wait = http_retry_after(ra);
	if (st == 401 || st == 403) {
		what = st == 401 ? "the API key was refused" :
				   "the API key may not do this";
		rc = -EACCES;
	} else if (st == 429) {
		what = "rate limited";
		rc = -EAGAIN;
		*retry = 1;
	} else if (st == 529 || st == 503) {
		what = "overloaded";
		rc = -EAGAIN;
		*retry = 1;
	} else if (st >= 500) {
		what = "the provider failed";
		rc = -EIO;
		*retry = 1;
	} else if (st == 404) {
		what = "not found (check llm_base_url and llm_model)";
		rc = -EINVAL;
	} else {
		what = "the request was refused";
		rc = -EINVAL;
	}
	snprintf(out->err, sizeof(out->err), "%s: %s (HTTP %ld%s%s)%s%.300s%s",
		 l->proto->name, what, st, type[0] ? " " : "", type,
		 msg[0] ? ": " : "", msg,
		 rc == -EACCES ? l->key ? "; check the key" :
		 "; no key is set in the daemon's environment" : "");
	if (rc == -EACCES && !l->key) {
		size_t k = strlen(out->err);

		snprintf(out->err + k, sizeof(out->err) - k, " (%s)",
			 l->proto->key_env);
	}
	return rc;
}

/* One attempt; fills out, returns 0 or an error, and whether another
 * attempt may help (*retry) and after how long (*wait, -1: backoff). */
static int attempt_one(struct llm *l, const struct buf *body,
		       const struct llm_sink *sink, double deadline,
		       struct llm_call *out, int *retry, double *wait)
{
	struct attempt a = { .l = l, .deadline = deadline };
	struct http_req q = {
		.method = "POST", .url = l->url, .headers = l->hdrs,
		.body = body->data, .body_len = body->len,
		.max_body = ERROR_BODY_MAX, .timeout = -1,
		.connect_timeout = CONNECT_TIMEOUT,
		.deadline = !deadline ? 0 : deadline - now() > 0.1 ?
			    deadline - now() : 0.1,
		.on_chunk = on_chunk,
		.abort = on_abort, .arg = &a,
	};
	struct http_resp resp;
	int rc;

	*retry = 0;
	*wait = -1;
	a.last = now();
	a.parse.sink = sink;
	a.parse.out = out;
	a.parse.provider = l->proto->name;
	sse_init(&a.sse, EVENT_MAX, on_event, &a);
	http_resp_init(&resp);
	rc = http_do(l->http, &q, &resp);
	if (rc == 0 && resp.status >= 300) {
		rc = status_error(l, &resp, out, retry, wait);
	} else if (rc == 0 && a.parse.failed) {
		rc = -EPROTO;
		*retry = a.parse.retryable;
	} else if (rc == 0 && !a.parse.done && !out->stop[0]) {
		snprintf(out->err, sizeof(out->err), "%s: the stream ended "
			 "before the answer was complete (the connection "
			 "closed)", l->proto->name);
		rc = -EPROTO;
		*retry = 1;
	} else if (rc == 0) {
		rc = llm_parts_finish(&a.parse);
	} else if (a.parse.sink_rc) {
		rc = a.parse.sink_rc;
	} else if (rc == -ECANCELED && a.timed_out) {
		rc = -ETIMEDOUT;
		snprintf(out->err, sizeof(out->err), "%s: no complete answer "
			 "in the time a reply may take (llm_timeout)",
			 l->proto->name);
	} else if (rc == -ECANCELED && a.idle) {
		snprintf(out->err, sizeof(out->err), "%s: no data for %.0f s "
			 "(llm_idle_timeout)", l->proto->name, l->idle_timeout);
		rc = -ETIMEDOUT;
		*retry = 1;
	} else if (rc == -ECANCELED) {
		snprintf(out->err, sizeof(out->err), "cancelled");
	} else if (rc == -ETIMEDOUT) {
		snprintf(out->err, sizeof(out->err), "%s: no data for %.0f s "
			 "(llm_idle_timeout): %s", l->proto->name,
			 l->idle_timeout, resp.err);
		*retry = 1;
	} else if (rc == -EFBIG || rc == -ENOMEM) {
		snprintf(out->err, sizeof(out->err), "%s: an event larger than "
			 "%zu bytes", l->proto->name, EVENT_MAX);
	} else {
		snprintf(out->err, sizeof(out->err), "%s: %s", l->proto->name,
			 resp.err[0] ? resp.err : strerror(-rc));
		*retry = rc == -ECONNREFUSED || rc == -EIO ||
			 rc == -EHOSTUNREACH;
	}
	/* Never again once some of the answer reached the user. */
	if (out->streamed || out->ncalls || a.parse.nparts)
		*retry = 0;
	parts_release(&a.parse);
	sse_release(&a.sse);
	http_resp_release(&resp);
	return rc;
}

int llm_chat(struct llm *l, const struct llm_request *req,
	     const struct llm_sink *sink, struct llm_call *out)
{
	double deadline = req->deadline, step = 0.5;
	struct buf body;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!l || !l->proto) {
		snprintf(out->err, sizeof(out->err), "no LLM provider is "
			 "configured");
		return -ENOTCONN;
	}
	if (!l->key && l->kind == LLM_ANTHROPIC) {
		snprintf(out->err, sizeof(out->err), "anthropic: no API key: "
			 "set ANTHROPIC_API_KEY in the daemon's environment");
		return -EACCES;
	}
	buf_init(&body, 0);
	rc = l->proto->body(l, req, &body);
	if (rc) {
		buf_release(&body);
		snprintf(out->err, sizeof(out->err), "%s: the request could "
			 "not be made: %s", l->proto->name, strerror(-rc));
		return rc;
	}
	for (;;) {
		double wait;
		int retry;

		out->attempts++;
		out->err[0] = '\0';
		out->stop[0] = '\0';
		rc = attempt_one(l, &body, sink, deadline, out, &retry, &wait);
		if (!rc || !retry || out->attempts > LLM_RETRIES)
			break;
		if (wait < 0)
			wait = step;
		step *= 2;
		if (deadline && now() + wait >= deadline) {
			size_t k = strlen(out->err);

			snprintf(out->err + k, sizeof(out->err) - k,
				 "; asked to retry in %.0f s, past llm_timeout",
				 wait);
			break;
		}
		if (log_threshold >= LOG_LVL_INFO) {
			char esc[600];

			log_info("llm: %s; retrying in %.1f s",
				 log_escape(esc, sizeof(esc), out->err), wait);
		}
		if (pause_for(sink, wait)) {
			rc = -ECANCELED;
			snprintf(out->err, sizeof(out->err), "cancelled");
			break;
		}
	}
	if (rc && out->attempts > 1 && rc != -ECANCELED) {
		size_t k = strlen(out->err);

		snprintf(out->err + k, sizeof(out->err) - k, " (after %u "
			 "attempts)", out->attempts);
	}
	buf_release(&body);
	return rc;
}
