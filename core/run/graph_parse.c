/* core/run/graph_parse.c: graph JSON (native and React Flow forms) into a
 * struct graph, see graph.h. The only file that includes jansson.h for
 * graphs. */
#include "core/run/graph.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define Q(buf, s) graph_quote((buf), sizeof(buf), (s))

/* Parse state: errors found so far, and whether memory ran out. */
struct gp {
	struct graph *g;
	struct graph_errors *errs;
	size_t nerr;
	int nomem;
};

#define ERR(p, ...) \
	do { \
		(p)->nerr++; \
		graph_errors_addf((p)->errs, __VA_ARGS__); \
	} while (0)

static int id_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > GRAPH_MAX_ID)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static char *dup(struct gp *p, const char *s)
{
	char *d = strdup(s);

	if (!d)
		p->nomem = 1;
	return d;
}

static enum graph_kind kind_of(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return GRAPH_KIND_OBJECT;
	case JSON_ARRAY:
		return GRAPH_KIND_ARRAY;
	case JSON_STRING:
		return GRAPH_KIND_STRING;
	case JSON_INTEGER:
		return GRAPH_KIND_INTEGER;
	case JSON_REAL:
		return GRAPH_KIND_REAL;
	case JSON_TRUE:
	case JSON_FALSE:
		return GRAPH_KIND_BOOLEAN;
	default:
		return GRAPH_KIND_NULL;
	}
}

/* The input `port` of `nd`, added when absent (NULL: error or no memory). */
static struct graph_input *input_slot(struct gp *p, struct graph_node *nd,
				      const char *port)
{
	struct graph_input *in;
	char q[80];

	for (size_t i = 0; i < nd->ninputs; i++)
		if (strcmp(nd->inputs[i].port, port) == 0)
			return &nd->inputs[i];
	if (nd->ninputs >= GRAPH_MAX_INPUTS) {
		ERR(p, "node '%s': more than %d inputs (split the node)",
		    nd->id, GRAPH_MAX_INPUTS);
		return NULL;
	}
	if (!*port || strlen(port) > GRAPH_MAX_NAME) {
		ERR(p, "node '%s': invalid input name '%s' (use 1 to %d "
		    "characters)", nd->id, Q(q, port), GRAPH_MAX_NAME);
		return NULL;
	}
	/* Grow to the next power of two. */
	if ((nd->ninputs & (nd->ninputs - 1)) == 0) {
		size_t n = nd->ninputs ? 2 * nd->ninputs : 4;
		void *v = reallocarray(nd->inputs, n, sizeof(*nd->inputs));

		if (!v) {
			p->nomem = 1;
			return NULL;
		}
		nd->inputs = v;
	}
	in = &nd->inputs[nd->ninputs];
	memset(in, 0, sizeof(*in));
	in->from = GRAPH_NONE;
	if (!(in->port = dup(p, port)))
		return NULL;
	nd->ninputs++;
	return in;
}

static void input_clear(struct graph_input *in)
{
	free(in->literal);
	free(in->from_id);
	free(in->from_port);
	in->literal = in->from_id = in->from_port = NULL;
	in->kind = GRAPH_KIND_NULL;
}

static void set_link(struct gp *p, struct graph_input *in, const char *id,
		     const char *port)
{
	input_clear(in);
	if (!(in->from_id = dup(p, id)) || !(in->from_port = dup(p, port)))
		return;
}

/* {"from": "node.output"}: 1 when `v` is a link (set, or reported). */
static int parse_from(struct gp *p, struct graph_node *nd,
		      struct graph_input *in, json_t *v)
{
	json_t *from;
	const char *s, *dot;
	char id[GRAPH_MAX_ID + 1];
	char q[80];

	if (!json_is_object(v) || json_object_size(v) != 1 ||
	    !(from = json_object_get(v, "from")))
		return 0;
	s = json_string_value(from);
	dot = s ? strchr(s, '.') : NULL;
	if (!s || !dot || dot == s || !dot[1] ||
	    (size_t)(dot - s) > GRAPH_MAX_ID ||
	    strlen(dot + 1) > GRAPH_MAX_NAME) {
		ERR(p, "node '%s': input '%s': 'from' must be a string "
		    "\"node.output\"", nd->id, Q(q, in->port));
		return 1;
	}
	memcpy(id, s, (size_t)(dot - s));
	id[dot - s] = '\0';
	set_link(p, in, id, dot + 1);
	return 1;
}

static void parse_inputs(struct gp *p, struct graph_node *nd, json_t *obj)
{
	const char *port;
	json_t *v;

	if (!obj || json_is_null(obj))
		return;
	if (!json_is_object(obj)) {
		ERR(p, "node '%s': 'inputs' must be an object {\"port\": "
		    "value}", nd->id);
		return;
	}
	if (json_object_size(obj) > GRAPH_MAX_INPUTS) {
		ERR(p, "node '%s': more than %d inputs (split the node)",
		    nd->id, GRAPH_MAX_INPUTS);
		return;
	}
	json_object_foreach(obj, port, v) {
		struct graph_input *in = input_slot(p, nd, port);

		if (!in || parse_from(p, nd, in, v))
			continue;
		input_clear(in);
		in->kind = kind_of(v);
		in->literal = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		if (!in->literal)
			p->nomem = 1;
	}
}

static void parse_limits(struct gp *p, struct graph_node *nd, json_t *obj)
{
	const char *key;
	json_t *v;
	char q[80];

	if (!obj || json_is_null(obj))
		return;
	if (!json_is_object(obj)) {
		ERR(p, "node '%s': 'limits' must be an object, e.g. "
		    "{\"timeout_s\": 60}", nd->id);
		return;
	}
	json_object_foreach(obj, key, v) {
		int l;

		for (l = 0; l < SKILL_NLIMITS; l++)
			if (strcmp(key, skill_limit_name(l)) == 0)
				break;
		if (l == SKILL_NLIMITS) {
			ERR(p, "node '%s': limits: unknown limit '%s' "
			    "(expected timeout_s, memory_mb, cpu_s, procs, "
			    "file_mb or output_mb)", nd->id, Q(q, key));
			continue;
		}
		if (!json_is_number(v) || json_number_value(v) <= 0) {
			ERR(p, "node '%s': limits: '%s' must be a positive "
			    "number", nd->id, key);
			continue;
		}
		nd->limits[l] = json_number_value(v);
		nd->limits_set |= 1u << l;
	}
}

/* One node. `body` holds skill/inputs/cache/limits: the node itself in
 * the native form, its `data` in the React Flow form. */
static void parse_node(struct gp *p, size_t i, json_t *jn, int reactflow)
{
	struct graph_node *nd = &p->g->nodes[i];
	json_t *body = jn, *v;
	const char *id, *skill;
	char q[80];

	nd->cache = 1;
	if (!json_is_object(jn)) {
		ERR(p, "nodes[%zu]: not an object (expected {\"id\": ..., "
		    "\"skill\": ..., \"inputs\": {...}})", i);
		return;
	}
	id = json_string_value(json_object_get(jn, "id"));
	if (!id)	/* LLMos-Lite's Workflow.to_dict() */
		id = json_string_value(json_object_get(jn, "nodeId"));
	if (!id) {
		ERR(p, "nodes[%zu]: missing 'id' (give each node a unique "
		    "string id)", i);
		return;
	}
	if (!id_valid(id)) {
		ERR(p, "nodes[%zu]: invalid id '%s' (use 1 to %d letters, "
		    "digits, '_' or '-')", i, Q(q, id), GRAPH_MAX_ID);
		return;
	}
	if (!(nd->id = dup(p, id)))
		return;
	if (reactflow && json_is_object(json_object_get(jn, "data")))
		body = json_object_get(jn, "data");
	skill = json_string_value(json_object_get(body, "skill"));
	if (!skill)
		skill = json_string_value(json_object_get(body, "skillId"));
	if (!skill && body != jn)	/* skillId beside data */
		skill = json_string_value(json_object_get(jn, "skillId"));
	if (!skill || !*skill || strlen(skill) > GRAPH_MAX_NAME) {
		ERR(p, "node '%s': missing or invalid 'skill' (name the skill "
		    "to run)", id);
		return;
	}
	if (!(nd->skill = dup(p, skill)))
		return;
	v = json_object_get(body, "inputs");
	if (!v && reactflow)
		v = json_object_get(body, "inputValues");
	if (!v && reactflow && body != jn)
		v = json_object_get(jn, "inputValues");
	parse_inputs(p, nd, v);
	v = json_object_get(body, "cache");
	if (v && !json_is_boolean(v))
		ERR(p, "node '%s': 'cache' must be true or false", id);
	else if (v)
		nd->cache = json_is_true(v);
	parse_limits(p, nd, json_object_get(body, "limits"));
}

static struct graph_node *node_by_id(struct graph *g, const char *id)
{
	for (size_t i = 0; i < g->nnodes; i++)
		if (g->nodes[i].id && strcmp(g->nodes[i].id, id) == 0)
			return &g->nodes[i];
	return NULL;
}

/* An edge that names no port on one side or both (null handles): kept
 * for graph_check(), which knows the ports. */
static void add_edge(struct gp *p, size_t i, const char *src,
		     const char *dst, const char *out, const char *in)
{
	struct graph *g = p->g;
	struct graph_edge *e;

	e = reallocarray(g->edges, g->nedges + 1, sizeof(*e));
	if (!e) {
		p->nomem = 1;
		return;
	}
	g->edges = e;
	e = &g->edges[g->nedges++];
	memset(e, 0, sizeof(*e));
	e->index = i;
	if (!(e->from = dup(p, src)) || !(e->to = dup(p, dst)) ||
	    (out && !(e->out = dup(p, out))) || (in && !(e->in = dup(p, in))))
		return;
}

/* A handle: a string, or null/absent (NULL; *bad when another type). */
static const char *handle(json_t *e, const char *a, const char *b, int *bad)
{
	json_t *v = json_object_get(e, a);

	if (!v || json_is_null(v))
		v = json_object_get(e, b);
	if (v && !json_is_null(v) && !json_is_string(v))
		*bad = 1;
	return json_string_value(v);
}

/* React Flow edges: each one a link into its target's input. */
static void parse_edges(struct gp *p, json_t *edges)
{
	size_t i;
	json_t *e;
	char q[80];

	if (!edges || json_is_null(edges))
		return;
	if (!json_is_array(edges)) {
		ERR(p, "'edges' must be an array");
		return;
	}
	if (json_array_size(edges) > GRAPH_MAX_NODES * GRAPH_MAX_INPUTS) {
		ERR(p, "'edges' has %zu entries (split the graph)",
		    json_array_size(edges));
		return;
	}
	json_array_foreach(edges, i, e) {
		int bad = 0;
		const char *src = handle(e, "source", "source", &bad);
		const char *dst = handle(e, "target", "target", &bad);
		const char *out = handle(e, "sourceHandle", "sourceOutput",
					 &bad);
		const char *in = handle(e, "targetHandle", "targetInput", &bad);
		struct graph_node *nd;
		struct graph_input *slot;

		if (!src || !dst || bad || (out && !*out) || (in && !*in) ||
		    strlen(src) > GRAPH_MAX_ID ||
		    (out && strlen(out) > GRAPH_MAX_NAME) ||
		    (in && strlen(in) > GRAPH_MAX_NAME)) {
			ERR(p, "edges[%zu]: expected \"source\" and "
			    "\"target\" strings, and \"sourceHandle\" and "
			    "\"targetHandle\" strings or null", i);
			continue;
		}
		if (!(nd = node_by_id(p->g, dst))) {
			ERR(p, "edges[%zu]: unknown target node '%s' (no node "
			    "has that id)", i, Q(q, dst));
			continue;
		}
		if (!nd->skill)
			continue;
		if (!out || !in)
			add_edge(p, i, src, dst, out, in);
		else if ((slot = input_slot(p, nd, in)))
			set_link(p, slot, src, out);
	}
}

static void parse_root(struct gp *p, json_t *root)
{
	json_t *nodes, *edges, *jn;
	int reactflow;
	size_t i;

	nodes = json_object_get(root, "nodes");
	if (!json_is_object(root) || !json_is_array(nodes)) {
		ERR(p, "the graph must be a JSON object with a \"nodes\" "
		    "array");
		return;
	}
	if (json_array_size(nodes) > GRAPH_MAX_NODES) {
		ERR(p, "the graph has %zu nodes, more than %d (split it)",
		    json_array_size(nodes), GRAPH_MAX_NODES);
		return;
	}
	edges = json_object_get(root, "edges");
	reactflow = edges != NULL;	/* or Workflow.to_dict() */
	json_array_foreach(nodes, i, jn)
		if (json_is_object(json_object_get(jn, "data")))
			reactflow = 1;
	p->g->nodes = calloc(json_array_size(nodes) + 1,
			     sizeof(*p->g->nodes));
	if (!p->g->nodes) {
		p->nomem = 1;
		return;
	}
	p->g->nnodes = json_array_size(nodes);
	json_array_foreach(nodes, i, jn)
		parse_node(p, i, jn, reactflow);
	if (reactflow)
		parse_edges(p, edges);
}

int graph_parse(struct graph **out, const char *name, const char *json,
		size_t len, struct graph_errors *errs)
{
	struct gp p = { .errs = errs };
	json_error_t jerr;
	json_t *root;

	*out = NULL;
	if (len > GRAPH_MAX_JSON) {
		graph_errors_addf(errs, "the graph is larger than 1 MiB "
				  "(move big values into files)");
		return -EINVAL;
	}
	if (!(p.g = calloc(1, sizeof(*p.g))) ||
	    !(p.g->name = strdup(name ? name : ""))) {
		graph_free(p.g);
		return -ENOMEM;
	}
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		/* jansson quotes the text near the error: one line only. */
		for (char *c = jerr.text; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
		graph_errors_addf(errs, "invalid JSON at line %d, column %d: "
				  "%s", jerr.line, jerr.column, jerr.text);
		graph_free(p.g);
		return -EINVAL;
	}
	parse_root(&p, root);
	json_decref(root);
	if (p.nomem || p.nerr) {
		graph_free(p.g);
		return p.nomem ? -ENOMEM : -EINVAL;
	}
	*out = p.g;
	return 0;
}
