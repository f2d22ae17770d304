/* core/skill/skill_json.c: a skill record as JSON text, see skill.h. Written by
 * hand on struct buf: the strings are checked UTF-8, so only quotes,
 * backslashes and control characters need escaping. */
#include "core/skill/skill_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the UTF-8 sequence at s[i] (i < len), or 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t i, size_t len)
{
	unsigned c = s[i], cp;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (len - i < n)
		return 0;
	for (size_t k = 1; k < n; k++) {
		if ((s[i + k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i + k] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

int skill_json_str(struct buf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t run = 0;
	int rc;

	if ((rc = buf_append(out, "\"", 1)))
		return rc;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7] = "\\u00";
		size_t n = 2, k;

		if (c >= 0x80) {
			k = utf8_len(u, i, len);
			if (k) {
				i += k - 1;
				continue;
			}
			if ((rc = buf_append(out, s + run, i - run)) ||
			    (rc = buf_append(out, "\\ufffd", 6)))
				return rc;
			run = i + 1;
			continue;
		}
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		if ((rc = buf_append(out, s + run, i - run)))
			return rc;
		run = i + 1;
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		default:
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			n = 6;
		}
		if ((rc = buf_append(out, esc, n)))
			return rc;
	}
	if ((rc = buf_append(out, s + run, len - run)))
		return rc;
	return buf_append(out, "\"", 1);
}

static int put(struct buf *out, const char *s)
{
	return buf_append(out, s, strlen(s));
}

/* ,"key": */
static int key(struct buf *out, const char *k, int first)
{
	int rc;

	if (!first && (rc = put(out, ",")))
		return rc;
	if ((rc = skill_json_str(out, k, strlen(k))))
		return rc;
	return put(out, ":");
}

static int str_or_null(struct buf *out, const char *s)
{
	return s ? skill_json_str(out, s, strlen(s)) : put(out, "null");
}

static int text_field(struct buf *out, const char *k, const char *v)
{
	int rc = key(out, k, 0);

	return rc ? rc : str_or_null(out, v);
}

static int list_field(struct buf *out, const char *k,
		      const struct skill_list *l)
{
	int rc = key(out, k, 0);

	if (rc || (rc = put(out, "[")))
		return rc;
	for (size_t i = 0; i < l->n; i++)
		if ((i && (rc = put(out, ","))) ||
		    (rc = str_or_null(out, l->v[i])))
			return rc;
	return put(out, "]");
}

static int port_json(struct buf *out, const struct skill_port *pt)
{
	int rc;

	if ((rc = put(out, "{")) || (rc = key(out, "name", 1)) ||
	    (rc = str_or_null(out, pt->name)) ||
	    (rc = text_field(out, "type", skill_port_type_name(pt->type))) ||
	    (rc = text_field(out, "description", pt->description)) ||
	    (rc = key(out, "required", 0)) ||
	    (rc = put(out, pt->required ? "true" : "false")))
		return rc;
	if (pt->default_json && ((rc = key(out, "default", 0)) ||
				 (rc = put(out, pt->default_json))))
		return rc;
	return put(out, "}");
}

int skill_ports_to_json(const struct skill_port *v, size_t n,
			struct buf *out)
{
	int rc = put(out, "[");

	for (size_t i = 0; i < n && !rc; i++)
		if (!(i && (rc = put(out, ","))))
			rc = port_json(out, &v[i]);
	return rc ? rc : put(out, "]");
}

static int ports_field(struct buf *out, const char *k,
		       const struct skill_port *v, size_t n)
{
	int rc = key(out, k, 0);

	return rc ? rc : skill_ports_to_json(v, n, out);
}

static int limits_field(struct buf *out, const struct skill *s)
{
	int rc = key(out, "limits", 0), first = 1;
	char num[40];

	if (rc || (rc = put(out, "{")))
		return rc;
	for (unsigned l = 0; l < SKILL_NLIMITS; l++) {
		if (!(s->limits_set & (1u << l)))
			continue;
		snprintf(num, sizeof(num), "%.15g", s->limits[l]);
		if (strtod(num, NULL) != s->limits[l])
			snprintf(num, sizeof(num), "%.17g", s->limits[l]);
		if ((rc = key(out, skill_limit_name(l), first)) ||
		    (rc = put(out, num)))
			return rc;
		first = 0;
	}
	return put(out, "}");
}

static int code_field(struct buf *out, const struct skill_code *c)
{
	char num[64];
	size_t lines = 0;
	int rc = key(out, "code", 0);

	if (rc || !c)
		return rc ? rc : put(out, "null");
	for (size_t i = 0; i < c->len; i++)
		if (c->text[i] == '\n')
			lines++;
	if ((rc = put(out, "{")) || (rc = key(out, "language", 1)) ||
	    (rc = str_or_null(out, c->language)) ||
	    (rc = text_field(out, "runner", skill_runner_name(c->runner))))
		return rc;
	snprintf(num, sizeof(num), ",\"line\":%u,\"lines\":%zu,\"bytes\":%zu}",
		 c->line, lines, c->len);
	return put(out, num);
}

int skill_to_json(const struct skill *s, struct buf *out)
{
	int rc;

	if ((rc = put(out, "{")) || (rc = key(out, "skill_id", 1)) ||
	    (rc = str_or_null(out, s->skill_id)) ||
	    (rc = text_field(out, "name", s->name)) ||
	    (rc = text_field(out, "description", s->description)) ||
	    (rc = text_field(out, "category", s->category)) ||
	    (rc = text_field(out, "type", s->type)) ||
	    (rc = text_field(out, "runner", skill_runner_name(s->runner))) ||
	    (rc = text_field(out, "execution_mode", s->execution_mode)) ||
	    (rc = text_field(out, "version", s->version)) ||
	    (rc = text_field(out, "author", s->author)) ||
	    (rc = list_field(out, "tags", &s->tags)) ||
	    (rc = list_field(out, "keywords", &s->keywords)) ||
	    (rc = list_field(out, "requires", &s->requires)) ||
	    (rc = ports_field(out, "inputs", s->inputs, s->ninputs)) ||
	    (rc = ports_field(out, "outputs", s->outputs, s->noutputs)) ||
	    (rc = limits_field(out, s)) || (rc = key(out, "network", 0)) ||
	    (rc = put(out, !s->network_set ? "null" :
			   s->network ? "true" : "false")) ||
	    (rc = code_field(out, s->code)) ||
	    (rc = key(out, "warnings", 0)) ||
	    (rc = skill_messages_to_json(&s->warnings, out)))
		return rc;
	return put(out, "}");
}

int skill_messages_to_json(const struct skill_errors *e, struct buf *out)
{
	int rc = put(out, "[");

	for (size_t i = 0; i < e->n && !rc; i++)
		if (!(i && (rc = put(out, ","))))
			rc = str_or_null(out, e->v[i].msg);
	return rc ? rc : put(out, "]");
}
