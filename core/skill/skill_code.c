/* core/skill/skill_code.c: which fenced block of a skill is its code, and
 * what runs it (skill_int.h).
 *
 * The block's language picks the runner; `type` is a hint. With a type,
 * the code is the block in the type's language (the one that defines
 * execute() when there are several), else the first block that has a
 * runner, with a warning. Without a type, only a block that can run as a
 * node on its own is code: a python or javascript block that defines
 * execute(inputs). Other blocks are examples in the prose, and a skill
 * without code is a context skill, never a node. */
#include "core/skill/skill_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *type;
	enum skill_runner r;
} types[] = {
	{ "python", SKILL_RUNNER_PYTHON },
	{ "python-wasm", SKILL_RUNNER_PYTHON },
	{ "qiskit", SKILL_RUNNER_PYTHON },
	{ "sh", SKILL_RUNNER_SH },
	{ "bash", SKILL_RUNNER_SH },
	{ "spice", SKILL_RUNNER_SPICE },
	{ "javascript", SKILL_RUNNER_JS },
	{ "js", SKILL_RUNNER_JS },
	{ "threejs", SKILL_RUNNER_JS },
};

#define RUNNERS "python, sh, spice or javascript"

int skill_type_runner(const char *type, enum skill_runner *r)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (!strcmp(type, types[i].type)) {
			*r = types[i].r;
			return 1;
		}
	}
	return 0;
}

static int ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '$';
}

/* The last word before text[at] (blanks skipped), into w. */
static void word_before(const char *text, size_t at, char *w, size_t cap)
{
	size_t end = at, start;

	while (end > 0 && isspace((unsigned char)text[end - 1]))
		end--;
	start = end;
	while (start > 0 && ident_char(text[start - 1]))
		start--;
	if (end - start >= cap)
		start = end - (cap - 1);
	memcpy(w, text + start, end - start);
	w[end - start] = '\0';
}

static char char_before(const char *text, size_t at)
{
	while (at > 0 && isspace((unsigned char)text[at - 1]))
		at--;
	return at ? text[at - 1] : '\0';
}

static const char *skip_blanks(const char *s, const char *end)
{
	while (s < end && isspace((unsigned char)*s))
		s++;
	return s;
}

/* javascript: `function execute`, `execute =`, `execute:` (a property),
 * `exports.execute`, `{ execute }`. A call `execute(x)` is not one. */
static int js_defines(const char *text, size_t len)
{
	const char *end = text + len;

	for (const char *p = text; p + 7 <= end; p++) {
		const char *after;
		char w[16], before;
		size_t at = (size_t)(p - text);

		if (memcmp(p, "execute", 7) || (at && ident_char(p[-1])) ||
		    (p + 7 < end && ident_char(p[7])))
			continue;
		word_before(text, at, w, sizeof(w));
		before = char_before(text, at);
		after = skip_blanks(p + 7, end);
		if (!strcmp(w, "function") || !strcmp(w, "async"))
			return 1;
		if (before == '.' || before == '{' || before == ',')
			return 1;
		if (after < end && *after == ':')
			return 1;
		if (after + 1 < end && after[0] == '=' && after[1] != '=' &&
		    after[1] != '>')
			return 1;
	}
	return 0;
}

/* python: a line `def execute(`, `async def execute(` or `execute =`. */
static int py_defines(const char *text, size_t len)
{
	const char *end = text + len;

	for (const char *l = text; l < end;) {
		const char *nl = memchr(l, '\n', (size_t)(end - l));
		const char *e = nl ? nl : end, *q = l;

		if (e - q > 6 && !memcmp(q, "async ", 6))
			q = skip_blanks(q + 6, e);
		if (e - q > 4 && !memcmp(q, "def ", 4)) {
			q = skip_blanks(q + 4, e);
			if (e - q > 7 && !memcmp(q, "execute", 7) &&
			    *skip_blanks(q + 7, e) == '(')
				return 1;
		} else if (e - q > 7 && !memcmp(q, "execute", 7)) {
			q = skip_blanks(q + 7, e);
			if (q + 1 < e && q[0] == '=' && q[1] != '=')
				return 1;
		}
		l = nl ? nl + 1 : end;
	}
	return 0;
}

int skill_code_has_entry(const struct skill_code *c)
{
	switch (c->runner) {
	case SKILL_RUNNER_PYTHON:
		return py_defines(c->text, c->len);
	case SKILL_RUNNER_JS:
		return js_defines(c->text, c->len);
	default:
		return 1;
	}
}

static const char *lang_word(enum skill_runner r)
{
	return r == SKILL_RUNNER_JS ? "javascript" : skill_runner_name(r);
}

/* Take md->v[i] out of md as the code. */
static void take(struct skill_pctx *p, struct skill_md *md, size_t i)
{
	p->s->code = md->v[i];
	p->s->runner = md->v[i]->runner;
	memmove(md->v + i, md->v + i + 1, (md->n - i - 1) * sizeof(*md->v));
	md->n--;
}

/* Among the blocks of runner r, the code: the only one, or the only one
 * that defines execute(); several is an error. md->n when none. */
static size_t pick(struct skill_pctx *p, struct skill_md *md,
		   enum skill_runner r, int need_entry)
{
	size_t first = md->n, second = md->n, nentry = 0, entry = md->n;

	for (size_t i = 0; i < md->n; i++) {
		int e;

		if (md->v[i]->runner != r)
			continue;
		e = skill_code_has_entry(md->v[i]);
		if (e && nentry++ == 0)
			entry = i;
		if (need_entry && !e)
			continue;
		if (first == md->n)
			first = i;
		else if (second == md->n)
			second = i;
	}
	if (second == md->n)
		return first;
	if (nentry == 1 && (r == SKILL_RUNNER_PYTHON || r == SKILL_RUNNER_JS))
		return entry;	/* the others are examples */
	skill_err(p, md->v[second]->fence_line, "code",
		  "a second code block, in '%s' (the first is at line %u; "
		  "expected one %s block: write examples in another "
		  "language, such as text)", md->v[second]->language,
		  md->v[first]->fence_line, lang_word(r));
	return first;
}

/* The code by its type's runner `want`, else any block, with a warning. */
static void choose_typed(struct skill_pctx *p, struct skill_md *md,
			 enum skill_runner want)
{
	struct skill *s = p->s;
	size_t i = pick(p, md, want, 0);
	const char *lang, *put;

	if (i < md->n) {
		take(p, md, i);
		return;
	}
	for (i = 0; i < md->n && !skill_code_has_entry(md->v[i]); i++)
		;
	if (i == md->n && md->n)
		i = 0;
	if (i < md->n) {
		lang = lang_word(md->v[i]->runner);
		put = want == SKILL_RUNNER_SPICE ? "put the netlist in" :
						    "write the code in";
		skill_warn(p, md->v[i]->fence_line, "code",
			   "type '%s' but the code is a %s block: the %s "
			   "block runs (use type: %s, or %s a %s block)",
			   s->type, md->v[i]->language, lang, lang, put,
			   lang_word(want));
		take(p, md, i);
		return;
	}
	s->runner = want;
	if (md->other_lang)
		skill_err(p, md->other_line, "code",
			  "block language '%s' has no runner (expected a %s "
			  "block for type '%s')", md->other_lang,
			  lang_word(want), s->type);
	else
		skill_err(p, p->type_line, "type",
			  "type '%s' needs a code block (expected a fenced %s "
			  "block after the prose, or no type for a context "
			  "skill)", s->type, lang_word(want));
}

/* No type: a python or javascript block that defines execute(). */
static void choose_untyped(struct skill_pctx *p, struct skill_md *md)
{
	struct skill *s = p->s;
	size_t i;

	for (i = 0; i < md->n; i++)
		if ((md->v[i]->runner == SKILL_RUNNER_PYTHON ||
		     md->v[i]->runner == SKILL_RUNNER_JS) &&
		    skill_code_has_entry(md->v[i]))
			break;
	if (i < md->n) {
		i = pick(p, md, md->v[i]->runner, 1);
		take(p, md, i);
		return;
	}
	s->runner = SKILL_RUNNER_NONE;
	if (!md->n || (!s->ninputs && !s->noutputs))
		return;		/* a context skill with examples */
	if (md->v[0]->runner == SKILL_RUNNER_PYTHON ||
	    md->v[0]->runner == SKILL_RUNNER_JS)
		skill_warn(p, md->v[0]->fence_line, "code",
			   "the skill has ports but its %s block defines no "
			   "execute(inputs): it is a context skill, not a "
			   "node (define execute, or add type: %s)",
			   md->v[0]->language, lang_word(md->v[0]->runner));
	else
		skill_warn(p, md->v[0]->fence_line, "code",
			   "the skill has ports but no type: its %s block is "
			   "an example and it is a context skill, not a node "
			   "(add type: %s to run the block)",
			   md->v[0]->language, lang_word(md->v[0]->runner));
}

void skill_code_choose(struct skill_pctx *p, struct skill_md *md,
		       int type_ok)
{
	struct skill *s = p->s;
	enum skill_runner want = SKILL_RUNNER_NONE;
	char q[80];
	size_t i;

	if (!s->type) {
		choose_untyped(p, md);
		return;
	}
	if (type_ok && skill_type_runner(s->type, &want)) {
		choose_typed(p, md, want);
		return;
	}
	/* An unknown type: a hint we cannot use; the code decides. */
	skill_quote(q, sizeof(q), s->type);
	for (i = 0; i < md->n && !skill_code_has_entry(md->v[i]); i++)
		;
	if (i == md->n && md->n)
		i = 0;
	if (i < md->n) {
		skill_warn(p, p->type_line, "type",
			   "unknown type '%s': the %s block runs (expected "
			   RUNNERS ")", q, md->v[i]->language);
		take(p, md, i);
		return;
	}
	skill_err(p, p->type_line, "type",
		  "unknown type '%s' (expected " RUNNERS "; python-wasm and "
		  "qiskit mean python, threejs means javascript)", q);
}
