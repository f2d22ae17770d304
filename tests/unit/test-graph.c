/* tests/unit/test-graph.c: graph_parse() and graph_check() (core/run/graph.h)
 * with skills made by skill_parse() from small skill texts, so that port
 * types are real: every error asserted word for word, orders of a chain
 * and a diamond, the React Flow form, literal types, the node cap, cycles
 * and hostile JSON. */
#include "core/run/graph.h"
#include "core/skill/skill.h"
#include "tests/graph-skills.h"
#include "unit.h"

#include <errno.h>
#include <string.h>


static struct skill *skills[GRAPH_NSKILLS];
static int lookup_fail;

static int lookup(void *arg, const char *name, const struct skill **out)
{
	(void)arg;
	if (lookup_fail)
		return lookup_fail;
	for (size_t i = 0; i < GRAPH_NSKILLS; i++)
		if (strcmp(skills[i]->skill_id, name) == 0) {
			*out = skills[i];
			return 0;
		}
	return -ENOENT;
}

static void load_skills(void)
{
	for (size_t i = 0; i < GRAPH_NSKILLS; i++) {
		struct skill_errors e;
		const char *t = graph_skill_texts[i][1];

		skill_errors_init(&e);
		CHECK_INT_EQ(0, skill_parse(&skills[i], graph_skill_texts[i][0], t,
					    strlen(t), &e),
			     "skill %s parses", graph_skill_texts[i][0]);
		CHECK_INT_EQ(0, e.n, "skill %s has no errors (%s)",
			     graph_skill_texts[i][0], e.n ? e.v[0].msg : "");
		skill_errors_release(&e);
	}
}

/* Parse and check `json`; returns graph_check's result (or the parse's
 * when it failed), the graph in *gout when wanted. */
static int run(const char *json, struct graph **gout,
	       struct graph_errors *e)
{
	struct graph *g = NULL;
	int rc;

	graph_errors_init(e);
	rc = graph_parse(&g, "t", json, strlen(json), e);
	if (!rc)
		rc = graph_check(g, lookup, NULL, e);
	if (gout)
		*gout = g;
	else
		graph_free(g);
	return rc;
}

/* The graph fails with exactly one message, `msg`. */
static void expect(const char *what, const char *json, const char *msg)
{
	struct graph_errors e;
	int rc = run(json, NULL, &e);

	CHECK_INT_EQ(msg ? -EINVAL : 0, rc, "%s: result", what);
	CHECK_INT_EQ(msg ? 1 : 0, e.n, "%s: %s error", what,
		     msg ? "one" : "no");
	if (msg)
		CHECK_STR_EQ(msg, e.n ? e.v[0] : NULL, "%s: message", what);
	else if (e.n)
		unit_note("unexpected: %s", e.v[0]);
	graph_errors_release(&e);
}

static void test_errors(void)
{
	struct graph_errors e;
	int rc;

	rc = run("{\"nodes\": [\n  {\"id\": \"a\",\n", NULL, &e);
	CHECK_INT_EQ(-EINVAL, rc, "truncated JSON is refused");
	CHECK_INT_EQ(1, e.n, "truncated JSON: one error");
	CHECK_STR_EQ("invalid JSON at line 3, column 0: string or '}' expected "
		     "near end of file", e.n ? e.v[0] : NULL,
		     "truncated JSON: message with line and column");
	graph_errors_release(&e);
	expect("bad token", "{\"nodes\": [\n {\"id\": tru}]}",
	       "invalid JSON at line 2, column 11: invalid token near 'tru'");
	expect("not an object", "[1, 2]",
	       "the graph must be a JSON object with a \"nodes\" array");
	expect("duplicate id",
	       "{\"nodes\": [{\"id\": \"a\", \"skill\": \"src\"},"
	       " {\"id\": \"a\", \"skill\": \"src\"}]}",
	       "node 'a': duplicate id (node ids must be unique)");
	expect("unknown node",
	       "{\"nodes\": [{\"id\": \"b\", \"skill\": \"step\", \"inputs\":"
	       " {\"x\": {\"from\": \"zz.y\"}}}]}",
	       "node 'b': input 'x': link from unknown node 'zz' (no node "
	       "has that id)");
	expect("unknown skill",
	       "{\"nodes\": [{\"id\": \"a\", \"skill\": \"nope\"}]}",
	       "node 'a': unknown skill 'nope' (check its name with ls "
	       "skills/, and that you may read it)");
	expect("unknown input",
	       "{\"nodes\": [{\"id\": \"a\", \"skill\": \"step\", \"inputs\":"
	       " {\"x\": 1, \"zz\": 2}}]}",
	       "node 'a': unknown input 'zz' (skill 'step' has inputs: x, k, "
	       "req2)");
	expect("unknown output",
	       "{\"nodes\": [{\"id\": \"a\", \"skill\": \"src\"},"
	       " {\"id\": \"b\", \"skill\": \"step\", \"inputs\":"
	       " {\"x\": {\"from\": \"a.q\"}}}]}",
	       "node 'b': input 'x': node 'a' has no output 'q' (skill 'src' "
	       "has outputs: n, x, terms, o, s, v, f, b)");
	expect("missing required",
	       "{\"nodes\": [{\"id\": \"a\", \"skill\": \"step\", "
	       "\"inputs\": {\"k\": 1}}]}",
	       "node 'a': input 'x': missing required input (give a value "
	       "or a link {\"from\": \"node.output\"})");
	expect("link type mismatch",
	       "{\"nodes\": [{\"id\": \"build\", \"skill\": \"src\"},"
	       " {\"id\": \"vqe\", \"skill\": \"sink\", \"inputs\":"
	       " {\"i\": 1, \"o\": {\"from\": \"build.terms\"}}}]}",
	       "node 'vqe': input 'o': type mismatch: 'build.terms' is an "
	       "array, the input wants an object");
	expect("number into integer",
	       "{\"nodes\": [{\"id\": \"a\", \"skill\": \"src\"},"
	       " {\"id\": \"b\", \"skill\": \"sink\", \"inputs\":"
	       " {\"i\": {\"from\": \"a.x\"}}}]}",
	       "node 'b': input 'i': type mismatch: 'a.x' is a number, the "
	       "input wants an integer");
	expect("integer into number is fine",
	       "{\"nodes\": [{\"id\": \"a\", \"skill\": \"src\"},"
	       " {\"id\": \"b\", \"skill\": \"step\", \"inputs\":"
	       " {\"x\": {\"from\": \"a.n\"}}}]}", NULL);
	expect("any output into an object input is fine",
	       "{\"nodes\": [{\"id\": \"a\", \"skill\": \"src\"},"
	       " {\"id\": \"b\", \"skill\": \"sink\", \"inputs\":"
	       " {\"i\": 1, \"o\": {\"from\": \"a.v\"}, \"v\": {\"from\":"
	       " \"a.terms\"}, \"f\": {\"from\": \"a.f\"}}}]}", NULL);
	expect("file into string",
	       "{\"nodes\": [{\"id\": \"a\", \"skill\": \"src\"},"
	       " {\"id\": \"b\", \"skill\": \"sink\", \"inputs\":"
	       " {\"i\": 1, \"s\": {\"from\": \"a.f\"}}}]}",
	       "node 'b': input 's': type mismatch: 'a.f' is a file, the "
	       "input wants a string");
	expect("bad from",
	       "{\"nodes\": [{\"id\": \"a\", \"skill\": \"step\", \"inputs\":"
	       " {\"x\": {\"from\": \"nodot\"}}}]}",
	       "node 'a': input 'x': 'from' must be a string \"node.output\"");
	expect("missing skill", "{\"nodes\": [{\"id\": \"a\"}]}",
	       "node 'a': missing or invalid 'skill' (name the skill to run)");
	expect("missing id", "{\"nodes\": [{\"skill\": \"src\"}]}",
	       "nodes[0]: missing 'id' (give each node a unique string id)");
	expect("bad limit",
	       "{\"nodes\": [{\"id\": \"a\", \"skill\": \"src\", \"limits\":"
	       " {\"wall\": 3}}]}",
	       "node 'a': limits: unknown limit 'wall' (expected timeout_s, "
	       "memory_mb, cpu_s, procs, file_mb or output_mb)");
	expect("negative limit",
	       "{\"nodes\": [{\"id\": \"a\", \"skill\": \"src\", \"limits\":"
	       " {\"procs\": -1}}]}",
	       "node 'a': limits: 'procs' must be a positive number");
	expect("bad cache",
	       "{\"nodes\": [{\"id\": \"a\", \"skill\": \"src\", \"cache\":"
	       " 0}]}", "node 'a': 'cache' must be true or false");
	expect("self link",
	       "{\"nodes\": [{\"id\": \"a\", \"skill\": \"step\", \"inputs\":"
	       " {\"x\": {\"from\": \"a.y\"}}}]}",
	       "cycle: a -> a (remove one of these links)");
}

/* A cycle of three, written in two orders: named from its first node in
 * the file, in link order. */
static void test_cycle(void)
{
	expect("cycle of 3",
	       "{\"nodes\": ["
	       "{\"id\": \"a\", \"skill\": \"step\", \"inputs\": {\"x\":"
	       " {\"from\": \"c.y\"}}},"
	       "{\"id\": \"b\", \"skill\": \"step\", \"inputs\": {\"x\":"
	       " {\"from\": \"a.y\"}}},"
	       "{\"id\": \"c\", \"skill\": \"step\", \"inputs\": {\"x\":"
	       " {\"from\": \"b.y\"}}}]}",
	       "cycle: a -> b -> c -> a (remove one of these links)");
	expect("cycle of 3 behind a good node",
	       "{\"nodes\": ["
	       "{\"id\": \"s\", \"skill\": \"src\"},"
	       "{\"id\": \"c\", \"skill\": \"join\", \"inputs\": {\"l\":"
	       " {\"from\": \"b.y\"}, \"r\": {\"from\": \"s.x\"}}},"
	       "{\"id\": \"a\", \"skill\": \"step\", \"inputs\": {\"x\":"
	       " {\"from\": \"c.out\"}}},"
	       "{\"id\": \"b\", \"skill\": \"step\", \"inputs\": {\"x\":"
	       " {\"from\": \"a.y\"}}},"
	       "{\"id\": \"d\", \"skill\": \"step\", \"inputs\": {\"x\":"
	       " {\"from\": \"b.y\"}}}]}",
	       "cycle: c -> a -> b -> c (remove one of these links)");
}

/* The number of faults in g->order: a node missing or twice, or a node
 * before one it links from. */
static size_t order_faults(const struct graph *g)
{
	size_t *pos = calloc(g->nnodes + 1, sizeof(*pos)), bad = 0;

	for (size_t i = 0; i < g->nnodes; i++)
		pos[i] = GRAPH_NONE;
	for (size_t k = 0; k < g->nnodes; k++)
		if (g->order[k] < g->nnodes && pos[g->order[k]] == GRAPH_NONE)
			pos[g->order[k]] = k;
		else
			bad++;
	for (size_t i = 0; i < g->nnodes && !bad; i++)
		for (size_t j = 0; j < g->nodes[i].ninputs; j++) {
			size_t f = g->nodes[i].inputs[j].from;

			if (g->nodes[i].inputs[j].from_id &&
			    (f == GRAPH_NONE || pos[f] >= pos[i]))
				bad++;
		}
	free(pos);
	return bad;
}

static void check_order(const char *what, struct graph *g)
{
	if (CHECK(g && g->order, "%s: has an order", what))
		CHECK_INT_EQ(0, order_faults(g), "%s: each node once, every "
			     "node after its dependencies", what);
}

static const struct graph_input *input(const struct graph_node *nd,
				       const char *port)
{
	for (size_t i = 0; i < nd->ninputs; i++)
		if (strcmp(nd->inputs[i].port, port) == 0)
			return &nd->inputs[i];
	return NULL;
}

static void test_valid(void)
{
	struct graph_errors e;
	struct graph *g = NULL;
	const struct graph_input *in;
	int rc;

	rc = run("{\"nodes\": ["
		 "{\"id\": \"c\", \"skill\": \"step\", \"inputs\": {\"x\":"
		 " {\"from\": \"b.y\"}, \"k\": 7}},"
		 "{\"id\": \"b\", \"skill\": \"step\", \"inputs\": {\"x\":"
		 " {\"from\": \"a.n\"}}, \"cache\": false, \"limits\":"
		 " {\"timeout_s\": 10, \"memory_mb\": 64}},"
		 "{\"id\": \"a\", \"skill\": \"src\"}]}", &g, &e);
	CHECK_INT_EQ(0, rc, "a three-node chain is valid");
	CHECK_INT_EQ(0, e.n, "a three-node chain: no errors");
	if (!rc && CHECK_INT_EQ(3, g->nnodes, "chain: three nodes")) {
		size_t want[] = { 2, 1, 0 };

		CHECK_MEM_EQ((const char *)want, sizeof(want),
			     (const char *)g->order, 3 * sizeof(size_t),
			     "chain: order a, b, c");
		check_order("chain", g);
		CHECK_STR_EQ("t", g->name, "chain: the name is kept");
		CHECK_STR_EQ("step", g->nodes[0].skill, "chain: c's skill");
		CHECK(g->nodes[0].sk == skills[1], "chain: c's record");
		CHECK_INT_EQ(1, g->nodes[0].cache, "chain: cache by default");
		CHECK_INT_EQ(0, g->nodes[1].cache, "chain: \"cache\": false");
		CHECK_INT_EQ((1u << SKILL_LIMIT_TIMEOUT_S) |
			     (1u << SKILL_LIMIT_MEMORY_MB),
			     g->nodes[1].limits_set, "chain: limits given");
		CHECK(g->nodes[1].limits[SKILL_LIMIT_TIMEOUT_S] == 10,
		      "chain: timeout_s 10");
		in = input(&g->nodes[0], "k");
		CHECK(in && in->literal && !strcmp(in->literal, "7") &&
		      in->kind == GRAPH_KIND_INTEGER && !in->from_id,
		      "chain: literal k is 7");
		in = input(&g->nodes[0], "x");
		CHECK(in && !in->literal && !strcmp(in->from_id, "b") &&
		      !strcmp(in->from_port, "y") && in->from == 1,
		      "chain: x links from b.y");
	}
	graph_free(g);
	graph_errors_release(&e);

	rc = run("{\"nodes\": ["
		 "{\"id\": \"d\", \"skill\": \"join\", \"inputs\": {\"l\":"
		 " {\"from\": \"b.y\"}, \"r\": {\"from\": \"c.y\"}}},"
		 "{\"id\": \"c\", \"skill\": \"step\", \"inputs\": {\"x\":"
		 " {\"from\": \"a.x\"}}},"
		 "{\"id\": \"b\", \"skill\": \"step\", \"inputs\": {\"x\":"
		 " {\"from\": \"a.n\"}}},"
		 "{\"id\": \"a\", \"skill\": \"src\"}]}", &g, &e);
	CHECK_INT_EQ(0, rc, "a diamond is valid");
	if (!rc) {
		check_order("diamond", g);
		CHECK_INT_EQ(3, g->order[0], "diamond: a first");
		CHECK_INT_EQ(0, g->order[3], "diamond: d last");
	}
	graph_free(g);
	graph_errors_release(&e);
}

/* The same chain in both forms gives the same structure. */
static void same_graph(const char *what, struct graph *a, struct graph *b)
{
	int same = a->nnodes == b->nnodes;

	for (size_t i = 0; same && i < a->nnodes; i++) {
		const struct graph_node *x = &a->nodes[i], *y = &b->nodes[i];

		same = !strcmp(x->id, y->id) && !strcmp(x->skill, y->skill) &&
		       x->ninputs == y->ninputs && x->cache == y->cache;
		for (size_t j = 0; same && j < x->ninputs; j++) {
			const struct graph_input *p = &x->inputs[j];
			const struct graph_input *q = input(y, p->port);

			same = q && !p->literal == !q->literal &&
			       (!p->literal ||
				!strcmp(p->literal, q->literal)) &&
			       !p->from_id == !q->from_id &&
			       (!p->from_id ||
				(!strcmp(p->from_id, q->from_id) &&
				 !strcmp(p->from_port, q->from_port) &&
				 p->from == q->from));
		}
	}
	if (same)
		same = !memcmp(a->order, b->order, a->nnodes * sizeof(size_t));
	CHECK(same, "%s: same nodes, inputs, links and order", what);
}

static const char rf_chain[] =
	"{\"nodes\": ["
	"{\"id\": \"a\", \"type\": \"skill\", \"position\":"
	" {\"x\": 0, \"y\": 0}, \"data\": {\"skillId\": \"src\"}},"
	"{\"id\": \"b\", \"data\": {\"skillId\": \"step\","
	" \"inputValues\": {\"k\": 4}}},"
	"{\"id\": \"c\", \"data\": {\"skillId\": \"join\","
	" \"inputValues\": {\"r\": 2.5, \"l\": 0}}}],"
	" \"edges\": ["
	"{\"id\": \"e1\", \"source\": \"a\", \"sourceHandle\":"
	" \"n\", \"target\": \"b\", \"targetHandle\": \"x\"},"
	"{\"id\": \"e2\", \"source\": \"b\", \"sourceHandle\":"
	" \"y\", \"target\": \"c\", \"targetHandle\": \"l\"}"
	"]}";

static void test_reactflow(void)
{
	struct graph_errors e;
	struct graph *native = NULL, *rf = NULL, *rf2 = NULL;

	CHECK_INT_EQ(0, run("{\"nodes\": ["
			    "{\"id\": \"a\", \"skill\": \"src\"},"
			    "{\"id\": \"b\", \"skill\": \"step\", \"inputs\":"
			    " {\"x\": {\"from\": \"a.n\"}, \"k\": 4}},"
			    "{\"id\": \"c\", \"skill\": \"join\", \"inputs\":"
			    " {\"l\": {\"from\": \"b.y\"}, \"r\": 2.5}}]}",
			    &native, &e), "native chain is valid");
	graph_errors_release(&e);
	CHECK_INT_EQ(0, run(rf_chain, &rf, &e), "React Flow chain is valid");
	graph_errors_release(&e);
	CHECK_INT_EQ(0, run("{\"nodes\": ["
			    "{\"id\": \"a\", \"data\": {\"skillId\": \"src\"}},"
			    "{\"id\": \"b\", \"data\": {\"skillId\": \"step\","
			    " \"inputValues\": {\"k\": 4}}},"
			    "{\"id\": \"c\", \"data\": {\"skillId\": \"join\","
			    " \"inputValues\": {\"r\": 2.5}}}],"
			    " \"edges\": ["
			    "{\"source\": \"a\", \"sourceOutput\": \"n\","
			    " \"target\": \"b\", \"targetInput\": \"x\"},"
			    "{\"source\": \"b\", \"sourceOutput\": \"y\","
			    " \"target\": \"c\", \"targetInput\": \"l\"}"
			    "]}", &rf2, &e),
		     "React Flow chain with sourceOutput/targetInput is valid");
	graph_errors_release(&e);
	if (native && rf && rf2) {
		same_graph("sourceHandle form", native, rf);
		same_graph("sourceOutput form", native, rf2);
	}
	graph_free(native);
	graph_free(rf);
	graph_free(rf2);
	expect("edge to an unknown node",
	       "{\"nodes\": [{\"id\": \"a\", \"data\": {\"skillId\":"
	       " \"src\"}}], \"edges\": [{\"source\": \"a\", \"sourceHandle\":"
	       " \"n\", \"target\": \"q\", \"targetHandle\": \"x\"}]}",
	       "edges[0]: unknown target node 'q' (no node has that id)");
	expect("edge without handles and no port of the same name",
	       "{\"nodes\": [{\"id\": \"a\", \"data\": {\"skillId\":"
	       " \"src\"}}], \"edges\": [{\"source\": \"a\", \"target\":"
	       " \"a\"}]}",
	       "edges[0]: 'a' -> 'a' names no ports and no output of 'src' (n, "
	       "x, terms, o, s, v, f, b) matches an input of 'src' (none) by "
	       "name (give \"sourceHandle\": \"<output>\", \"targetHandle\": "
	       "\"<input>\")");
	expect("edge with a handle that is not a string",
	       "{\"nodes\": [{\"id\": \"a\", \"data\": {\"skillId\":"
	       " \"src\"}}], \"edges\": [{\"source\": \"a\", \"target\":"
	       " \"a\", \"sourceHandle\": 3}]}",
	       "edges[0]: expected \"source\" and \"target\" strings, and "
	       "\"sourceHandle\" and \"targetHandle\" strings or null");
	expect("edge from an unknown node",
	       "{\"nodes\": [{\"id\": \"b\", \"data\": {\"skillId\":"
	       " \"step\"}}], \"edges\": [{\"source\": \"zz\", "
	       "\"sourceHandle\": \"y\", \"target\": \"b\", \"targetHandle\":"
	       " \"x\"}]}",
	       "node 'b': input 'x': link from unknown node 'zz' (no node "
	       "has that id)");
}

/* LLMos-Lite's Workflow.to_dict(): nodeId, skillId and inputValues on the
 * node, edgeId, and null handles when the ports go by name. */
static void test_workflow_to_dict(void)
{
	struct graph_errors e;
	struct graph *native = NULL, *named = NULL, *handles = NULL;

	CHECK_INT_EQ(0, run("{\"nodes\": ["
			    "{\"id\": \"a\", \"skill\": \"src\"},"
			    "{\"id\": \"b\", \"skill\": \"step\", \"inputs\":"
			    " {\"x\": {\"from\": \"a.x\"}, \"k\": 4}},"
			    "{\"id\": \"c\", \"skill\": \"join\", \"inputs\":"
			    " {\"l\": {\"from\": \"b.y\"}, \"r\": 2.5}}]}",
			    &native, &e), "native chain is valid");
	graph_errors_release(&e);
	CHECK_INT_EQ(0, run("{\"workflowId\": \"w1\", \"name\": \"chain\","
			    " \"nodes\": ["
			    "{\"nodeId\": \"a\", \"skillId\": \"src\","
			    " \"position\": {\"x\": 0, \"y\": 0},"
			    " \"inputValues\": {}},"
			    "{\"nodeId\": \"b\", \"skillId\": \"step\","
			    " \"inputValues\": {\"k\": 4}},"
			    "{\"nodeId\": \"c\", \"skillId\": \"join\","
			    " \"inputValues\": {\"r\": 2.5}}],"
			    " \"edges\": ["
			    "{\"edgeId\": \"e1\", \"source\": \"a\", \"target\":"
			    " \"b\", \"sourceHandle\": null, \"targetHandle\":"
			    " null},"
			    "{\"edgeId\": \"e2\", \"source\": \"b\", \"target\":"
			    " \"c\", \"sourceHandle\": null, \"targetHandle\":"
			    " null}]}", &named, &e),
		     "Workflow.to_dict() with null handles is valid");
	graph_errors_release(&e);
	CHECK_INT_EQ(0, run("{\"nodes\": ["
			    "{\"nodeId\": \"a\", \"skillId\": \"src\"},"
			    "{\"nodeId\": \"b\", \"skillId\": \"step\","
			    " \"inputValues\": {\"k\": 4}},"
			    "{\"nodeId\": \"c\", \"skillId\": \"join\","
			    " \"inputValues\": {\"r\": 2.5}}],"
			    " \"edges\": ["
			    "{\"edgeId\": \"e1\", \"source\": \"a\", \"target\":"
			    " \"b\", \"sourceHandle\": \"x\", \"targetHandle\":"
			    " \"x\"},"
			    "{\"edgeId\": \"e2\", \"source\": \"b\", \"target\":"
			    " \"c\", \"sourceHandle\": \"y\", \"targetHandle\":"
			    " null}]}", &handles, &e),
		     "Workflow.to_dict() with handles, one null, is valid");
	graph_errors_release(&e);
	if (native && named && handles) {
		same_graph("null handles: x by name, y into the only input "
			   "left", native, named);
		same_graph("handles given", native, handles);
		CHECK_INT_EQ(0, graph_check(named, lookup, NULL, &e),
			     "null handles: checked twice");
		same_graph("null handles, checked twice", native, named);
		graph_errors_release(&e);
	}
	graph_free(native);
	graph_free(named);
	graph_free(handles);
}

/* A literal `lit` for sink's input `port`: fine, or the message. */
static void literal(const char *port, const char *lit, const char *msg)
{
	char json[512], what[128];

	snprintf(json, sizeof(json),
		 "{\"nodes\": [{\"id\": \"n\", \"skill\": \"sink\", \"inputs\":"
		 " {%s\"%s\": %s}}]}", strcmp(port, "i") ? "\"i\": 1, " : "",
		 port, lit);
	snprintf(what, sizeof(what), "literal %s for %s", lit, port);
	expect(what, json, msg);
}

static void test_literals(void)
{
	static const char *const lits[] = {
		"3", "3.5", "\"s\"", "true", "{\"k\": [1]}", "[1, 2]", "null",
	};
	static const char *const kinds[] = {
		"an integer", "a decimal number", "a string",
		"a boolean", "an object", "an array", "null",
	};
	/* Which literals each port takes, by index in lits. */
	static const struct {
		const char *port, *wants;
		const char *ok;
	} ports[] = {
		{ "i", "an integer", "1000000" },
		{ "x", "a number", "1100000" },
		{ "s", "a string", "0010000" },
		{ "b", "a boolean", "0001000" },
		{ "o", "an object", "0000100" },
		{ "a", "an array", "0000010" },
		{ "f", "a file", "0010000" },
		{ "v", "anything", "1111111" },
	};
	char msg[256];

	for (size_t p = 0; p < sizeof(ports) / sizeof(ports[0]); p++)
		for (size_t l = 0; l < sizeof(lits) / sizeof(lits[0]); l++) {
			snprintf(msg, sizeof(msg),
				 "node 'n': input '%s': type mismatch: the "
				 "value is %s, the input wants %s",
				 ports[p].port, kinds[l], ports[p].wants);
			literal(ports[p].port, lits[l],
				ports[p].ok[l] == '1' ? NULL : msg);
		}
	literal("i", "3.0", "node 'n': input 'i': type mismatch: the value "
		"is a decimal number, the input wants an integer");
	literal("i", "-7", NULL);
	literal("x", "1e3", NULL);
	expect("default fills a required input",
	       "{\"nodes\": [{\"id\": \"a\", \"skill\": \"step\", \"inputs\":"
	       " {\"x\": -1e3}}]}", NULL);
}

/* A chain of `n` nodes: one src, then steps. */
static char *chain(size_t n)
{
	size_t cap = 64 + n * 96, len;
	char *s = malloc(cap);

	len = (size_t)snprintf(s, cap, "{\"nodes\": [{\"id\": \"n0\", "
			       "\"skill\": \"src\"}");
	for (size_t i = 1; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len,
					",\n{\"id\": \"n%zu\", \"skill\": "
					"\"step\", \"inputs\": {\"x\": "
					"{\"from\": \"n%zu.%s\"}}}", i, i - 1,
					i == 1 ? "x" : "y");
	snprintf(s + len, cap - len, "]}");
	return s;
}

static void test_caps(void)
{
	struct graph_errors e;
	struct graph *g = NULL;
	char *s = chain(1000);
	int rc;

	rc = run(s, &g, &e);
	CHECK_INT_EQ(0, rc, "a chain of 1000 nodes is valid");
	if (!rc) {
		check_order("chain of 1000", g);
		CHECK_INT_EQ(999, g->order[999], "chain of 1000: n999 last");
	}
	graph_free(g);
	graph_errors_release(&e);
	free(s);
	s = chain(1001);
	expect("a chain of 1001 nodes", s,
	       "the graph has 1001 nodes, more than 1000 (split it)");
	free(s);

	/* 300 inputs on one node. */
	s = malloc(300 * 16 + 128);
	{
		size_t len = (size_t)snprintf(s, 128, "{\"nodes\": [{\"id\": "
					      "\"a\", \"skill\": \"sink\", "
					      "\"inputs\": {\"i\": 1");

		for (int i = 0; i < 300; i++)
			len += (size_t)snprintf(s + len, 16, ", \"p%d\": 0", i);
		snprintf(s + len, 8, "}}]}");
	}
	expect("300 inputs", s, "node 'a': more than 256 inputs (split the "
	       "node)");
	free(s);

	/* 100 unknown skills: 64 messages kept. */
	s = malloc(100 * 48 + 32);
	{
		size_t len = (size_t)snprintf(s, 32, "{\"nodes\": [");

		for (int i = 0; i < 100; i++)
			len += (size_t)snprintf(s + len, 48, "%s{\"id\": "
						"\"n%d\", \"skill\": \"x\"}",
						i ? "," : "", i);
		snprintf(s + len, 8, "]}");
	}
	CHECK_INT_EQ(-EINVAL, run(s, NULL, &e), "100 unknown skills");
	CHECK_INT_EQ(GRAPH_MAX_ERRORS, e.n, "64 messages kept");
	CHECK_INT_EQ(36, e.dropped, "36 dropped");
	graph_errors_release(&e);
	free(s);

	lookup_fail = -EIO;
	CHECK_INT_EQ(-EIO, run("{\"nodes\": [{\"id\": \"a\", \"skill\":"
			       " \"src\"}]}", NULL, &e),
		     "a lookup's error is returned");
	graph_errors_release(&e);
	lookup_fail = 0;
}

static void test_ids(void)
{
	char json[256];
	char id[GRAPH_MAX_ID + 2];

	memset(id, 'x', sizeof(id));
	id[GRAPH_MAX_ID] = '\0';
	snprintf(json, sizeof(json),
		 "{\"nodes\": [{\"id\": \"%s\", \"skill\": \"src\"}]}", id);
	expect("an id of 64 characters", json, NULL);
	id[GRAPH_MAX_ID] = 'x';
	id[GRAPH_MAX_ID + 1] = '\0';
	snprintf(json, sizeof(json),
		 "{\"nodes\": [{\"id\": \"%s\", \"skill\": \"src\"}]}", id);
	expect("an id of 65 characters", json,
	       "nodes[0]: invalid id 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	       "xxxxxxxxxxxxxxxxxxxxxxxx...' (use 1 to 64 letters, digits, "
	       "'_' or '-')");
	expect("an id with a control character",
	       "{\"nodes\": [{\"id\": \"a\\u0001'b\", \"skill\": \"src\"}]}",
	       "nodes[0]: invalid id 'a??b' (use 1 to 64 letters, digits, "
	       "'_' or '-')");
	expect("an id with a slash",
	       "{\"nodes\": [{\"id\": \"../x\", \"skill\": \"src\"}]}",
	       "nodes[0]: invalid id '../x' (use 1 to 64 letters, digits, "
	       "'_' or '-')");
	expect("an empty id",
	       "{\"nodes\": [{\"id\": \"\", \"skill\": \"src\"}]}",
	       "nodes[0]: invalid id '' (use 1 to 64 letters, digits, '_' or "
	       "'-')");
}

static void test_hostile(void)
{
	struct graph_errors e;
	size_t n = 200000;
	char *s = malloc(n + 64);
	int rc;

	/* Nesting far past jansson's depth limit. */
	memcpy(s, "{\"nodes\": ", 10);
	memset(s + 10, '[', n);
	s[10 + n] = '\0';
	rc = run(s, NULL, &e);
	CHECK_INT_EQ(-EINVAL, rc, "deep nesting is refused");
	CHECK(e.n == 1 && !strncmp(e.v[0], "invalid JSON at line 1, ", 24),
	      "deep nesting: an invalid JSON message (%s)",
	      e.n ? e.v[0] : "none");
	graph_errors_release(&e);
	free(s);

	/* A string just over the 1 MiB cap, and one just under it. */
	n = GRAPH_MAX_JSON;
	s = malloc(n + 128);
	rc = snprintf(s, 128, "{\"nodes\": [{\"id\": \"a\", \"skill\": "
		      "\"sink\", \"inputs\": {\"i\": 1, \"s\": \"");
	memset(s + rc, 'a', n);
	memcpy(s + rc + n, "\"}}]}", 6);
	expect("a huge string", s,
	       "the graph is larger than 1 MiB (move big values into files)");
	memcpy(s + n - 64, "\"}}]}", 6);
	expect("a string under 1 MiB", s, NULL);
	free(s);

	expect("a NUL in a string",
	       "{\"nodes\": [{\"id\": \"a\", \"skill\": \"src\\u0000\"}]}",
	       "invalid JSON at line 1, column 43: \\u0000 is not allowed "
	       "without JSON_ALLOW_NUL near '\"src\\u0000\"'");
	expect("bytes that are not UTF-8",
	       "{\"nodes\": [{\"id\": \"a\", \"skill\": \"\xff\"}]}",
	       "invalid JSON at line 1, column 33: unable to decode byte 0xff "
	       "near '\"'");
	expect("a raw newline in a string",
	       "{\"nodes\": [{\"id\": \"a\nb\"}]}",
	       "invalid JSON at line 1, column 20: unexpected newline near "
	       "'\"a'");
	expect("a raw control character in a string",
	       "{\"nodes\": [{\"id\": \"a\x01\tb\"}]}",
	       "invalid JSON at line 1, column 20: control character 0x1 "
	       "near '\"a'");
	expect("a duplicate key",
	       "{\"nodes\": [], \"nodes\": []}",
	       "invalid JSON at line 1, column 21: duplicate object key near "
	       "'\"nodes\"'");
	expect("an unknown skill name with quotes",
	       "{\"nodes\": [{\"id\": \"a\", \"skill\": \"x'\\n\"}]}",
	       "node 'a': unknown skill 'x?" "?' (check its name with ls "
	       "skills/, and that you may read it)");
	expect("an empty graph", "{\"nodes\": []}", NULL);
	rc = graph_parse(&(struct graph *){ NULL }, "t", "", 0, NULL);
	CHECK_INT_EQ(-EINVAL, rc, "empty text without an error list");
}

/* Every prefix of a graph, and the graph with each byte replaced by a
 * few others, parse and check to 0 or -EINVAL with one-line messages
 * (the sanitizers watch the rest). */
static void test_mangled(void)
{
	static const char subst[] = "{}[]\",.:0\\\x01\xff";
	size_t len = strlen(rf_chain), bad = 0, refused = 0;
	char *s = malloc(len + 1);

	for (size_t cut = 0; cut <= len; cut++)
		for (size_t k = 0; k <= sizeof(subst) - 1; k++) {
			struct graph_errors e;
			struct graph *g = NULL;
			size_t n = cut;
			int rc;

			memcpy(s, rf_chain, len + 1);
			if (k < sizeof(subst) - 1 && cut < len) {
				s[cut] = subst[k];
				n = len;
			} else if (k < sizeof(subst) - 1) {
				continue;
			}
			graph_errors_init(&e);
			rc = graph_parse(&g, "m", s, n, &e);
			if (!rc) {
				rc = graph_check(g, lookup, NULL, &e);
				if (!rc && (!g->order || order_faults(g)))
					bad++;
			}
			if (rc && rc != -EINVAL)
				bad++;
			if (rc && !e.n)
				bad++;
			refused += rc != 0;
			for (size_t i = 0; i < e.n; i++)
				if (strchr(e.v[i], '\n'))
					bad++;
			graph_free(g);
			graph_errors_release(&e);
		}
	CHECK_INT_EQ(0, bad, "mangled graphs: 0 or -EINVAL with messages "
		     "(%zu refused)", refused);
	free(s);
}

/* Checking twice gives the same answer. */
static void test_twice(void)
{
	struct graph_errors e;
	struct graph *g = NULL;

	CHECK_INT_EQ(0, run(rf_chain, &g, &e), "checked once");
	if (g) {
		CHECK_INT_EQ(0, graph_check(g, lookup, NULL, &e),
			     "checked twice");
		check_order("checked twice", g);
	}
	graph_free(g);
	graph_errors_release(&e);
}

int main(void)
{
	load_skills();
	test_errors();
	test_cycle();
	test_valid();
	test_reactflow();
	test_workflow_to_dict();
	test_literals();
	test_caps();
	test_ids();
	test_hostile();
	test_mangled();
	test_twice();
	for (size_t i = 0; i < GRAPH_NSKILLS; i++)
		skill_free(skills[i]);
	return unit_done();
}
