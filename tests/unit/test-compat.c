/* tests/unit/test-compat.c: the corpus tests/compat/ of skills written as
 * people already have them (LLMos-Lite's own files and exports, context
 * skills with examples, javascript and threejs, Agent Skills folders),
 * each parsed as it would be in a volume's skills/ and checked against
 * its FILE.expect:
 *
 *   runner: python|sh|spice|javascript|context   (what user.skill.runner
 *                                                  says; absent: errors)
 *   errors: N
 *   error: MESSAGE      (each, in order)
 *   warning: MESSAGE    (each, in order; none when not listed)
 *
 * Each skill is also written as SKILL.md (skill_to_agent_md()) and read
 * back as an Agent Skill with no error in its frontmatter. Run from the
 * top folder. */
#include "core/util/buf.h"
#include "core/skill/skill.h"
#include "unit.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CORPUS "tests/compat"

static char *slurp(const char *path, size_t *len)
{
	struct buf b;
	char chunk[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	buf_init(&b, 0);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(&b, chunk, (size_t)n);
	close(fd);
	buf_append(&b, "", 1);
	*len = b.len - 1;
	return b.data;
}

/* The lines of `text` that start with `key` ("warning: "), in order. */
static size_t lines_of(const char *text, const char *key, const char **v,
		       size_t *len, size_t cap)
{
	size_t n = 0, k = strlen(key);

	for (const char *l = text; l && *l; l = strchr(l, '\n'),
			l = l ? l + 1 : NULL) {
		if (strncmp(l, key, k) || n == cap)
			continue;
		v[n] = l + k;
		len[n] = strcspn(l + k, "\n");
		n++;
	}
	return n;
}

static void check_msgs(const char *what, const char *rel,
		       const struct skill_errors *got, const char *expect,
		       const char *key)
{
	const char *want[SKILL_MAX_ERRORS];
	size_t wlen[SKILL_MAX_ERRORS];
	size_t n = lines_of(expect, key, want, wlen, SKILL_MAX_ERRORS);

	if (!CHECK_INT_EQ(n, got->n, "%s: %zu %ss", rel, n, what)) {
		for (size_t i = 0; i < got->n; i++)
			unit_note("%s: %s", what, got->v[i].msg);
		return;
	}
	for (size_t i = 0; i < n; i++)
		CHECK_MEM_EQ(want[i], wlen[i], got->v[i].msg,
			     strlen(got->v[i].msg), "%s: %s %zu", rel, what,
			     i);
}

/* Written as SKILL.md, read back as an Agent Skill: its frontmatter is
 * valid and its code is the same. */
static void check_agent_md(const char *rel, const struct skill *s)
{
	struct skill_errors e;
	struct skill *back = NULL;
	struct buf b;
	int bad = 0;

	buf_init(&b, 0);
	if (!CHECK_INT_EQ(0, skill_to_agent_md(s, "as-agent", &b),
			  "%s: written as SKILL.md", rel)) {
		buf_release(&b);
		return;
	}
	skill_errors_init(&e);
	if (CHECK_INT_EQ(0, skill_parse(&back, "skills/as-agent/SKILL.md",
					b.data, b.len, &e),
			 "%s: the SKILL.md reads back", rel)) {
		for (size_t i = 0; i < e.n; i++)
			if (strstr(e.v[i].msg, ": name: ") ||
			    strstr(e.v[i].msg, ": description: ") ||
			    strstr(e.v[i].msg, ": frontmatter: ")) {
				unit_note("%s", e.v[i].msg);
				bad++;
			}
		CHECK_INT_EQ(0, bad, "%s: as SKILL.md, a valid frontmatter",
			     rel);
		CHECK_INT_EQ(s->code != NULL, back->code != NULL,
			     "%s: as SKILL.md, the same code", rel);
	}
	skill_free(back);
	skill_errors_release(&e);
	buf_release(&b);
}

static void check_one(const char *rel)
{
	char path[1024], epath[1100], name[1100], want[64];
	size_t len = 0, elen = 0;
	char *data, *expect;
	const char *runner[1];
	size_t rlen[1];
	struct skill_errors e;
	struct skill *s = NULL;

	snprintf(path, sizeof(path), CORPUS "/%s", rel);
	snprintf(epath, sizeof(epath), "%s.expect", path);
	snprintf(name, sizeof(name), "skills/%s", rel);
	data = slurp(path, &len);
	expect = slurp(epath, &elen);
	if (!CHECK(data && expect, "%s: the file and its .expect", rel))
		goto out;
	skill_errors_init(&e);
	if (!CHECK_INT_EQ(0, skill_parse(&s, name, data, len, &e),
			  "%s: parses", rel))
		goto out_errs;
	check_msgs("error", rel, &e, expect, "error: ");
	check_msgs("warning", rel, &s->warnings, expect, "warning: ");
	if (lines_of(expect, "runner: ", runner, rlen, 1)) {
		snprintf(want, sizeof(want), "%.*s", (int)rlen[0], runner[0]);
		CHECK_STR_EQ(want, s->code ? skill_runner_name(s->runner) :
					     "context",
			     "%s: runs on %s", rel, want);
	}
	if (!e.n)
		check_agent_md(rel, s);
	skill_free(s);
out_errs:
	skill_errors_release(&e);
out:
	free(data);
	free(expect);
}

static size_t walk(const char *dir)
{
	char path[1024], rel[512];
	struct dirent **v;
	size_t count = 0;
	int n;

	snprintf(path, sizeof(path), CORPUS "%s%s", *dir ? "/" : "", dir);
	n = scandir(path, &v, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		const char *f = v[i]->d_name;
		size_t k = strlen(f);

		snprintf(rel, sizeof(rel), "%s%s%s", dir, *dir ? "/" : "", f);
		if (f[0] != '.' && v[i]->d_type == DT_DIR)
			count += walk(rel);
		else if (k > 3 && !strcmp(f + k - 3, ".md")) {
			check_one(rel);
			count++;
		}
		free(v[i]);
	}
	free(v);
	return count;
}

int main(void)
{
	size_t n = walk("");

	CHECK(n >= 14, "the corpus has its skills (%zu)", n);
	return unit_done();
}
