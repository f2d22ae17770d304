/* core/prov/session_turn.c: one answer (session.h).
 *
 * A prompt is stored as the user's message, then an answer runs on a
 * thread of its own: the skills context is made (session_ctx.c), the
 * conversation is sent to the provider, and its text streams into the
 * session's reply as it comes (each piece wakes the readers). When the
 * model calls tools, each call runs (session_tool.c) and a line about it
 * goes into the reply; the results go back in the next request, up to
 * llm_tool_rounds rounds. At the end the answer is stored as the
 * assistant's message, with a record of the turn: which skills were
 * sent and why, the tool calls, the usage, the error. A provider that
 * fails, a cancel, a reply over llm_max_reply or past llm_timeout end
 * the answer with a line saying so in reply and in error; what streamed
 * before is kept.
 */
#include "core/prov/session.h"
#include "core/util/log.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void notify(struct sessions *all)
{
	if (all->notify)
		all->notify(all->notify_arg);
}

int turn_cancelled(struct turn *t)
{
	return __atomic_load_n(&t->s->cancel, __ATOMIC_SEQ_CST) ||
	       __atomic_load_n(&t->s->gone, __ATOMIC_SEQ_CST) ||
	       __atomic_load_n(&t->all->stopping, __ATOMIC_SEQ_CST) ||
	       (t->deadline && llm_clock() > t->deadline);
}

int turn_say(struct turn *t, const char *text, size_t len)
{
	struct sess *s = t->s;
	int rc = 0;

	if (!len)
		return 0;
	pthread_mutex_lock(&s->mu);
	if (s->reply.len + len > t->all->ns->cfg->llm_max_reply)
		rc = -EFBIG;
	else
		rc = buf_append(&s->reply, text, len);
	pthread_mutex_unlock(&s->mu);
	if (!rc)
		notify(t->all);
	return rc;
}

static int say(struct turn *t, const char *text)
{
	return turn_say(t, text, strlen(text));
}

/* A line of its own, after what the answer holds. */
static void say_line(struct turn *t, const char *line)
{
	struct sess *s = t->s;
	int nl;

	pthread_mutex_lock(&s->mu);
	nl = s->reply.len && s->reply.data[s->reply.len - 1] != '\n';
	/* Past the cap, the closing line still goes in. */
	if (nl)
		buf_append(&s->reply, "\n", 1);
	buf_append(&s->reply, line, strlen(line));
	buf_append(&s->reply, "\n", 1);
	pthread_mutex_unlock(&s->mu);
	notify(t->all);
}

static int sink_text(void *arg, const char *s, size_t len)
{
	return turn_say(arg, s, len);
}

static int sink_cancelled(void *arg)
{
	return turn_cancelled(arg);
}

void sess_cancel(struct sess *s)
{
	pthread_mutex_lock(&s->mu);
	if (s->busy) {
		s->cancel = 1;
		pthread_cond_broadcast(&s->cond);
	}
	pthread_mutex_unlock(&s->mu);
}

/* --- the conversation --------------------------------------------------- */

/* The messages so far (user and assistant; other roles are not sent),
 * as text. mu held. */
static int conversation(struct sess *s, struct llm_conv *conv)
{
	int rc = 0;

	for (size_t i = 0; i < s->nmsgs && !rc; i++) {
		const struct chat_msg *m = &s->msgs[i];
		int a = strcmp(m->role, "assistant") == 0;

		if (!a && strcmp(m->role, "user") != 0)
			continue;
		/* The first message must be the user's. */
		if (!*m->content || (a && !conv->n))
			continue;
		rc = llm_conv_add_text(conv, a, m->content);
	}
	return rc;
}

/* The text of the answer from `from` on (this round's). */
static char *reply_since(struct sess *s, size_t from)
{
	char *t;

	pthread_mutex_lock(&s->mu);
	if (from > s->reply.len)
		from = s->reply.len;
	t = strndup(s->reply.data ? s->reply.data + from : "",
		    s->reply.len - from);
	pthread_mutex_unlock(&s->mu);
	return t;
}

static size_t reply_len(struct sess *s)
{
	size_t n;

	pthread_mutex_lock(&s->mu);
	n = s->reply.len;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* --- the end of an answer ------------------------------------------------- */

struct outcome {
	int rc;
	char err[600];
	uint64_t in, out;
	unsigned requests;
	char stop[32];
};

static json_t *record_of(struct turn *t, const struct outcome *o)
{
	char ended[32];
	json_t *r;

	chat_iso_time(ended, 0);
	r = json_pack("{s:i,s:s,s:s,s:f,s:s,s:{s:I,s:I,s:I},s:O?,s:O?,s:s?}",
		      "message", (int)t->msgno,
		      "provider", llm_provider_name(t->all->llm),
		      "model", llm_model(t->all->llm),
		      "seconds", llm_clock() - t->start,
		      "stop_reason", o->stop,
		      "usage", "input_tokens", (json_int_t)o->in,
		      "output_tokens", (json_int_t)o->out,
		      "requests", (json_int_t)o->requests,
		      "context", t->ctx.record,
		      "tools", t->tools,
		      "error", o->err[0] ? o->err : NULL);
	if (r) {
		json_object_set_new(r, "ended", json_string(ended));
		json_object_set_new(r, "context_ms",
				    json_real(round(t->ctx_ms * 100) / 100));
	}
	return r;
}

/* The artifacts' names of an answer, for its message. */
static json_t *artifact_names(const char *content, unsigned msgno)
{
	struct chat_artifacts a = { 0 };
	json_t *v = NULL;

	if (chat_artifacts_scan(&a, content, msgno) == 0 && a.n) {
		v = json_array();
		for (size_t i = 0; v && i < a.n; i++)
			json_array_append_new(v, json_string(a.v[i].name));
	}
	chat_artifacts_release(&a);
	return v;
}

/* Store the answer and its record, then let readers see the end. */
static void finish(struct turn *t, struct outcome *o)
{
	struct sessions *all = t->all;
	struct sess *s = t->s;
	char ts[32] = "", esc[96];
	json_t *rec, *arts, *doc = NULL;
	char *content;
	int rc = 0;

	if (o->rc == -ECANCELED && s->gone)
		snprintf(o->err, sizeof(o->err), "the session was removed");
	else if (o->rc == -ECANCELED && all->stopping)
		snprintf(o->err, sizeof(o->err), "the daemon stopped");
	if (o->err[0]) {
		char line[700];

		snprintf(line, sizeof(line), "%s%s", o->rc == -ECANCELED ?
			 "" : "error: ", o->err);
		if (o->rc == -ECANCELED && strcmp(o->err, "cancelled") == 0)
			snprintf(line, sizeof(line), "(cancelled)");
		say_line(t, line);
	}
	content = reply_since(s, 0);
	rec = record_of(t, o);
	arts = content ? artifact_names(content, t->msgno) : NULL;
	pthread_mutex_lock(&s->io);
	if (!s->gone && content && rec) {
		rc = chat_append(all->kv, s->id, "assistant", content, arts, ts);
		if (!rc)
			rc = chat_turn_append(all->kv, s->id, rec);
		pthread_mutex_lock(&s->mu);
		doc = json_deep_copy(s->doc);
		pthread_mutex_unlock(&s->mu);
		if (!rc && doc)
			rc = chat_save(all->kv, s->id, doc);
		if (rc)
			log_warn("session '%s' of %s: storing the answer: %s",
				 log_escape(esc, sizeof(esc), s->id), s->owner,
				 kv_error());
	}
	pthread_mutex_lock(&s->mu);
	if (content && sess_msg_add(s, "assistant", content, ts) == 0 && rec) {
		json_t **v = realloc(s->turns, (s->nturns + 1) * sizeof(*v));

		if (v) {
			s->turns = v;
			v[s->nturns++] = json_incref(rec);
		}
	}
	if (doc && !rc) {
		json_decref(s->doc);
		s->doc = doc;
		doc = NULL;
	}
	free(s->error);
	s->error = NULL;
	if (rc && asprintf(&s->error, "%s%sthe answer could not be stored: %s",
			   o->err, o->err[0] ? "; " : "", kv_error()) < 0)
		s->error = NULL;
	else if (!rc && o->err[0])
		s->error = strdup(o->err);
	s->busy = 0;
	s->cancel = 0;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
	pthread_mutex_unlock(&s->io);
	json_decref(doc);
	json_decref(rec);
	json_decref(arts);
	free(content);
	notify(all);
}

/* --- the rounds ------------------------------------------------------------- */

static void no_provider(struct turn *t)
{
	say(t, "No LLM provider is configured, so there is no answer: set "
	    "llm_provider (anthropic or openai) in the configuration and its "
	    "key (ANTHROPIC_API_KEY or OPENAI_API_KEY) in the daemon's "
	    "environment.\n");
	if (t->ctx.relevant && *t->ctx.relevant) {
		say(t, "\nSkills relevant to your prompt:\n\n");
		say(t, t->ctx.relevant);
	} else {
		say(t, "\nNone of your skills matches the prompt.\n");
	}
}

/* One round's answer into the conversation: its text and tool calls,
 * then each call run and its result added. */
static int run_calls(struct turn *t, struct llm_conv *conv,
		     const struct llm_call *call, const char *text)
{
	int rc = 0;

	if (text && *text)
		rc = llm_conv_add_text(conv, 1, text);
	for (size_t i = 0; i < call->ncalls && !rc; i++)
		rc = llm_conv_add(conv, 1, &call->calls[i]);
	for (size_t i = 0; i < call->ncalls && !rc; i++) {
		struct llm_block res = { .type = LLM_TOOL_RESULT,
					 .id = call->calls[i].id };
		struct buf out;

		buf_init(&out, 1 << 20);
		rc = sess_tool(t, &call->calls[i], &out, &res.is_error);
		res.text = out.data ? out.data : (char *)"";
		if (!rc)
			rc = llm_conv_add(conv, 0, &res);
		buf_release(&out);
	}
	return rc;
}

static int wants_tools(const struct llm_call *c)
{
	return c->ncalls > 0;
}

static void rounds(struct turn *t, struct llm_conv *conv, struct outcome *o)
{
	const struct config *cfg = t->all->ns->cfg;
	struct llm_sink sink = { sink_text, sink_cancelled, t };
	struct llm_request req = {
		.system = t->ctx.system, .conv = conv, .tools = t->ctx.tools,
		.ntools = t->ctx.ntools, .deadline = t->deadline,
	};

	for (unsigned round = 0;; round++) {
		struct llm_call call;
		size_t from = reply_len(t->s);
		char *text;

		o->rc = llm_chat(t->all->llm, &req, &sink, &call);
		o->requests += call.attempts;
		o->in += call.in_tokens;
		o->out += call.out_tokens;
		snprintf(o->stop, sizeof(o->stop), "%s", call.stop);
		if (o->rc == -EFBIG && !call.err[0])
			snprintf(o->err, sizeof(o->err), "the reply reached "
				 "llm_max_reply (%llu bytes) and was cut there",
				 (unsigned long long)cfg->llm_max_reply);
		else if (o->rc)
			snprintf(o->err, sizeof(o->err), "%s", call.err);
		if ((o->rc == -ECANCELED || o->rc == -ETIMEDOUT) &&
		    t->deadline && llm_clock() > t->deadline)
			snprintf(o->err, sizeof(o->err), "no complete answer "
				 "within llm_timeout (%.0f s)",
				 cfg->llm_timeout);
		if (!o->rc && (!strcmp(call.stop, "max_tokens") ||
			       !strcmp(call.stop, "length")))
			say_line(t, "(the answer reached llm_max_tokens and "
				 "was cut)");
		if (o->rc || !wants_tools(&call)) {
			llm_call_release(&call);
			return;
		}
		if (round >= cfg->llm_tool_rounds) {
			say_line(t, "(stopped: the model asked for more tool "
				 "rounds than llm_tool_rounds allows)");
			llm_call_release(&call);
			return;
		}
		text = reply_since(t->s, from);
		o->rc = run_calls(t, conv, &call, text);
		free(text);
		llm_call_release(&call);
		if (!o->rc && turn_cancelled(t))
			o->rc = -ECANCELED;
		if (o->rc) {
			if (o->rc == -ECANCELED)
				snprintf(o->err, sizeof(o->err), "cancelled");
			else if (!o->err[0])
				snprintf(o->err, sizeof(o->err), "%s",
					 strerror(-o->rc));
			return;
		}
		say(t, "\n");
	}
}

static void *turn_main(void *arg)
{
	struct turn *t = arg;
	struct sess *s = t->s;
	struct sessions *all = t->all;
	struct outcome o = { 0 };
	struct llm_conv conv = { 0 };

	pthread_mutex_lock(&s->mu);
	o.rc = conversation(s, &conv);
	pthread_mutex_unlock(&s->mu);
	if (!o.rc) {
		double t0 = llm_clock();

		o.rc = sess_ctx_build(all, &t->opener, &conv, &t->ctx);
		t->ctx_ms = (llm_clock() - t0) * 1e3;
	}
	if (o.rc) {
		snprintf(o.err, sizeof(o.err), "the request could not be "
			 "made: %s", strerror(-o.rc));
	} else if (llm_kind(all->llm) == LLM_NONE) {
		no_provider(t);
	} else {
		rounds(t, &conv, &o);
		if (o.rc == -ECANCELED && !o.err[0])
			snprintf(o.err, sizeof(o.err), "cancelled");
	}
	finish(t, &o);
	llm_conv_release(&conv);
	sess_ctx_release(&t->ctx);
	json_decref(t->tools);
	sess_put(s);
	free(t);
	pthread_mutex_lock(&all->mu);
	if (--all->turns == 0)
		pthread_cond_broadcast(&all->idle);
	pthread_mutex_unlock(&all->mu);
	return NULL;
}

/* --- a prompt ------------------------------------------------------------- */

/* The user's message stored, and the session's title, provider and
 * model. s->io held. */
static int store_prompt(struct sessions *all, struct sess *s,
			const char *text, char ts[32], json_t **docp)
{
	json_t *doc, *meta;
	int rc;

	rc = chat_append(all->kv, s->id, "user", text, NULL, ts);
	if (rc)
		return rc;
	pthread_mutex_lock(&s->mu);
	doc = json_deep_copy(s->doc);
	pthread_mutex_unlock(&s->mu);
	meta = doc ? chat_meta_get(doc) : NULL;
	if (!meta) {
		json_decref(doc);
		return -ENOMEM;
	}
	if (!json_is_string(json_object_get(meta, "title"))) {
		char title[81];
		size_t n = strcspn(text, "\n");

		if (n > 80)
			n = 80;
		while (n && ((unsigned char)text[n] & 0xC0) == 0x80)
			n--;	/* not inside a character */
		memcpy(title, text, n);
		title[n] = '\0';
		json_object_set_new(meta, "title", json_string(title));
	}
	json_object_set_new(meta, "provider",
			    json_string(llm_provider_name(all->llm)));
	json_object_set_new(meta, "model", json_string(llm_model(all->llm)));
	rc = chat_save(all->kv, s->id, doc);
	if (rc)
		json_decref(doc);
	else
		*docp = doc;
	return rc;
}

int sess_prompt(struct sessions *all, struct sess *s, struct caller *opener,
		const char *prompt, size_t len)
{
	struct turn *t;
	char ts[32], *text;
	json_t *doc = NULL;
	pthread_attr_t attr;
	pthread_t th;
	int rc;

	if (!all)
		return -EIO;
	text = strndup(prompt, len);
	t = calloc(1, sizeof(*t));
	if (!text || !t) {
		free(text);
		free(t);
		return -ENOMEM;
	}
	pthread_mutex_lock(&all->mu);
	rc = all->stopping ? -EIO :
	     all->turns >= all->ns->cfg->llm_max_turns ? -EAGAIN : 0;
	if (!rc)
		all->turns++;
	pthread_mutex_unlock(&all->mu);
	if (rc)
		goto out_free;
	pthread_mutex_lock(&s->mu);
	rc = s->busy ? -EBUSY : s->gone ? -ENOENT : 0;
	if (!rc) {
		s->busy = 1;
		s->cancel = 0;
	}
	pthread_mutex_unlock(&s->mu);
	if (rc)
		goto out_turns;
	pthread_mutex_lock(&s->io);
	rc = store_prompt(all, s, text, ts, &doc);
	pthread_mutex_lock(&s->mu);
	if (!rc)
		rc = sess_msg_add(s, "user", text, ts);
	if (rc) {
		s->busy = 0;
	} else {
		json_decref(s->doc);
		s->doc = doc;
		s->turn++;
		buf_resize(&s->prev_reply, 0);
		buf_append(&s->prev_reply, s->reply.data ? s->reply.data : "",
			   s->reply.len);
		buf_resize(&s->reply, 0);
		free(s->error);
		s->error = NULL;
		t->msgno = (unsigned)s->nmsgs + 1;
		snprintf(t->folder, sizeof(t->folder), "%s",
			 s->folder ? s->folder : s->id);
	}
	pthread_mutex_unlock(&s->mu);
	pthread_mutex_unlock(&s->io);
	if (rc) {
		char esc[96];

		log_warn("session '%s' of %s: storing the prompt: %s",
			 log_escape(esc, sizeof(esc), s->id), s->owner,
			 kv_error());
		goto out_turns;
	}
	t->all = all;
	t->s = s;
	t->opener = *opener;	/* a kept caller: no pointers to follow */
	t->start = llm_clock();
	t->deadline = t->start + all->ns->cfg->llm_timeout;
	t->tools = json_array();
	sess_get(s);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = -pthread_create(&th, &attr, turn_main, t);
	pthread_attr_destroy(&attr);
	if (rc) {
		struct outcome o = { .rc = rc };

		snprintf(o.err, sizeof(o.err), "no thread for the answer: %s",
			 strerror(-rc));
		finish(t, &o);
		json_decref(t->tools);
		sess_put(s);
		rc = 0;		/* the prompt is stored; error says why */
		goto out_turns;
	}
	free(text);
	notify(all);
	return 0;
out_turns:
	pthread_mutex_lock(&all->mu);
	if (--all->turns == 0)
		pthread_cond_broadcast(&all->idle);
	pthread_mutex_unlock(&all->mu);
out_free:
	free(t);
	free(text);
	return rc == -EAGAIN && !all->stopping ? -EAGAIN : rc;
}
