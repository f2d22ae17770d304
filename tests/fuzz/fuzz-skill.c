/* tests/fuzz/fuzz-skill.c: a libFuzzer target for the skill parser
 * (core/skill/skill.h): parse, serialise as JSON, free. Beyond "no crash, no
 * leak" it checks what callers rely on: 0 or -ENOMEM, always a record on
 * 0, every error message starting with the file name, and JSON with no
 * raw control character. tests/unit/test-fuzz-replay.c runs it over
 * tests/skills/ and tests/fuzz/corpus/ under the sanitizers.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I. \
 *     tests/fuzz/fuzz-skill.c core/skill*.c core/util/buf.c -lyaml -lmd4c */
#include "core/util/buf.h"
#include "core/skill/skill.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char name[] = "fuzz/x.md";
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
	if (e.n > SKILL_MAX_ERRORS)
		abort();
	for (size_t i = 0; i < e.n; i++)
		if (strncmp(e.v[i].msg, name, sizeof(name) - 1) ||
		    e.v[i].line == 0)
			abort();
	if (s) {
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
	}
	skill_free(s);
	skill_errors_release(&e);
	return 0;
}
