/* core/skill/skill_int.h: what the files of the skill parser share (skill.c,
 * skill_yaml.c, skill_md.c, skill_fields.c, skill_json.c). Not for use
 * outside them. */
#ifndef LLMUNIX_SKILL_INT_H
#define LLMUNIX_SKILL_INT_H

#include "core/util/buf.h"
#include "core/skill/skill.h"

#include <stddef.h>

#define SKILL_YAML_MAX_DEPTH 32
#define SKILL_YAML_MAX_NODES 65536

/* One parse in progress. `rc` becomes -ENOMEM on the first failure to
 * allocate, after which everything stops. */
struct skill_pctx {
	const char *filename;
	struct skill *s;
	struct skill_errors *errs;
	unsigned type_line;	/* where `type` is, for later messages */
	unsigned name_line;	/* where `name` is */
	size_t nerrors;		/* errors found, kept or not */
	int rc;
};

/* Record "FILE:LINE: FIELD: MESSAGE" (the format is for MESSAGE). */
void skill_err(struct skill_pctx *p, unsigned line, const char *field,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The same, as a warning in p->s->warnings: the file was read, leniently. */
void skill_warn(struct skill_pctx *p, unsigned line, const char *field,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Copy `s` into `out` (size `cap`) for quoting in a message: control
 * characters become '?', and a long value is cut on a character boundary
 * with "...". Returns `out`. */
const char *skill_quote(char *out, size_t cap, const char *s);

/* Characters (code points) in a valid UTF-8 string. */
size_t skill_utf8_chars(const char *s);

/* The offset of the first byte that is not part of valid UTF-8 text (or is
 * a NUL), or `len` when all of it is. */
size_t skill_utf8_check(const char *s, size_t len);

/* A YAML value with its line in the file. Mappings hold their keys and
 * values alternately in `kids`. */
enum ynode_kind { YNODE_SCALAR, YNODE_SEQ, YNODE_MAP };

struct ynode {
	enum ynode_kind kind;
	unsigned line;
	int plain;		/* a scalar written without quotes */
	char *text;		/* a scalar's value, NUL-terminated */
	struct ynode **kids;
	size_t nkids;
	size_t alloc;
};

/* Read the YAML text `text` whose first line is line `line0` of the file
 * into *out (NULL for an empty document). Aliases are refused, nesting
 * and size are capped. Returns 0, -EINVAL when the YAML was refused (the
 * error is recorded) or -ENOMEM. */
int skill_yaml_load(struct ynode **out, const char *text, size_t len,
		    unsigned line0, struct skill_pctx *p);
void skill_yaml_free(struct ynode *n);

/* What a YAML 1.2 plain scalar means (core schema). */
enum yscalar { YS_STRING, YS_NULL, YS_BOOL, YS_INT, YS_FLOAT };
enum yscalar skill_yaml_resolve(const struct ynode *n, int *b, double *d);

#define SKILL_MD_MAX_BLOCKS 64	/* blocks with a runner kept per file */

/* The Markdown body of a skill, scanned for fenced code blocks. */
struct skill_md {
	struct skill_code *v[SKILL_MD_MAX_BLOCKS];	/* blocks with a runner,
							 * in file order */
	size_t n;
	char *other_lang;		/* the first block with a language that
					 * has no runner */
	unsigned other_line;
	char *para;			/* the first paragraph's text, its
					 * lines joined by spaces, or NULL */
	unsigned para_line;
};

/* Scan `len` bytes of Markdown whose first line is line `line0`. Returns 0
 * or -ENOMEM; release `md` with skill_md_release(). */
int skill_md_scan(struct skill_md *md, const char *body, size_t len,
		  unsigned line0);
void skill_md_release(struct skill_md *md);
void skill_code_free(struct skill_code *c);

/* The runner of a code block's language: python/py/python3, sh/bash/shell,
 * spice/ngspice, javascript/js/node; SKILL_RUNNER_NONE otherwise. */
enum skill_runner skill_lang_runner(const char *lang);

/* Whether the block defines the entry point execute(inputs): "def
 * execute" in python, a function, variable or export named execute in
 * javascript. Blocks in other languages need none: 1. */
int skill_code_has_entry(const struct skill_code *c);

/* Choose p->s->code among the blocks of `md` (taking it out of md) and
 * set p->s->runner, with what `type` says (skill_code.c). */
void skill_code_choose(struct skill_pctx *p, struct skill_md *md,
		       int type_ok);

/* What `type` runs on; 0 when it is not a known type. */
int skill_type_runner(const char *type, enum skill_runner *r);

/* The Agent Skills rules for a SKILL.md file (skill_agent.c). */
void skill_agent_check(struct skill_pctx *p, unsigned name_line);

/* Read the frontmatter's fields into p->s and check them; a missing
 * description is left for the caller (it may come from the prose). */
void skill_fields_read(struct skill_pctx *p, const struct ynode *root);

/* Check that `v`, the field `field` on `line`, is given, not empty and at
 * most `max` characters; an error when not. */
void skill_check_length(struct skill_pctx *p, const char *field,
			const char *v, unsigned line, size_t max);

/* Append the YAML value as JSON. */
int skill_json_ynode(struct buf *out, const struct ynode *n);

#endif
