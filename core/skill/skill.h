/* core/skill/skill.h: a skill file (DESIGN.md §4) parsed into a record.
 *
 * A skill is Markdown: YAML frontmatter between two '---' lines (read with
 * libyaml), prose, and at most one fenced code block in a language that
 * has a runner (python, sh, spice, javascript; found with md4c).
 * skill_parse() never refuses a file for its content: it returns a record
 * with what could be read and a list of error messages, each one line of
 * the form
 *
 *   FILE:LINE: FIELD: what is wrong (expected ...)
 *
 * Files written for LLMos-Lite or as Agent Skills (SKILL.md) are read as
 * they are: what was read differently from how it is written (a type that
 * does not match the code block, a port type such as 'image', a missing
 * description taken from the prose) is a warning in s->warnings, in the
 * same form. A skill with warnings and no errors runs.
 *
 * e.g. "skills/vqe.md:7: inputs[1].type: unknown type 'nmber' (expected
 * number, integer, string, boolean, object, array, file or any)". Port
 * indexes count from 0, as in JSON paths. Lines count from 1 in the file.
 *
 * Everything here is pure computation on memory: thread-safe as long as
 * each record and error list is used by one thread at a time.
 */
#ifndef LLMUNIX_SKILL_H
#define LLMUNIX_SKILL_H

#include <stddef.h>
#include "core/util/limits.h"

struct buf;

#define SKILL_MAX_FILE ((size_t)1 << 20)	/* bytes in a skill file */
#define SKILL_MAX_NAME 64			/* characters in `name` */
#define SKILL_MAX_DESCRIPTION 1024		/* ... in `description` */
#define SKILL_MAX_COMPATIBILITY 500		/* ... in `compatibility` */
#define SKILL_MAX_PORTS 256			/* inputs, and outputs */
#define SKILL_MAX_LIST 256			/* tags, keywords, requires */
#define SKILL_MAX_ERRORS 32			/* messages kept per file */

enum skill_runner {
	SKILL_RUNNER_NONE,	/* a context skill, or a type with no runner */
	SKILL_RUNNER_PYTHON,
	SKILL_RUNNER_SH,
	SKILL_RUNNER_SPICE,
	SKILL_RUNNER_JS,	/* javascript, threejs: node */
};

enum skill_port_type {
	SKILL_PORT_ANY,
	SKILL_PORT_NUMBER,
	SKILL_PORT_INTEGER,
	SKILL_PORT_STRING,
	SKILL_PORT_BOOLEAN,
	SKILL_PORT_OBJECT,
	SKILL_PORT_ARRAY,
	SKILL_PORT_FILE,
};


struct skill_port {
	char *name;
	enum skill_port_type type;	/* SKILL_PORT_ANY when not given */
	char *description;		/* NULL when not given */
	char *default_json;		/* the default as JSON text, or NULL */
	int required;
	unsigned line;			/* where the port starts */
};

struct skill_list {
	char **v;
	size_t n;
};

struct skill_code {
	char *text;		/* the block's lines, each ending in "\n" */
	size_t len;
	char *language;		/* as written after the fence, e.g. "bash" */
	enum skill_runner runner;
	unsigned fence_line;	/* the line of the opening fence */
	unsigned line;		/* the line of the first line of code */
};

struct skill_error {
	unsigned line;
	char *msg;		/* the whole line, "FILE:LINE: FIELD: ..." */
};

struct skill_errors {
	struct skill_error *v;
	size_t n;
	size_t alloc;
	size_t dropped;		/* messages past SKILL_MAX_ERRORS */
};

/* Agent Skills (SKILL.md) frontmatter kept as written, for the view that
 * shows skills to coding agents. */
struct skill_agent {
	char *license;
	char *compatibility;
	char *allowed_tools;
	struct skill_list meta_keys;	/* `metadata`, names ... */
	struct skill_list meta_values;	/* ... and their values */
};

/* Strings are NUL-terminated UTF-8 and NULL when the field is absent. */
struct skill {
	char *skill_id;		/* given, or the file name without ".md" */
	char *name;
	char *description;
	char *category;
	char *type;		/* as written: "python", "qiskit", "threejs" */
	enum skill_runner runner;	/* what `type` (or the code) runs on */
	char *execution_mode;
	char *version;
	char *author;
	struct skill_list tags, keywords, requires;
	struct skill_port *inputs, *outputs;
	size_t ninputs, noutputs;
	double limits[SKILL_NLIMITS];
	unsigned limits_set;	/* bit (1 << enum skill_limit) when given */
	int network;		/* 0 or 1 */
	int network_set;
	struct skill_code *code;	/* NULL: a context skill */
	struct skill_agent agent;
	int agent_skill;	/* the file is <folder>/SKILL.md */
	int description_from_prose;	/* no `description`: the first
					 * paragraph stands for it */
	char *body;		/* the Markdown after the frontmatter */
	size_t body_len;
	struct skill_errors warnings;	/* what was read leniently */
	size_t nerrors;		/* errors found by skill_parse() */
};


void skill_errors_init(struct skill_errors *e);
void skill_errors_release(struct skill_errors *e);

/* Parse `len` bytes of `data`, the content of the file `filename` (used in
 * messages as given, and for the default skill_id: the file name without
 * ".md", or the folder's name for "<folder>/SKILL.md"). On 0, *out is a new
 * record the caller frees with skill_free(), and the problems found were
 * appended to `errs` (may be NULL to ignore them); a file with errors still
 * gives a record. Returns -ENOMEM (and *out = NULL) when memory runs out. */
int skill_parse(struct skill **out, const char *filename, const char *data,
		size_t len, struct skill_errors *errs);
void skill_free(struct skill *s);

/* Append the record as one JSON object to `out`: skill_id, name,
 * description, category, type, runner, execution_mode, version, author,
 * tags, keywords, requires, inputs, outputs, limits, network, code
 * (its language, runner and lines, not its text; null for a context
 * skill) and warnings (an array of messages). Returns 0, -ENOMEM or
 * -EFBIG (the buffer's cap). */
int skill_to_json(const struct skill *s, struct buf *out);

/* Append a JSON string (with its quotes) for `len` bytes of `s`; bytes
 * that are not UTF-8 become U+FFFD. Returns 0, -ENOMEM or -EFBIG. */
int skill_json_str(struct buf *out, const char *s, size_t len);

/* Append the messages of `e` as a JSON array of strings. Returns 0,
 * -ENOMEM or -EFBIG. */
int skill_messages_to_json(const struct skill_errors *e, struct buf *out);

/* Append the ports as a JSON array. Returns 0, -ENOMEM or -EFBIG. */
int skill_ports_to_json(const struct skill_port *v, size_t n,
			struct buf *out);

/* Append the record as an Agent Skills SKILL.md (agentskills.io): the
 * frontmatter holds `name` (the skill's id, which the specification wants
 * lower-case letters, digits and single hyphens, and equal to the
 * folder's name), `description`, `license`, `compatibility` and
 * `allowed-tools` when given, and `metadata` (string values only, as the
 * specification says): the skill's own metadata, then llmunix-title,
 * -type, -category, -inputs, -outputs (ports as JSON text) and -limits;
 * the body is the skill's Markdown as written. `id` names the folder
 * ("fibonacci"): the id to show when it differs from s->skill_id (a
 * qualified one has '/' replaced). Returns 0, -EINVAL when `id` is not a
 * valid Agent Skills name, -ENOMEM or -EFBIG. */
int skill_to_agent_md(const struct skill *s, const char *id,
		      struct buf *out);

/* Whether `name` is a valid Agent Skills name: 1 to 64 characters a-z,
 * 0-9 and '-', not at either end and never two in a row. */
int skill_agent_name_ok(const char *name);

/* Every fenced code block of a Markdown text, in order: its language
 * (the info string's first word, "" when none) and its text, each line
 * ending in "\n" (both borrowed, for the call only). A non-zero return
 * of `cb` stops the walk and is returned; -EFBIG for a block over
 * SKILL_MAX_FILE, -ENOMEM. */
typedef int (*skill_fence_cb)(void *arg, const char *lang, const char *text,
			      size_t len);
int skill_md_fences(const char *text, size_t len, skill_fence_cb cb,
		    void *arg);

/* "python", "sh", "spice", "javascript", or NULL for SKILL_RUNNER_NONE. */
const char *skill_runner_name(enum skill_runner r);
/* "number", "integer", ... "any". */
const char *skill_port_type_name(enum skill_port_type t);
/* "timeout_s", "memory_mb", ... */

#endif
