/* tests/fuzz/fuzz-skill.c: a libFuzzer target for the skill parser
 * (core/skill/skill.h): parse (as x.md and as an Agent Skill's SKILL.md),
 * serialise as JSON and as SKILL.md, free. Beyond "no crash, no leak" it
 * checks what callers rely on: 0 or -ENOMEM, always a record on 0, every
 * error and warning starting with the file name, JSON with no raw control
 * character, and a SKILL.md written from any record that reads back
 * with a valid frontmatter. tests/unit/test-fuzz-replay.c runs it over
 * tests/skills/ and tests/fuzz/corpus/ under the sanitizers.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I. \
 *     tests/fuzz/fuzz-skill.c core/skill/skill*.c core/util/buf.c -lyaml -lmd4c */
#include "core/util/buf.h"
#include "core/skill/skill.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every message starts with the file name and has a line. */
static void check_msgs(const struct skill_errors *e, const char *name)
{
	if (e->n > SKILL_MAX_ERRORS)
		abort();
	for (size_t i = 0; i < e->n; i++)
		if (strncmp(e->v[i].msg, name, strlen(name)) ||
		    e->v[i].line == 0)
			abort();
}

/* A record written as SKILL.md reads back as a SKILL.md named `id`,
 * with no error in its frontmatter. */
static void check_agent_md(const struct skill *s)
{
	static const char name[] = "fuzz/x/SKILL.md";
	struct skill_errors e;
	struct skill *back = NULL;
	struct buf b;
	int rc;

	buf_init(&b, 0);
	rc = skill_to_agent_md(s, "x", &b);
	if (rc && rc != -ENOMEM)
		abort();
	skill_errors_init(&e);
	if (!rc && skill_parse(&back, name, b.data, b.len, &e) == 0) {
		if (!back->name || strcmp(back->name, "x"))
			abort();
		for (size_t i = 0; i < e.n; i++)
			if (strstr(e.v[i].msg, ": name: ") ||
			    strstr(e.v[i].msg, ": description: ") ||
			    strstr(e.v[i].msg, ": metadata") ||
			    strstr(e.v[i].msg, ": frontmatter: "))
				abort();
	}
	skill_free(back);
	skill_errors_release(&e);
	buf_release(&b);
}

static void one(const char *name, const uint8_t *data, size_t size)
{
	struct skill_errors e;
	struct skill *s = NULL;
	struct buf b;
	int rc;

	skill_errors_init(&e);
	rc = skill_parse(&s, name, (const char *)data, size, &e);
	if (rc != 0 && rc != -ENOMEM)
		abort();
	if (rc == 0 && !s)
		abort();
	check_msgs(&e, name);
	if (s) {
		check_msgs(&s->warnings, name);
		buf_init(&b, 0);
		if (skill_to_json(s, &b) == 0) {
			for (size_t i = 0; i < b.len; i++)
				if ((unsigned char)b.data[i] < 0x20)
					abort();
			if (!b.len || b.data[0] != '{' ||
			    b.data[b.len - 1] != '}')
				abort();
		}
		buf_release(&b);
		check_agent_md(s);
	}
	skill_free(s);
	skill_errors_release(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one("fuzz/x.md", data, size);
	one("fuzz/x/SKILL.md", data, size);	/* an Agent Skill */
	return 0;
}
