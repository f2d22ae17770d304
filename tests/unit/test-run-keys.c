/* tests/unit/test-run-keys.c: run_keys() (core/run/engine.h): the same graph
 * gives the same keys; one changed input changes exactly that node's key
 * and its descendants'; skill content, defaults, links and "cache": false
 * all count, and the order of inputs in the JSON does not. */
#include "core/run/engine.h"
#include "core/run/graph.h"
#include "core/skill/skill.h"
#include "unit.h"

#include <errno.h>
#include <string.h>

static const char step_md[] =
	"---\nname: step\ndescription: d\ntype: python\ninputs:\n"
	"  - {name: x, type: number, required: true}\n"
	"  - {name: k, type: integer, default: 2}\n"
	"outputs:\n  - {name: y, type: number}\n---\nA step.\n\n"
	"```python\ndef execute(inputs):\n    return {'y': inputs['x']}\n"
	"```\n";
static const char join_md[] =
	"---\nname: join\ndescription: d\ntype: python\ninputs:\n"
	"  - {name: l, type: number, required: true}\n"
	"  - {name: r, type: number, required: true}\n"
	"outputs:\n  - {name: y, type: number}\n---\nA join.\n\n"
	"```python\ndef execute(inputs):\n    return {'y': 1}\n```\n";

static struct skill *step, *join;

static int lookup(void *arg, const char *name, const struct skill **out)
{
	(void)arg;
	if (strcmp(name, "step") == 0)
		*out = step;
	else if (strcmp(name, "join") == 0)
		*out = join;
	else
		return -ENOENT;
	return 0;
}

/* A diamond a -> (b, c) -> d, with e apart. */
#define DIAMOND(ax, bk, cx, dcache) \
	"{\"nodes\": [" \
	"{\"id\": \"a\", \"skill\": \"step\", \"inputs\": {\"x\": " ax "}}," \
	"{\"id\": \"b\", \"skill\": \"step\", \"inputs\": " \
	"{\"x\": {\"from\": \"a.y\"}" bk "}}," \
	"{\"id\": \"c\", \"skill\": \"step\", \"inputs\": " \
	"{\"x\": {\"from\": \"a.y\"}" cx "}}," \
	"{\"id\": \"d\", \"skill\": \"join\", " dcache "\"inputs\": " \
	"{\"l\": {\"from\": \"b.y\"}, \"r\": {\"from\": \"c.y\"}}}," \
	"{\"id\": \"e\", \"skill\": \"step\", \"inputs\": {\"x\": 7}}]}"

#define N 5
#define C5 ", \"k\": 5"

/* Keys of `json`, with skill hashes from the skill's name (or `hash_b`
 * for node b when given) and a fixed nonce. */
static int keys_of(const char *json, uint8_t keys[N][SHA256_LEN],
		   const uint8_t *hash_b, const uint8_t *nonce)
{
	uint8_t hash[N][SHA256_LEN], zero[SHA256_LEN] = { 0 };
	struct graph_errors e;
	struct graph *g = NULL;
	int rc;

	graph_errors_init(&e);
	rc = graph_parse(&g, "t", json, strlen(json), &e);
	if (!rc)
		rc = graph_check(g, lookup, NULL, &e);
	if (rc) {
		unit_note("graph error: %s", e.n ? e.v[0] : "?");
		goto out;
	}
	for (size_t i = 0; i < N; i++) {
		const char *s = g->nodes[i].sk == step ? step_md : join_md;

		sha256(s, strlen(s), hash[i]);
	}
	if (hash_b)
		memcpy(hash[1], hash_b, SHA256_LEN);
	rc = run_keys(g, (const uint8_t(*)[SHA256_LEN])hash,
		      nonce ? nonce : zero, keys);
out:
	graph_free(g);
	graph_errors_release(&e);
	return rc;
}

/* Which of a..e changed between two key sets, as a string like "acd". */
static const char *changed(uint8_t a[N][SHA256_LEN], uint8_t b[N][SHA256_LEN])
{
	static char out[N + 1];
	size_t k = 0;

	for (size_t i = 0; i < N; i++)
		if (memcmp(a[i], b[i], SHA256_LEN))
			out[k++] = (char)('a' + i);
	out[k] = '\0';
	return out;
}

int main(void)
{
	uint8_t base[N][SHA256_LEN], k2[N][SHA256_LEN], other[SHA256_LEN];
	uint8_t nonce[SHA256_LEN];
	struct skill_errors e;

	skill_errors_init(&e);
	skill_parse(&step, "step.md", step_md, strlen(step_md), &e);
	skill_parse(&join, "join.md", join_md, strlen(join_md), &e);
	CHECK_INT_EQ(0, e.n, "the test skills parse");
	skill_errors_release(&e);

	CHECK_INT_EQ(0, keys_of(DIAMOND("1", "", C5, ""), base, NULL, NULL),
		     "keys of the diamond");
	CHECK_INT_EQ(0, keys_of(DIAMOND("1", "", C5, ""), k2, NULL, NULL),
		     "keys again");
	CHECK_STR_EQ("", changed(base, k2), "the same graph, the same keys");
	{
		uint8_t same[N][SHA256_LEN];

		keys_of(DIAMOND("1", "", "", ""), same, NULL, NULL);
		CHECK(memcmp(same[1], same[2], SHA256_LEN) == 0,
		      "b and c doing the same work share a key");
	}
	for (size_t i = 0; i < N; i++)
		for (size_t j = i + 1; j < N; j++)
			CHECK(memcmp(base[i], base[j], SHA256_LEN) != 0,
			      "nodes %c and %c have different keys",
			      (char)('a' + i), (char)('a' + j));

	keys_of(DIAMOND("2", "", C5, ""), k2, NULL, NULL);
	CHECK_STR_EQ("abcd", changed(base, k2),
		     "a's input changed: a and all its descendants, not e");
	keys_of(DIAMOND("1", ", \"k\": 3", C5, ""), k2, NULL, NULL);
	CHECK_STR_EQ("bd", changed(base, k2),
		     "b's k changed: b and d only");
	keys_of(DIAMOND("1", ", \"k\": 2", C5, ""), k2, NULL, NULL);
	CHECK_STR_EQ("", changed(base, k2),
		     "b's k given as its default: the same keys");
	keys_of(DIAMOND("1.0", "", C5, ""), k2, NULL, NULL);
	CHECK_STR_EQ("abcd", changed(base, k2),
		     "1.0 is not the integer 1: a different input");
	keys_of("{\"nodes\": ["
		"{\"id\": \"a\", \"skill\": \"step\", \"inputs\": {\"x\": 1}},"
		"{\"inputs\": {\"x\": {\"from\": \"a.y\"}}, \"skill\": \"step\","
		" \"id\": \"b\"},"
		"{\"id\": \"c\", \"skill\": \"step\", \"inputs\": "
		"{\"x\": {\"from\": \"a.y\"}, \"k\": 5}},"
		"{\"id\": \"d\", \"skill\": \"join\", \"inputs\": "
		"{\"r\": {\"from\": \"c.y\"}, \"l\": {\"from\": \"b.y\"}}},"
		"{\"id\": \"e\", \"skill\": \"step\", \"inputs\": {\"x\": 7}}]}",
		k2, NULL, NULL);
	CHECK_STR_EQ("", changed(base, k2),
		     "keys and inputs in another order: the same keys");

	sha256("edited", 6, other);
	keys_of(DIAMOND("1", "", C5, ""), k2, other, NULL);
	CHECK_STR_EQ("bd", changed(base, k2),
		     "b's skill file edited: b and d");

	keys_of(DIAMOND("1", "", C5, "\"cache\": false, "), k2, NULL, NULL);
	CHECK_STR_EQ("d", changed(base, k2),
		     "cache false: d's key is not the cached one");
	{
		uint8_t k3[N][SHA256_LEN];

		memset(nonce, 0x5a, sizeof(nonce));
		keys_of(DIAMOND("1", "", C5, "\"cache\": false, "), k3, NULL,
			nonce);
		CHECK_STR_EQ("d", changed(k2, k3),
			     "cache false: each run's nonce gives d a new key");
	}

	/* links swapped: d's l and r from c and b */
	keys_of("{\"nodes\": ["
		"{\"id\": \"a\", \"skill\": \"step\", \"inputs\": {\"x\": 1}},"
		"{\"id\": \"b\", \"skill\": \"step\", \"inputs\": "
		"{\"x\": {\"from\": \"a.y\"}}},"
		"{\"id\": \"c\", \"skill\": \"step\", \"inputs\": "
		"{\"x\": {\"from\": \"a.y\"}, \"k\": 5}},"
		"{\"id\": \"d\", \"skill\": \"join\", \"inputs\": "
		"{\"l\": {\"from\": \"c.y\"}, \"r\": {\"from\": \"b.y\"}}},"
		"{\"id\": \"e\", \"skill\": \"step\", \"inputs\": {\"x\": 7}}]}",
		k2, NULL, NULL);
	CHECK_STR_EQ("d", changed(base, k2),
		     "d's links swapped: d's key changes");

	skill_free(step);
	skill_free(join);
	return unit_done();
}
