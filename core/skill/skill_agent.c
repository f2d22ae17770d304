/* core/skill/skill_agent.c: skills in the Agent Skills format (SKILL.md, the
 * open format that Claude Code and Codex read, agentskills.io): the
 * specification's rules for a SKILL.md file, and any skill written out as
 * one (skill.h). */
#include "core/skill/skill_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define AGENT_NAME_MAX 64

int skill_agent_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > AGENT_NAME_MAX || name[0] == '-' ||
	    name[n - 1] == '-' || strstr(name, "--"))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		      (name[i] >= '0' && name[i] <= '9') || name[i] == '-'))
			return 0;
	return 1;
}

void skill_agent_check(struct skill_pctx *p, unsigned name_line)
{
	const struct skill *s = p->s;
	char q[80], q2[80];

	if (!s->name || !*s->name)
		return;		/* reported as missing */
	skill_quote(q, sizeof(q), s->name);
	if (!skill_agent_name_ok(s->skill_id))
		skill_err(p, name_line, "name",
			  "the folder's name '%s' is not a valid Agent Skills "
			  "name (expected 1 to 64 lower-case letters, digits "
			  "and single hyphens, not at either end: rename the "
			  "folder, and name the skill as it)",
			  skill_quote(q2, sizeof(q2), s->skill_id));
	else if (!skill_agent_name_ok(s->name))
		skill_err(p, name_line, "name",
			  "'%s' is not a valid Agent Skills name (expected 1 "
			  "to 64 lower-case letters, digits and single "
			  "hyphens, not at either end, such as "
			  "pdf-processing)", q);
	else if (strcmp(s->name, s->skill_id))
		skill_err(p, name_line, "name",
			  "'%s' is not the folder's name '%s' (expected "
			  "name: %s: an Agent Skill is named as its folder)",
			  q, skill_quote(q2, sizeof(q2), s->skill_id),
			  skill_quote(q2, sizeof(q2), s->skill_id));
}

/* --- a skill as SKILL.md ------------------------------------------------ */

static int put(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

/* "key: <value as a double-quoted YAML string>\n"; a JSON string is
 * one. */
static int yaml_kv(struct buf *b, const char *indent, const char *key,
		   const char *v, size_t len)
{
	int rc;

	if ((rc = put(b, indent)) || (rc = skill_json_str(b, key, strlen(key))) ||
	    (rc = put(b, ": ")) || (rc = skill_json_str(b, v, len)))
		return rc;
	return put(b, "\n");
}

/* The bytes of `v` that hold at most `max` characters. */
static size_t cut_chars(const char *v, size_t max)
{
	size_t i = 0, n = 0;

	for (; v[i]; i++)
		if (((unsigned char)v[i] & 0xc0) != 0x80 && n++ == max)
			break;
	return i;
}

/* An optional field, left out when it breaks the specification's cap. */
static int yaml_opt(struct buf *b, const char *key, const char *v,
		    size_t max)
{
	if (!v || !*v || (max && skill_utf8_chars(v) > max))
		return 0;
	return yaml_kv(b, "", key, v, strlen(v));
}

/* metadata.<key>: a JSON text made by `fn`, as a string. */
static int meta_json(struct buf *b, const char *key, const struct skill *s,
		     int (*fn)(const struct skill *, struct buf *))
{
	struct buf j;
	int rc;

	buf_init(&j, 0);
	rc = fn(s, &j);
	if (!rc)
		rc = yaml_kv(b, "  ", key, j.data ? j.data : "", j.len);
	buf_release(&j);
	return rc;
}

static int inputs_json(const struct skill *s, struct buf *j)
{
	return skill_ports_to_json(s->inputs, s->ninputs, j);
}

static int outputs_json(const struct skill *s, struct buf *j)
{
	return skill_ports_to_json(s->outputs, s->noutputs, j);
}

static int limits_json(const struct skill *s, struct buf *j)
{
	char num[64];
	int rc = put(j, "{"), first = 1;

	for (unsigned l = 0; !rc && l < SKILL_NLIMITS; l++) {
		if (!(s->limits_set & (1u << l)))
			continue;
		snprintf(num, sizeof(num), "%s\"%s\":%.17g", first ? "" : ",",
			 skill_limit_name(l), s->limits[l]);
		rc = put(j, num);
		first = 0;
	}
	return rc ? rc : put(j, "}");
}

/* Our own metadata keys, which a skill's own `metadata` does not give. */
static int own_key(const char *k)
{
	return strncmp(k, "llmunix-", 8) == 0;
}

static int metadata(struct buf *b, const struct skill *s)
{
	const struct skill_list *k = &s->agent.meta_keys;
	const struct skill_list *v = &s->agent.meta_values;
	const char *type = s->type;
	int rc = put(b, "metadata:\n");

	for (size_t i = 0; !rc && i < k->n && i < v->n; i++)
		if (!own_key(k->v[i]))
			rc = yaml_kv(b, "  ", k->v[i], v->v[i],
				     strlen(v->v[i]));
	if (!type && s->code)
		type = skill_runner_name(s->runner);
	if (!rc && s->name)
		rc = yaml_kv(b, "  ", "llmunix-title", s->name,
			     strlen(s->name));
	if (!rc && type)
		rc = yaml_kv(b, "  ", "llmunix-type", type, strlen(type));
	if (!rc && s->category)
		rc = yaml_kv(b, "  ", "llmunix-category", s->category,
			     strlen(s->category));
	if (!rc && s->ninputs)
		rc = meta_json(b, "llmunix-inputs", s, inputs_json);
	if (!rc && s->noutputs)
		rc = meta_json(b, "llmunix-outputs", s, outputs_json);
	if (!rc && s->limits_set)
		rc = meta_json(b, "llmunix-limits", s, limits_json);
	return rc;
}

int skill_to_agent_md(const struct skill *s, const char *id,
		      struct buf *out)
{
	const char *desc = s->description;
	int rc;

	if (!id)
		id = s->skill_id;
	if (!id || !skill_agent_name_ok(id))
		return -EINVAL;
	if (!desc || !*desc)
		desc = s->name && *s->name ? s->name : id;
	if ((rc = put(out, "---\n")) ||
	    (rc = yaml_kv(out, "", "name", id, strlen(id))) ||
	    (rc = yaml_kv(out, "", "description", desc,
			  cut_chars(desc, SKILL_MAX_DESCRIPTION))) ||
	    (rc = yaml_opt(out, "license", s->agent.license, 0)) ||
	    (rc = yaml_opt(out, "compatibility", s->agent.compatibility,
			   SKILL_MAX_COMPATIBILITY)) ||
	    (rc = yaml_opt(out, "allowed-tools", s->agent.allowed_tools,
			   0)) ||
	    (rc = metadata(out, s)) || (rc = put(out, "---\n")))
		return rc;
	if (s->body && s->body_len)
		rc = buf_append(out, s->body, s->body_len);
	return rc;
}
