/* core/run/graph.h: a run's graph (DESIGN.md section 5) parsed and checked.
 *
 * graph_parse() reads the JSON of run/<name>.json, in the native form
 *
 *   {"nodes": [{"id": "a", "skill": "x", "inputs": {"n": 3,
 *               "m": {"from": "b.out"}}, "cache": false,
 *               "limits": {"timeout_s": 10}}]}
 *
 * or the seed's React Flow form (nodes with data.skillId and
 * data.inputValues, edges with source/sourceHandle/target/targetHandle or
 * sourceOutput/targetInput), or LLMos-Lite's Workflow.to_dict() (nodes
 * with nodeId, skillId and inputValues; edges with edgeId, and null
 * handles when the ports go by name), into one struct graph. graph_check() then
 * resolves every node's skill through a lookup function and checks ports,
 * types, required inputs and cycles before anything runs, and computes a
 * topological order.
 *
 * Problems are messages in a struct graph_errors, one line each, lower-case,
 * naming the node and port: "node 'vqe': input 'hamiltonian': type mismatch:
 * 'build.terms' is an array, the input wants an object".
 *
 * Pure computation on memory: thread-safe as long as each graph and error
 * list is used by one thread at a time.
 */
#ifndef LLMUNIX_GRAPH_H
#define LLMUNIX_GRAPH_H

#include <stddef.h>

#include "core/skill/skill.h"

#define GRAPH_MAX_JSON ((size_t)1 << 20)	/* bytes of graph JSON */
#define GRAPH_MAX_NODES 1000
#define GRAPH_MAX_INPUTS 256			/* per node */
#define GRAPH_MAX_ID 64				/* [A-Za-z0-9_-] */
#define GRAPH_MAX_NAME 256			/* skill and port names */
#define GRAPH_MAX_ERRORS 64			/* messages kept */
#define GRAPH_NONE ((size_t)-1)

/* The JSON kind of a literal input. */
enum graph_kind {
	GRAPH_KIND_NULL,
	GRAPH_KIND_BOOLEAN,
	GRAPH_KIND_INTEGER,
	GRAPH_KIND_REAL,
	GRAPH_KIND_STRING,
	GRAPH_KIND_OBJECT,
	GRAPH_KIND_ARRAY,
};

/* One input of a node: a literal, or a link from another node's output. */
struct graph_input {
	char *port;
	char *literal;		/* compact JSON text; NULL for a link */
	enum graph_kind kind;	/* of the literal */
	char *from_id;		/* a link: the node id and its output port */
	char *from_port;
	size_t from;		/* index of from_id, set by graph_check();
				 * GRAPH_NONE until then or when unknown */
};

struct graph_node {
	char *id;
	char *skill;		/* the name as written */
	struct graph_input *inputs;
	size_t ninputs;
	int cache;		/* 1 unless "cache": false */
	double limits[SKILL_NLIMITS];
	unsigned limits_set;	/* bit (1 << enum skill_limit) when given */
	const struct skill *sk;	/* set by graph_check(); borrowed from the
				 * lookup, NULL when unknown */
};

/* An edge of the React Flow forms that names no ports (LLMos-Lite's
 * Workflow.to_dict() writes "sourceHandle": null): graph_check() links
 * each output of `from` into the input of `to` with the same name, or the
 * only output into the only input left; `out` or `in` when one was
 * given. */
struct graph_edge {
	size_t index;		/* in "edges", for messages */
	char *from, *to;	/* node ids */
	char *out, *in;		/* a port given, or NULL */
	int linked;		/* resolved by an earlier graph_check() */
};

struct graph {
	char *name;
	struct graph_node *nodes;
	size_t nnodes;
	struct graph_edge *edges;	/* edges to resolve by port names */
	size_t nedges;
	size_t *order;		/* set by a graph_check() that returns 0:
				 * every node after the nodes it links from */
};

struct graph_errors {
	char **v;
	size_t n;
	size_t dropped;		/* messages past GRAPH_MAX_ERRORS */
};

void graph_errors_init(struct graph_errors *e);
void graph_errors_release(struct graph_errors *e);
/* Append a message (kept when fewer than GRAPH_MAX_ERRORS are, else
 * counted in `dropped`); `e` may be NULL. Out of memory drops it too. */
void graph_errors_addf(struct graph_errors *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Copy `s` into `dst` for a message: at most 64 characters (then "..."),
 * control characters and quotes replaced by '?'. Returns dst. */
const char *graph_quote(char *dst, size_t cap, const char *s);

/* Parse `len` bytes of `json` (need not be NUL-terminated); `name` is the
 * run's name, copied. Returns 0 with *out a new graph to free with
 * graph_free(), -EINVAL (*out = NULL) when the text is not a graph, with
 * the reasons appended to `errs` (may be NULL), or -ENOMEM. */
int graph_parse(struct graph **out, const char *name, const char *json,
		size_t len, struct graph_errors *errs);

/* Resolve a skill name: 0 with *out set (borrowed: it must outlive the
 * graph's use), -ENOENT when the caller has no such skill, or another
 * -errno, which graph_check() returns. */
typedef int (*graph_skill_fn)(void *arg, const char *skill,
			      const struct skill **out);

/* Check `g` with its skills from `lookup`: duplicate ids, unknown skills,
 * ports and nodes, missing required inputs (not for a skill with errors,
 * sk->nerrors: the caller says so), type mismatches and cycles; edges
 * without ports are resolved into links first.
 * Returns 0 (g->order set), -EINVAL with the problems appended to `errs`
 * (may be NULL), -ENOMEM, or the lookup's own error. */
int graph_check(struct graph *g, graph_skill_fn lookup, void *arg,
		struct graph_errors *errs);

void graph_free(struct graph *g);

/* The port `name` among `n` ports of `v` (ports without a name are
 * skipped), or NULL. Borrowed from `v`. */
const struct skill_port *graph_port_find(const struct skill_port *v,
					 size_t n, const char *name);
/* Add the link {"from": "from_id.from_port"} as the input `port` of
 * `nd`. 0, -E2BIG past GRAPH_MAX_INPUTS, or -ENOMEM. */
int graph_node_add_link(struct graph_node *nd, const char *port,
			const char *from_id, const char *from_port);

/* The input `port` of `nd`, or NULL. Borrowed from `nd`. */
const struct graph_input *graph_node_input(const struct graph_node *nd,
					   const char *port);

#endif
