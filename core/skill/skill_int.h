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
	int rc;
};

/* Record "FILE:LINE: FIELD: MESSAGE" (the format is for MESSAGE). */
void skill_err(struct skill_pctx *p, unsigned line, const char *field,
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

/* The Markdown body of a skill, scanned for fenced code blocks. */
struct skill_md {
	struct skill_code *code;	/* the first block with a runner */
	size_t ncandidates;		/* blocks with a runner */
	char *second_lang;		/* the second such block */
	unsigned second_line;
	char *other_lang;		/* the first block with a language that
					 * has no runner */
	unsigned other_line;
};

/* Scan `len` bytes of Markdown whose first line is line `line0`. Returns 0
 * or -ENOMEM; release `md` with skill_md_release(). */
int skill_md_scan(struct skill_md *md, const char *body, size_t len,
		  unsigned line0);
void skill_md_release(struct skill_md *md);
void skill_code_free(struct skill_code *c);

/* The runner of a code block's language: python/py/python3, sh/bash/shell,
 * spice/ngspice; SKILL_RUNNER_NONE otherwise. */
enum skill_runner skill_lang_runner(const char *lang);

/* Read the frontmatter's fields into p->s and check them. */
void skill_fields_read(struct skill_pctx *p, const struct ynode *root);

/* Append the YAML value as JSON. */
int skill_json_ynode(struct buf *out, const struct ynode *n);

#endif
