/* core/run/graph.c: error lists, quoting and freeing for graphs, see graph.h. */
#include "core/run/graph.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void graph_errors_init(struct graph_errors *e)
{
	memset(e, 0, sizeof(*e));
}

void graph_errors_release(struct graph_errors *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
	graph_errors_init(e);
}

void graph_errors_addf(struct graph_errors *e, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;
	int rc;

	if (!e)
		return;
	if (e->n >= GRAPH_MAX_ERRORS) {
		e->dropped++;
		return;
	}
	if (!e->v) {
		e->v = calloc(GRAPH_MAX_ERRORS, sizeof(*e->v));
		if (!e->v) {
			e->dropped++;
			return;
		}
	}
	va_start(ap, fmt);
	rc = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (rc < 0) {
		e->dropped++;
		return;
	}
	e->v[e->n++] = msg;
}

const char *graph_quote(char *dst, size_t cap, const char *s)
{
	size_t n = 0, i;

	if (!cap)
		return dst;
	for (i = 0; s[i] && n + 4 < cap && i < 64; i++) {
		unsigned char ch = (unsigned char)s[i];

		dst[n++] = (ch < 0x20 || ch == 0x7f || ch == '\'') ? '?' :
								     (char)ch;
	}
	if (s[i]) {
		/* Do not cut a UTF-8 sequence in two. */
		while (n > 0 && i > 0 &&
		       ((unsigned char)s[i] & 0xc0) == 0x80) {
			n--;
			i--;
		}
		if (n + 4 <= cap) {
			memcpy(dst + n, "...", 3);
			n += 3;
		}
	}
	dst[n] = '\0';
	return dst;
}

static void node_release(struct graph_node *nd)
{
	for (size_t i = 0; i < nd->ninputs; i++) {
		free(nd->inputs[i].port);
		free(nd->inputs[i].literal);
		free(nd->inputs[i].from_id);
		free(nd->inputs[i].from_port);
	}
	free(nd->inputs);
	free(nd->id);
	free(nd->skill);
}

const struct skill_port *graph_port_find(const struct skill_port *v,
					 size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].name && strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

int graph_node_add_link(struct graph_node *nd, const char *port,
			const char *from_id, const char *from_port)
{
	struct graph_input *v, *in;

	if (nd->ninputs >= GRAPH_MAX_INPUTS)
		return -E2BIG;
	v = reallocarray(nd->inputs, nd->ninputs + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	nd->inputs = v;
	in = &v[nd->ninputs];
	memset(in, 0, sizeof(*in));
	in->from = GRAPH_NONE;
	in->port = strdup(port);
	in->from_id = strdup(from_id);
	in->from_port = strdup(from_port);
	nd->ninputs++;
	if (!in->port || !in->from_id || !in->from_port)
		return -ENOMEM;	/* freed with the node */
	return 0;
}

const struct graph_input *graph_node_input(const struct graph_node *nd,
					   const char *port)
{
	for (size_t i = 0; i < nd->ninputs; i++)
		if (strcmp(nd->inputs[i].port, port) == 0)
			return &nd->inputs[i];
	return NULL;
}

void graph_free(struct graph *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->nnodes; i++)
		node_release(&g->nodes[i]);
	for (size_t i = 0; i < g->nedges; i++) {
		free(g->edges[i].from);
		free(g->edges[i].to);
		free(g->edges[i].out);
		free(g->edges[i].in);
	}
	free(g->edges);
	free(g->nodes);
	free(g->order);
	free(g->name);
	free(g);
}
