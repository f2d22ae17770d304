/* core/chat/chat.c: sessions in LLMos-Lite's key layout (chat.h). */
#include "core/chat/chat.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define SESSION_MAX ((size_t)16 << 20)

static int key_of(char *out, size_t cap, const char *id, const char *suffix)
{
	if ((size_t)snprintf(out, cap, "session:%s%s", id, suffix) >= cap)
		return -ENAMETOOLONG;
	return 0;
}

void chat_msg_release(struct chat_msg *m)
{
	free(m->role);
	free(m->content);
	free(m->timestamp);
	json_decref(m->extra);
	memset(m, 0, sizeof(*m));
}

void chat_iso_time(char out[32], time_t t)
{
	struct timeval tv;
	struct tm tm;
	long ms = 0;

	if (!t) {
		gettimeofday(&tv, NULL);
		t = tv.tv_sec;
		ms = tv.tv_usec / 1000;
	}
	gmtime_r(&t, &tm);
	if (tm.tm_year > 8000 || tm.tm_year < -1900)
		tm.tm_year = 70;	/* not a time a session has */
	snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
		 (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100,
		 tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
		 tm.tm_sec % 100, ms % 1000);
}

void chat_id_make(char *out, size_t cap, const char *name, time_t t)
{
	size_t n = 0, max = cap > 40 ? cap - 32 : 0;

	n = (size_t)snprintf(out, cap, "sess_");
	for (const char *p = name; *p && n < max; p++)
		out[n++] = *p == ' ' ? '_' :
			   (char)tolower((unsigned char)*p);
	snprintf(out + n, cap - n, "_%lld", (long long)t);
}

static int dump_cb(const char *s, size_t len, void *arg)
{
	return buf_append(arg, s, len) ? -1 : 0;
}

static int put_json(struct kv *kv, const char *key, json_t *v,
		    unsigned flags, int list)
{
	struct buf b;
	int rc;

	buf_init(&b, SESSION_MAX);
	rc = json_dump_callback(v, dump_cb, &b, JSON_COMPACT) ? -EFBIG : 0;
	if (!rc)
		rc = list ? kv_rpush(kv, key, b.data, b.len) :
		     kv_set(kv, key, b.data, b.len, flags);
	buf_release(&b);
	return rc;
}

json_t *chat_meta(json_t *doc)
{
	json_t *m = json_object_get(doc, "metadata");
	json_t *l = json_is_object(m) ? json_object_get(m, "llmunix") : NULL;

	return json_is_object(l) ? l : NULL;
}

json_t *chat_meta_get(json_t *doc)
{
	json_t *m = json_object_get(doc, "metadata"), *l;

	if (!json_is_object(m)) {
		m = json_object();
		if (!m || json_object_set_new(doc, "metadata", m))
			return NULL;
	}
	l = json_object_get(m, "llmunix");
	if (!json_is_object(l)) {
		l = json_object();
		if (!l || json_object_set_new(m, "llmunix", l))
			return NULL;
	}
	return l;
}

int chat_create(struct kv *kv, const char *user, const char *name,
		json_t *meta, char *id, size_t cap)
{
	char key[CHAT_ID_MAX + 32], set[300], now[32];
	time_t t = time(NULL);
	json_t *doc;
	int rc = -EEXIST;

	if ((size_t)snprintf(set, sizeof(set), "user:%s:sessions", user) >=
	    sizeof(set))
		return -ENAMETOOLONG;
	chat_iso_time(now, 0);
	doc = json_pack("{s:s,s:s,s:s,s:s,s:s,s:[],s:i,s:s,s:s,s:{}}",
			"id", "", "name", name, "volume", "user", "volume_id",
			user, "status", "active", "messages", "traces_count",
			0, "created_at", now, "updated_at", now, "metadata");
	if (!doc)
		return -ENOMEM;
	if (meta)
		json_object_set(json_object_get(doc, "metadata"), "llmunix",
				meta);
	/* SET NX: two sessions made in one second get two ids. */
	for (int i = 0; i < 1000 && rc == -EEXIST; i++) {
		chat_id_make(id, cap, name, t + i);
		json_object_set_new(doc, "id", json_string(id));
		rc = key_of(key, sizeof(key), id, "");
		if (!rc)
			rc = put_json(kv, key, doc, KV_NX, 0);
	}
	json_decref(doc);
	if (!rc)
		rc = kv_sadd(kv, set, id);
	if (!rc)
		rc = kv_sadd(kv, "all:sessions", id);
	return rc;
}

int chat_list(struct kv *kv, const char *user, kv_item_cb cb, void *arg)
{
	char set[300];

	if ((size_t)snprintf(set, sizeof(set), "user:%s:sessions", user) >=
	    sizeof(set))
		return -ENAMETOOLONG;
	return kv_smembers(kv, set, cb, arg);
}

int chat_load(struct kv *kv, const char *id, json_t **out)
{
	char key[CHAT_ID_MAX + 32];
	struct buf b;
	json_t *doc;
	int rc = key_of(key, sizeof(key), id, "");

	*out = NULL;
	if (rc)
		return rc;
	buf_init(&b, SESSION_MAX);
	rc = kv_get(kv, key, &b);
	if (!rc) {
		doc = json_loadb(b.data ? b.data : "", b.len, 0, NULL);
		if (json_is_object(doc))
			*out = doc;
		else {
			json_decref(doc);
			rc = -EINVAL;
		}
	}
	buf_release(&b);
	return rc;
}

int chat_save(struct kv *kv, const char *id, json_t *doc)
{
	char key[CHAT_ID_MAX + 32], now[32];
	int rc = key_of(key, sizeof(key), id, "");

	if (rc)
		return rc;
	chat_iso_time(now, 0);
	json_object_set_new(doc, "updated_at", json_string(now));
	return put_json(kv, key, doc, 0, 0);
}

int chat_delete(struct kv *kv, const char *user, const char *id)
{
	static const char *const suffix[] = { ":messages", ":turns", "" };
	char key[CHAT_ID_MAX + 32], set[300];
	int rc = 0;

	/* The session's own key last: while it is there, the others may
	 * be found again and removed by a second try. */
	for (size_t i = 0; i < 3 && !rc; i++) {
		rc = key_of(key, sizeof(key), id, suffix[i]);
		if (!rc)
			rc = kv_del(kv, key);
	}
	if (!rc && (size_t)snprintf(set, sizeof(set), "user:%s:sessions",
				    user) >= sizeof(set))
		rc = -ENAMETOOLONG;
	if (!rc)
		rc = kv_srem(kv, set, id);
	if (!rc)
		rc = kv_srem(kv, "all:sessions", id);
	return rc;
}

static char *str_or(const json_t *o, const char *key, const char *dflt)
{
	json_t *v = json_object_get(o, key);

	return strdup(json_is_string(v) ? json_string_value(v) : dflt);
}

struct msg_walk {
	chat_msg_cb cb;
	void *arg;
};

static int msg_one(void *arg, const char *data, size_t len)
{
	struct msg_walk *w = arg;
	struct chat_msg m = { 0 };
	json_t *o = json_loadb(data, len, 0, NULL);
	int rc;

	if (json_is_object(o)) {
		json_t *c = json_object_get(o, "content");

		m.role = str_or(o, "role", "unknown");
		m.timestamp = str_or(o, "timestamp", "");
		if (json_is_string(c))
			m.content = strdup(json_string_value(c));
		else if (c && !json_is_null(c))
			m.content = json_dumps(c, JSON_COMPACT);
		else
			m.content = strdup("");
		m.extra = o;
	} else {
		json_decref(o);
		m.role = strdup("unknown");
		m.timestamp = strdup("");
		m.content = strndup(data, len);
	}
	if (!m.role || !m.timestamp || !m.content) {
		chat_msg_release(&m);
		return -ENOMEM;
	}
	rc = w->cb(w->arg, &m);
	chat_msg_release(&m);
	return rc;
}

int chat_messages(struct kv *kv, const char *id, uint64_t from,
		  chat_msg_cb cb, void *arg)
{
	char key[CHAT_ID_MAX + 32];
	struct msg_walk w = { cb, arg };
	int rc = key_of(key, sizeof(key), id, ":messages");

	return rc ? rc : kv_lrange(kv, key, (int64_t)from, -1, msg_one, &w);
}

int chat_count(struct kv *kv, const char *id, uint64_t *n)
{
	char key[CHAT_ID_MAX + 32];
	int rc = key_of(key, sizeof(key), id, ":messages");

	return rc ? rc : kv_llen(kv, key, n);
}

int chat_append(struct kv *kv, const char *id, const char *role,
		const char *content, json_t *artifacts, char ts[32])
{
	char key[CHAT_ID_MAX + 32];
	json_t *m;
	int rc = key_of(key, sizeof(key), id, ":messages");

	if (rc)
		return rc;
	chat_iso_time(ts, 0);
	m = json_pack("{s:s,s:s,s:s,s:n,s:O?}", "role", role, "content",
		      content, "timestamp", ts, "traces", "artifacts",
		      artifacts);
	if (!m)
		return -ENOMEM;
	rc = put_json(kv, key, m, 0, 1);
	json_decref(m);
	return rc;
}

struct turn_walk {
	int (*cb)(void *arg, json_t *turn);
	void *arg;
};

static int turn_one(void *arg, const char *data, size_t len)
{
	struct turn_walk *w = arg;
	json_t *o = json_loadb(data, len, 0, NULL);

	if (!json_is_object(o)) {
		json_decref(o);
		o = json_object();
		if (!o)
			return -ENOMEM;
	}
	return w->cb(w->arg, o);
}

int chat_turns(struct kv *kv, const char *id, uint64_t from,
	       int (*cb)(void *arg, json_t *turn), void *arg)
{
	char key[CHAT_ID_MAX + 32];
	struct turn_walk w = { cb, arg };
	int rc = key_of(key, sizeof(key), id, ":turns");

	return rc ? rc : kv_lrange(kv, key, (int64_t)from, -1, turn_one, &w);
}

int chat_turns_count(struct kv *kv, const char *id, uint64_t *n)
{
	char key[CHAT_ID_MAX + 32];
	int rc = key_of(key, sizeof(key), id, ":turns");

	return rc ? rc : kv_llen(kv, key, n);
}

int chat_turn_append(struct kv *kv, const char *id, json_t *turn)
{
	char key[CHAT_ID_MAX + 32];
	int rc = key_of(key, sizeof(key), id, ":turns");

	return rc ? rc : put_json(kv, key, turn, 0, 1);
}
