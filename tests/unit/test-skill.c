/* tests/unit/test-skill.c: skill_parse() and skill_to_json() (core/skill/skill.h)
 * on the corpus in tests/skills/ (valid-*.md parse without errors, bad-*.md
 * give exactly one error each, asserted word for word with its line), on
 * files made here (CRLF, 1 MiB, Unicode lengths, error caps), and on the
 * repository's own skills/code/fibonacci.md. Run from the top folder. */
#include "core/util/buf.h"
#include "core/skill/skill.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The whole file in a buffer of exactly its size (so that ASan sees any
 * read past the end); NULL on failure. */
static char *read_file(const char *path, size_t *len)
{
	struct stat st;
	char *data = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0)
		goto out;
	*len = (size_t)st.st_size;
	data = malloc(*len ? *len : 1);
	if (data && read(fd, data, *len) != (ssize_t)*len) {
		free(data);
		data = NULL;
	}
out:
	if (fd >= 0)
		close(fd);
	if (!data)
		printf("# cannot read %s: %s\n", path, strerror(errno));
	return data;
}

/* Parse `len` bytes; checks that it returned a record. */
static struct skill *parse_mem(const char *name, const char *data,
			       size_t len, struct skill_errors *e)
{
	struct skill *s = NULL;
	int rc;

	skill_errors_init(e);
	rc = skill_parse(&s, name, data, len, e);
	CHECK_INT_EQ(0, rc, "%s: skill_parse returns a record", name);
	return s;
}

static struct skill *parse_path(const char *path, struct skill_errors *e)
{
	size_t len = 0;
	char *data = read_file(path, &len);
	struct skill *s;

	if (!CHECK(data != NULL, "%s: read", path)) {
		skill_errors_init(e);
		return NULL;
	}
	s = parse_mem(path, data, len, e);
	free(data);
	return s;
}

static void show_errors(const struct skill_errors *e)
{
	for (size_t i = 0; i < e->n; i++)
		printf("#   error: %s\n", e->v[i].msg);
}

static int no_errors(const char *what, const struct skill_errors *e)
{
	int ok = CHECK_INT_EQ(0, e->n, "%s: no errors", what);

	if (!ok)
		show_errors(e);
	return ok;
}

/* One error, exactly "PATH:LINE: MSG". */
static void one_error(const char *path, const struct skill_errors *e,
		      unsigned line, const char *msg)
{
	char want[2048];

	snprintf(want, sizeof(want), "%s:%u: %s", path, line, msg);
	if (!CHECK_INT_EQ(1, e->n, "%s: one error", path)) {
		show_errors(e);
		return;
	}
	CHECK_INT_EQ(line, e->v[0].line, "%s: the error is on line %u", path,
		     line);
	CHECK_STR_EQ(want, e->v[0].msg, "%s: the message", path);
}

static char *to_json(const struct skill *s)
{
	struct buf b;

	buf_init(&b, 0);
	if (!CHECK_INT_EQ(0, skill_to_json(s, &b), "skill_to_json")) {
		buf_release(&b);
		return NULL;
	}
	return b.data;
}

static const struct bad {
	const char *file;
	unsigned line;
	const char *msg;
} bad[] = {
	{ "bad-missing-name.md", 1,
	  "name: missing field 'name' (expected e.g. name: VQE Optimizer)" },
	{ "bad-missing-description.md", 1,
	  "description: missing field 'description' (expected e.g. "
	  "description: what the skill does and when to use it)" },
	{ "bad-name-too-long.md", 3,
	  "name: 65 characters long (expected at most 64)" },
	{ "bad-description-too-long.md", 3,
	  "description: 1025 characters long (expected at most 1024)" },
	{ "bad-port-type.md", 7,
	  "inputs[1].type: unknown type 'nmber' (expected number, integer, "
	  "string, boolean, object, array, file or any)" },
	{ "bad-duplicate-port.md", 7,
	  "inputs[2].name: duplicate port 'n' (expected each name once in "
	  "inputs; the first is inputs[0])" },
	{ "bad-default-type.md", 5,
	  "inputs[0].default: 'ten' is text, not of type integer (expected a "
	  "default of type integer)" },
	{ "bad-two-code-blocks.md", 13,
	  "code: a second code block, in 'python' (the first is at line 6; "
	  "expected one python block: write examples in another language, "
	  "such as text)" },
	{ "bad-code-no-runner.md", 6,
	  "code: block language 'ruby' has no runner (expected a python "
	  "block for type 'python')" },
	{ "bad-needs-code.md", 5,
	  "type: type 'python' needs a code block (expected a fenced python "
	  "block after the prose, or no type for a context skill)" },
	{ "bad-not-closed.md", 1,
	  "frontmatter: the '---' on line 1 is not closed (expected a line "
	  "'---' after the fields)" },
	{ "bad-not-utf8.md", 3,
	  "file: not UTF-8: byte 0xe9 at offset 34 (expected the file saved "
	  "as UTF-8)" },
	{ "bad-nul.md", 3,
	  "file: not text: byte 0x00 (NUL) at offset 32 (expected a text "
	  "file)" },
	{ "bad-empty.md", 1,
	  "file: empty file (expected a line '---', name: and description:, "
	  "a line '---', then prose and code)" },
	{ "bad-code-only.md", 1,
	  "frontmatter: missing frontmatter (expected the file to start with "
	  "a line '---', then name: and description:, then '---')" },
	{ "bad-unknown-type.md", 4,
	  "type: unknown type 'cobol' (expected python, sh, spice or "
	  "javascript; python-wasm and qiskit mean python, threejs means "
	  "javascript)" },
	{ "bad-alias.md", 3,
	  "frontmatter: YAML aliases ('*name') are not supported (expected "
	  "the value written out)" },
	{ "bad-yaml-syntax.md", 4,
	  "frontmatter: YAML syntax: did not find expected ',' or ']' while "
	  "parsing a flow sequence that starts on line 3 (expected 'field: "
	  "value' lines between the two '---' lines)" },
	{ "bad-limits.md", 6,
	  "limits.gpus: unknown limit 'gpus' (expected timeout_s, memory_mb, "
	  "cpu_s, procs, file_mb or output_mb)" },
	{ "bad-negative-limit.md", 4,
	  "limits.timeout_s: expected a number 0 or more, not -1" },
	{ "bad-network.md", 4, "network: expected true or false" },
	{ "bad-duplicate-field.md", 4,
	  "name: field 'name' given twice (expected it once)" },
	{ "bad-too-many-ports.md", 5,
	  "inputs: 257 ports (expected at most 256)" },
};

static void test_bad_files(void)
{
	char path[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct skill_errors e;
		struct skill *s;
		char *json;

		snprintf(path, sizeof(path), "tests/skills/%s", bad[i].file);
		s = parse_path(path, &e);
		if (s) {
			one_error(path, &e, bad[i].line, bad[i].msg);
			json = to_json(s);
			CHECK(json && json[0] == '{',
			      "%s: a record with errors still gives JSON",
			      path);
			free(json);
		}
		skill_free(s);
		skill_errors_release(&e);
	}
}

/* Read leniently: no error, these warnings, and the block that runs. */
static const struct warned {
	const char *file;
	enum skill_runner runner;
	unsigned line;
	const char *msg;
} warned[] = {
	{ "warn-code-mismatch.md", SKILL_RUNNER_SH, 7,
	  "code: type 'python' but the code is a sh block: the sh block "
	  "runs (use type: sh, or write the code in a python block)" },
};

static void test_warn_files(void)
{
	char path[256], want[1024];

	for (size_t i = 0; i < sizeof(warned) / sizeof(warned[0]); i++) {
		struct skill_errors e;
		struct skill *s;

		snprintf(path, sizeof(path), "tests/skills/%s",
			 warned[i].file);
		s = parse_path(path, &e);
		if (!s)
			continue;
		no_errors(path, &e);
		snprintf(want, sizeof(want), "%s:%u: %s", path,
			 warned[i].line, warned[i].msg);
		if (CHECK_INT_EQ(1, s->warnings.n, "%s: one warning", path))
			CHECK_STR_EQ(want, s->warnings.v[0].msg,
				     "%s: the warning", path);
		CHECK_INT_EQ(warned[i].runner, s->runner, "%s: runs on %s",
			     path, skill_runner_name(warned[i].runner));
		skill_free(s);
		skill_errors_release(&e);
	}
}

static void test_every_field(void)
{
	const char *path = "tests/skills/valid-every-field.md";
	struct skill_errors e;
	struct skill *s = parse_path(path, &e);
	char *json;

	if (!s)
		return;
	no_errors(path, &e);
	CHECK_STR_EQ("quantum-vqe", s->skill_id, "skill_id as given");
	CHECK_STR_EQ("VQE Optimizer", s->name, "name");
	CHECK_STR_EQ("quantum", s->category, "category");
	CHECK_STR_EQ("python", s->type, "type");
	CHECK_INT_EQ(SKILL_RUNNER_PYTHON, s->runner, "runner python");
	CHECK_STR_EQ("sandboxed", s->execution_mode, "execution_mode");
	CHECK_STR_EQ("1.2.0", s->version, "version");
	CHECK_STR_EQ("Ada \"the first\" Lovelace", s->author, "author");
	CHECK(s->tags.n == 2 && !strcmp(s->tags.v[1], "chemistry"),
	      "tags as a YAML block list");
	CHECK(s->keywords.n == 2 && !strcmp(s->keywords.v[1], "ground state"),
	      "keywords");
	CHECK(s->requires.n == 2 && !strcmp(s->requires.v[0], "numpy"),
	      "requires");
	if (CHECK_INT_EQ(10, s->ninputs, "ten inputs")) {
		CHECK_STR_EQ("hamiltonian", s->inputs[0].name,
			     "inputs[0].name");
		CHECK_INT_EQ(SKILL_PORT_OBJECT, s->inputs[0].type,
			     "inputs[0].type");
		CHECK_INT_EQ(1, s->inputs[0].required, "inputs[0].required");
		CHECK(s->inputs[0].default_json == NULL, "no default");
		CHECK_INT_EQ(16, s->inputs[0].line, "inputs[0] on line 16");
		CHECK_STR_EQ("100", s->inputs[1].default_json, "integer");
		CHECK_STR_EQ("1.5e-06", s->inputs[2].default_json, "number");
		CHECK_STR_EQ("\"COBYLA\"", s->inputs[3].default_json,
			     "string");
		CHECK_STR_EQ("false", s->inputs[4].default_json, "boolean");
		CHECK_STR_EQ("[0.1,0.2]", s->inputs[5].default_json, "array");
		CHECK_STR_EQ("{\"maxfev\":10,\"shots\":null}",
			     s->inputs[6].default_json, "object");
		CHECK_INT_EQ(SKILL_PORT_FILE, s->inputs[7].type, "file type");
		CHECK_STR_EQ("{\"a\":[1,\"two\"]}", s->inputs[8].default_json,
			     "any");
		CHECK_STR_EQ("seed", s->inputs[9].name, "a block-style port");
		CHECK_STR_EQ("-7", s->inputs[9].default_json, "negative");
		CHECK_INT_EQ(25, s->inputs[9].line, "inputs[9] on line 25");
	}
	if (CHECK_INT_EQ(2, s->noutputs, "two outputs")) {
		CHECK_INT_EQ(SKILL_PORT_NUMBER, s->outputs[0].type, "number");
		CHECK_STR_EQ("energies per iteration",
			     s->outputs[1].description,
			     "an output's description");
	}
	CHECK_INT_EQ((1u << SKILL_NLIMITS) - 1, s->limits_set,
		     "all six limits given");
	CHECK(s->limits[SKILL_LIMIT_TIMEOUT_S] == 60 &&
	      s->limits[SKILL_LIMIT_MEMORY_MB] == 512 &&
	      s->limits[SKILL_LIMIT_CPU_S] == 30.5 &&
	      s->limits[SKILL_LIMIT_PROCS] == 4 &&
	      s->limits[SKILL_LIMIT_FILE_MB] == 10 &&
	      s->limits[SKILL_LIMIT_OUTPUT_MB] == 1, "limits' values");
	CHECK(s->network_set && s->network, "network: true");
	if (CHECK(s->code != NULL, "the python block is the code")) {
		CHECK_STR_EQ("python", s->code->language, "code language");
		CHECK_INT_EQ(45, s->code->fence_line, "fence on line 45");
		CHECK_INT_EQ(46, s->code->line, "code from line 46");
		CHECK_STR_EQ("def execute(inputs):\n    return "
			     "{\"eigenvalue\": -1.0, \"history\": []}\n",
			     s->code->text, "code text");
	}
	json = to_json(s);
	CHECK(json && strstr(json, "\"author\":\"Ada \\\"the first\\\" "
				   "Lovelace\""), "JSON escapes quotes");
	CHECK(json && strstr(json, "\"limits\":{\"timeout_s\":60,\"memory_mb"
				   "\":512,\"cpu_s\":30.5,\"procs\":4,"
				   "\"file_mb\":10,\"output_mb\":1}"),
	      "JSON limits");
	CHECK(json && strstr(json, "\"code\":{\"language\":\"python\","
				   "\"runner\":\"python\",\"line\":46,"
				   "\"lines\":2,"), "JSON code");
	free(json);
	skill_free(s);
	skill_errors_release(&e);
}

static const struct variant {
	const char *file;
	const char *type;
	enum skill_runner runner;
	const char *code_lang;	/* NULL: no code */
	unsigned code_line;
} variants[] = {
	{ "valid-python-wasm.md", "python-wasm", SKILL_RUNNER_PYTHON,
	  "python", 12 },
	{ "valid-qiskit.md", "qiskit", SKILL_RUNNER_PYTHON, "py", 11 },
	{ "valid-javascript.md", "javascript", SKILL_RUNNER_JS, "javascript",
	  8 },
	{ "valid-threejs.md", "threejs", SKILL_RUNNER_JS, "js", 7 },
	{ "valid-spice.md", "spice", SKILL_RUNNER_SPICE, "spice", 11 },
	{ "valid-sh.md", "sh", SKILL_RUNNER_SH, "bash", 12 },
	{ "valid-no-type.md", NULL, SKILL_RUNNER_NONE, NULL, 0 },
	{ "valid-no-type-python.md", NULL, SKILL_RUNNER_PYTHON, "python", 10 },
	{ "valid-example-block.md", "python", SKILL_RUNNER_PYTHON, "python",
	  7 },
	{ "valid-context.md", NULL, SKILL_RUNNER_NONE, NULL, 0 },
	{ "valid-frontmatter-only.md", NULL, SKILL_RUNNER_NONE, NULL, 0 },
	{ "valid-unicode.md", NULL, SKILL_RUNNER_NONE, NULL, 0 },
};

static void test_variants(void)
{
	char path[256];

	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		const struct variant *v = &variants[i];
		struct skill_errors e;
		struct skill *s;

		snprintf(path, sizeof(path), "tests/skills/%s", v->file);
		s = parse_path(path, &e);
		if (!s)
			continue;
		no_errors(path, &e);
		CHECK_STR_EQ(v->type, s->type, "%s: type", path);
		CHECK_INT_EQ(v->runner, s->runner, "%s: runner %s", path,
			     skill_runner_name(v->runner) ?
				     skill_runner_name(v->runner) : "none");
		CHECK_STR_EQ(v->code_lang, s->code ? s->code->language : NULL,
			     "%s: code block", path);
		if (s->code)
			CHECK_INT_EQ(v->code_line, s->code->line,
				     "%s: code from line %u", path,
				     v->code_line);
		skill_free(s);
		skill_errors_release(&e);
	}
}

static void test_seed_lists(void)
{
	struct skill_errors e;
	struct skill *s = parse_path("tests/skills/valid-python-wasm.md", &e);
	char *json;

	if (!s)
		return;
	CHECK(s->tags.n == 2 && !strcmp(s->tags.v[0], "linear-algebra") &&
	      !strcmp(s->tags.v[1], "matrix"),
	      "tags as a JSON-style list [\"a\", \"b\"]");
	CHECK_STR_EQ("browser", s->execution_mode, "execution_mode");
	CHECK_STR_EQ("valid-python-wasm", s->skill_id,
		     "skill_id defaults to the file name without .md");
	json = to_json(s);
	CHECK(json && strstr(json, "\"type\":\"python-wasm\",\"runner\":"
				   "\"python\""), "JSON: python-wasm runs on "
						  "python");
	free(json);
	skill_free(s);
	skill_errors_release(&e);

	s = parse_path("tests/skills/valid-javascript.md", &e);
	if (!s)
		return;
	json = to_json(s);
	CHECK(json && strstr(json, "\"type\":\"javascript\",\"runner\":"
				   "\"javascript\""),
	      "JSON: javascript runs on node (runner javascript)");
	CHECK(json && strstr(json, "\"code\":{\"language\":\"javascript\""),
	      "JSON: the javascript block is the code");
	free(json);
	skill_free(s);
	skill_errors_release(&e);
}

static void test_unicode(void)
{
	const char *path = "tests/skills/valid-unicode.md";
	struct skill_errors e;
	struct skill *s = parse_path(path, &e);
	char data[1024];
	char *json;
	int n;

	if (!s)
		return;
	CHECK(strlen(s->name) > 64, "a 64-character name of %zu bytes is "
				    "accepted", strlen(s->name));
	CHECK_STR_EQ("überlagerung", s->skill_id, "a Unicode skill_id");
	CHECK(s->tags.n == 2 && !strcmp(s->tags.v[1], "量子"),
	      "a Unicode tag");
	json = to_json(s);
	CHECK(json && strstr(json, "🧪 and a tab\\tand a quote \\\".\""),
	      "JSON keeps UTF-8 and escapes the tab and quote");
	free(json);
	skill_free(s);
	skill_errors_release(&e);

	/* 65 characters, each of two bytes. */
	n = snprintf(data, sizeof(data), "---\nname: ");
	for (int i = 0; i < 65; i++)
		n += snprintf(data + n, sizeof(data) - (size_t)n, "é");
	n += snprintf(data + n, sizeof(data) - (size_t)n,
		      "\ndescription: x\n---\n");
	s = parse_mem("u.md", data, (size_t)n, &e);
	one_error("u.md", &e, 2,
		  "name: 65 characters long (expected at most 64)");
	skill_free(s);
	skill_errors_release(&e);
}

/* The file with every line ending in CRLF gives the same record. */
static void test_crlf(void)
{
	const char *path = "tests/skills/valid-every-field.md";
	struct skill_errors e1, e2;
	struct skill *a, *b;
	char *lf, *crlf, *ja = NULL, *jb = NULL;
	size_t len = 0, n = 0;

	lf = read_file(path, &len);
	if (!CHECK(lf != NULL, "read %s", path))
		return;
	crlf = malloc(2 * len);
	for (size_t i = 0; i < len; i++) {
		if (lf[i] == '\n')
			crlf[n++] = '\r';
		crlf[n++] = lf[i];
	}
	a = parse_mem("lf.md", lf, len, &e1);
	b = parse_mem("crlf.md", crlf, n, &e2);
	no_errors("a CRLF file", &e2);
	if (a && b) {
		ja = to_json(a);
		jb = to_json(b);
		CHECK_STR_EQ(ja, jb, "CRLF and LF give the same JSON");
		CHECK(b->code && !strchr(b->code->text, '\r'),
		      "no CR in the code text");
		CHECK(b->code && b->code->line == 46, "code line with CRLF");
	}
	free(ja);
	free(jb);
	skill_free(a);
	skill_free(b);
	skill_errors_release(&e1);
	skill_errors_release(&e2);

	/* An error's line in a CRLF file. */
	{
		static const char t[] = "---\r\nname: x\r\ndescription: y\r\n"
					"inputs:\r\n  - {name: a, type: nmber}"
					"\r\n---\r\n";
		struct skill *s = parse_mem("c.md", t, sizeof(t) - 1, &e1);

		one_error("c.md", &e1, 5,
			  "inputs[0].type: unknown type 'nmber' (expected "
			  "number, integer, string, boolean, object, array, "
			  "file or any)");
		skill_free(s);
		skill_errors_release(&e1);
	}
	free(lf);
	free(crlf);
}

static const char head[] = "---\nname: Big\ndescription: A big skill.\n"
			   "type: python\n---\n```python\n";

/* A skill of `size` bytes: a python block of comment lines. */
static char *big_skill(size_t size)
{
	char *d = malloc(size);
	size_t n = sizeof(head) - 1, tail = 4;	/* "```\n" */

	memcpy(d, head, n);
	while (n < size - tail) {
		size_t line = size - tail - n < 64 ? size - tail - n : 64;

		memset(d + n, '#', line - 1);
		d[n + line - 1] = '\n';
		n += line;
	}
	memcpy(d + n, "```\n", 4);
	return d;
}

static void test_big(void)
{
	struct skill_errors e;
	struct skill *s;
	char *d = big_skill(SKILL_MAX_FILE);
	char msg[128];

	s = parse_mem("big.md", d, SKILL_MAX_FILE, &e);
	no_errors("a 1 MiB skill", &e);
	CHECK(s && s->code && s->code->len > SKILL_MAX_FILE - 100,
	      "a 1 MiB skill keeps its code (%zu bytes)",
	      s && s->code ? s->code->len : 0);
	skill_free(s);
	skill_errors_release(&e);
	free(d);

	d = big_skill(SKILL_MAX_FILE + 1);
	s = parse_mem("big.md", d, SKILL_MAX_FILE + 1, &e);
	snprintf(msg, sizeof(msg), "file: file too large (%zu bytes; expected "
		 "at most %zu)", SKILL_MAX_FILE + 1, SKILL_MAX_FILE);
	one_error("big.md", &e, 1, msg);
	CHECK(s && !s->code && !s->name, "a file too large is not read");
	CHECK_STR_EQ("big", s ? s->skill_id : NULL,
		     "... but has its default skill_id");
	skill_free(s);
	skill_errors_release(&e);
	free(d);
}

static void test_small_cases(void)
{
	struct skill_errors e;
	struct skill *s;
	static const char fm_only[] = "---\nname: a\ndescription: b\n---";
	static const char empty_fm[] = "---\n---\n";
	static const char crlf_only[] = "---\r\nname: a\r\ndescription: b"
					"\r\n---\r\n";

	s = parse_mem("f.md", fm_only, sizeof(fm_only) - 1, &e);
	no_errors("frontmatter only, no final newline", &e);
	CHECK(s && !s->code && s->runner == SKILL_RUNNER_NONE,
	      "frontmatter only: a context skill");
	skill_free(s);
	skill_errors_release(&e);

	s = parse_mem("f.md", crlf_only, sizeof(crlf_only) - 1, &e);
	no_errors("frontmatter only, CRLF", &e);
	CHECK_STR_EQ("b", s ? s->description : NULL, "CRLF: no CR kept");
	skill_free(s);
	skill_errors_release(&e);

	s = parse_mem("f.md", empty_fm, sizeof(empty_fm) - 1, &e);
	CHECK_INT_EQ(2, e.n, "empty frontmatter: name and description "
			     "missing");
	skill_free(s);
	skill_errors_release(&e);

	s = parse_mem("dir/sub/x.y.md", "", 0, &e);
	CHECK_STR_EQ("x.y", s ? s->skill_id : NULL,
		     "skill_id from a path, only the last .md removed");
	skill_free(s);
	skill_errors_release(&e);

	s = NULL;
	CHECK_INT_EQ(0, skill_parse(&s, "n.md", "", 0, NULL),
		     "errors may be ignored (NULL list)");
	skill_free(s);

	/* A value with control characters, escaped in JSON. */
	{
		static const char t[] = "---\nname: \"a\\x01b\\nc\\\\d\"\n"
					"description: x\n---\n";
		char *json;

		s = parse_mem("j.md", t, sizeof(t) - 1, &e);
		json = s ? to_json(s) : NULL;
		CHECK(json && strstr(json, "\"name\":\"a\\u0001b\\nc\\\\d\""),
		      "JSON escapes control characters (%s)",
		      json ? json : "");
		free(json);
		skill_free(s);
		skill_errors_release(&e);
	}
	/* "\0" in double quotes makes a NUL inside a value: refused. */
	{
		static const char t[] = "---\nname: \"a\\0b\"\ndescription: x"
					"\n---\n";

		s = parse_mem("z.md", t, sizeof(t) - 1, &e);
		one_error("z.md", &e, 2, "frontmatter: a value holds a NUL or "
			  "a character that is not UTF-8 (expected text)");
		skill_free(s);
		skill_errors_release(&e);
	}
}

static void test_error_cap(void)
{
	struct buf b;
	struct skill_errors e;
	struct skill *s;
	char line[64];

	buf_init(&b, 0);
	buf_append(&b, "---\nname: a\ndescription: b\ninputs:\n", 35);
	for (int i = 0; i < 40; i++) {
		int n = snprintf(line, sizeof(line),
				 "  - {name: p%d, type: bad}\n", i);

		buf_append(&b, line, (size_t)n);
	}
	buf_append(&b, "---\n", 4);
	s = parse_mem("cap.md", b.data, b.len, &e);
	CHECK_INT_EQ(SKILL_MAX_ERRORS, e.n, "errors are capped");
	CHECK_INT_EQ(40 - SKILL_MAX_ERRORS, e.dropped,
		     "the others are counted");
	CHECK(e.n && e.v[e.n - 1].line == 5 + SKILL_MAX_ERRORS - 1,
	      "the kept ones are the first, in order");
	skill_free(s);
	skill_errors_release(&e);
	buf_release(&b);
}

/* The line of the first "```python" in `path`, and the line after it
 * (with its newline, owned by the caller). */
static void fence_of(const char *path, int *line, char **next)
{
	size_t len = 0;
	char *data = read_file(path, &len);
	int n = 1;

	for (char *p = data; p && *p; n++) {
		char *nl = strchr(p, '\n');

		if (!nl)
			break;
		if (*line < 0 && !strncmp(p, "```python\n", 10)) {
			char *end = strchr(nl + 1, '\n');

			*line = n;
			if (end)
				*next = strndup(nl + 1, (size_t)(end - nl));
			break;
		}
		p = nl + 1;
	}
	free(data);
}

static void test_fibonacci(void)
{
	const char *path = "skills/code/fibonacci.md";
	struct skill_errors e;
	struct skill *s = parse_path(path, &e);

	int fence = -1;
	char *first = NULL;

	if (!s)
		return;
	fence_of(path, &fence, &first);
	no_errors(path, &e);
	CHECK_STR_EQ("fibonacci", s->skill_id, "fibonacci: skill_id");
	CHECK_STR_EQ("Fibonacci", s->name, "fibonacci: name");
	CHECK_INT_EQ(SKILL_RUNNER_PYTHON, s->runner, "fibonacci: python");
	CHECK_INT_EQ(2, s->ninputs, "fibonacci: two inputs");
	CHECK_INT_EQ(3, s->noutputs, "fibonacci: three outputs");
	CHECK(s->ninputs == 2 && s->inputs[0].required &&
	      !strcmp(s->inputs[1].default_json, "false"),
	      "fibonacci: n required, sequence defaults to false");
	/* Where the file's fence is, found by a plain scan of its lines,
	 * so that the skill's prose may change. */
	CHECK_INT_EQ(fence, s->code ? (int)s->code->fence_line : -1,
		     "fibonacci: the fence is on line %d", fence);
	CHECK_INT_EQ(fence + 1, s->code ? (int)s->code->line : -1,
		     "fibonacci: the code starts on the next line");
	CHECK(s->code && first && !strncmp(s->code->text, first, strlen(first)),
	      "fibonacci: the code's first line");
	free(first);
	skill_free(s);
	skill_errors_release(&e);
}


static void test_hostile(void)
{
	static const struct {
		const char *path;
		unsigned line;
		const char *msg;
	} t[] = {
		{ "tests/fuzz/corpus/alias-bomb.md", 5,
		  "frontmatter: YAML aliases ('*name') are not supported "
		  "(expected the value written out)" },
		{ "tests/fuzz/corpus/deep-flow.md", 4,
		  "frontmatter: values nested too deeply (expected at most "
		  "32 levels)" },
		{ "tests/fuzz/corpus/deep-block.md", 36,
		  "frontmatter: values nested too deeply (expected at most "
		  "32 levels)" },
		/* md4c gives this language as a copy: found by its text. */
		{ "tests/fuzz/corpus/entity-lang-empty.md", 8,
		  "code: block language 'py&#116;hon' has no runner "
		  "(expected a python block for type 'python')" },
	};
	struct skill_errors e;
	struct skill *s;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		s = parse_path(t[i].path, &e);
		one_error(t[i].path, &e, t[i].line, t[i].msg);
		skill_free(s);
		skill_errors_release(&e);
	}

	s = parse_path("tests/fuzz/corpus/unterminated-fence.md", &e);
	no_errors("an unterminated fence", &e);
	CHECK(s && s->code && s->code->line == 7 &&
	      !strcmp(s->code->text, "def execute(inputs):\n    return {}\n"),
	      "an unterminated fence runs to the end of the file");
	skill_free(s);
	skill_errors_release(&e);
}

static void test_more_errors(void)
{
	static const char empty_name[] = "---\nname: \"\"\ndescription: x\n"
					 "---\n";
	static const char port_keys[] = "---\nname: a\ndescription: b\n"
					"outputs:\n  - {name: a, type: any, "
					"name: b}\n---\n";
	struct skill_errors e;
	struct skill *s;
	struct buf b;

	s = parse_mem("e.md", empty_name, sizeof(empty_name) - 1, &e);
	one_error("e.md", &e, 2, "name: field 'name' is empty (expected "
		  "e.g. name: VQE Optimizer)");
	skill_free(s);
	skill_errors_release(&e);

	s = parse_mem("k.md", port_keys, sizeof(port_keys) - 1, &e);
	one_error("k.md", &e, 5, "outputs[0].name: given twice in one port "
		  "(expected it once)");
	CHECK_STR_EQ("a", s && s->noutputs ? s->outputs[0].name : NULL,
		     "the first of two names is kept");
	/* The JSON writer reports a full buffer. */
	buf_init(&b, 16);
	CHECK_INT_EQ(-EFBIG, s ? skill_to_json(s, &b) : 0,
		     "skill_to_json into a buffer capped at 16 bytes");
	buf_release(&b);
	skill_free(s);
	skill_errors_release(&e);
}

int main(void)
{
	test_bad_files();
	test_warn_files();
	test_every_field();
	test_variants();
	test_seed_lists();
	test_unicode();
	test_crlf();
	test_big();
	test_small_cases();
	test_error_cap();
	test_fibonacci();
	test_hostile();
	test_more_errors();
	return unit_done();
}
