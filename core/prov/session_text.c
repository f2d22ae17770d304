/* core/prov/session_text.c: the content of a session's generated files
 * (session.h), made from the session in memory at each open and stat. */
#include "core/prov/session.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int put(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

static int dump_cb(const char *s, size_t len, void *arg)
{
	return buf_append(arg, s, len) ? -1 : 0;
}

/* Pretty JSON and a newline. */
static int put_json(struct buf *b, const json_t *v)
{
	if (!v || json_dump_callback(v, dump_cb, b, JSON_INDENT(2) |
				     JSON_PRESERVE_ORDER))
		return -ENOMEM;
	return put(b, "\n");
}

void sess_msg_name(char *out, size_t cap, const struct sess *s, size_t i)
{
	char role[24];
	size_t n = 0;

	for (const char *p = s->msgs[i].role; *p && n + 1 < sizeof(role); p++)
		if (isalnum((unsigned char)*p) || *p == '-' || *p == '_')
			role[n++] = (char)tolower((unsigned char)*p);
	role[n] = '\0';
	snprintf(out, cap, "%04zu-%s.md", i + 1, n ? role : "unknown");
}

json_t *sess_turn_of(struct sess *s, size_t i)
{
	for (size_t k = s->nturns; k-- > 0;) {
		json_t *m = json_object_get(s->turns[k], "message");

		if (json_is_integer(m) && json_integer_value(m) == (json_int_t)i + 1)
			return s->turns[k];
	}
	return NULL;
}

static const char *doc_str(const struct sess *s, const char *key)
{
	const char *v = json_string_value(json_object_get(s->doc, key));

	return v ? v : "";
}

static int session_json(struct sess *s, struct buf *out)
{
	json_t *meta = chat_meta(s->doc);
	const char *prov = json_string_value(json_object_get(meta, "provider"));
	const char *model = json_string_value(json_object_get(meta, "model"));
	const char *title = json_string_value(json_object_get(meta, "title"));
	json_t *o;
	int rc;

	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s?,s:s,s:s,s:s,s:I,"
		      "s:b,s:s}",
		      "id", s->id, "name", doc_str(s, "name"),
		      "folder", s->folder ? s->folder : s->id,
		      "volume", doc_str(s, "volume"),
		      "volume_id", doc_str(s, "volume_id"),
		      "provider", prov ? prov : llm_provider_name(s->all->llm),
		      "model", model ? model : llm_model(s->all->llm),
		      "title", title,
		      "status", doc_str(s, "status"),
		      "created", doc_str(s, "created_at"),
		      "updated", doc_str(s, "updated_at"),
		      "messages", (json_int_t)s->nmsgs,
		      "answering", s->busy,
		      "store", s->all->kv->where);
	rc = put_json(out, o);
	json_decref(o);
	return rc;
}

static int transcript(struct sess *s, struct buf *out)
{
	int rc = put(out, "# ");

	if (!rc)
		rc = put(out, s->folder ? s->folder : s->id);
	if (!rc)
		rc = put(out, "\n");
	for (size_t i = 0; i < s->nmsgs && !rc; i++) {
		const struct chat_msg *m = &s->msgs[i];

		if (!(rc = put(out, "\n## ")) && !(rc = put(out, m->role)) &&
		    !(rc = put(out, m->timestamp[0] ? " · " : "")) &&
		    !(rc = put(out, m->timestamp)) &&
		    !(rc = put(out, "\n\n")) && !(rc = put(out, m->content)))
			rc = put(out, m->content[0] &&
				 m->content[strlen(m->content) - 1] == '\n' ?
				 "" : "\n");
	}
	if (!rc && s->busy) {
		if (!(rc = put(out, "\n## assistant (answering)\n\n")))
			rc = buf_append(out, s->reply.data ? s->reply.data : "",
					s->reply.len);
	}
	return rc;
}

static uint64_t num(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) && json_integer_value(v) > 0 ?
	       (uint64_t)json_integer_value(v) : 0;
}

static int usage_json(struct sess *s, struct buf *out)
{
	json_t *o = json_object(), *turns = json_array();
	uint64_t in = 0, outt = 0;
	int rc;

	if (!o || !turns) {
		json_decref(o);
		json_decref(turns);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->nturns; i++) {
		const json_t *u = json_object_get(s->turns[i], "usage");
		uint64_t a = num(u, "input_tokens"), b = num(u, "output_tokens");

		in += a;
		outt += b;
		json_array_append_new(turns, json_pack(
			"{s:O?,s:I,s:I,s:I}",
			"message", json_object_get(s->turns[i], "message"),
			"input_tokens", (json_int_t)a,
			"output_tokens", (json_int_t)b,
			"requests", (json_int_t)num(u, "requests")));
	}
	json_object_set_new(o, "turns", turns);
	json_object_set_new(o, "total", json_pack("{s:I,s:I}", "input_tokens",
						  (json_int_t)in,
						  "output_tokens",
						  (json_int_t)outt));
	rc = put_json(out, o);
	json_decref(o);
	return rc;
}

/* The message a messages/ name stands for: its index, or -1. */
static long msg_index(struct sess *s, const char *name, int json)
{
	char want[64];
	char *end;
	long i = strtol(name, &end, 10);

	if (end == name || i < 1 || (size_t)i > s->nmsgs)
		return -1;
	sess_msg_name(want, sizeof(want), s, (size_t)i - 1);
	if (json) {
		size_t k = strlen(want);

		if (k < 3 || strcmp(want + k - 3, ".md") ||
		    strcmp(s->msgs[i - 1].role, "assistant"))
			return -1;
		memcpy(want + k - 3, ".json", 6);
	}
	return strcmp(want, name) == 0 ? i - 1 : -1;
}

static int last_user(struct sess *s, struct buf *out)
{
	for (size_t i = s->nmsgs; i-- > 0;)
		if (strcmp(s->msgs[i].role, "user") == 0)
			return put(out, s->msgs[i].content);
	return 0;
}

int sess_text(struct sess *s, const struct node *n, struct buf *out)
{
	const struct chat_artifacts *a;
	long i;

	switch (n->sub) {
	case SESS_JSON:
		return session_json(s, out);
	case SESS_TRANSCRIPT:
		return transcript(s, out);
	case SESS_USAGE:
		return usage_json(s, out);
	case SESS_ERROR:
		if (!s->error || !*s->error)
			return 0;
		if (put(out, s->error))
			return -ENOMEM;
		return s->error[strlen(s->error) - 1] == '\n' ? 0 :
		       put(out, "\n");
	case SESS_PROMPT:
		return last_user(s, out);
	case SESS_REPLY:
		return buf_append(out, s->reply.data ? s->reply.data : "",
				  s->reply.len);
	case SESS_CTL:
		return 0;
	case SESS_MSG:
		i = msg_index(s, n->name, 0);
		return i < 0 ? -ENOENT : put(out, s->msgs[i].content);
	case SESS_TURN:
		i = msg_index(s, n->name, 1);
		if (i < 0 || !sess_turn_of(s, (size_t)i))
			return -ENOENT;
		return put_json(out, sess_turn_of(s, (size_t)i));
	case SESS_ART:
		a = sess_artifacts(s);
		for (size_t k = 0; k < a->n; k++)
			if (strcmp(a->v[k].name, n->name) == 0 &&
			    !sess_artifact_hidden(s, n->name))
				return buf_append(out, a->v[k].text,
						  a->v[k].len);
		return -ENOENT;
	default:
		return -EISDIR;
	}
}
