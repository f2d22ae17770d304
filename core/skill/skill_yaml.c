/* core/skill/skill_yaml.c: a skill's frontmatter, YAML text, into a small tree of
 * values with their lines (skill_int.h). The only file that includes
 * yaml.h. libyaml's event API is used so that aliases can be refused as
 * they come (no alias bomb can expand) and nesting stops at a fixed depth
 * before libyaml's own stacks grow. */
#include "core/skill/skill_int.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct yload {
	struct skill_pctx *p;
	unsigned line0;
	struct ynode *root;
	struct ynode *stack[SKILL_YAML_MAX_DEPTH];
	size_t depth;
	size_t nnodes;
	int stop;
};

void skill_yaml_free(struct ynode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nkids; i++)
		skill_yaml_free(n->kids[i]);
	free(n->kids);
	free(n->text);
	free(n);
}

static int ynode_add_kid(struct ynode *parent, struct ynode *kid)
{
	if (parent->nkids == parent->alloc) {
		size_t want = parent->alloc ? parent->alloc * 2 : 8;
		struct ynode **v;

		if (want > SIZE_MAX / sizeof(*v))
			return -ENOMEM;
		v = realloc(parent->kids, want * sizeof(*v));
		if (!v)
			return -ENOMEM;
		parent->kids = v;
		parent->alloc = want;
	}
	parent->kids[parent->nkids++] = kid;
	return 0;
}

/* Hang a new node under the open collection, or make it the root. */
static struct ynode *yload_new(struct yload *y, enum ynode_kind kind,
			       unsigned line)
{
	struct ynode *n;

	if (++y->nnodes > SKILL_YAML_MAX_NODES) {
		skill_err(y->p, line, "frontmatter",
			  "too many values (expected at most %d)",
			  SKILL_YAML_MAX_NODES);
		y->stop = 1;
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		goto out_nomem;
	n->kind = kind;
	n->line = line;
	if (y->depth == 0) {
		if (y->root) {	/* cannot happen with one document */
			free(n);
			y->stop = 1;
			return NULL;
		}
		y->root = n;
	} else if (ynode_add_kid(y->stack[y->depth - 1], n)) {
		free(n);
		goto out_nomem;
	}
	return n;
out_nomem:
	y->p->rc = -ENOMEM;
	y->stop = 1;
	return NULL;
}

static void yload_scalar(struct yload *y, const yaml_event_t *ev,
			 unsigned line)
{
	const char *v = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	struct ynode *n;

	/* Escapes such as "\0" in double quotes can make a NUL. */
	if (memchr(v, '\0', len) || skill_utf8_check(v, len) != len) {
		skill_err(y->p, line, "frontmatter",
			  "a value holds a NUL or a character that is not "
			  "UTF-8 (expected text)");
		y->stop = 1;
		return;
	}
	n = yload_new(y, YNODE_SCALAR, line);
	if (!n)
		return;
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	n->text = strndup(v, len);
	if (!n->text) {
		y->p->rc = -ENOMEM;
		y->stop = 1;
	}
}

static void yload_open(struct yload *y, enum ynode_kind kind, unsigned line)
{
	struct ynode *n;

	if (y->depth == SKILL_YAML_MAX_DEPTH) {
		skill_err(y->p, line, "frontmatter",
			  "values nested too deeply (expected at most %d "
			  "levels)", SKILL_YAML_MAX_DEPTH);
		y->stop = 1;
		return;
	}
	n = yload_new(y, kind, line);
	if (n)
		y->stack[y->depth++] = n;
}

static void yload_syntax(struct yload *y, const yaml_parser_t *yp)
{
	if (yp->error == YAML_MEMORY_ERROR) {
		y->p->rc = -ENOMEM;
		return;
	}
	if (yp->context)
		skill_err(y->p, (unsigned)yp->problem_mark.line + y->line0,
			  "frontmatter", "YAML syntax: %s %s that starts on "
			  "line %u (expected 'field: value' lines between the "
			  "two '---' lines)",
			  yp->problem ? yp->problem : "error", yp->context,
			  (unsigned)yp->context_mark.line + y->line0);
	else
		skill_err(y->p, (unsigned)yp->problem_mark.line + y->line0,
			  "frontmatter", "YAML syntax: %s (expected 'field: "
			  "value' lines between the two '---' lines)",
			  yp->problem ? yp->problem : "error");
}

int skill_yaml_load(struct ynode **out, const char *text, size_t len,
		    unsigned line0, struct skill_pctx *p)
{
	struct yload y = { .p = p, .line0 = line0 };
	yaml_parser_t yp;
	yaml_event_t ev;
	int done = 0;

	*out = NULL;
	if (!yaml_parser_initialize(&yp))
		return -ENOMEM;
	yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
	yaml_parser_set_encoding(&yp, YAML_UTF8_ENCODING);
	while (!done && !y.stop && !p->rc) {
		unsigned line;

		if (!yaml_parser_parse(&yp, &ev)) {
			yload_syntax(&y, &yp);
			y.stop = 1;
			break;
		}
		line = (unsigned)ev.start_mark.line + line0;
		switch (ev.type) {
		case YAML_DOCUMENT_END_EVENT:
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_ALIAS_EVENT:
			skill_err(p, line, "frontmatter",
				  "YAML aliases ('*name') are not supported "
				  "(expected the value written out)");
			y.stop = 1;
			break;
		case YAML_SCALAR_EVENT:
			yload_scalar(&y, &ev, line);
			break;
		case YAML_SEQUENCE_START_EVENT:
			yload_open(&y, YNODE_SEQ, line);
			break;
		case YAML_MAPPING_START_EVENT:
			yload_open(&y, YNODE_MAP, line);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (y.depth)
				y.depth--;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&yp);
	if (y.stop || p->rc) {
		skill_yaml_free(y.root);
		return p->rc ? p->rc : -EINVAL;
	}
	*out = y.root;
	return 0;
}

static int all_digits(const char *s, const char *set)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!strchr(set, *s))
			return 0;
	return 1;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static int is_float(const char *s)
{
	int digits = 0;

	if (*s == '-' || *s == '+')
		s++;
	while (*s >= '0' && *s <= '9')
		s++, digits++;
	if (*s == '.') {
		s++;
		while (*s >= '0' && *s <= '9')
			s++, digits++;
	}
	if (!digits)
		return 0;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		if (!(*s >= '0' && *s <= '9'))
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == '\0';
}

enum yscalar skill_yaml_resolve(const struct ynode *n, int *b, double *d)
{
	const char *s = n->text;
	const char *u;

	if (!n->plain)
		return YS_STRING;
	if (!*s || !strcmp(s, "~") || !strcmp(s, "null") ||
	    !strcmp(s, "Null") || !strcmp(s, "NULL"))
		return YS_NULL;
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) {
		*b = 1;
		return YS_BOOL;
	}
	if (!strcmp(s, "false") || !strcmp(s, "False") ||
	    !strcmp(s, "FALSE")) {
		*b = 0;
		return YS_BOOL;
	}
	u = (*s == '-' || *s == '+') ? s + 1 : s;
	if (all_digits(u, "0123456789")) {
		*d = strtod(s, NULL);
		/* Integers past 2^53 lose digits in JSON readers anyway. */
		return isfinite(*d) ? YS_INT : YS_STRING;
	}
	if (!strncmp(s, "0x", 2) &&
	    all_digits(s + 2, "0123456789abcdefABCDEF")) {
		*d = (double)strtoull(s + 2, NULL, 16);
		return YS_INT;
	}
	if (!strncmp(s, "0o", 2) && all_digits(s + 2, "01234567")) {
		*d = (double)strtoull(s + 2, NULL, 8);
		return YS_INT;
	}
	if (is_float(s)) {
		*d = strtod(s, NULL);
		return isfinite(*d) ? YS_FLOAT : YS_STRING;
	}
	/* .inf and .nan have no JSON form: they stay text. */
	return YS_STRING;
}
