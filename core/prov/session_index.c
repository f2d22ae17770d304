/* core/prov/session_index.c: the index of skills shared by all sessions
 * (session_ix.h): each skill parsed and made a ranking document once per
 * version. */
#include "core/prov/area.h"
#include "core/prov/library.h"
#include "core/prov/session_ix.h"
#include "core/skill/skill.h"
#include "core/util/log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DESC_MAX 300		/* bytes of a description in the catalog */



static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void entry_free(struct ix_entry *e)
{
	free(e->path);
	free(e->id);
	free(e->qid);
	free(e->desc);
	free(e->ports);
	free(e->schema);
	free(e->out_types);
	rank_doc_release(&e->doc);
	free(e);
}

/* Drop a reference (ix->mu held). */
void sess_ix_put_locked(struct ix_entry *e)
{
	if (e && --e->refs == 0)
		entry_free(e);
}

struct sess_index *sess_ix_get(struct sessions *all)
{
	struct sess_index *ix;

	pthread_mutex_lock(&all->mu);
	ix = all->index;
	if (!ix) {
		ix = calloc(1, sizeof(*ix));
		if (ix && rank_dict_new(&ix->dict)) {
			free(ix);
			ix = NULL;
		}
		if (ix) {
			pthread_mutex_init(&ix->mu, NULL);
			all->index = ix;
		}
	}
	pthread_mutex_unlock(&all->mu);
	return ix;
}

void sess_index_free(struct sess_index *ix)
{
	if (!ix)
		return;
	for (size_t i = 0; i < BUCKETS; i++) {
		struct ix_entry *e = ix->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			sess_ix_put_locked(e);
		}
	}
	rank_dict_free(ix->dict);
	pthread_mutex_destroy(&ix->mu);
	free(ix);
}

/* --- the skills of the tree ---------------------------------------------- */



void sess_wants_release(struct wants *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->v[i].path);
	free(w->v);
}

static int want_add(struct wants *w, const char *path, uint64_t size,
		    struct timespec mtime)
{
	if (w->n == w->alloc) {
		size_t k = w->alloc ? 2 * w->alloc : 256;
		struct want *v = realloc(w->v, k * sizeof(*v));

		if (!v)
			return -ENOMEM;
		w->v = v;
		w->alloc = k;
	}
	memset(&w->v[w->n], 0, sizeof(w->v[w->n]));
	w->v[w->n].path = strdup(path);
	if (!w->v[w->n].path)
		return -ENOMEM;
	w->v[w->n].size = size;
	w->v[w->n].mtime = mtime;
	w->v[w->n].order = (unsigned)w->n;
	w->n++;
	return 0;
}

/* Every skill under `dir` (the tree held). */
static int walk(struct ns *ns, struct node *dir, struct wants *w)
{
	char key[PATH_MAX];
	int rc = 0;

	for (struct node *n = dir->child; n && !rc; n = n->next) {
		uint64_t size;
		struct timespec mtime;

		if (S_ISDIR(n->mode)) {
			rc = walk(ns, n, w);
			continue;
		}
		if (!area_skill_is(n) || node_key(n, key, sizeof(key)))
			continue;
		pthread_mutex_lock(&n->mu);
		size = n->size;
		mtime = n->mtime;
		pthread_mutex_unlock(&n->mu);
		rc = want_add(w, key + strlen("volumes/"), size, mtime);
	}
	return rc;
}

/* The skills `c` can use, in the order names resolve. */
int sess_ix_library(struct ns *ns, struct caller *c, struct wants *w)
{
	struct node *order[CONFIG_MAX_LIST + 2];
	size_t nv;
	int rc = 0;

	pthread_rwlock_rdlock(&ns->tree);
	nv = library_order(ns, c, order, sizeof(order) / sizeof(*order));
	for (size_t i = 0; i < nv && !rc; i++) {
		struct node *skills = order[i] ?
				      node_child(ns, order[i], "skills") : NULL;

		if (skills)
			rc = walk(ns, skills, w);
	}
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

/* --- entries --------------------------------------------------------------- */

static const char *port_json_type(enum skill_port_type t)
{
	switch (t) {
	case SKILL_PORT_NUMBER: return "number";
	case SKILL_PORT_INTEGER: return "integer";
	case SKILL_PORT_STRING: return "string";
	case SKILL_PORT_BOOLEAN: return "boolean";
	case SKILL_PORT_OBJECT: return "object";
	case SKILL_PORT_ARRAY: return "array";
	case SKILL_PORT_FILE: return "string";
	default: return NULL;
	}
}

/* The JSON Schema of a skill's inputs. */
static char *schema_of(const struct skill *sk)
{
	json_t *props = json_object(), *req = json_array(), *o;
	char *s;

	for (size_t i = 0; props && req && i < sk->ninputs; i++) {
		const struct skill_port *p = &sk->inputs[i];
		json_t *pj = json_object();
		const char *type = port_json_type(p->type);

		if (!pj || !p->name)
			continue;
		if (type)
			json_object_set_new(pj, "type", json_string(type));
		if (p->type == SKILL_PORT_FILE)
			json_object_set_new(pj, "description", json_string(
				"a path from the mount, such as "
				"user/alice/skills/data.csv"));
		else if (p->description)
			json_object_set_new(pj, "description",
					    json_string(p->description));
		if (p->default_json) {
			json_t *d = json_loads(p->default_json,
					       JSON_DECODE_ANY, NULL);

			if (d)
				json_object_set_new(pj, "default", d);
		}
		json_object_set_new(props, p->name, pj);
		if (p->required)
			json_array_append_new(req, json_string(p->name));
	}
	o = json_pack("{s:s,s:o,s:o}", "type", "object", "properties", props,
		      "required", req);
	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return s;
}

static void ports_put(struct buf *b, const struct skill_port *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *t = skill_port_type_name(v[i].type);

		if (!v[i].name)
			continue;
		if (i)
			buf_append(b, ", ", 2);
		buf_append(b, v[i].name, strlen(v[i].name));
		buf_append(b, ": ", 2);
		buf_append(b, t, strlen(t));
	}
}

/* {"value": "string", ...} */
static char *out_types_of(const struct skill *sk)
{
	json_t *o = json_object();
	char *s;

	for (size_t i = 0; o && i < sk->noutputs; i++)
		if (sk->outputs[i].name)
			json_object_set_new(o, sk->outputs[i].name, json_string(
				skill_port_type_name(sk->outputs[i].type)));
	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return s;
}

/* "n: integer, sequence: boolean -> value: string" */
static char *ports_of(const struct skill *sk)
{
	struct buf b;

	buf_init(&b, 0);
	ports_put(&b, sk->inputs, sk->ninputs);
	buf_append(&b, " -> ", 4);
	ports_put(&b, sk->outputs, sk->noutputs);
	return b.data ? b.data : strdup("");
}

static void list_put(struct buf *b, const struct skill_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		buf_append(b, " ", 1);
		buf_append(b, l->v[i], strlen(l->v[i]));
	}
}

/* "system", "team/eng", "user/alice" from a path from the mount. */
static size_t vol_len(const char *path)
{
	const char *s = strchr(path, '/');

	if (!s)
		return strlen(path);
	if (strncmp(path, "system/", 7) == 0)
		return 6;
	s = strchr(s + 1, '/');
	return s ? (size_t)(s - path) : strlen(path);
}

/* A new entry for the file at `path` as `c` reads it now. */
static struct ix_entry *entry_load(struct sessions *all, struct rank_dict *d,
				   struct caller *c, const struct want *w)
{
	struct ix_entry *e = calloc(1, sizeof(*e));
	struct skill_errors errs;
	struct skill *sk = NULL;
	struct buf data, tags;
	size_t vl = vol_len(w->path);
	int rc;

	if (!e)
		return NULL;
	skill_errors_init(&errs);
	buf_init(&data, SKILL_MAX_FILE + 1);
	buf_init(&tags, 0);
	rc = area_file_content(all->ns, c, w->path, &data);
	if (rc == -EFBIG)
		rc = 0;		/* the parse says so */
	if (!rc)
		rc = skill_parse(&sk, w->path + vl + 1, data.data ?
				 data.data : "", data.len, &errs);
	if (rc)
		goto fail;
	e->refs = 1;
	e->path = strdup(w->path);
	e->size = w->size;
	e->mtime = w->mtime;
	e->id = strdup(sk->skill_id ? sk->skill_id : "");
	if (asprintf(&e->qid, "%.*s/%s", (int)vl, w->path, e->id) < 0)
		e->qid = NULL;
	e->desc = strndup(sk->description ? sk->description : "", DESC_MAX);
	e->ports = ports_of(sk);
	e->schema = schema_of(sk);
	e->out_types = out_types_of(sk);
	e->runnable = sk->code && errs.n == 0 && sk->nerrors == 0;
	if (!e->path || !e->id || !e->qid || !e->desc || !e->ports ||
	    !e->schema || !e->out_types)
		goto fail;
	list_put(&tags, &sk->tags);
	list_put(&tags, &sk->keywords);
	if (sk->category)
		buf_append(&tags, sk->category, strlen(sk->category));
	{
		struct rank_field f[] = {
			{ sk->skill_id, 3 }, { sk->name, 3 },
			{ sk->description, 2 }, { tags.data, 2 },
			{ sk->body, 1 },
		};

		if (rank_doc_build(d, &e->doc, f, sizeof(f) / sizeof(*f)))
			goto fail;
	}
	skill_free(sk);
	skill_errors_release(&errs);
	buf_release(&data);
	buf_release(&tags);
	return e;
fail:
	skill_free(sk);
	skill_errors_release(&errs);
	buf_release(&data);
	buf_release(&tags);
	entry_free(e);
	return NULL;
}

static int same_version(const struct ix_entry *e, const struct want *w)
{
	return e->size == w->size && e->mtime.tv_sec == w->mtime.tv_sec &&
	       e->mtime.tv_nsec == w->mtime.tv_nsec;
}

/* Each wanted skill's current entry, loading what changed. */
int sess_ix_entries(struct sessions *all, struct sess_index *ix,
		   struct caller *c, struct wants *w)
{
	for (size_t i = 0; i < w->n; i++) {
		struct want *wi = &w->v[i];
		size_t b = hash(wi->path) % BUCKETS;
		struct ix_entry *e, **pp;

		pthread_mutex_lock(&ix->mu);
		for (e = ix->b[b]; e && strcmp(e->path, wi->path); e = e->next)
			;
		if (e && same_version(e, wi)) {
			e->refs++;
			wi->e = e;
		}
		pthread_mutex_unlock(&ix->mu);
		if (wi->e)
			continue;
		e = entry_load(all, ix->dict, c, wi);
		if (!e)
			continue;	/* unreadable now: left out */
		pthread_mutex_lock(&ix->mu);
		for (pp = &ix->b[b]; *pp && strcmp((*pp)->path, wi->path);
		     pp = &(*pp)->next)
			;
		if (*pp) {
			struct ix_entry *old = *pp;

			e->next = old->next;
			*pp = e;
			old->next = NULL;
			sess_ix_put_locked(old);
		} else {
			e->next = NULL;
			*pp = e;
		}
		e->refs++;	/* the index's and ours */
		wi->e = e;
		pthread_mutex_unlock(&ix->mu);
	}
	return 0;
}

static int by_id_order(const void *a, const void *b)
{
	const struct want *x = a, *y = b;
	int k = strcmp(x->e ? x->e->id : "", y->e ? y->e->id : "");

	return k ? k : (x->order > y->order) - (x->order < y->order);
}

static int by_order(const void *a, const void *b)
{
	const struct want *x = a, *y = b;

	return (x->order > y->order) - (x->order < y->order);
}

/* Keep the first of each id (the tree's order), as names resolve. */
void sess_ix_resolve(struct sess_index *ix, struct wants *w)
{
	const char *prev = NULL;

	if (w->n > 1)
		qsort(w->v, w->n, sizeof(*w->v), by_id_order);
	pthread_mutex_lock(&ix->mu);
	for (size_t i = 0; i < w->n; i++) {
		if (!w->v[i].e)
			continue;
		if (prev && strcmp(prev, w->v[i].e->id) == 0) {
			sess_ix_put_locked(w->v[i].e);
			w->v[i].e = NULL;
		} else {
			prev = w->v[i].e->id;
		}
	}
	pthread_mutex_unlock(&ix->mu);
	if (w->n > 1)
		qsort(w->v, w->n, sizeof(*w->v), by_order);
}

