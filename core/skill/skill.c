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

void skill_err(struct skill_pctx *p, unsigned line, const char *field,
	       const char *fmt, ...)
{
	struct skill_errors *e = p->errs;
	char what[512];
	va_list ap;
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
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
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
	free(s);
}

/* The file name without its folders and without ".md". */
static char *default_id(const char *filename)
{
	const char *base = strrchr(filename, '/');
	size_t n;

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

static const char *runner_list(void)
{
	return "python, sh or spice";
}

/* The code block against the type; sets s->runner. */
static void check_code(struct skill_pctx *p, struct skill_md *md,
		       unsigned type_line, int type_ok)
{
	struct skill *s = p->s;
	const char *want = skill_runner_name(s->runner);

	if (md->ncandidates > 1)
		skill_err(p, md->second_line, "code",
			  "a second code block, in '%s' (the first is at "
			  "line %u; expected one block in %s: write examples "
			  "in another language, such as text)",
			  md->second_lang, md->code->fence_line,
			  runner_list());
	if (!s->type) {
		/* No type: the code says what runs it. */
		s->runner = md->code ? md->code->runner : SKILL_RUNNER_NONE;
		return;
	}
	if (!type_ok || !want)
		return;
	if (md->code && md->code->runner != s->runner) {
		skill_err(p, md->code->fence_line, "code",
			  "block language '%s' does not match type '%s' "
			  "(expected a %s block)", md->code->language,
			  s->type, want);
	} else if (!md->code && md->other_lang) {
		skill_err(p, md->other_line, "code",
			  "block language '%s' has no runner (expected a %s "
			  "block for type '%s')", md->other_lang, want,
			  s->type);
	} else if (!md->code) {
		skill_err(p, type_line, "type",
			  "type '%s' needs a code block (expected a fenced "
			  "%s block after the prose, or no type for a context "
			  "skill)", s->type, want);
	}
}

/* What `type` runs on; 0 when the type is unknown (an error is recorded). */
static int map_type(struct skill_pctx *p, unsigned line)
{
	static const struct {
		const char *type;
		enum skill_runner r;
	} map[] = {
		{ "python", SKILL_RUNNER_PYTHON },
		{ "python-wasm", SKILL_RUNNER_PYTHON },
		{ "qiskit", SKILL_RUNNER_PYTHON },
		{ "sh", SKILL_RUNNER_SH },
		{ "bash", SKILL_RUNNER_SH },
		{ "spice", SKILL_RUNNER_SPICE },
		{ "javascript", SKILL_RUNNER_NONE },
		{ "threejs", SKILL_RUNNER_NONE },
	};
	struct skill *s = p->s;
	char q[80];

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (!strcmp(s->type, map[i].type)) {
			s->runner = map[i].r;
			return 1;
		}
	}
	skill_err(p, line, "type",
		  "unknown type '%s' (expected python, sh or spice; "
		  "python-wasm and qiskit mean python; javascript and threejs "
		  "are known but have no runner here)",
		  skill_quote(q, sizeof(q), s->type));
	return 0;
}

static void parse_text(struct skill_pctx *p, const char *data, size_t len)
{
	size_t ys = 0, ye = 0, body = 0;
	unsigned body_line = 1, tline = 1;
	struct ynode *root = NULL;
	struct skill_md md;
	int rc, yrc = 0, type_ok = 1;

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
			tline = p->type_line;
			skill_yaml_free(root);
			if (p->rc)
				return;
			if (p->s->type)
				type_ok = map_type(p, tline);
		}
	}
	if ((p->rc = skill_md_scan(&md, data + body, len - body, body_line)))
		return;
	if (rc == 0 && yrc == 0)
		check_code(p, &md, tline, type_ok);
	else
		p->s->runner = md.code ? md.code->runner : SKILL_RUNNER_NONE;
	p->s->code = md.code;
	md.code = NULL;
	skill_md_release(&md);
}

int skill_parse(struct skill **out, const char *filename, const char *data,
		size_t len, struct skill_errors *errs)
{
	struct skill_pctx p = { .filename = filename, .errs = errs };
	size_t bad;

	*out = NULL;
	p.s = calloc(1, sizeof(*p.s));
	if (!p.s)
		return -ENOMEM;
	p.s->skill_id = default_id(filename);
	if (!p.s->skill_id) {
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
		parse_text(&p, data, len);
	}
	if (p.rc)
		goto out_free;
	*out = p.s;
	return 0;
out_free:
	skill_free(p.s);
	return p.rc;
}
