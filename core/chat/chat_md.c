/* core/chat/chat_md.c: what an assistant's answer holds, as files: every
 * fenced code block, and the skills among them (chat_md.h). */
#include "core/chat/chat_md.h"
#include "core/skill/skill.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void chat_artifacts_release(struct chat_artifacts *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->v[i].name);
		free(a->v[i].text);
	}
	free(a->v);
	memset(a, 0, sizeof(*a));
}

static const char *ext_of(const char *lang, char *tmp, size_t cap)
{
	static const struct {
		const char *lang, *ext;
	} map[] = {
		{ "python", "py" }, { "py", "py" }, { "python3", "py" },
		{ "sh", "sh" }, { "bash", "sh" }, { "shell", "sh" },
		{ "zsh", "sh" }, { "console", "txt" },
		{ "javascript", "js" }, { "js", "js" }, { "node", "js" },
		{ "typescript", "ts" }, { "ts", "ts" }, { "json", "json" },
		{ "yaml", "yaml" }, { "yml", "yaml" }, { "spice", "cir" },
		{ "ngspice", "cir" }, { "c", "c" }, { "cpp", "cpp" },
		{ "c++", "cpp" }, { "html", "html" }, { "css", "css" },
		{ "markdown", "md" }, { "md", "md" }, { "text", "txt" },
		{ "txt", "txt" }, { "", "txt" }, { "rust", "rs" },
		{ "go", "go" }, { "java", "java" }, { "sql", "sql" },
		{ "r", "r" }, { "julia", "jl" }, { "toml", "toml" },
		{ "csv", "csv" }, { "svg", "svg" }, { "xml", "xml" },
		{ "diff", "diff" }, { "patch", "diff" },
	};
	size_t n = 0;

	for (size_t i = 0; i < sizeof(map) / sizeof(*map); i++)
		if (strcasecmp(lang, map[i].lang) == 0)
			return map[i].ext;
	for (const char *p = lang; *p && n + 1 < cap && n < 10; p++)
		if (isalnum((unsigned char)*p))
			tmp[n++] = (char)tolower((unsigned char)*p);
	tmp[n] = '\0';
	return n ? tmp : "txt";
}

/* A file name from a skill's id or name: letters, digits, '-', '_' and
 * '.', no leading dot, at most 100 bytes; "" when nothing is left. */
static void slug(char *out, size_t cap, const char *s)
{
	size_t n = 0, max = cap - 1 < 100 ? cap - 1 : 100;

	for (; s && *s && n < max; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '_' || (c == '.' && n) || c == '-')
			out[n++] = (char)tolower(c);
		else if (n && out[n - 1] != '-')
			out[n++] = '-';
	}
	while (n && out[n - 1] == '-')
		n--;
	out[n] = '\0';
}

static int looks_like_skill(const char *lang, const char *text)
{
	return (!*lang || !strcasecmp(lang, "markdown") ||
		!strcasecmp(lang, "md") || !strcasecmp(lang, "skill")) &&
	       strncmp(text, "---\n", 4) == 0;
}

/* Add (or replace: a later block of one name is a newer version). */
static int add(struct chat_artifacts *a, const char *name, const char *text,
	       size_t len, int skill, unsigned msg)
{
	struct chat_artifact *e = NULL;

	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i].name, name) == 0)
			e = &a->v[i];
	if (!e) {
		struct chat_artifact *v = realloc(a->v, (a->n + 1) *
						  sizeof(*v));

		if (!v)
			return -ENOMEM;
		a->v = v;
		e = &v[a->n++];
		memset(e, 0, sizeof(*e));
		e->name = strdup(name);
		if (!e->name) {
			a->n--;
			return -ENOMEM;
		}
	}
	free(e->text);
	e->text = malloc(len + 1);
	if (!e->text)
		return -ENOMEM;
	memcpy(e->text, text, len);
	e->text[len] = '\0';
	e->len = len;
	e->skill = skill;
	e->msg = msg;
	return 0;
}

/* A skill's file name: its id when it gives one, else its name. */
static void skill_name(char *out, size_t cap, const char *text, size_t len,
		       unsigned msg, unsigned k)
{
	struct skill *sk = NULL;
	char base[128] = "";

	if (skill_parse(&sk, "artifact.md", text, len, NULL) == 0 && sk) {
		if (sk->skill_id && strcmp(sk->skill_id, "artifact") != 0)
			slug(base, sizeof(base), sk->skill_id);
		if (!base[0] && sk->name)
			slug(base, sizeof(base), sk->name);
	}
	skill_free(sk);
	if (base[0])
		snprintf(out, cap, "%s.md", base);
	else
		snprintf(out, cap, "skill-%04u-%u.md", msg, k);
}

struct scan {
	struct chat_artifacts *a;
	unsigned msg;
	unsigned k;
};

static int on_fence(void *arg, const char *lang, const char *text,
		    size_t len)
{
	struct scan *s = arg;
	char name[160], tmp[16];

	s->k++;
	if (looks_like_skill(lang, text)) {
		skill_name(name, sizeof(name), text, len, s->msg, s->k);
		return add(s->a, name, text, len, 1, s->msg);
	}
	snprintf(name, sizeof(name), "%04u-%u.%s", s->msg, s->k,
		 ext_of(lang, tmp, sizeof(tmp)));
	return add(s->a, name, text, len, 0, s->msg);
}

int chat_artifacts_scan(struct chat_artifacts *a, const char *content,
			unsigned msg)
{
	struct scan s = { a, msg, 0 };
	size_t len = strlen(content);

	/* A whole answer that is a skill (frontmatter first). */
	if (strncmp(content, "---\n", 4) == 0 && strstr(content, "\n---")) {
		char name[160];

		skill_name(name, sizeof(name), content, len, msg, 0);
		return add(a, name, content, len, 1, msg);
	}
	return skill_md_fences(content, len, on_fence, &s);
}
