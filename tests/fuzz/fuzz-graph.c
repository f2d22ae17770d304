/* tests/fuzz/fuzz-graph.c: a libFuzzer target for the graph parser
 * (core/run/graph.h): parse, check against five fixed skills, free. Beyond "no
 * crash, no leak" it checks what callers rely on: 0, -EINVAL or -ENOMEM
 * (and the lookup's -EIO for the skill "broken"), at least one message
 * on -EINVAL, every message one line, a graph only on 0, an order on a
 * check that passed with every node once and after the nodes it links
 * from, and the same answer from a second check. The skills cover every
 * port type, defaults and required inputs.
 * tests/unit/test-fuzz-graph.c runs it over tests/fuzz/graph-corpus/
 * under the sanitizers.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I. \
 *     tests/fuzz/fuzz-graph.c core/graph*.c core/skill*.c core/util/buf.c \
 *     -lyaml -lmd4c -ljansson */
#include "core/run/graph.h"
#include "core/skill/skill.h"
#include "tests/graph-skills.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parsed once, kept until exit (reachable, so not a leak). */
static struct skill *fuzz_skills[GRAPH_NSKILLS];

static void fuzz_load_skills(void)
{
	for (size_t i = 0; i < GRAPH_NSKILLS; i++) {
		const char *t = graph_skill_texts[i][1];
		struct skill_errors e;

		if (fuzz_skills[i])
			continue;
		skill_errors_init(&e);
		if (skill_parse(&fuzz_skills[i], graph_skill_texts[i][0], t,
				strlen(t), &e) || e.n)
			abort();
		skill_errors_release(&e);
	}
}

/* "broken" fails as a lookup that cannot read its folder would. */
static int fuzz_lookup(void *arg, const char *name, const struct skill **out)
{
	(void)arg;
	if (strcmp(name, "broken") == 0)
		return -EIO;
	for (size_t i = 0; i < GRAPH_NSKILLS; i++)
		if (strcmp(fuzz_skills[i]->skill_id, name) == 0) {
			*out = fuzz_skills[i];
			return 0;
		}
	return -ENOENT;
}

/* Bounded, one line each, and some when refused. */
static void fuzz_check_errors(const struct graph_errors *e, int refused)
{
	if (e->n > GRAPH_MAX_ERRORS || (refused && !e->n))
		abort();
	for (size_t i = 0; i < e->n; i++) {
		if (!e->v[i] || !e->v[i][0])
			abort();
		for (const char *c = e->v[i]; *c; c++)
			if ((unsigned char)*c < 0x20)
				abort();
	}
}

/* Every node once in g->order, each after the nodes it links from. */
static void fuzz_check_order(const struct graph *g)
{
	size_t *pos = calloc(g->nnodes + 1, sizeof(*pos));

	if (!pos || !g->order)
		abort();
	for (size_t i = 0; i < g->nnodes; i++)
		pos[i] = GRAPH_NONE;
	for (size_t k = 0; k < g->nnodes; k++) {
		if (g->order[k] >= g->nnodes || pos[g->order[k]] != GRAPH_NONE)
			abort();
		pos[g->order[k]] = k;
	}
	for (size_t i = 0; i < g->nnodes; i++) {
		if (!g->nodes[i].sk)
			abort();
		for (size_t j = 0; j < g->nodes[i].ninputs; j++) {
			const struct graph_input *in = &g->nodes[i].inputs[j];

			if (!in->from_id != !!in->literal)
				abort();
			if (in->from_id && (in->from >= g->nnodes ||
					    pos[in->from] >= pos[i]))
				abort();
		}
	}
	free(pos);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct graph_errors e;
	struct graph *g = NULL;
	size_t *order = NULL;
	int rc, rc2;

	fuzz_load_skills();
	graph_errors_init(&e);
	rc = graph_parse(&g, "fuzz", (const char *)data, size, &e);
	if (rc != 0 && rc != -EINVAL && rc != -ENOMEM)
		abort();
	if (!rc != !!g)
		abort();
	fuzz_check_errors(&e, rc == -EINVAL);
	if (g) {
		rc = graph_check(g, fuzz_lookup, NULL, &e);
		if (rc != 0 && rc != -EINVAL && rc != -ENOMEM && rc != -EIO)
			abort();
		fuzz_check_errors(&e, rc == -EINVAL);
		if (rc == 0) {
			fuzz_check_order(g);
			order = malloc((g->nnodes + 1) * sizeof(*order));
			if (!order)
				abort();
			memcpy(order, g->order, g->nnodes * sizeof(*order));
		} else if (rc == -EINVAL && g->order) {
			abort();
		}
		/* Again, without an error list: the same answer. */
		rc2 = graph_check(g, fuzz_lookup, NULL, NULL);
		if (rc2 != rc && rc != -ENOMEM && rc2 != -ENOMEM)
			abort();
		if (rc == 0 && rc2 == 0 &&
		    memcmp(order, g->order, g->nnodes * sizeof(*order)))
			abort();
		free(order);
	}
	graph_free(g);
	graph_errors_release(&e);
	return 0;
}
