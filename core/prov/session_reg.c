/* core/prov/session_reg.c: the sessions in memory (session.h), loaded from
 * the store in LLMos-Lite's layout (core/chat/chat.h).
 *
 * A user's sessions are the ids of the set user:<u>:sessions. Each is
 * shown under a folder name: its "name" when that is a valid file name
 * and no session made earlier (created_at, then id) has it, else its id.
 * So a session made with mkdir h2 is sessions/h2 (its id sess_h2_<time>),
 * one the web app named "Quantum Research" is sessions/Quantum Research,
 * and two named alike show as the older by name and the newer by id.
 *
 * Messages are read when a session is first used and again whenever the
 * store's list has another length (another writer added some), except
 * while an answer runs here, whose messages this daemon writes.
 */
#include "core/prov/session.h"
#include "core/util/log.h"
#include "core/util/name.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int sess_name_ok(const char *name)
{
	if (name_check(name) || name[0] == '.')
		return 0;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

static double iso_seconds(const char *s)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if (!s || !(end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)))
		return 0;
	return (double)timegm(&tm) + (*end == '.' ? strtod(end, NULL) : 0);
}

static struct sess *sess_new(struct sessions *all, const char *owner,
			     const char *id, json_t *doc)
{
	struct sess *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->id = strdup(id);
	if (!s->id) {
		free(s);
		return NULL;
	}
	s->all = all;
	snprintf(s->owner, sizeof(s->owner), "%s", owner);
	s->doc = doc;
	s->created = iso_seconds(json_string_value(json_object_get(
		doc, "created_at")));
	s->refs = 1;
	pthread_mutex_lock(&all->mu);
	all->live++;
	pthread_mutex_unlock(&all->mu);
	pthread_mutex_init(&s->io, NULL);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cond, NULL);
	buf_init(&s->reply, 0);
	buf_init(&s->prev_reply, 0);
	return s;
}

static void sess_free(struct sess *s)
{
	struct sessions *all = s->all;
	int last;

	for (size_t i = 0; i < s->nmsgs; i++)
		chat_msg_release(&s->msgs[i]);
	free(s->msgs);
	for (size_t i = 0; i < s->nturns; i++)
		json_decref(s->turns[i]);
	free(s->turns);
	chat_artifacts_release(&s->arts);
	json_decref(s->doc);
	buf_release(&s->reply);
	buf_release(&s->prev_reply);
	free(s->error);
	free(s->folder);
	free(s->id);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->io);
	free(s);
	pthread_mutex_lock(&all->mu);
	last = --all->live == 0 && all->stopped;
	pthread_mutex_unlock(&all->mu);
	if (last)
		sessions_free(all);
}

void sess_get(struct sess *s)
{
	pthread_mutex_lock(&s->all->mu);
	s->refs++;
	pthread_mutex_unlock(&s->all->mu);
}

void sess_put(struct sess *s)
{
	int last;

	if (!s)
		return;
	pthread_mutex_lock(&s->all->mu);
	last = --s->refs == 0;
	pthread_mutex_unlock(&s->all->mu);
	if (last)
		sess_free(s);
}

/* sessions.mu held. */
static struct sess *by_id(struct sessions *all, const char *id)
{
	for (size_t i = 0; i < all->n; i++)
		if (strcmp(all->v[i]->id, id) == 0)
			return all->v[i];
	return NULL;
}

static int add_locked(struct sessions *all, struct sess *s)
{
	if (all->n == all->alloc) {
		size_t k = all->alloc ? 2 * all->alloc : 16;
		struct sess **v = realloc(all->v, k * sizeof(*v));

		if (!v)
			return -ENOMEM;
		all->v = v;
		all->alloc = k;
	}
	all->v[all->n++] = s;
	return 0;
}

/* Forget `s` (sessions.mu held): the list's reference is dropped by the
 * caller after unlocking. */
static void unlist_locked(struct sessions *all, struct sess *s)
{
	for (size_t i = 0; i < all->n; i++) {
		if (all->v[i] == s) {
			all->v[i] = all->v[--all->n];
			s->gone = 1;
			return;
		}
	}
}

static int older(const struct sess *a, const struct sess *b)
{
	if (a->created != b->created)
		return a->created < b->created;
	return strcmp(a->id, b->id) < 0;
}

/* Folder names of owner's sessions (sessions.mu held). */
static void assign_folders(struct sessions *all, const char *owner)
{
	struct sess **v = NULL;
	size_t n = 0;

	for (size_t i = 0; i < all->n; i++)
		if (strcmp(all->v[i]->owner, owner) == 0)
			n++;
	v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return;		/* the old names stay */
	n = 0;
	for (size_t i = 0; i < all->n; i++)
		if (strcmp(all->v[i]->owner, owner) == 0)
			v[n++] = all->v[i];
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && older(v[j], v[j - 1]); j--) {
			struct sess *t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++) {
		const char *name = json_string_value(json_object_get(v[i]->doc,
								     "name"));
		const char *want = name && sess_name_ok(name) ? name : v[i]->id;
		char *f;

		for (size_t j = 0; j < i; j++)
			if (strcmp(v[j]->folder, want) == 0)
				want = v[i]->id;
		if (v[i]->folder && strcmp(v[i]->folder, want) == 0)
			continue;
		f = strdup(want);
		if (f) {
			free(v[i]->folder);
			v[i]->folder = f;
		}
	}
	/* An id no session could take: still a name of its own. */
	for (size_t i = 0; i < n; i++)
		if (!v[i]->folder)
			v[i]->folder = strdup(v[i]->id);
	free(v);
}

/* --- the user's set ----------------------------------------------------- */

struct ids {
	char **v;
	size_t n;
};

static int add_id(void *arg, const char *data, size_t len)
{
	struct ids *s = arg;
	char **v;

	if (!len || len > CHAT_ID_MAX || memchr(data, '\0', len))
		return 0;	/* no session of ours has such an id */
	v = realloc(s->v, (s->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	s->v = v;
	v[s->n] = strndup(data, len);
	return v[s->n++] ? 0 : -ENOMEM;
}

static void ids_release(struct ids *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

static int is_known(struct sessions *all, const char *id)
{
	int k;

	pthread_mutex_lock(&all->mu);
	k = by_id(all, id) != NULL;
	pthread_mutex_unlock(&all->mu);
	return k;
}

int sess_sync_user(struct sessions *all, const char *owner)
{
	struct ids ids = { NULL, 0 };
	struct sess **fresh = NULL, **drop = NULL;
	size_t nfresh = 0, ndrop = 0;
	int rc = chat_list(all->kv, owner, add_id, &ids);

	if (rc)
		goto out;
	fresh = calloc(ids.n ? ids.n : 1, sizeof(*fresh));
	if (!fresh) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < ids.n; i++) {
		json_t *doc;
		int r;

		if (is_known(all, ids.v[i]))
			continue;
		r = chat_load(all->kv, ids.v[i], &doc);
		if (r == -ENOENT || r == -EINVAL) {
			char esc[96];

			/* In the set but gone, or not a session: not shown. */
			log_debug("session '%s' of %s: %s",
				  log_escape(esc, sizeof(esc), ids.v[i]), owner,
				  r == -EINVAL ? "not a JSON object" :
				  "no such key");
			continue;
		}
		if (r) {
			rc = r;
			goto out;
		}
		fresh[nfresh] = sess_new(all, owner, ids.v[i], doc);
		if (!fresh[nfresh]) {
			json_decref(doc);
			rc = -ENOMEM;
			goto out;
		}
		nfresh++;
	}
	pthread_mutex_lock(&all->mu);
	for (size_t i = 0; i < nfresh; i++) {
		if (by_id(all, fresh[i]->id) || add_locked(all, fresh[i]))
			continue;	/* made meanwhile: the other wins */
		fresh[i] = NULL;
	}
	/* Removed by another writer: forgotten, unless answering now. */
	drop = calloc(all->n ? all->n : 1, sizeof(*drop));
	for (size_t i = 0; drop && i < all->n; i++) {
		struct sess *s = all->v[i];
		size_t k;

		if (strcmp(s->owner, owner) != 0)
			continue;
		for (k = 0; k < ids.n && strcmp(ids.v[k], s->id); k++)
			;
		if (k == ids.n && !s->busy) {
			unlist_locked(all, s);
			drop[ndrop++] = s;
			i--;
		}
	}
	assign_folders(all, owner);
	pthread_mutex_unlock(&all->mu);
	for (size_t i = 0; i < ndrop; i++)
		sess_put(drop[i]);
out:
	for (size_t i = 0; fresh && i < nfresh; i++)
		if (fresh[i])
			sess_free(fresh[i]);
	free(fresh);
	free(drop);
	ids_release(&ids);
	return rc;
}

struct sess *sess_find(struct sessions *all, const char *owner,
		       const char *folder)
{
	struct sess *s = NULL;

	pthread_mutex_lock(&all->mu);
	for (size_t i = 0; i < all->n && !s; i++)
		if (strcmp(all->v[i]->owner, owner) == 0 &&
		    all->v[i]->folder &&
		    strcmp(all->v[i]->folder, folder) == 0)
			s = all->v[i];
	if (s)
		s->refs++;
	pthread_mutex_unlock(&all->mu);
	return s;
}

struct sess *sess_of_node(struct sessions *all, struct node *n)
{
	struct node *d = sess_dir_of(n);

	return d && !d->detached ? sess_find(all, d->vol->owner, d->name) :
	       NULL;
}

int sess_folders(struct sessions *all, const char *owner,
		 int (*fn)(void *arg, const char *folder), void *arg)
{
	int rc = 0;

	pthread_mutex_lock(&all->mu);
	for (size_t i = 0; i < all->n && !rc; i++)
		if (strcmp(all->v[i]->owner, owner) == 0 && all->v[i]->folder)
			rc = fn(arg, all->v[i]->folder);
	pthread_mutex_unlock(&all->mu);
	return rc;
}

/* --- changes ------------------------------------------------------------ */

int sess_create(struct sessions *all, const char *owner, const char *name)
{
	char id[CHAT_ID_MAX];
	json_t *doc, *meta;
	struct sess *s, *other;
	int rc;

	if (!sess_name_ok(name))
		return -EINVAL;
	other = sess_find(all, owner, name);
	if (other) {
		sess_put(other);
		return -EEXIST;
	}
	meta = json_pack("{s:s,s:s}", "provider",
			 llm_provider_name(all->llm), "model",
			 llm_model(all->llm));
	if (!meta)
		return -ENOMEM;
	rc = chat_create(all->kv, owner, name, meta, id, sizeof(id));
	json_decref(meta);
	if (rc)
		return rc;
	rc = chat_load(all->kv, id, &doc);
	if (rc)
		return rc;
	s = sess_new(all, owner, id, doc);
	if (!s) {
		json_decref(doc);
		return -ENOMEM;
	}
	s->loaded = 1;
	pthread_mutex_lock(&all->mu);
	rc = add_locked(all, s);
	if (!rc)
		assign_folders(all, owner);
	pthread_mutex_unlock(&all->mu);
	if (rc)
		sess_free(s);
	return rc;
}

int sess_remove(struct sessions *all, struct sess *s)
{
	int rc, listed = 0;

	sess_cancel(s);
	/* Gone before its keys are: an answer ending now stores nothing
	 * (it checks under io), so no key comes back. */
	pthread_mutex_lock(&s->io);
	rc = chat_delete(all->kv, s->owner, s->id);
	if (!rc) {
		pthread_mutex_lock(&s->mu);
		s->gone = 1;
		s->cancel = 1;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->mu);
	}
	pthread_mutex_unlock(&s->io);
	if (rc)
		return rc;
	pthread_mutex_lock(&all->mu);
	for (size_t i = 0; i < all->n && !listed; i++)
		listed = all->v[i] == s;
	if (listed)
		unlist_locked(all, s);
	assign_folders(all, s->owner);
	pthread_mutex_unlock(&all->mu);
	if (listed)
		sess_put(s);	/* the list's reference */
	if (all->notify)
		all->notify(all->notify_arg);
	return 0;
}

int sess_rename(struct sessions *all, struct sess *s, const char *name)
{
	struct sess *other;
	json_t *doc;
	int rc;

	if (!sess_name_ok(name))
		return -EINVAL;
	other = sess_find(all, s->owner, name);
	if (other) {
		sess_put(other);
		return other == s ? 0 : -EEXIST;
	}
	pthread_mutex_lock(&s->io);
	pthread_mutex_lock(&s->mu);
	doc = json_deep_copy(s->doc);
	pthread_mutex_unlock(&s->mu);
	rc = doc ? 0 : -ENOMEM;
	if (!rc)
		rc = json_object_set_new(doc, "name", json_string(name)) ?
		     -ENOMEM : 0;
	if (!rc)
		rc = chat_save(all->kv, s->id, doc);
	if (!rc) {
		pthread_mutex_lock(&s->mu);
		json_decref(s->doc);
		s->doc = doc;
		doc = NULL;
		pthread_mutex_unlock(&s->mu);
	}
	pthread_mutex_unlock(&s->io);
	json_decref(doc);
	if (!rc) {
		pthread_mutex_lock(&all->mu);
		assign_folders(all, s->owner);
		pthread_mutex_unlock(&all->mu);
	}
	return rc;
}

/* --- messages -------------------------------------------------------------- */

int sess_msg_add(struct sess *s, const char *role, const char *content,
		 const char *ts)
{
	struct chat_msg *m;

	if (s->nmsgs == s->amsgs) {
		size_t k = s->amsgs ? 2 * s->amsgs : 16;
		struct chat_msg *v = realloc(s->msgs, k * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->msgs = v;
		s->amsgs = k;
	}
	m = &s->msgs[s->nmsgs];
	memset(m, 0, sizeof(*m));
	m->role = strdup(role);
	m->content = strdup(content);
	m->timestamp = strdup(ts ? ts : "");
	if (!m->role || !m->content || !m->timestamp) {
		chat_msg_release(m);
		return -ENOMEM;
	}
	s->nmsgs++;
	s->gen++;
	return 0;
}

struct loaded {
	struct chat_msg *v;
	size_t n, alloc;
	json_t **turns;
	size_t nturns;
};

static int take_msg(void *arg, struct chat_msg *m)
{
	struct loaded *l = arg;

	if (l->n == l->alloc) {
		size_t k = l->alloc ? 2 * l->alloc : 16;
		struct chat_msg *v = realloc(l->v, k * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->alloc = k;
	}
	l->v[l->n++] = *m;
	memset(m, 0, sizeof(*m));	/* now ours */
	return 0;
}

static int take_turn(void *arg, json_t *t)
{
	struct loaded *l = arg;
	json_t **v = realloc(l->turns, (l->nturns + 1) * sizeof(*v));

	if (!v) {
		json_decref(t);
		return -ENOMEM;
	}
	l->turns = v;
	v[l->nturns++] = t;
	return 0;
}

static void loaded_release(struct loaded *l)
{
	for (size_t i = 0; i < l->n; i++)
		chat_msg_release(&l->v[i]);
	free(l->v);
	for (size_t i = 0; i < l->nturns; i++)
		json_decref(l->turns[i]);
	free(l->turns);
}

/* The reply file of a session loaded here: its last answer. mu held. */
static void reply_from_last(struct sess *s)
{
	for (size_t i = s->nmsgs; i-- > 0;) {
		if (strcmp(s->msgs[i].role, "assistant") == 0) {
			buf_resize(&s->reply, 0);
			buf_append(&s->reply, s->msgs[i].content,
				   strlen(s->msgs[i].content));
			return;
		}
	}
}

int sess_refresh(struct sess *s)
{
	struct kv *kv = s->all->kv;
	struct loaded l = { 0 };
	uint64_t n = 0, have;
	json_t *doc = NULL;
	int rc, busy;

	pthread_mutex_lock(&s->io);
	pthread_mutex_lock(&s->mu);
	busy = s->busy || s->gone;
	have = s->loaded ? s->nmsgs : 0;
	pthread_mutex_unlock(&s->mu);
	if (busy) {
		pthread_mutex_unlock(&s->io);
		return 0;
	}
	rc = chat_count(kv, s->id, &n);
	if (rc || (s->loaded && n == have))
		goto out;
	if (n < have)
		have = 0;	/* shortened elsewhere: read it all */
	rc = chat_messages(kv, s->id, have, take_msg, &l);
	if (!rc)
		rc = chat_turns(kv, s->id, 0, take_turn, &l);
	if (!rc)
		rc = chat_load(kv, s->id, &doc);
	if (rc)
		goto out;
	pthread_mutex_lock(&s->mu);
	if (!have) {
		for (size_t i = 0; i < s->nmsgs; i++)
			chat_msg_release(&s->msgs[i]);
		s->nmsgs = 0;
	}
	for (size_t i = 0; i < l.n; i++) {
		if (sess_msg_add(s, l.v[i].role, l.v[i].content,
				 l.v[i].timestamp)) {
			rc = -ENOMEM;
			break;
		}
		s->msgs[s->nmsgs - 1].extra = json_incref(l.v[i].extra);
	}
	for (size_t i = 0; i < s->nturns; i++)
		json_decref(s->turns[i]);
	free(s->turns);
	s->turns = l.turns;
	s->nturns = s->aturns = l.nturns;
	l.turns = NULL;
	l.nturns = 0;
	json_decref(s->doc);
	s->doc = doc;
	s->loaded = !rc;
	s->gen++;
	if (!s->turn)
		reply_from_last(s);
	pthread_mutex_unlock(&s->mu);
out:
	pthread_mutex_unlock(&s->io);
	loaded_release(&l);
	return rc;
}

/* --- artifacts -------------------------------------------------------------- */

int sess_artifact_hidden(struct sess *s, const char *name)
{
	json_t *h = json_object_get(chat_meta(s->doc), "hidden_artifacts");
	size_t i;
	json_t *v;

	json_array_foreach(h, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
			return 1;
	return 0;
}

const struct chat_artifacts *sess_artifacts(struct sess *s)
{
	if (s->arts_valid && s->arts_gen == s->gen)
		return &s->arts;
	chat_artifacts_release(&s->arts);
	for (size_t i = 0; i < s->nmsgs; i++)
		if (strcmp(s->msgs[i].role, "assistant") == 0 &&
		    chat_artifacts_scan(&s->arts, s->msgs[i].content,
					(unsigned)i + 1))
			break;	/* what could be read */
	s->arts_gen = s->gen;
	s->arts_valid = 1;
	return &s->arts;
}

int sess_artifact_hide(struct sess *s, const char *name)
{
	json_t *doc, *meta, *h;
	int rc = 0;

	pthread_mutex_lock(&s->io);
	pthread_mutex_lock(&s->mu);
	doc = sess_artifact_hidden(s, name) ? NULL : json_deep_copy(s->doc);
	pthread_mutex_unlock(&s->mu);
	if (!doc)
		goto out;
	meta = chat_meta_get(doc);
	h = meta ? json_object_get(meta, "hidden_artifacts") : NULL;
	if (meta && !json_is_array(h)) {
		h = json_array();
		json_object_set_new(meta, "hidden_artifacts", h);
	}
	if (!h || json_array_append_new(h, json_string(name)))
		rc = -ENOMEM;
	if (!rc)
		rc = chat_save(s->all->kv, s->id, doc);
	if (!rc) {
		pthread_mutex_lock(&s->mu);
		json_decref(s->doc);
		s->doc = doc;
		doc = NULL;
		s->gen++;
		pthread_mutex_unlock(&s->mu);
	}
	json_decref(doc);
out:
	pthread_mutex_unlock(&s->io);
	return rc;
}
