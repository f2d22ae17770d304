/* core/runner/runner_sh.c: the sh runner. /bin/sh runs the code block (padded
 * with blank lines so that sh's line numbers are the .md file's), with
 * the inputs as JSON on stdin and as INPUT_<name> variables (strings raw,
 * other values as compact JSON; characters other than [A-Za-z0-9_] in a
 * name become '_'). The outputs are the last non-empty line of stdout
 * when it is a JSON object, and the files in out/ (see runner.c). A
 * non-zero exit status fails the node with the end of stderr.
 */
#include "core/runner/runner_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The kernel refuses one environment string over 128 KiB at exec; a
 * bigger input is on stdin only. */
#define SH_ENV_ONE (((size_t)128 << 10) - 64)
#define SH_ENV_ALL ((size_t)1 << 20)
#define SH_LAST_LINE ((size_t)16 << 20)

static void env_name(char *out, size_t cap, const char *key)
{
	size_t n = (size_t)snprintf(out, cap, "INPUT_");

	for (const char *p = key; *p && n + 1 < cap; p++) {
		char ch = *p;
		int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			 (ch >= '0' && ch <= '9') || ch == '_';

		out[n++] = ok ? ch : '_';
	}
	out[n] = '\0';
}

static int sh_env(struct runner_ctx *c)
{
	size_t total = 0;
	const char *key;
	json_t *v;

	json_object_foreach(c->inputs, key, v) {
		char name[96], *dump = NULL;
		const char *s;
		size_t len;
		int rc;

		env_name(name, sizeof(name), key);
		if (json_is_string(v)) {
			s = json_string_value(v);
			len = json_string_length(v);
			if (memchr(s, '\0', len))
				continue;	/* not expressible */
		} else {
			dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
			if (!dump)
				return -ENOMEM;
			s = dump;
			len = strlen(dump);
		}
		len += strlen(name) + 2;
		if (len > SH_ENV_ONE || total + len > SH_ENV_ALL) {
			free(dump);
			continue;
		}
		total += len;
		rc = sandbox_strv_addf(&c->env, "%s=%s", name, s);
		free(dump);
		if (rc)
			return rc;
	}
	return 0;
}

static int sh_prepare(struct runner_ctx *c)
{
	const struct skill_code *code = c->job->sk->code;
	unsigned pad = code->line > 1 ? code->line - 1 : 0;
	struct buf script;
	int rc = 0;

	buf_init(&script, SKILL_MAX_FILE * 2);
	for (unsigned i = 0; i < pad && !rc; i++)
		rc = buf_append(&script, "\n", 1);
	if (!rc)
		rc = buf_append(&script, code->text, code->len);
	if (!rc)
		rc = runner_write(c, "skill.sh", script.data ? script.data : "",
				  script.len);
	buf_release(&script);
	if (rc)
		return rc;
	c->stdin_fd = openat(c->dirfd, "inputs.json",
			     O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (c->stdin_fd < 0)
		return -errno;
	if ((rc = sh_env(c)) ||
	    (rc = sandbox_strv_add(&c->argv, runner_sh_ops.interp)) ||
	    (rc = sandbox_strv_add(&c->argv, RUNNER_SB_DIR "/skill.sh")))
		return rc;
	c->hint = "print a JSON object such as {\"x\": 1} as the last line "
		  "of stdout, or write the file out/<name>";
	return 0;
}

/* The last non-empty line of the captured stdout, as [*line, +*len). */
static void last_line(const struct buf *b, const char **line, size_t *len)
{
	size_t end = b->len, start;

	while (end > 0 && strchr(" \t\r\n", b->data[end - 1]))
		end--;
	start = end;
	while (start > 0 && b->data[start - 1] != '\n')
		start--;
	while (start < end && strchr(" \t\r", b->data[start]))
		start++;
	*line = b->data ? b->data + start : "";
	*len = end - start;
}

static int sh_collect(struct runner_ctx *c)
{
	char ended[96];
	json_error_t jerr;
	const char *line;
	struct buf b;
	size_t len;
	json_t *v;
	int rc;

	if (c->sb.exit_code != 0)
		return runner_fail_stderr(c, runner_ended(c, ended,
							  sizeof(ended)));
	buf_init(&b, SH_LAST_LINE + 1);
	rc = runner_read_captured(c->job->stdout_path, -1, SH_LAST_LINE, &b);
	if (rc == -ENOMEM)
		goto out;
	last_line(&b, &line, &len);
	rc = 0;
	if (!len || line[0] != '{') {
		c->outputs = json_object();	/* files in out/ only */
		rc = c->outputs ? 0 : -ENOMEM;
		goto out;
	}
	v = json_loadb(line, len, 0, &jerr);
	if (!json_is_object(v)) {
		json_decref(v);
		rc = runner_fail(c, RUNNER_KIND_FAILED,
				 "the last line of stdout starts with '{' but "
				 "is not a JSON object: %s",
				 v ? "not an object" : jerr.text);
		goto out;
	}
	c->outputs = v;
	c->kind = RUNNER_KIND_NONE;
out:
	buf_release(&b);
	return rc;
}

const struct runner_ops runner_sh_ops = {
	.name = "sh",
	.interp = "/bin/sh",
	.missing = "/bin/sh is missing",
	.prepare = sh_prepare,
	.collect = sh_collect,
};
