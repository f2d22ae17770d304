/* core/skill/skill_xattr.c: a parsed skill as user.skill.* xattrs. */
#include "core/skill/skill_xattr.h"
#include "core/util/buf.h"
#include "core/skill/skill.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int add(struct blob_xattrs *x, const char *field, const char *value,
	       size_t len)
{
	struct blob_xattr *v = realloc(x->v, (x->n + 1) * sizeof(*v));
	size_t k = strlen(SKILL_XATTR_PREFIX) + strlen(field) + 1;

	if (!v)
		return -ENOMEM;
	x->v = v;
	v = &x->v[x->n];
	v->name = malloc(k);
	v->value = malloc(len + 1);
	if (!v->name || !v->value) {
		free(v->name);
		free(v->value);
		return -ENOMEM;
	}
	memcpy(v->name, SKILL_XATTR_PREFIX, strlen(SKILL_XATTR_PREFIX));
	memcpy(v->name + strlen(SKILL_XATTR_PREFIX), field, strlen(field) + 1);
	memcpy(v->value, value, len);
	v->value[len] = '\0';
	v->len = len;
	x->n++;
	return 0;
}

static int add_str(struct blob_xattrs *x, const char *field, const char *s)
{
	return s ? add(x, field, s, strlen(s)) : 0;
}

static int add_ports(struct blob_xattrs *x, const char *field,
		     const struct skill_port *v, size_t n)
{
	struct buf b;
	int rc;

	buf_init(&b, 0);
	rc = skill_ports_to_json(v, n, &b);
	if (!rc)
		rc = add(x, field, b.data, b.len);
	buf_release(&b);
	return rc;
}

/* Every message, one per line, as `field`. */
static int add_msgs(struct blob_xattrs *x, const char *field,
		    const struct skill_errors *e)
{
	struct buf b;
	int rc = 0;

	if (!e->n)
		return 0;
	buf_init(&b, 0);
	for (size_t i = 0; i < e->n && !rc; i++) {
		rc = buf_append(&b, e->v[i].msg, strlen(e->v[i].msg));
		if (!rc && i + 1 < e->n)
			rc = buf_append(&b, "\n", 1);
	}
	if (!rc)
		rc = add(x, field, b.data, b.len);
	buf_release(&b);
	return rc;
}

/* user.skill.runner: what runs the skill as a node ("python", ...), or
 * "context" for a skill that is not one. Absent when the file has
 * errors: such a skill does not run. */
static int add_runnable(struct blob_xattrs *x, const struct skill *s,
			const struct skill_errors *e)
{
	if (e->n || s->nerrors)
		return 0;
	return add_str(x, "runner", s->code ? skill_runner_name(s->runner) :
					      "context");
}

int skill_xattrs_build(struct blob_xattrs *out, const char *filename,
		       const char *data, size_t len)
{
	struct skill_errors errs;
	struct skill *s = NULL;
	int rc;

	out->v = NULL;
	out->n = 0;
	skill_errors_init(&errs);
	/* Past SKILL_MAX_FILE skill_parse only reports the size. */
	rc = skill_parse(&s, filename, len > SKILL_MAX_FILE ? "" : data, len,
			 &errs);
	if (!rc)
		rc = add_str(out, "name", s->name);
	if (!rc)
		rc = add_str(out, "description", s->description);
	if (!rc)
		rc = add_str(out, "category", s->category);
	if (!rc)
		rc = add_str(out, "type", s->type);
	if (!rc)
		rc = add_str(out, "id", s->skill_id);
	if (!rc)
		rc = add_ports(out, "inputs", s->inputs, s->ninputs);
	if (!rc)
		rc = add_ports(out, "outputs", s->outputs, s->noutputs);
	if (!rc)
		rc = add_runnable(out, s, &errs);
	if (!rc)
		rc = add_msgs(out, "error", &errs);
	if (!rc)
		rc = add_msgs(out, "warning", &s->warnings);
	skill_free(s);
	skill_errors_release(&errs);
	if (rc)
		blob_xattrs_release(out);
	return rc;
}

int skill_xattr_reserved(const char *name)
{
	return strncmp(name, SKILL_XATTR_PREFIX,
		       strlen(SKILL_XATTR_PREFIX)) == 0;
}
