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
#include "core/prov/session_ix.h"
#include "core/skill/skill.h"
#include "core/util/log.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RANKED_SHOWN 30		/* skills listed in a record with scores */
#define RELEVANT_SHOWN 10	/* ... in the reply with no provider */
#define SEARCH_SHOWN 20
#define DESC_MAX 300		/* bytes of a description in the catalog */
#define FULL_FRACTION 0.35f	/* of the best score, to be sent whole */

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

		/* the stem leaves room for the suffix and its NUL */
		llm_tool_name(name, sizeof(name) - n, base);
		memcpy(name + strlen(name), sfx, n + 1);
	}
	if (tool_taken(ctx, name))
		return 0;	/* a thousand of one name: the API refuses
				 * two tools of one name, so not offered */
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
	struct sess_index *ix = sess_ix_get(all);
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
	rc = sess_ix_library(all->ns, c, &w);
	if (!rc)
		rc = sess_ix_entries(all, ix, c, &w);
	if (rc)
		goto out;
	sess_ix_resolve(ix, &w);
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
		sess_ix_put_locked(w.v[i].e);
	pthread_mutex_unlock(&ix->mu);
	sess_wants_release(&w);
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
			sess_ix_put_locked(ctx->lib[i]);
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
	struct sess_index *ix = sess_ix_get(all);
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
