/* core/run/graph_check.c: a parsed graph checked against its skills, and its
 * topological order (Kahn), see graph.h. */
#include "core/run/graph.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/util/buf.h"

#define Q(buf, s) graph_quote((buf), sizeof(buf), (s))

struct gc {
	struct graph *g;
	struct graph_errors *errs;
	size_t nerr;
};

#define ERR(c, ...) \
	do { \
		(c)->nerr++; \
		graph_errors_addf((c)->errs, __VA_ARGS__); \
	} while (0)

/* "an object", "a number", ... for messages. */
static const char *port_article(enum skill_port_type t)
{
	switch (t) {
	case SKILL_PORT_INTEGER:
		return "an integer";
	case SKILL_PORT_OBJECT:
		return "an object";
	case SKILL_PORT_ARRAY:
		return "an array";
	case SKILL_PORT_ANY:
		return "anything";
	case SKILL_PORT_NUMBER:
		return "a number";
	case SKILL_PORT_STRING:
		return "a string";
	case SKILL_PORT_BOOLEAN:
		return "a boolean";
	case SKILL_PORT_FILE:
		return "a file";
	}
	return "?";
}

static const char *kind_article(enum graph_kind k)
{
	static const char *const name[] = {
		[GRAPH_KIND_NULL] = "null",
		[GRAPH_KIND_BOOLEAN] = "a boolean",
		[GRAPH_KIND_INTEGER] = "an integer",
		[GRAPH_KIND_REAL] = "a decimal number",
		[GRAPH_KIND_STRING] = "a string",
		[GRAPH_KIND_OBJECT] = "an object",
		[GRAPH_KIND_ARRAY] = "an array",
	};

	return name[k];
}

/* Whether an output of type `out` may feed an input of type `in`. */
static int link_ok(enum skill_port_type out, enum skill_port_type in)
{
	if (out == SKILL_PORT_ANY || in == SKILL_PORT_ANY || out == in)
		return 1;
	return out == SKILL_PORT_INTEGER && in == SKILL_PORT_NUMBER;
}

/* Whether a literal of kind `k` fits an input of type `in`; a file input
 * takes a path. */
static int literal_ok(enum graph_kind k, enum skill_port_type in)
{
	switch (in) {
	case SKILL_PORT_ANY:
		return 1;
	case SKILL_PORT_NUMBER:
		return k == GRAPH_KIND_INTEGER || k == GRAPH_KIND_REAL;
	case SKILL_PORT_INTEGER:
		return k == GRAPH_KIND_INTEGER;
	case SKILL_PORT_STRING:
	case SKILL_PORT_FILE:
		return k == GRAPH_KIND_STRING;
	case SKILL_PORT_BOOLEAN:
		return k == GRAPH_KIND_BOOLEAN;
	case SKILL_PORT_OBJECT:
		return k == GRAPH_KIND_OBJECT;
	case SKILL_PORT_ARRAY:
		return k == GRAPH_KIND_ARRAY;
	}
	return 0;
}

/* "a, b, c" (or "none"), cut short for messages. */
static const char *port_list(char *dst, size_t cap,
			     const struct skill_port *v, size_t n)
{
	size_t len = 0;

	dst[0] = '\0';
	for (size_t i = 0; i < n && v[i].name; i++) {
		size_t l = strlen(v[i].name) + (i ? 2 : 0);

		if (len + l + 4 >= cap) {
			memcpy(dst + len, "...", 4);
			return dst;
		}
		if (i)
			memcpy(dst + len, ", ", 2);
		memcpy(dst + len + (i ? 2 : 0), v[i].name, l - (i ? 2 : 0));
		len += l;
		dst[len] = '\0';
	}
	return n ? dst : "none";
}

static size_t index_of(struct graph *g, const char *id)
{
	for (size_t i = 0; i < g->nnodes; i++)
		if (strcmp(g->nodes[i].id, id) == 0)
			return i;
	return GRAPH_NONE;
}

static void check_link(struct gc *c, struct graph_node *nd,
		       struct graph_input *in, const struct skill_port *pt)
{
	const struct graph_node *from;
	const struct skill_port *op;
	char q[80], q2[80], list[256];

	in->from = index_of(c->g, in->from_id);
	if (in->from == GRAPH_NONE) {
		ERR(c, "node '%s': input '%s': link from unknown node '%s' "
		    "(no node has that id)", nd->id, Q(q, in->port),
		    Q(q2, in->from_id));
		return;
	}
	from = &c->g->nodes[in->from];
	if (!from->sk)
		return;		/* its unknown skill is reported */
	op = graph_port_find(from->sk->outputs, from->sk->noutputs,
			     in->from_port);
	if (!op) {
		ERR(c, "node '%s': input '%s': node '%s' has no output '%s' "
		    "(skill '%s' has outputs: %s)", nd->id, Q(q, in->port),
		    from->id, Q(q2, in->from_port), from->skill,
		    port_list(list, sizeof(list), from->sk->outputs,
			      from->sk->noutputs));
		return;
	}
	if (pt && !link_ok(op->type, pt->type))
		ERR(c, "node '%s': input '%s': type mismatch: '%s.%s' is %s, "
		    "the input wants %s", nd->id, Q(q, in->port), from->id,
		    Q(q2, in->from_port), port_article(op->type),
		    port_article(pt->type));
}

static void check_inputs(struct gc *c, struct graph_node *nd)
{
	const struct skill *sk = nd->sk;
	char q[80], q2[80], list[256];

	for (size_t i = 0; i < nd->ninputs; i++) {
		struct graph_input *in = &nd->inputs[i];
		const struct skill_port *pt = NULL;

		if (sk) {
			pt = graph_port_find(sk->inputs, sk->ninputs, in->port);
			if (!pt)
				ERR(c, "node '%s': unknown input '%s' (skill "
				    "'%s' has inputs: %s)", nd->id,
				    Q(q, in->port), Q(q2, nd->skill),
				    port_list(list, sizeof(list), sk->inputs,
					      sk->ninputs));
		}
		if (in->from_id)
			check_link(c, nd, in, pt);
		else if (pt && !literal_ok(in->kind, pt->type))
			ERR(c, "node '%s': input '%s': type mismatch: the "
			    "value is %s, the input wants %s", nd->id,
			    Q(q, in->port), kind_article(in->kind),
			    port_article(pt->type));
	}
	/* A skill with errors is reported as such by the caller: its
	 * ports may be what is wrong. */
	for (size_t i = 0; sk && !sk->nerrors && i < sk->ninputs; i++) {
		const struct skill_port *pt = &sk->inputs[i];

		if (pt->required && !pt->default_json && pt->name &&
		    !graph_node_input(nd, pt->name))
			ERR(c, "node '%s': input '%s': missing required input "
			    "(give a value or a link {\"from\": "
			    "\"node.output\"})", nd->id, Q(q, pt->name));
	}
}

/* The input of `to` that output `o` of `from` feeds through an edge
 * without ports: the input of o's name not given in the graph. */
static const struct skill_port *named_input(const struct graph_node *to,
					    const char *name)
{
	const struct skill_port *pt;

	pt = graph_port_find(to->sk->inputs, to->sk->ninputs, name);
	return pt && !graph_node_input(to, name) ? pt : NULL;
}

/* The only input of `to` not given in the graph, or NULL. */
static const struct skill_port *only_free_input(const struct graph_node *to)
{
	const struct skill_port *one = NULL;

	for (size_t i = 0; i < to->sk->ninputs; i++) {
		const struct skill_port *pt = &to->sk->inputs[i];

		if (!pt->name || graph_node_input(to, pt->name))
			continue;
		if (one)
			return NULL;
		one = pt;
	}
	return one;
}

/* One edge without ports: link outputs into inputs by name. */
static int resolve_edge(struct gc *c, struct graph_edge *e)
{
	size_t fi = index_of(c->g, e->from), ti = index_of(c->g, e->to);
	const struct graph_node *from;
	struct graph_node *to;
	const struct skill *fs;
	char q[80], q2[80], l1[256], l2[256];
	size_t linked = 0;
	int rc;

	if (e->linked)
		return 0;	/* the links are there */
	if (fi == GRAPH_NONE || ti == GRAPH_NONE) {
		ERR(c, "edges[%zu]: unknown node '%s' (no node has that id)",
		    e->index, Q(q, fi == GRAPH_NONE ? e->from : e->to));
		return 0;
	}
	from = &c->g->nodes[fi];
	to = &c->g->nodes[ti];
	if (!from->sk || !to->sk)
		return 0;	/* the unknown skill is reported */
	fs = from->sk;
	for (size_t i = 0; i < fs->noutputs; i++) {
		const char *o = fs->outputs[i].name;
		const struct skill_port *pt;

		if (!o || (e->out && strcmp(o, e->out)))
			continue;
		pt = named_input(to, e->in ? e->in : o);
		if (!pt)
			continue;
		if ((rc = graph_node_add_link(to, pt->name, from->id, o)))
			return rc == -E2BIG ? 0 : rc;
		linked++;
	}
	if (!linked) {
		/* The output given (or the only one) into the input given
		 * (or the only one left). */
		const struct skill_port *op = NULL, *pt;

		if (e->out)
			op = graph_port_find(fs->outputs, fs->noutputs, e->out);
		else if (fs->noutputs == 1 && fs->outputs[0].name)
			op = &fs->outputs[0];
		pt = e->in ? named_input(to, e->in) : only_free_input(to);
		if (op && pt && (rc = graph_node_add_link(to, pt->name,
							  from->id, op->name)))
			return rc == -E2BIG ? 0 : rc;
		linked = op && pt;
	}
	e->linked = linked > 0;
	if (!linked)
		ERR(c, "edges[%zu]: '%s' -> '%s' names no ports and no output "
		    "of '%s' (%s) matches an input of '%s' (%s) by name (give "
		    "\"sourceHandle\": \"<output>\", \"targetHandle\": "
		    "\"<input>\")", e->index, from->id, to->id, Q(q, from->skill),
		    port_list(l1, sizeof(l1), fs->outputs, fs->noutputs),
		    Q(q2, to->skill),
		    port_list(l2, sizeof(l2), to->sk->inputs,
			      to->sk->ninputs));
	return 0;
}

/* Name the nodes of one cycle among those Kahn could not order
 * (left[i] set), in link order, starting from the first such node. */
static int report_cycle(struct gc *c, const char *left)
{
	struct graph *g = c->g;
	size_t n = g->nnodes, i, start = GRAPH_NONE, len = 0;
	size_t *path = calloc(n + 1, sizeof(*path));
	size_t *seen = calloc(n, sizeof(*seen));	/* position + 1 */
	struct buf b;
	int rc = -ENOMEM;

	if (!path || !seen)
		goto out;
	for (i = 0; i < n && start == GRAPH_NONE; i++)
		if (left[i])
			start = i;
	/* Walk back along links between unordered nodes: each has one. */
	for (i = start; !seen[i];) {
		struct graph_node *nd = &g->nodes[i];
		size_t next = GRAPH_NONE;

		seen[i] = ++len;
		path[len - 1] = i;
		for (size_t j = 0; j < nd->ninputs && next == GRAPH_NONE; j++)
			if (nd->inputs[j].from != GRAPH_NONE &&
			    left[nd->inputs[j].from])
				next = nd->inputs[j].from;
		if (next == GRAPH_NONE)
			break;	/* cannot happen */
		i = next;
	}
	/* path[seen[i]-1 .. len-1] is the cycle, backwards: turn it
	 * forwards, starting at its first node in the file. */
	{
		size_t s = seen[i] - 1, m = len - s, first = 0;

		for (size_t k = 0; k < m; k++) {
			seen[k] = path[len - 1 - k];
			if (seen[k] < seen[first])
				first = k;
		}
		buf_init(&b, 0);
		rc = buf_append(&b, "cycle: ", 7);
		for (size_t k = 0; !rc && k <= m; k++) {
			const char *id = g->nodes[seen[(first + k) % m]].id;

			rc = buf_append(&b, id, strlen(id));
			if (!rc && k < m)
				rc = buf_append(&b, " -> ", 4);
		}
	}
	if (!rc)
		ERR(c, "%s (remove one of these links)", b.data);
	buf_release(&b);
out:
	free(path);
	free(seen);
	return rc;
}

/* The nodes each node feeds, as index lists: succ[first[u] ..
 * first[u + 1]) for node u, one entry per link. */
static int successors(struct graph *g, size_t **firstp, size_t **succp)
{
	size_t n = g->nnodes, nlinks = 0;
	size_t *first = calloc(n + 2, sizeof(*first)), *succ;

	for (size_t i = 0; first && i < n; i++)
		for (size_t j = 0; j < g->nodes[i].ninputs; j++)
			if (g->nodes[i].inputs[j].from != GRAPH_NONE) {
				first[g->nodes[i].inputs[j].from + 2]++;
				nlinks++;
			}
	succ = calloc(nlinks + 1, sizeof(*succ));
	if (!first || !succ) {
		free(first);
		free(succ);
		return -ENOMEM;
	}
	for (size_t u = 2; u < n + 2; u++)
		first[u] += first[u - 1];
	/* first[u + 1] is now where u's list starts; fill moving it on. */
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < g->nodes[i].ninputs; j++)
			if (g->nodes[i].inputs[j].from != GRAPH_NONE)
				succ[first[g->nodes[i].inputs[j].from + 1]++] =
					i;
	*firstp = first;
	*succp = succ;
	return 0;
}

/* Kahn's algorithm over the links; a cycle is reported. */
static int order(struct gc *c)
{
	struct graph *g = c->g;
	size_t n = g->nnodes, head = 0, tail = 0;
	size_t *indeg = calloc(n + 1, sizeof(*indeg));
	size_t *queue = calloc(n + 1, sizeof(*queue));
	size_t *first = NULL, *succ = NULL;
	char *left = calloc(n + 1, 1);
	int rc = -ENOMEM;

	if (!indeg || !queue || !left || successors(g, &first, &succ))
		goto out;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < g->nodes[i].ninputs; j++)
			if (g->nodes[i].inputs[j].from != GRAPH_NONE)
				indeg[i]++;
	for (size_t i = 0; i < n; i++)
		if (!indeg[i])
			queue[tail++] = i;
	while (head < tail) {
		size_t u = queue[head++];

		for (size_t k = first[u]; k < first[u + 1]; k++)
			if (--indeg[succ[k]] == 0)
				queue[tail++] = succ[k];
	}
	rc = 0;
	if (tail < n) {
		for (size_t i = 0; i < n; i++)
			left[i] = indeg[i] != 0;
		rc = report_cycle(c, left);
		goto out;
	}
	free(g->order);
	g->order = queue;
	queue = NULL;
out:
	free(indeg);
	free(queue);
	free(left);
	free(first);
	free(succ);
	return rc;
}

int graph_check(struct graph *g, graph_skill_fn lookup, void *arg,
		struct graph_errors *errs)
{
	struct gc c = { .g = g, .errs = errs };
	char q[80];
	int rc;

	free(g->order);
	g->order = NULL;
	for (size_t i = 0; i < g->nnodes; i++) {
		struct graph_node *nd = &g->nodes[i];

		nd->sk = NULL;
		for (size_t j = 0; j < i; j++)
			if (strcmp(g->nodes[j].id, nd->id) == 0) {
				ERR(&c, "node '%s': duplicate id (node ids "
				    "must be unique)", nd->id);
				break;
			}
		rc = lookup(arg, nd->skill, &nd->sk);
		if (rc == -ENOENT) {
			nd->sk = NULL;
			ERR(&c, "node '%s': unknown skill '%s' (check its name "
			    "with ls skills/, and that you may read it)",
			    nd->id, Q(q, nd->skill));
		} else if (rc) {
			return rc;
		}
	}
	for (size_t i = 0; i < g->nedges; i++)
		if ((rc = resolve_edge(&c, &g->edges[i])))
			return rc;
	for (size_t i = 0; i < g->nnodes; i++)
		check_inputs(&c, &g->nodes[i]);
	rc = order(&c);
	if (rc)
		return rc;
	if (c.nerr) {
		free(g->order);
		g->order = NULL;
		return -EINVAL;
	}
	return 0;
}
