/* core/prov/session_ctx.c: the skills a request carries (session.h), with
 * progressive disclosure as the Agent Skills specification has it.
 *
 * Every request carries a catalog of the skills the user can use
 * (resolved as catalog.json is: their own volume, their teams, system;
 * the first of an id wins): id, description and ports, the most relevant
 * first, as much as llm_context_size leaves room for, and a line saying
 * how many were left out and how to ask for them (the search_skills and
 * read_skill tools). It carries the full text of the most relevant
 * skills too, at most llm_context_skills of them, each scoring at least
 * a third of the best. Relevance is BM25F (core/llm/rank.h) over a
 * skill's id, name, description, tags, keywords and prose, against the
 * prompt and, with less weight, the conversation before it. The runnable
 * skills come as tools, the most relevant first, at most llm_max_tools.
 * What was sent, each skill's score and the terms that matched go into
 * the answer's record.
 *
 * A skill is parsed and made a ranking document once per version (size
 * and mtime) and kept in an index shared by all sessions; a request then
 * only walks the tree for the names, sizes and times of the skills.
 */
#include "core/llm/rank.h"
#include "core/prov/area.h"
#include "core/prov/library.h"
#include "core/prov/session.h"
#include "core/skill/skill.h"
#include "core/util/log.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS 4096
#define RANKED_SHOWN 30		/* skills listed in a record with scores */
#define RELEVANT_SHOWN 10	/* ... in the reply with no provider */
#define SEARCH_SHOWN 20
#define DESC_MAX 300		/* bytes of a description in the catalog */
#define FULL_FRACTION 0.35f	/* of the best score, to be sent whole */

struct ix_entry {
	struct ix_entry *next;		/* hash chain */
	unsigned refs;			/* index.mu */
	char *path;			/* "system/skills/code/fibonacci.md" */
	uint64_t size;
	struct timespec mtime;
	char *id, *qid, *desc, *ports, *schema;
	char *out_types;		/* {"output": "type", ...} */
	int runnable;
	struct rank_doc doc;
};

struct sess_index {
	pthread_mutex_t mu;
	struct rank_dict *dict;
	struct ix_entry *b[BUCKETS];
};

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
static void entry_put_locked(struct ix_entry *e)
{
	if (e && --e->refs == 0)
		entry_free(e);
}

static struct sess_index *index_get(struct sessions *all)
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
			entry_put_locked(e);
		}
	}
	rank_dict_free(ix->dict);
	pthread_mutex_destroy(&ix->mu);
	free(ix);
}

/* --- the skills of the tree ---------------------------------------------- */

struct want {
	char *path;
	uint64_t size;
	struct timespec mtime;
	struct ix_entry *e;	/* its entry, once current */
	unsigned order;
};

struct wants {
	struct want *v;
	size_t n, alloc;
};

static void wants_release(struct wants *w)
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
static int library(struct ns *ns, struct caller *c, struct wants *w)
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
static int entries(struct sessions *all, struct sess_index *ix,
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
			entry_put_locked(old);
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
static void resolve(struct sess_index *ix, struct wants *w)
{
	const char *prev = NULL;

	if (w->n > 1)
		qsort(w->v, w->n, sizeof(*w->v), by_id_order);
	pthread_mutex_lock(&ix->mu);
	for (size_t i = 0; i < w->n; i++) {
		if (!w->v[i].e)
			continue;
		if (prev && strcmp(prev, w->v[i].e->id) == 0) {
			entry_put_locked(w->v[i].e);
			w->v[i].e = NULL;
		} else {
			prev = w->v[i].e->id;
		}
	}
	pthread_mutex_unlock(&ix->mu);
	if (w->n > 1)
		qsort(w->v, w->n, sizeof(*w->v), by_order);
}

/* --- ranking ---------------------------------------------------------------- */

struct ranked {
	struct ix_entry *e;
	float score;
};

static int by_score(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	return strcmp(x->e->qid, y->e->qid);
}

/* Rank `lib` against the query's fields, best first. */
static int rank(struct sess_index *ix, struct ix_entry **lib, size_t n,
		const struct rank_field *f, size_t nf, struct ranked **out,
		struct rank_query *q)
{
	const struct rank_doc **docs = calloc(n ? n : 1, sizeof(*docs));
	float *score = calloc(n ? n : 1, sizeof(*score));
	struct ranked *r = calloc(n ? n : 1, sizeof(*r));
	int rc = docs && score && r ? 0 : -ENOMEM;

	if (!rc)
		rc = rank_query_build(ix->dict, q, f, nf);
	for (size_t i = 0; !rc && i < n; i++)
		docs[i] = &lib[i]->doc;
	if (!rc)
		rc = rank_score(q, docs, n, score);
	for (size_t i = 0; !rc && i < n; i++) {
		r[i].e = lib[i];
		r[i].score = score[i];
	}
	if (!rc && n > 1)
		qsort(r, n, sizeof(*r), by_score);
	free(docs);
	free(score);
	if (rc) {
		free(r);
		r = NULL;
	}
	*out = r;
	return rc;
}

/* The query: the prompt, then the conversation before it, less. */
static size_t query_fields(const struct llm_conv *conv, struct rank_field *f,
			   size_t cap)
{
	static const float w_user[] = { 1.0f, 0.5f, 0.35f, 0.25f };
	size_t n = 0, users = 0;
	int assistant_seen = 0;

	for (size_t i = conv->n; i-- > 0 && n < cap;) {
		const struct llm_msg *m = &conv->v[i];

		for (size_t k = 0; k < m->n && n < cap; k++) {
			if (m->v[k].type != LLM_TEXT)
				continue;
			if (!m->assistant && users < 4) {
				f[n].text = m->v[k].text;
				f[n++].weight = w_user[users];
			} else if (m->assistant && !assistant_seen) {
				f[n].text = m->v[k].text;
				f[n++].weight = 0.2f;
			}
		}
		if (m->assistant)
			assistant_seen = 1;
		else
			users++;
	}
	return n;
}

/* --- what the request says ------------------------------------------------- */

static int put(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

static void catalog_line(struct buf *b, const struct ix_entry *e,
			 const char *tool)
{
	put(b, "- ");
	put(b, e->qid);
	put(b, ": ");
	for (const char *p = e->desc; *p; p++)
		buf_append(b, *p == '\n' ? " " : p, 1);
	put(b, " (");
	put(b, e->ports);
	put(b, ")");
	if (tool) {
		put(b, " [tool ");
		put(b, tool);
		put(b, "]");
	}
	put(b, "\n");
}

static const char *const intro =
	"You are the assistant of a person working in llmunix, a filesystem "
	"where skills are Markdown files (YAML frontmatter, prose, one code "
	"block) that run in a sandbox, and workflows chain them. Answer in "
	"Markdown.\n\n";

static const char *const howto =
	"\nTo run a skill, call its tool (or run_skill with its id and "
	"inputs): it runs in the sandbox as the user, and its outputs come "
	"back as the tool's result. search_skills finds skills by words, "
	"read_skill gives a skill's whole text. To write a new skill, give "
	"the whole file in a ```markdown block (four backticks around it "
	"when it holds a code block): frontmatter with skill_id, name, "
	"description, inputs and outputs, then prose, then one ```python "
	"block defining execute(inputs) that returns a dict of the outputs. "
	"It appears in the session's artifacts/ folder, ready to be moved "
	"into skills/.\n";

static int tool_taken(const struct sess_ctx *ctx, const char *name)
{
	for (size_t i = 0; i < ctx->ntools; i++)
		if (strcmp(ctx->tools[i].name, name) == 0)
			return 1;
	return 0;
}

static int tool_add(struct sess_ctx *ctx, const char *base,
		    const char *desc, const char *schema, const char *qid)
{
	char name[LLM_TOOL_NAME_MAX + 1];
	struct llm_tool *t = realloc(ctx->tools, (ctx->ntools + 1) *
				     sizeof(*t));
	char **q;

	if (!t)
		return -ENOMEM;
	ctx->tools = t;
	q = realloc(ctx->tool_skill, (ctx->ntools + 1) * sizeof(*q));
	if (!q)
		return -ENOMEM;
	ctx->tool_skill = q;
	llm_tool_name(name, sizeof(name), base);
	for (unsigned k = 2; tool_taken(ctx, name) && k < 1000; k++) {
		char sfx[8];
		size_t n = (size_t)snprintf(sfx, sizeof(sfx), "_%u", k);

		llm_tool_name(name, sizeof(name) - n, base);
		strcat(name, sfx);
	}
	t[ctx->ntools].name = strdup(name);
	t[ctx->ntools].description = strndup(desc && *desc ? desc :
					     "(no description)", 1024);
	t[ctx->ntools].schema = strdup(schema);
	q[ctx->ntools] = qid ? strdup(qid) : NULL;
	if (!t[ctx->ntools].name || !t[ctx->ntools].description ||
	    !t[ctx->ntools].schema || (qid && !q[ctx->ntools])) {
		free((char *)t[ctx->ntools].name);
		free((char *)t[ctx->ntools].description);
		free((char *)t[ctx->ntools].schema);
		free(q[ctx->ntools]);
		return -ENOMEM;
	}
	ctx->ntools++;
	return 0;
}

static int builtins(struct sess_ctx *ctx)
{
	int rc = tool_add(ctx, "search_skills", "Find skills the user can use "
			  "by words: their ids, descriptions and ports, the "
			  "best matches first.", "{\"type\":\"object\","
			  "\"properties\":{\"query\":{\"type\":\"string\"}},"
			  "\"required\":[\"query\"]}", NULL);

	if (!rc)
		rc = tool_add(ctx, "read_skill", "The whole text of a skill "
			      "the user can use, by its id (such as "
			      "system/fibonacci or fibonacci).",
			      "{\"type\":\"object\",\"properties\":{\"id\":"
			      "{\"type\":\"string\"}},\"required\":[\"id\"]}",
			      NULL);
	if (!rc)
		rc = tool_add(ctx, "run_skill", "Run any runnable skill the "
			      "user can use, by its id, with its inputs.",
			      "{\"type\":\"object\",\"properties\":{\"skill\":"
			      "{\"type\":\"string\"},\"inputs\":{\"type\":"
			      "\"object\"}},\"required\":[\"skill\"]}", NULL);
	return rc;
}

/* The tool of a skill, when it has one. */
static const char *tool_of(const struct sess_ctx *ctx, const char *qid)
{
	for (size_t i = 0; i < ctx->ntools; i++)
		if (ctx->tool_skill[i] && strcmp(ctx->tool_skill[i], qid) == 0)
			return ctx->tools[i].name;
	return NULL;
}

struct build {
	struct sessions *all;
	struct caller *c;
	struct sess_ctx *ctx;
	struct sess_index *ix;
	struct ranked *r;
	size_t n;
	struct rank_query q;
	json_t *ranked;
	struct buf full;
	size_t nfull;
	char *sent;		/* per skill: 2 full text, 1 catalog, 3 too
				 * large to send whole, 4 that and in the
				 * catalog */
};

static void why_of(struct build *b, const struct ix_entry *e, char *out,
		   size_t cap)
{
	rank_why(b->ix->dict, &b->q, &e->doc, out, cap);
}

/* The full texts of the best skills, within `budget`. */
static int full_texts(struct build *b, size_t budget, size_t *used)
{
	const struct config *cfg = b->all->ns->cfg;
	float top = b->n ? b->r[0].score : 0;
	int rc = 0;

	for (size_t i = 0; i < b->n && b->nfull < cfg->llm_context_skills &&
	     !rc; i++) {
		struct buf text;

		if (b->r[i].score <= 0 || b->r[i].score < FULL_FRACTION * top)
			break;
		buf_init(&text, SKILL_MAX_FILE);
		if (area_file_content(b->all->ns, b->c, b->r[i].e->path,
				      &text) == 0 &&
		    *used + text.len + 200 <= budget) {
			put(&b->full, "\n<skill id=\"");
			put(&b->full, b->r[i].e->qid);
			put(&b->full, "\" path=\"");
			put(&b->full, b->r[i].e->path);
			put(&b->full, "\">\n");
			buf_append(&b->full, text.data ? text.data : "",
				   text.len);
			rc = put(&b->full, "\n</skill>\n");
			*used += text.len + 200;
			b->sent[i] = 2;
			b->nfull++;
		} else {
			b->sent[i] = 3;	/* relevant, but too large */
		}
		buf_release(&text);
	}
	return rc;
}

static int compose(struct build *b)
{
	const struct config *cfg = b->all->ns->cfg;
	struct sess_ctx *ctx = b->ctx;
	size_t budget = cfg->llm_context_size, used = 0, listed = 0;
	struct buf sys, cat, rel;
	int rc;

	buf_init(&sys, 0);
	buf_init(&cat, 0);
	buf_init(&rel, 0);
	buf_init(&b->full, 0);
	/* Tools: the runnable skills, the best first. */
	for (size_t i = 0, k = 0; i < b->n && k < cfg->llm_max_tools; i++) {
		char desc[DESC_MAX + PATH_MAX];

		if (!b->r[i].e->runnable)
			continue;
		snprintf(desc, sizeof(desc), "%s (skill %s)", b->r[i].e->desc,
			 b->r[i].e->qid);
		if (tool_add(ctx, b->r[i].e->id, desc, b->r[i].e->schema,
			     b->r[i].e->qid))
			return -ENOMEM;
		k++;
	}
	rc = builtins(ctx);
	if (rc)
		goto out;
	rc = full_texts(b, budget * 3 / 4, &used);
	for (size_t i = 0; i < b->n && !rc; i++) {
		size_t before = cat.len;

		catalog_line(&cat, b->r[i].e, tool_of(ctx, b->r[i].e->qid));
		if (used + cat.len > budget) {
			buf_resize(&cat, before);
			break;
		}
		listed++;
		if (!b->sent[i])
			b->sent[i] = 1;
		else if (b->sent[i] == 3)
			b->sent[i] = 4;
	}
	put(&sys, intro);
	if (b->n) {
		char line[256];

		snprintf(line, sizeof(line), "The user can use %zu skills. "
			 "These are %s, the most relevant to the conversation "
			 "first (id: description (inputs -> outputs)):\n\n",
			 b->n, listed == b->n ? "all of them" : "some");
		put(&sys, line);
		buf_append(&sys, cat.data ? cat.data : "", cat.len);
		if (listed < b->n) {
			snprintf(line, sizeof(line), "\n(%zu more skills are "
				 "not listed here, for lack of room: call "
				 "search_skills with words to find them, "
				 "read_skill to read one.)\n", b->n - listed);
			put(&sys, line);
		}
	} else {
		put(&sys, "The user has no skills yet.\n");
	}
	if (b->nfull) {
		put(&sys, "\nThe full text of the skills most relevant to "
		    "this conversation:\n");
		buf_append(&sys, b->full.data, b->full.len);
	}
	put(&sys, howto);
	/* The most relevant, for a reply with no provider. */
	for (size_t i = 0; i < b->n && i < RELEVANT_SHOWN; i++) {
		char why[160], line[PATH_MAX + 600];

		if (b->r[i].score <= 0 || b->r[i].score < 0.2f * b->r[0].score)
			break;
		why_of(b, b->r[i].e, why, sizeof(why));
		snprintf(line, sizeof(line), "- %s (%s): %s\n  (score %.2f: "
			 "%s)\n", b->r[i].e->qid, b->r[i].e->path,
			 b->r[i].e->desc, b->r[i].score, why);
		put(&rel, line);
	}
	ctx->system = sys.data ? sys.data : strdup("");
	ctx->relevant = rel.data ? rel.data : strdup("");
	sys.data = rel.data = NULL;
	json_object_set_new(ctx->record, "catalog", json_pack(
		"{s:I,s:I,s:I,s:I}", "skills", (json_int_t)b->n,
		"listed", (json_int_t)listed, "left_out",
		(json_int_t)(b->n - listed), "full_text", (json_int_t)b->nfull));
out:
	buf_release(&sys);
	buf_release(&cat);
	buf_release(&rel);
	buf_release(&b->full);
	return rc;
}

/* Which skills were sent, their scores and why. */
static void record(struct build *b)
{
	json_t *v = json_array(), *tools = json_array();

	for (size_t i = 0; v && i < b->n; i++) {
		char why[200];

		if (i >= RANKED_SHOWN && b->sent[i] != 2)
			continue;
		if (b->r[i].score <= 0 && b->sent[i] != 2)
			break;
		why_of(b, b->r[i].e, why, sizeof(why));
		json_array_append_new(v, json_pack(
			"{s:s,s:s,s:f,s:s,s:s}", "id", b->r[i].e->qid,
			"path", b->r[i].e->path,
			"score", round(b->r[i].score * 1000) / 1000.0,
			"sent", b->sent[i] == 2 ? "full text" :
				b->sent[i] == 1 ? "catalog" :
				b->sent[i] == 4 ? "catalog (its full text "
				"did not fit llm_context_size)" :
				b->sent[i] == 3 ? "left out (its full text "
				"did not fit llm_context_size)" : "left out",
			"why", why));
	}
	for (size_t i = 0; tools && i < b->ctx->ntools; i++)
		json_array_append_new(tools,
				      json_string(b->ctx->tools[i].name));
	json_object_set_new(b->ctx->record, "skills", v);
	json_object_set_new(b->ctx->record, "tools", tools);
}

int sess_ctx_build(struct sessions *all, struct caller *c,
		   const struct llm_conv *conv, struct sess_ctx *out)
{
	struct sess_index *ix = index_get(all);
	struct wants w = { 0 };
	struct build b = { .all = all, .c = c, .ctx = out, .ix = ix };
	struct rank_field f[8];
	size_t nf;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!ix)
		return -ENOMEM;
	out->ix = ix;
	out->record = json_object();
	if (!out->record)
		return -ENOMEM;
	rc = library(all->ns, c, &w);
	if (!rc)
		rc = entries(all, ix, c, &w);
	if (rc)
		goto out;
	resolve(ix, &w);
	out->lib = calloc(w.n ? w.n : 1, sizeof(*out->lib));
	if (!out->lib) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < w.n; i++)
		if (w.v[i].e) {
			out->lib[out->nlib++] = w.v[i].e;
			w.v[i].e = NULL;	/* now the context's */
		}
	nf = query_fields(conv, f, sizeof(f) / sizeof(*f));
	rc = rank(ix, out->lib, out->nlib, f, nf, &b.r, &b.q);
	b.n = out->nlib;
	b.sent = calloc(b.n ? b.n : 1, 1);
	if (!rc && !b.sent)
		rc = -ENOMEM;
	if (!rc)
		rc = compose(&b);
	if (!rc)
		record(&b);
out:
	pthread_mutex_lock(&ix->mu);
	for (size_t i = 0; i < w.n; i++)
		entry_put_locked(w.v[i].e);
	pthread_mutex_unlock(&ix->mu);
	wants_release(&w);
	rank_query_release(&b.q);
	free(b.r);
	free(b.sent);
	if (rc)
		sess_ctx_release(out);
	return rc;
}

void sess_ctx_release(struct sess_ctx *ctx)
{
	for (size_t i = 0; i < ctx->ntools; i++) {
		free((char *)ctx->tools[i].name);
		free((char *)ctx->tools[i].description);
		free((char *)ctx->tools[i].schema);
		free(ctx->tool_skill[i]);
	}
	free(ctx->tools);
	free(ctx->tool_skill);
	free(ctx->system);
	free(ctx->relevant);
	json_decref(ctx->record);
	if (ctx->ix) {
		pthread_mutex_lock(&ctx->ix->mu);
		for (size_t i = 0; i < ctx->nlib; i++)
			entry_put_locked(ctx->lib[i]);
		pthread_mutex_unlock(&ctx->ix->mu);
	}
	free(ctx->lib);
	memset(ctx, 0, sizeof(*ctx));
}

/* --- the built-in tools ---------------------------------------------------- */

const char *sess_ctx_resolve(struct sess_ctx *ctx, const char *id)
{
	for (size_t i = 0; i < ctx->nlib; i++)
		if (strcmp(ctx->lib[i]->qid, id) == 0)
			return ctx->lib[i]->qid;
	for (size_t i = 0; i < ctx->nlib; i++)
		if (strcmp(ctx->lib[i]->id, id) == 0)
			return ctx->lib[i]->qid;
	for (size_t i = 0; i < ctx->ntools; i++)
		if (ctx->tool_skill[i] && strcmp(ctx->tools[i].name, id) == 0)
			return ctx->tool_skill[i];
	return NULL;
}

json_t *sess_ctx_output_types(struct sess_ctx *ctx, const char *qid)
{
	for (size_t i = 0; i < ctx->nlib; i++)
		if (strcmp(ctx->lib[i]->qid, qid) == 0)
			return json_loads(ctx->lib[i]->out_types, 0, NULL);
	return NULL;
}

int sess_ctx_search(struct sessions *all, struct sess_ctx *ctx,
		    const char *query, struct buf *out)
{
	struct sess_index *ix = index_get(all);
	struct rank_field f = { query, 1 };
	struct rank_query q;
	struct ranked *r = NULL;
	size_t shown = 0;
	int rc;

	if (!ix)
		return -ENOMEM;
	rc = rank(ix, ctx->lib, ctx->nlib, &f, 1, &r, &q);
	for (size_t i = 0; !rc && i < ctx->nlib && shown < SEARCH_SHOWN; i++) {
		if (r[i].score <= 0)
			break;
		catalog_line(out, r[i].e, tool_of(ctx, r[i].e->qid));
		shown++;
	}
	if (!rc && !shown)
		rc = put(out, "no skill matches those words\n");
	rank_query_release(&q);
	free(r);
	return rc;
}

int sess_ctx_read(struct sessions *all, struct caller *c,
		  struct sess_ctx *ctx, const char *id, struct buf *out)
{
	const char *qid = sess_ctx_resolve(ctx, id);

	for (size_t i = 0; qid && i < ctx->nlib; i++)
		if (strcmp(ctx->lib[i]->qid, qid) == 0)
			return area_file_content(all->ns, c, ctx->lib[i]->path,
						 out);
	return -ENOENT;
}
