/* core/runner/runner_outputs.c: a node's outputs checked against its
 * skill's ports: the values the code returned and the files it wrote into
 * out/<port>, each of the port's type, every required one there; a
 * mismatch fails the node with a message that names the port
 * (runner_int.h). */
#include "core/runner/runner_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OUT_FILE_MAX ((size_t)16 << 20)	/* out/<port> read as a value */

/* --- checking the outputs ---------------------------------------------- */

static const char *type_article(enum skill_port_type t)
{
	switch (t) {
	case SKILL_PORT_NUMBER:
		return "a number";
	case SKILL_PORT_INTEGER:
		return "an integer";
	case SKILL_PORT_STRING:
		return "a string";
	case SKILL_PORT_BOOLEAN:
		return "a boolean";
	case SKILL_PORT_OBJECT:
		return "an object";
	case SKILL_PORT_ARRAY:
		return "an array";
	case SKILL_PORT_FILE:
		return "a file";
	default:
		return "any value";
	}
}

static const char *json_article(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

/* A declared output the code did not return may be the file out/<port>:
 * its name for a file port, else its content (text for a string, JSON
 * for the others). *v is NULL when there is no such file. */
static int output_from_file(struct runner_ctx *c, int outfd,
			    const struct skill_port *p, json_t **v)
{
	json_error_t jerr;
	struct buf b;
	size_t len;
	int rc;

	*v = NULL;
	if (outfd < 0)
		return 0;
	buf_init(&b, OUT_FILE_MAX);
	rc = sandbox_read_beneath(outfd, p->name, OUT_FILE_MAX, &b);
	if (rc == -EFBIG && p->type == SKILL_PORT_FILE)
		rc = 0;
	if (rc) {
		buf_release(&b);
		return rc == -ENOMEM ? rc : 0;	/* no usable file */
	}
	len = b.len;
	if (p->type == SKILL_PORT_FILE) {
		*v = json_string(p->name);
	} else if (p->type == SKILL_PORT_STRING) {
		if (len && b.data[len - 1] == '\n')
			len--;
		*v = json_stringn(b.data ? b.data : "", len);
		if (!*v)
			rc = runner_fail(c, RUNNER_KIND_FAILED,
					 "output '%.64s': out/%.64s is not "
					 "UTF-8 text", p->name, p->name);
	} else {
		*v = json_loadb(b.data ? b.data : "", len, JSON_DECODE_ANY,
				&jerr);
		if (!*v)
			rc = runner_fail(c, RUNNER_KIND_FAILED,
					 "output '%.64s': out/%.64s does not "
					 "hold JSON (%s)", p->name, p->name,
					 jerr.text);
	}
	buf_release(&b);
	if (*v && json_object_set_new(c->outputs, p->name, *v))
		return -ENOMEM;
	return rc;
}

static int output_missing(struct runner_ctx *c, const struct skill_port *p)
{
	struct buf names;
	const char *key;
	json_t *val;
	size_t n = 0;
	int rc;

	buf_init(&names, 1024);
	json_object_foreach(c->outputs, key, val) {
		char q[80];

		(void)val;
		if (n++ == 10) {
			buf_append(&names, ", ...", 5);
			break;
		}
		snprintf(q, sizeof(q), "%s%.64s", n > 1 ? ", " : "", key);
		buf_append(&names, q, strlen(q));
	}
	if (n)
		rc = runner_fail(c, RUNNER_KIND_FAILED,
				 "output '%.64s' missing (the code returned: "
				 "%s; %s)", p->name, names.data,
				 c->hint ? c->hint : "");
	else
		rc = runner_fail(c, RUNNER_KIND_FAILED,
				 "output '%.64s' missing (the code returned "
				 "no outputs; %s)", p->name,
				 c->hint ? c->hint : "");
	buf_release(&names);
	return rc;
}

/* A file output: the value names a regular file under out/ ("x.svg",
 * "out/x.svg" or "/work/out/x.svg"); it becomes the name under out/. */
static int check_file(struct runner_ctx *c, int outfd,
		      const struct skill_port *p, json_t *v)
{
	const char *s = json_string_value(v);
	struct stat st;
	int fd = -1;

	if (s && !strncmp(s, "/work/out/", 10))
		s += 10;
	else if (s && !strncmp(s, "out/", 4))
		s += 4;
	if (s && outfd >= 0)
		fd = sandbox_open_beneath(outfd, s, O_RDONLY | O_NONBLOCK);
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		close(fd);
		if (s != json_string_value(v) &&
		    json_object_set_new(c->outputs, p->name, json_string(s)))
			return -ENOMEM;
		return 0;
	}
	if (fd >= 0)
		close(fd);
	return runner_fail(c, RUNNER_KIND_FAILED,
			   "output '%.64s': '%.128s' is not a file in out/ "
			   "(write it under /work/out/ and give its name)",
			   p->name, s ? s : json_article(v));
}

static int check_type(struct runner_ctx *c, int outfd,
		      const struct skill_port *p, json_t *v)
{
	int ok;

	switch (p->type) {
	case SKILL_PORT_NUMBER:
		ok = json_is_number(v);
		break;
	case SKILL_PORT_INTEGER:
		ok = json_is_integer(v);
		if (json_is_real(v)) {
			double d = json_real_value(v);

			if (d > -9007199254740992.0 && d < 9007199254740992.0 &&
			    d == (double)(json_int_t)d) {
				if (json_object_set_new(c->outputs, p->name,
							json_integer(
								(json_int_t)d)))
					return -ENOMEM;
				return 0;
			}
			return runner_fail(c, RUNNER_KIND_FAILED,
					   "output '%.64s': the skill declares "
					   "an integer, the code returned a "
					   "number with a fraction (%g)",
					   p->name, d);
		}
		break;
	case SKILL_PORT_STRING:
		ok = json_is_string(v);
		break;
	case SKILL_PORT_BOOLEAN:
		ok = json_is_boolean(v);
		break;
	case SKILL_PORT_OBJECT:
		ok = json_is_object(v);
		break;
	case SKILL_PORT_ARRAY:
		ok = json_is_array(v);
		break;
	case SKILL_PORT_FILE:
		if (!json_is_string(v))
			break;
		return check_file(c, outfd, p, v);
	default:
		return 0;
	}
	if (p->type == SKILL_PORT_FILE)
		ok = 0;
	if (ok)
		return 0;
	return runner_fail(c, RUNNER_KIND_FAILED,
			   "output '%.64s': the skill declares %s, the code "
			   "returned %s", p->name, type_article(p->type),
			   json_article(v));
}

/* 0 when every declared output is there with its type; 1 with the
 * failure recorded; -errno. Undeclared outputs are kept. */
int runner_check_outputs(struct runner_ctx *c)
{
	const struct skill *sk = c->job->sk;
	int outfd, rc = 0;

	if (!c->outputs && !(c->outputs = json_object()))
		return -ENOMEM;
	outfd = openat(c->workfd, "out",
		       O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	for (size_t i = 0; i < sk->noutputs && !rc; i++) {
		const struct skill_port *p = &sk->outputs[i];
		json_t *v;

		if (!p->name)
			continue;
		v = json_object_get(c->outputs, p->name);
		if (!v && (rc = output_from_file(c, outfd, p, &v)))
			break;
		if (!v && p->default_json) {
			v = json_loads(p->default_json, JSON_DECODE_ANY, NULL);
			if (v && json_object_set_new(c->outputs, p->name, v))
				rc = -ENOMEM;
		}
		/* Outputs are optional unless the skill says required: a
		 * link from a missing one fails in the node it feeds. */
		if (!v && !rc && p->required)
			rc = output_missing(c, p);
		if (!rc && v)
			rc = check_type(c, outfd, p, v);
	}
	if (outfd >= 0)
		close(outfd);
	return rc;
}

