/* core/skill/skill.c: skill_parse() and the record's lifecycle, see skill.h.
 * The file is cut into frontmatter and body here; skill_yaml.c and
 * skill_fields.c read the fields, skill_md.c finds the code. */
#include "core/skill/skill_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void skill_errors_init(struct skill_errors *e)
{
	memset(e, 0, sizeof(*e));
}

void skill_errors_release(struct skill_errors *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i].msg);
	free(e->v);
	skill_errors_init(e);
}

static void add_msg(struct skill_pctx *p, struct skill_errors *e,
		    unsigned line, const char *field, const char *fmt,
		    va_list ap)
{
	char what[512];
	char *msg;

	if (!e || p->rc)
		return;
	if (e->n >= SKILL_MAX_ERRORS) {
		e->dropped++;
		return;
	}
	if (e->n == e->alloc) {
		struct skill_error *v;

		v = realloc(e->v, (e->alloc + 8) * sizeof(*v));
		if (!v)
			goto out_nomem;
		e->v = v;
		e->alloc += 8;
	}
	vsnprintf(what, sizeof(what), fmt, ap);
	if (asprintf(&msg, "%s:%u: %s: %s", p->filename, line, field,
		     what) < 0)
		goto out_nomem;
	e->v[e->n].line = line;
	e->v[e->n].msg = msg;
	e->n++;
	return;
out_nomem:
	p->rc = -ENOMEM;
}

void skill_err(struct skill_pctx *p, unsigned line, const char *field,
	       const char *fmt, ...)
{
	va_list ap;

	p->nerrors++;
	va_start(ap, fmt);
	add_msg(p, p->errs, line, field, fmt, ap);
	va_end(ap);
}

void skill_warn(struct skill_pctx *p, unsigned line, const char *field,
		const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_msg(p, &p->s->warnings, line, field, fmt, ap);
	va_end(ap);
}

const char *skill_quote(char *out, size_t cap, const char *s)
{
	size_t i = 0, keep = cap > 4 ? cap - 4 : 0;

	for (; *s && i < keep; s++) {
		unsigned char c = (unsigned char)*s;

		/* Stop before a multi-byte character that does not fit. */
		if (c >= 0xc0 && i + ((c >= 0xf0) ? 4 : (c >= 0xe0) ? 3 : 2) >
					 keep)
			break;
		out[i++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	if (*s && cap >= 4) {	/* cut between two characters */
		memcpy(out + i, "...", 3);
		i += 3;
	}
	if (cap)
		out[i < cap ? i : cap - 1] = '\0';
	return out;
}

size_t skill_utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

size_t skill_utf8_check(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned c = u[i], need, min, cp;

		if (c == 0)
			return i;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, min = 0x80, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, min = 0x800, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, min = 0x10000, cp = c & 0x07;
		else
			return i;
		if (len - i <= need)
			return i;
		for (unsigned k = 1; k <= need; k++) {
			if ((u[i + k] & 0xc0) != 0x80)
				return i;
			cp = (cp << 6) | (u[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return i;
		i += need + 1;
	}
	return len;
}

const char *skill_runner_name(enum skill_runner r)
{
	switch (r) {
	case SKILL_RUNNER_PYTHON:
		return "python";
	case SKILL_RUNNER_SH:
		return "sh";
	case SKILL_RUNNER_SPICE:
		return "spice";
	case SKILL_RUNNER_JS:
		return "javascript";
	default:
		return NULL;
	}
}

static void list_free(struct skill_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static void ports_free(struct skill_port *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].description);
		free(v[i].default_json);
	}
	free(v);
}

void skill_free(struct skill *s)
{
	if (!s)
		return;
	free(s->skill_id);
	free(s->name);
	free(s->description);
	free(s->category);
	free(s->type);
	free(s->execution_mode);
	free(s->version);
	free(s->author);
	list_free(&s->tags);
	list_free(&s->keywords);
	list_free(&s->requires);
	ports_free(s->inputs, s->ninputs);
	ports_free(s->outputs, s->noutputs);
	skill_code_free(s->code);
	free(s->agent.license);
	free(s->agent.compatibility);
	free(s->agent.allowed_tools);
	list_free(&s->agent.meta_keys);
	list_free(&s->agent.meta_values);
	free(s->body);
	skill_errors_release(&s->warnings);
	free(s);
}

/* The file name without its folders and without ".md"; for an Agent
 * Skill, "<folder>/SKILL.md", the folder's name (*agent set). */
static char *default_id(const char *filename, int *agent)
{
	const char *base = strrchr(filename, '/'), *dir;
	size_t n;

	*agent = 0;
	if (base && base > filename && !strcmp(base + 1, "SKILL.md")) {
		for (dir = base; dir > filename && dir[-1] != '/'; dir--)
			;
		*agent = 1;
		return strndup(dir, (size_t)(base - dir));
	}
	base = base ? base + 1 : filename;
	n = strlen(base);
	if (n > 3 && !strcmp(base + n - 3, ".md"))
		n -= 3;
	return strndup(base, n);
}

static unsigned line_of(const char *data, size_t off)
{
	unsigned line = 1;

	for (size_t i = 0; i < off; i++)
		if (data[i] == '\n')
			line++;
	return line;
}

/* Whether the line at data[*at] is `mark` alone (trailing blanks and a CR
 * allowed); on yes, *at moves past the line. */
static int fence_line(const char *data, size_t len, size_t *at,
		      const char *mark)
{
	size_t i = *at;

	if (len - i < 3 || memcmp(data + i, mark, 3))
		return 0;
	for (i += 3; i < len && (data[i] == ' ' || data[i] == '\t'); i++)
		;
	if (i < len && data[i] == '\r')
		i++;
	if (i < len && data[i] != '\n')
		return 0;
	*at = i < len ? i + 1 : i;
	return 1;
}

/* Find the frontmatter: *yaml_end is where the closing line starts,
 * *body where the body starts. 0 when found; -1 when the file does not
 * start with '---'; -2 when it is not closed. */
static int split(const char *data, size_t len, size_t *yaml_start,
		 size_t *yaml_end, size_t *body, unsigned *body_line)
{
	size_t at = 0;
	unsigned line = 2;

	if (len >= 3 && !memcmp(data, "\xef\xbb\xbf", 3))
		at = 3;		/* a byte-order mark */
	if (!fence_line(data, len, &at, "---"))
		return -1;
	*yaml_start = at;
	while (at < len) {
		size_t start = at;

		if (fence_line(data, len, &at, "---") ||
		    fence_line(data, len, &at, "...")) {
			*yaml_end = start;
			*body = at;
			*body_line = line + 1;
			return 0;
		}
		at = start;
		while (at < len && data[at] != '\n')
			at++;
		if (at < len)
			at++;
		line++;
	}
	return -2;
}

/* No description: the first paragraph of the prose stands for it, cut
 * to SKILL_MAX_DESCRIPTION characters on a word. */
static void description_from_prose(struct skill_pctx *p,
				   const struct skill_md *md)
{
	struct skill *s = p->s;
	size_t n = 0, i = 0, cut = 0;
	const char *t = md->para;

	if (!t) {
		skill_check_length(p, "description", NULL, 1,
				   SKILL_MAX_DESCRIPTION);
		return;
	}
	for (; t[i] && n < SKILL_MAX_DESCRIPTION - 3; i++) {
		if (((unsigned char)t[i] & 0xc0) != 0x80)
			n++;
		if (t[i] == ' ')
			cut = i;
	}
	if (!t[i])
		cut = i;
	else if (!cut)
		cut = i;
	while (cut && ((unsigned char)t[cut] & 0xc0) == 0x80)
		cut--;
	if (asprintf(&s->description, "%.*s%s", (int)cut, t,
		     t[i] ? "..." : "") < 0) {
		s->description = NULL;
		p->rc = -ENOMEM;
		return;
	}
	s->description_from_prose = 1;
	skill_warn(p, 1, "description",
		   "missing field 'description': the first paragraph (line "
		   "%u) stands for it%s (add description: what the skill "
		   "does and when to use it)", md->para_line,
		   t[i] ? ", cut" : "");
}

/* A SKILL.md is found by its folder: an id written in it is not used. */
static void agent_id(struct skill_pctx *p, const char *folder)
{
	struct skill *s = p->s;
	char q[80];

	if (!strcmp(s->skill_id, folder))
		return;
	skill_warn(p, 1, "skill_id",
		   "'%s' is not used: a SKILL.md skill's id is its folder's "
		   "name, '%s' (remove skill_id, or rename the folder)",
		   skill_quote(q, sizeof(q), s->skill_id), folder);
	free(s->skill_id);
	s->skill_id = strdup(folder);
	if (!s->skill_id)
		p->rc = -ENOMEM;
}

static void parse_text(struct skill_pctx *p, const char *data, size_t len,
		       const char *folder)
{
	size_t ys = 0, ye = 0, body = 0;
	unsigned body_line = 1;
	struct ynode *root = NULL;
	struct skill_md md;
	int rc, yrc = 0;

	rc = split(data, len, &ys, &ye, &body, &body_line);
	if (rc == -2) {
		skill_err(p, 1, "frontmatter",
			  "the '---' on line 1 is not closed (expected a line "
			  "'---' after the fields)");
		return;
	}
	if (rc == -1) {
		skill_err(p, 1, "frontmatter",
			  "missing frontmatter (expected the file to start "
			  "with a line '---', then name: and description:, "
			  "then '---')");
		/* Still find the code, for what the record can say. */
		body = 0;
		body_line = 1;
	} else {
		yrc = skill_yaml_load(&root, data + ys, ye - ys, 2, p);
		if (yrc == -ENOMEM)
			return;
		if (yrc == 0) {
			skill_fields_read(p, root);
			skill_yaml_free(root);
			if (p->rc)
				return;
		}
	}
	p->s->body = strndup(data + body, len - body);
	p->s->body_len = len - body;
	if (!p->s->body) {
		p->rc = -ENOMEM;
		return;
	}
	if ((p->rc = skill_md_scan(&md, data + body, len - body, body_line)))
		return;
	if (rc == 0 && yrc == 0) {
		if (p->s->agent_skill)
			agent_id(p, folder);
		if (!p->s->description && !p->s->agent_skill)
			description_from_prose(p, &md);
		else if (!p->s->description)
			skill_check_length(p, "description", NULL, 1,
					   SKILL_MAX_DESCRIPTION);
		if (p->s->agent_skill)
			skill_agent_check(p, p->name_line);
	}
	if (!p->rc)
		skill_code_choose(p, &md, rc == 0 && yrc == 0);
	skill_md_release(&md);
}

int skill_parse(struct skill **out, const char *filename, const char *data,
		size_t len, struct skill_errors *errs)
{
	struct skill_pctx p = { .filename = filename, .errs = errs };
	char *folder = NULL;
	size_t bad;

	*out = NULL;
	p.s = calloc(1, sizeof(*p.s));
	if (!p.s)
		return -ENOMEM;
	p.s->skill_id = default_id(filename, &p.s->agent_skill);
	folder = p.s->skill_id ? strdup(p.s->skill_id) : NULL;
	if (!folder) {
		p.rc = -ENOMEM;
		goto out_free;
	}
	if (len > SKILL_MAX_FILE) {
		skill_err(&p, 1, "file",
			  "file too large (%zu bytes; expected at most %zu)",
			  len, SKILL_MAX_FILE);
	} else if (len == 0) {
		skill_err(&p, 1, "file",
			  "empty file (expected a line '---', name: and "
			  "description:, a line '---', then prose and code)");
	} else if ((bad = skill_utf8_check(data, len)) != len) {
		skill_err(&p, line_of(data, bad), "file",
			  data[bad] ? "not UTF-8: byte 0x%02x at offset %zu "
				      "(expected the file saved as UTF-8)"
				    : "not text: byte 0x%02x (NUL) at offset "
				      "%zu (expected a text file)",
			  (unsigned char)data[bad], bad);
	} else {
		parse_text(&p, data, len, folder);
	}
	if (p.rc)
		goto out_free;
	p.s->nerrors = p.nerrors;
	free(folder);
	*out = p.s;
	return 0;
out_free:
	free(folder);
	skill_free(p.s);
	return p.rc;
}
