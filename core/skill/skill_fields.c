/* core/skill/skill_fields.c: the frontmatter's fields, a YAML tree, into the
 * skill record, with the checks of each field (skill_int.h). */
#include "core/skill/skill_int.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const port_types[] = {
	[SKILL_PORT_ANY] = "any",	  [SKILL_PORT_NUMBER] = "number",
	[SKILL_PORT_INTEGER] = "integer", [SKILL_PORT_STRING] = "string",
	[SKILL_PORT_BOOLEAN] = "boolean", [SKILL_PORT_OBJECT] = "object",
	[SKILL_PORT_ARRAY] = "array",	  [SKILL_PORT_FILE] = "file",
};


const char *skill_port_type_name(enum skill_port_type t)
{
	return (unsigned)t < sizeof(port_types) / sizeof(port_types[0]) ?
		       port_types[t] : "any";
}


static const char *kind_name(const struct ynode *n)
{
	return n->kind == YNODE_SEQ ? "a list" :
	       n->kind == YNODE_MAP ? "a mapping" : "text";
}

static int is_null(const struct ynode *n)
{
	int b;
	double d;

	return n->kind == YNODE_SCALAR &&
	       skill_yaml_resolve(n, &b, &d) == YS_NULL;
}

static void nomem(struct skill_pctx *p)
{
	p->rc = -ENOMEM;
}

/* name, description, category, ...: one line of text. */
static void read_text(struct skill_pctx *p, const char *field,
		      const struct ynode *v, char **dst)
{
	if (v->kind != YNODE_SCALAR) {
		skill_err(p, v->line, field,
			  "expected text, not %s (e.g. %s: some words)",
			  kind_name(v), field);
		return;
	}
	if (is_null(v))
		return;
	*dst = strdup(v->text);
	if (!*dst)
		nomem(p);
}

/* tags, keywords, requires: a list of words, or one word. */
static void read_list(struct skill_pctx *p, const char *field,
		      const struct ynode *v, struct skill_list *l)
{
	const struct ynode *const *items = (const struct ynode *const *)v->kids;
	size_t n = v->nkids;
	char f[64];

	if (v->kind == YNODE_MAP) {
		skill_err(p, v->line, field,
			  "expected a list, not a mapping (e.g. %s: [a, b])",
			  field);
		return;
	}
	if (v->kind == YNODE_SCALAR) {
		if (is_null(v))
			return;
		items = &v;
		n = 1;
	}
	if (n > SKILL_MAX_LIST) {
		skill_err(p, v->line, field,
			  "%zu entries (expected at most %d)", n,
			  SKILL_MAX_LIST);
		n = SKILL_MAX_LIST;
	}
	l->v = calloc(n ? n : 1, sizeof(*l->v));
	if (!l->v)
		return nomem(p);
	for (size_t i = 0; i < n; i++) {
		if (items[i]->kind != YNODE_SCALAR) {
			snprintf(f, sizeof(f), "%s[%zu]", field, i);
			skill_err(p, items[i]->line, f,
				  "expected a word, not %s",
				  kind_name(items[i]));
			continue;
		}
		if (is_null(items[i]))
			continue;
		l->v[l->n] = strdup(items[i]->text);
		if (!l->v[l->n])
			return nomem(p);
		l->n++;
	}
}

static void read_bool(struct skill_pctx *p, const char *field,
		      const struct ynode *v, int *dst, int *set)
{
	double d;
	int b;

	if (v->kind != YNODE_SCALAR ||
	    skill_yaml_resolve(v, &b, &d) != YS_BOOL) {
		skill_err(p, v->line, field, "expected true or false");
		return;
	}
	*dst = b;
	if (set)
		*set = 1;
}

/* Whether the default `v` fits the port type; *what names what it is. */
static int default_fits(enum skill_port_type t, const struct ynode *v,
			const char **what)
{
	enum yscalar k = YS_STRING;
	double d;
	int b;

	if (v->kind == YNODE_SCALAR)
		k = skill_yaml_resolve(v, &b, &d);
	*what = v->kind != YNODE_SCALAR ? kind_name(v) :
		k == YS_NULL ? "null" : k == YS_BOOL ? "a boolean" :
		k == YS_INT ? "an integer" : k == YS_FLOAT ? "a number" :
		"text";
	switch (t) {
	case SKILL_PORT_ANY:
		return 1;
	case SKILL_PORT_NUMBER:
		return k == YS_INT || k == YS_FLOAT;
	case SKILL_PORT_INTEGER:
		return k == YS_INT;
	case SKILL_PORT_STRING:
	case SKILL_PORT_FILE:
		return v->kind == YNODE_SCALAR && k == YS_STRING;
	case SKILL_PORT_BOOLEAN:
		return k == YS_BOOL && v->kind == YNODE_SCALAR;
	case SKILL_PORT_OBJECT:
		return v->kind == YNODE_MAP;
	case SKILL_PORT_ARRAY:
		return v->kind == YNODE_SEQ;
	}
	return 0;
}

static int port_type(const char *s, enum skill_port_type *t)
{
	for (size_t i = 0; i < sizeof(port_types) / sizeof(port_types[0]);
	     i++) {
		if (!strcmp(s, port_types[i])) {
			*t = (enum skill_port_type)i;
			return 1;
		}
	}
	return 0;
}

static void read_port_type(struct skill_pctx *p, const char *f,
			   const struct ynode *v, struct skill_port *port)
{
	char q[80];

	if (v->kind != YNODE_SCALAR) {
		skill_err(p, v->line, f,
			  "expected a type name, not %s (number, integer, "
			  "string, boolean, object, array, file or any)",
			  kind_name(v));
	} else if (!port_type(v->text, &port->type)) {
		skill_err(p, v->line, f,
			  "unknown type '%s' (expected number, integer, "
			  "string, boolean, object, array, file or any)",
			  skill_quote(q, sizeof(q), v->text));
	}
}

/* One port: {name, type, description, default, required}. */
static void read_port(struct skill_pctx *p, const char *list, size_t idx,
		      const struct ynode *m, struct skill_port *port)
{
	static const char *const port_keys[] = {
		"name", "type", "description", "required", "default",
	};
	const struct ynode *def = NULL;
	unsigned seen = 0, bit;
	char f[96];

	port->line = m->line;
	if (m->kind != YNODE_MAP) {
		snprintf(f, sizeof(f), "%s[%zu]", list, idx);
		skill_err(p, m->line, f,
			  "expected a port such as {name: x, type: number}, "
			  "not %s", kind_name(m));
		return;
	}
	for (size_t i = 0; i + 1 < m->nkids && !p->rc; i += 2) {
		const struct ynode *k = m->kids[i], *v = m->kids[i + 1];

		if (k->kind != YNODE_SCALAR)
			continue;
		snprintf(f, sizeof(f), "%s[%zu].%.20s", list, idx, k->text);
		for (bit = 0; bit < 5; bit++)
			if (!strcmp(k->text, port_keys[bit]))
				break;
		if (bit == 5)
			continue;	/* unknown keys are for others */
		if (seen & (1u << bit)) {
			skill_err(p, k->line, f, "given twice in one port "
				  "(expected it once)");
			continue;
		}
		seen |= 1u << bit;
		if (!strcmp(k->text, "name"))
			read_text(p, f, v, &port->name);
		else if (!strcmp(k->text, "type"))
			read_port_type(p, f, v, port);
		else if (!strcmp(k->text, "description"))
			read_text(p, f, v, &port->description);
		else if (!strcmp(k->text, "required"))
			read_bool(p, f, v, &port->required, NULL);
		else if (!strcmp(k->text, "default"))
			def = v;
	}
	if (!port->name) {
		snprintf(f, sizeof(f), "%s[%zu].name", list, idx);
		skill_err(p, m->line, f,
			  "missing port name (expected e.g. {name: x, "
			  "type: number})");
	}
	if (def && !p->rc) {
		const char *what;
		struct buf b;

		snprintf(f, sizeof(f), "%s[%zu].default", list, idx);
		if (!default_fits(port->type, def, &what)) {
			char q[80];

			if (def->kind == YNODE_SCALAR)
				skill_err(p, def->line, f,
					  "'%s' is %s, not of type %s "
					  "(expected a default of type %s)",
					  skill_quote(q, sizeof(q), def->text),
					  what,
					  skill_port_type_name(port->type),
					  skill_port_type_name(port->type));
			else
				skill_err(p, def->line, f,
					  "%s is not of type %s (expected a "
					  "default of type %s)", what,
					  skill_port_type_name(port->type),
					  skill_port_type_name(port->type));
			return;
		}
		buf_init(&b, SKILL_MAX_FILE * 8);
		if (skill_json_ynode(&b, def)) {
			buf_release(&b);
			return nomem(p);
		}
		port->default_json = b.data;
	}
}

static void read_ports(struct skill_pctx *p, const char *field,
		       const struct ynode *v, struct skill_port **dst,
		       size_t *ndst)
{
	size_t n = v->nkids;
	struct skill_port *ports;
	char f[96], q[80];

	if (is_null(v))
		return;
	if (v->kind != YNODE_SEQ) {
		skill_err(p, v->line, field,
			  "expected a list of ports, not %s (e.g. %s: "
			  "[{name: x, type: number}])", kind_name(v), field);
		return;
	}
	if (n > SKILL_MAX_PORTS) {
		skill_err(p, v->line, field, "%zu ports (expected at most %d)",
			  n, SKILL_MAX_PORTS);
		n = SKILL_MAX_PORTS;
	}
	ports = calloc(n ? n : 1, sizeof(*ports));
	if (!ports)
		return nomem(p);
	*dst = ports;
	for (size_t i = 0; i < n && !p->rc; i++) {
		read_port(p, field, i, v->kids[i], &ports[i]);
		*ndst = i + 1;
		for (size_t j = 0; j < i && ports[i].name; j++) {
			if (!ports[j].name || strcmp(ports[i].name,
						     ports[j].name))
				continue;
			snprintf(f, sizeof(f), "%s[%zu].name", field, i);
			skill_err(p, ports[i].line, f,
				  "duplicate port '%s' (expected each name "
				  "once in %s; the first is %s[%zu])",
				  skill_quote(q, sizeof(q), ports[i].name),
				  field, field, j);
			break;
		}
	}
}

static void read_limits(struct skill_pctx *p, const struct ynode *v)
{
	struct skill *s = p->s;
	char f[64], q[80];

	if (is_null(v))
		return;
	if (v->kind != YNODE_MAP) {
		skill_err(p, v->line, "limits",
			  "expected a mapping, not %s (e.g. limits: "
			  "{timeout_s: 60, memory_mb: 512})", kind_name(v));
		return;
	}
	for (size_t i = 0; i + 1 < v->nkids; i += 2) {
		const struct ynode *k = v->kids[i], *x = v->kids[i + 1];
		enum yscalar t = YS_STRING;
		unsigned l;
		double d;
		int b;

		if (k->kind != YNODE_SCALAR)
			continue;
		for (l = 0; l < SKILL_NLIMITS; l++)
			if (!strcmp(k->text, skill_limit_name(l)))
				break;
		snprintf(f, sizeof(f), "limits.%.40s", k->text);
		if (l == SKILL_NLIMITS) {
			skill_err(p, k->line, f,
				  "unknown limit '%s' (expected timeout_s, "
				  "memory_mb, cpu_s, procs, file_mb or "
				  "output_mb)", skill_quote(q, sizeof(q),
							    k->text));
			continue;
		}
		if (x->kind == YNODE_SCALAR)
			t = skill_yaml_resolve(x, &b, &d);
		if ((t != YS_INT && t != YS_FLOAT) || d < 0) {
			skill_err(p, x->line, f,
				  "expected a number 0 or more, not %s",
				  x->kind == YNODE_SCALAR ?
					  skill_quote(q, sizeof(q), x->text) :
					  kind_name(x));
			continue;
		}
		s->limits[l] = d;
		s->limits_set |= 1u << l;
	}
}

enum field_kind { F_TEXT, F_LIST, F_INPUTS, F_OUTPUTS, F_LIMITS, F_NET };

static const struct field {
	const char *name;
	enum field_kind kind;
	size_t off;
} fields[] = {
	{ "name", F_TEXT, offsetof(struct skill, name) },
	{ "description", F_TEXT, offsetof(struct skill, description) },
	{ "skill_id", F_TEXT, offsetof(struct skill, skill_id) },
	{ "category", F_TEXT, offsetof(struct skill, category) },
	{ "type", F_TEXT, offsetof(struct skill, type) },
	{ "execution_mode", F_TEXT, offsetof(struct skill, execution_mode) },
	{ "version", F_TEXT, offsetof(struct skill, version) },
	{ "author", F_TEXT, offsetof(struct skill, author) },
	{ "tags", F_LIST, offsetof(struct skill, tags) },
	{ "keywords", F_LIST, offsetof(struct skill, keywords) },
	{ "requires", F_LIST, offsetof(struct skill, requires) },
	{ "inputs", F_INPUTS, 0 },
	{ "outputs", F_OUTPUTS, 0 },
	{ "limits", F_LIMITS, 0 },
	{ "network", F_NET, 0 },
};

static void read_field(struct skill_pctx *p, const struct field *fd,
		       const struct ynode *v)
{
	struct skill *s = p->s;
	char *base = (char *)s;

	switch (fd->kind) {
	case F_TEXT: {
		char **dst = (char **)(base + fd->off);
		char *old = *dst;

		*dst = NULL;	/* skill_id has a default to replace */
		read_text(p, fd->name, v, dst);
		if (*dst || p->rc)
			free(old);
		else
			*dst = old;
		break;
	}
	case F_LIST:
		read_list(p, fd->name, v,
			  (struct skill_list *)(base + fd->off));
		break;
	case F_INPUTS:
		read_ports(p, "inputs", v, &s->inputs, &s->ninputs);
		break;
	case F_OUTPUTS:
		read_ports(p, "outputs", v, &s->outputs, &s->noutputs);
		break;
	case F_LIMITS:
		read_limits(p, v);
		break;
	case F_NET:
		read_bool(p, "network", v, &s->network, &s->network_set);
		break;
	}
}

static void check_length(struct skill_pctx *p, const char *field,
			 const char *v, unsigned line, size_t max)
{
	size_t n;

	if (!v) {
		skill_err(p, 1, field,
			  "missing field '%s' (expected e.g. %s: %s)", field,
			  field, !strcmp(field, "name") ? "VQE Optimizer" :
			  "what the skill does and when to use it");
		return;
	}
	if (!*v) {
		skill_err(p, line, field,
			  "field '%s' is empty (expected e.g. %s: %s)", field,
			  field, !strcmp(field, "name") ? "VQE Optimizer" :
			  "what the skill does and when to use it");
		return;
	}
	n = skill_utf8_chars(v);
	if (n > max)
		skill_err(p, line, field,
			  "%zu characters long (expected at most %zu)", n,
			  max);
}

void skill_fields_read(struct skill_pctx *p, const struct ynode *root)
{
	unsigned seen = 0, name_line = 1, desc_line = 1;
	char q[80];

	p->type_line = 1;
	if (root && root->kind != YNODE_MAP && !is_null(root)) {
		skill_err(p, root->line, "frontmatter",
			  "expected 'field: value' lines, not %s",
			  kind_name(root));
		return;
	}
	for (size_t i = 0; root && i + 1 < root->nkids && !p->rc; i += 2) {
		const struct ynode *k = root->kids[i], *v = root->kids[i + 1];
		size_t f;

		if (k->kind != YNODE_SCALAR)
			continue;
		for (f = 0; f < sizeof(fields) / sizeof(fields[0]); f++)
			if (!strcmp(k->text, fields[f].name))
				break;
		if (f == sizeof(fields) / sizeof(fields[0]))
			continue;	/* unknown fields are for others */
		if (seen & (1u << f)) {
			skill_err(p, k->line, fields[f].name,
				  "field '%s' given twice (expected it once)",
				  skill_quote(q, sizeof(q), k->text));
			continue;
		}
		seen |= 1u << f;
		if (!strcmp(k->text, "name"))
			name_line = k->line;
		else if (!strcmp(k->text, "description"))
			desc_line = k->line;
		else if (!strcmp(k->text, "type"))
			p->type_line = k->line;
		read_field(p, &fields[f], v);
	}
	if (p->rc)
		return;
	check_length(p, "name", p->s->name, name_line, SKILL_MAX_NAME);
	check_length(p, "description", p->s->description, desc_line,
		     SKILL_MAX_DESCRIPTION);
}

/* Kept with the YAML reading it depends on: a value as JSON. */
int skill_json_ynode(struct buf *out, const struct ynode *n)
{
	char num[40];
	double d = 0;
	int b = 0, rc;

	if (n->kind == YNODE_SEQ || n->kind == YNODE_MAP) {
		int map = n->kind == YNODE_MAP;

		if ((rc = buf_append(out, map ? "{" : "[", 1)))
			return rc;
		for (size_t i = 0; i < n->nkids; i++) {
			const struct ynode *k = n->kids[i];

			if (i && (rc = buf_append(out, map && i % 2 ?
							       ":" : ",", 1)))
				return rc;
			/* Keys are strings in JSON, whatever YAML says. */
			if (map && i % 2 == 0 && k->kind == YNODE_SCALAR)
				rc = skill_json_str(out, k->text,
						    strlen(k->text));
			else if (map && i % 2 == 0)
				rc = skill_json_str(out, "?", 1);
			else
				rc = skill_json_ynode(out, k);
			if (rc)
				return rc;
		}
		return buf_append(out, map ? "}" : "]", 1);
	}
	switch (skill_yaml_resolve(n, &b, &d)) {
	case YS_NULL:
		return buf_append(out, "null", 4);
	case YS_BOOL:
		return buf_append(out, b ? "true" : "false", b ? 4 : 5);
	case YS_INT:
	case YS_FLOAT:
		snprintf(num, sizeof(num), "%.15g", d);
		if (strtod(num, NULL) != d)
			snprintf(num, sizeof(num), "%.17g", d);
		return buf_append(out, num, strlen(num));
	default:
		return skill_json_str(out, n->text, strlen(n->text));
	}
}
