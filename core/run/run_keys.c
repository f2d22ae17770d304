/* core/run/run_keys.c: the cache key of each node (ComfyUI's signature idea:
 * a node's key covers its ancestors' keys, not their outputs, so every
 * key is known before anything runs). See run_keys() in engine.h. */
#include "core/run/engine_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define KEY_VERSION "llmunix-node-key-1\n"

static int set_json_text(json_t *obj, const char *key, const char *text)
{
	json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);

	if (!v)
		return -EINVAL;
	return json_object_set_new(obj, key, v) ? -ENOMEM : 0;
}

json_t *run_literal_inputs(const struct graph *g, size_t i)
{
	const struct graph_node *n = &g->nodes[i];
	json_t *obj = json_object();

	if (!obj)
		return NULL;
	for (size_t k = 0; k < n->ninputs; k++) {
		const struct graph_input *in = &n->inputs[k];

		if (in->literal && set_json_text(obj, in->port, in->literal))
			goto fail;
	}
	for (size_t k = 0; n->sk && k < n->sk->ninputs; k++) {
		const struct skill_port *p = &n->sk->inputs[k];

		if (p->default_json && p->name &&
		    !graph_node_input(n, p->name) &&
		    set_json_text(obj, p->name, p->default_json))
			goto fail;
	}
	return obj;
fail:
	json_decref(obj);
	return NULL;
}

static int cmp_port(const void *a, const void *b)
{
	const struct graph_input *x = *(const struct graph_input *const *)a;
	const struct graph_input *y = *(const struct graph_input *const *)b;

	return strcmp(x->port, y->port);
}

static int node_key(const struct graph *g, size_t i,
		    const uint8_t skill_hash[SHA256_LEN],
		    const uint8_t nonce[SHA256_LEN],
		    uint8_t (*keys)[SHA256_LEN])
{
	const struct graph_node *n = &g->nodes[i];
	const struct graph_input **links;
	json_t *lit = run_literal_inputs(g, i);
	size_t nl = 0;
	struct sha256 s;
	char *text;

	if (!lit)
		return -ENOMEM;
	text = json_dumps(lit, JSON_COMPACT | JSON_SORT_KEYS |
			  JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
	json_decref(lit);
	links = calloc(n->ninputs + 1, sizeof(*links));
	if (!text || !links) {
		free(text);
		free(links);
		return -ENOMEM;
	}
	for (size_t k = 0; k < n->ninputs; k++)
		if (!n->inputs[k].literal)
			links[nl++] = &n->inputs[k];
	qsort(links, nl, sizeof(*links), cmp_port);

	sha256_begin(&s);
	sha256_add(&s, KEY_VERSION, strlen(KEY_VERSION));
	if (n->sk) {
		const char *r = skill_runner_name(n->sk->runner);

		sha256_add(&s, r ? r : "", r ? strlen(r) + 1 : 1);
	}
	sha256_add(&s, skill_hash, SHA256_LEN);
	sha256_add(&s, text, strlen(text) + 1);
	for (size_t k = 0; k < nl; k++) {
		const struct graph_input *in = links[k];

		sha256_add(&s, in->port, strlen(in->port) + 1);
		sha256_add(&s, in->from_port, strlen(in->from_port) + 1);
		if (in->from != GRAPH_NONE)
			sha256_add(&s, keys[in->from], SHA256_LEN);
	}
	if (!n->cache)
		sha256_add(&s, nonce, SHA256_LEN);
	sha256_end(&s, keys[i]);
	free(text);
	free(links);
	return 0;
}

int run_keys(const struct graph *g, const uint8_t (*skill_hash)[SHA256_LEN],
	     const uint8_t nonce[SHA256_LEN], uint8_t (*keys)[SHA256_LEN])
{
	for (size_t k = 0; k < g->nnodes; k++) {
		size_t i = g->order[k];
		int rc = node_key(g, i, skill_hash[i], nonce, keys);

		if (rc)
			return rc;
	}
	return 0;
}

int run_link_is_file(const struct graph *g, const struct graph_node *n,
		     const struct graph_input *gi)
{
	const struct skill_port *p = NULL;
	const struct skill *up;

	if (n->sk)
		p = graph_port_find(n->sk->inputs, n->sk->ninputs, gi->port);
	if (!p || p->type == SKILL_PORT_FILE)
		return p != NULL;
	if (p->type != SKILL_PORT_ANY || gi->from == GRAPH_NONE)
		return 0;
	up = g->nodes[gi->from].sk;
	p = up ? graph_port_find(up->outputs, up->noutputs, gi->from_port) :
		 NULL;
	return p && p->type == SKILL_PORT_FILE;
}
