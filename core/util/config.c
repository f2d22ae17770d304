/* core/util/config.c: parse and check the configuration, see config.h. */
#include "core/util/config.h"
#include "core/util/log.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void config_default_limits(struct config *c)
{
	static const double def[SKILL_NLIMITS] = {
		[SKILL_LIMIT_TIMEOUT_S] = 60, [SKILL_LIMIT_MEMORY_MB] = 512,
		[SKILL_LIMIT_CPU_S] = 60, [SKILL_LIMIT_PROCS] = 64,
		[SKILL_LIMIT_FILE_MB] = 64, [SKILL_LIMIT_OUTPUT_MB] = 16,
	};
	static const double max[SKILL_NLIMITS] = {
		[SKILL_LIMIT_TIMEOUT_S] = 3600, [SKILL_LIMIT_MEMORY_MB] = 8192,
		[SKILL_LIMIT_CPU_S] = 3600, [SKILL_LIMIT_PROCS] = 1024,
		[SKILL_LIMIT_FILE_MB] = 1024, [SKILL_LIMIT_OUTPUT_MB] = 256,
	};
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	c->jobs = n < 1 ? 1 : n > CONFIG_MAX_JOBS ? CONFIG_MAX_JOBS :
		  (unsigned)n;
	c->network = 0;
	c->history = 1;
	c->history_quiet_ms = 1000;
	c->user_quota_mb = 1024;
	c->user_memory_mb = 256;
	memcpy(c->limit, def, sizeof(def));
	memcpy(c->limit_max, max, sizeof(max));
}

int config_init(struct config *c)
{
	const char *xdg = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	char path[4096];

	memset(c, 0, sizeof(*c));
	if (geteuid() == 0)
		snprintf(path, sizeof(path), "/var/lib/llmunix");
	else if (xdg && *xdg == '/')
		snprintf(path, sizeof(path), "%s/llmunix", xdg);
	else
		snprintf(path, sizeof(path), "%s/.local/state/llmunix",
			 home ? home : "/tmp");
	c->state_dir = strdup(path);
	c->system_skills = strdup(LLMUNIX_DATADIR "/skills");
	c->storage = strdup("local");
	c->s3_region = strdup("us-east-1");
	c->s3_path_style = -1;
	c->vercel_base_url = strdup("https://vercel.com/api/blob");
	c->store_timeout = 5;
	c->store_connect_timeout = 2;
	c->cache_size = (uint64_t)256 << 20;
	c->entry_timeout = 1.0;
	c->attr_timeout = 0.0;
	c->max_file_size = (uint64_t)64 << 20;
	c->log_level = LOG_LVL_INFO;
	c->redis_timeout = 2;
	c->llm_max_tokens = 4096;
	c->llm_timeout = 300;
	c->llm_idle_timeout = 60;
	c->llm_max_reply = (uint64_t)1 << 20;
	c->max_prompt = (uint64_t)256 << 10;
	c->llm_tool_rounds = 8;
	c->llm_context_skills = 5;
	c->llm_context_size = (uint64_t)64 << 10;
	c->llm_max_tools = 32;
	c->llm_max_turns = 16;
	config_default_limits(c);
	if (!c->state_dir || !c->system_skills || !c->storage ||
	    !c->s3_region || !c->vercel_base_url)
		return -ENOMEM;
	return 0;
}

static void free_list(char **v, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		free(v[i]);
	*n = 0;
}

void config_release(struct config *c)
{
	free(c->state_dir);
	free(c->system_skills);
	free(c->storage);
	free(c->s3_endpoint);
	free(c->s3_bucket);
	free(c->s3_region);
	free(c->vercel_base_url);
	free(c->admin_group);
	free(c->redis_url);
	free(c->llm_provider);
	free(c->llm_model);
	free(c->llm_base_url);
	free_list(c->teams, &c->nteams);
	free_list(c->users, &c->nusers);
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* A unix user or group name as useradd accepts it. */
static int valid_account_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 32 || s[0] == '-')
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._-$", *s))
			return 0;
	return 1;
}

static int set_list(char **v, size_t *n, const char *key, const char *value,
		    const char *where, char *err, size_t errlen)
{
	char *copy = strdup(value), *save = NULL, *tok;
	int rc = 0;

	if (!copy)
		return -ENOMEM;
	free_list(v, n);
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *name = trim(tok);

		if (!*name)
			continue;
		if (!valid_account_name(name)) {
			snprintf(err, errlen, "%s: %s: '%s' is not a valid "
				 "account or group name", where, key, name);
			rc = -EINVAL;
			break;
		}
		if (*n == CONFIG_MAX_LIST) {
			snprintf(err, errlen, "%s: %s: more than %d names",
				 where, key, CONFIG_MAX_LIST);
			rc = -EINVAL;
			break;
		}
		if (strcmp(key, "teams") == 0 ? !getgrnam(name) :
		    !getpwnam(name)) {
			snprintf(err, errlen, "%s: %s: no unix %s named '%s' "
				 "(create it with %s)", where, key,
				 key[0] == 't' ? "group" : "account", name,
				 key[0] == 't' ? "groupadd" : "useradd");
			rc = -EINVAL;
			break;
		}
		v[*n] = strdup(name);
		if (!v[*n]) {
			rc = -ENOMEM;
			break;
		}
		(*n)++;
	}
	free(copy);
	return rc;
}

static int set_string(char **dst, const char *value)
{
	char *s = strdup(value);

	if (!s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

static int parse_seconds(double *out, const char *key, const char *value,
			 const char *where, char *err, size_t errlen)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(value, &end);
	if (errno || end == value || *end || !(d >= 0 && d <= 86400)) {
		snprintf(err, errlen, "%s: %s: '%s' is not a number of "
			 "seconds between 0 and 86400", where, key, value);
		return -EINVAL;
	}
	*out = d;
	return 0;
}

static int parse_size(uint64_t *out, const char *key, const char *value,
		      const char *where, char *err, size_t errlen)
{
	unsigned long long n;
	char *end;
	int shift = 0;

	errno = 0;
	n = strtoull(value, &end, 10);
	if (!errno && end != value) {
		if (*end == 'K' || *end == 'k')
			shift = 10, end++;
		else if (*end == 'M' || *end == 'm')
			shift = 20, end++;
		else if (*end == 'G' || *end == 'g')
			shift = 30, end++;
	}
	if (errno || end == value || *end || value[0] == '-' ||
	    n > (1ULL << 32) || n << shift > (1ULL << 32) || n == 0) {
		snprintf(err, errlen, "%s: %s: '%s' is not a size between 1 "
			 "and 4G (a number with K, M or G)", where, key, value);
		return -EINVAL;
	}
	*out = (uint64_t)n << shift;
	return 0;
}

static int parse_bool(int *out, const char *key, const char *value,
		      const char *where, char *err, size_t errlen)
{
	if (!strcmp(value, "yes") || !strcmp(value, "true") ||
	    !strcmp(value, "1")) {
		*out = 1;
		return 0;
	}
	if (!strcmp(value, "no") || !strcmp(value, "false") ||
	    !strcmp(value, "0")) {
		*out = 0;
		return 0;
	}
	snprintf(err, errlen, "%s: %s: '%s' is not yes or no", where, key,
		 value);
	return -EINVAL;
}

static int parse_cgroup(int *out, const char *value, const char *where,
			char *err, size_t errlen)
{
	static const char *const names[] = {
		[CONFIG_CGROUP_AUTO] = "auto", [CONFIG_CGROUP_ON] = "on",
		[CONFIG_CGROUP_OFF] = "off",
	};

	for (int i = 0; i < 3; i++) {
		if (!strcmp(value, names[i])) {
			*out = i;
			return 0;
		}
	}
	snprintf(err, errlen, "%s: node_cgroup: '%s' is not auto, on or off",
		 where, value);
	return -EINVAL;
}

static int parse_count(double *out, const char *key, const char *value,
		       double max, const char *where, char *err, size_t errlen)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(value, &end);
	if (errno || end == value || *end || !(d > 0 && d <= max)) {
		snprintf(err, errlen, "%s: %s: '%s' is not a number above 0 "
			 "and at most %g", where, key, value, max);
		return -EINVAL;
	}
	*out = d;
	return 0;
}

/* limit_<name> and max_<name>, for each skill limit. */
static int set_limit(struct config *c, const char *key, const char *value,
		     const char *where, char *err, size_t errlen, int *found)
{
	for (int i = 0; i < SKILL_NLIMITS; i++) {
		const char *name = skill_limit_name(i);
		double *dst = NULL;

		if (!strncmp(key, "limit_", 6) && !strcmp(key + 6, name))
			dst = &c->limit[i];
		else if (!strncmp(key, "max_", 4) && !strcmp(key + 4, name))
			dst = &c->limit_max[i];
		if (dst) {
			*found = 1;
			return parse_count(dst, key, value, 1e6, where, err,
					   errlen);
		}
	}
	*found = 0;
	return 0;
}

/* "http://host:port" or "https://host", without spaces or a query. */
static int set_url(char **dst, const char *key, const char *value,
		   const char *where, char *err, size_t errlen)
{
	const char *host = strstr(value, "://");

	if (!host || (strncmp(value, "http://", 7) &&
		      strncmp(value, "https://", 8)) || !host[3] ||
	    host[3] == '/' || strpbrk(value, " \t?#@")) {
		snprintf(err, errlen, "%s: %s: '%s' is not an http:// or "
			 "https:// URL of a server", where, key, value);
		return -EINVAL;
	}
	return set_string(dst, value);
}

/* A bucket name as S3 allows it: 3 to 63 of a-z 0-9 . - */
static int set_bucket(struct config *c, const char *value, const char *where,
		      char *err, size_t errlen)
{
	size_t n = strlen(value);

	for (const char *p = value; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '.' || *p == '-'))
			n = 0;
	if (n < 3 || n > 63) {
		snprintf(err, errlen, "%s: s3_bucket: '%s' is not a bucket "
			 "name (3 to 63 of a-z, 0-9, '.' and '-')", where,
			 value);
		return -EINVAL;
	}
	return set_string(&c->s3_bucket, value);
}

/* The keys of the remote stores. */
static int set_remote(struct config *c, const char *key, const char *value,
		      const char *where, char *err, size_t errlen, int *found)
{
	*found = 1;
	if (strcmp(key, "s3_endpoint") == 0)
		return set_url(&c->s3_endpoint, key, value, where, err,
			       errlen);
	if (strcmp(key, "s3_bucket") == 0)
		return set_bucket(c, value, where, err, errlen);
	if (strcmp(key, "s3_region") == 0) {
		size_t n = strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789-");

		if (!*value || value[n] || n > 32) {
			snprintf(err, errlen, "%s: s3_region: '%s' is not a "
				 "region name (such as us-east-1)", where,
				 value);
			return -EINVAL;
		}
		return set_string(&c->s3_region, value);
	}
	if (strcmp(key, "s3_path_style") == 0) {
		if (strcmp(value, "auto") == 0) {
			c->s3_path_style = -1;
			return 0;
		}
		return parse_bool(&c->s3_path_style, key, value, where, err,
				  errlen);
	}
	if (strcmp(key, "vercel_base_url") == 0)
		return set_url(&c->vercel_base_url, key, value, where, err,
			       errlen);
	if (strcmp(key, "vercel_access") == 0) {
		if (strcmp(value, "public") && strcmp(value, "private")) {
			snprintf(err, errlen, "%s: vercel_access: '%s' is "
				 "neither public nor private (the store's "
				 "access, as its dashboard says)", where,
				 value);
			return -EINVAL;
		}
		c->vercel_private = value[1] == 'r';
		return 0;
	}
	if (strcmp(key, "store_timeout") == 0 ||
	    strcmp(key, "store_connect_timeout") == 0) {
		double *dst = key[6] == 't' ? &c->store_timeout :
					      &c->store_connect_timeout;

		return parse_count(dst, key, value, 600, where, err, errlen);
	}
	if (strcmp(key, "cache_size") == 0)
		return parse_size(&c->cache_size, key, value, where, err,
				  errlen);
	*found = 0;
	return 0;
}

static int parse_uint(unsigned *out, const char *key, const char *value,
		      unsigned min, unsigned max, const char *where, char *err,
		      size_t errlen)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(value, &end, 10);
	if (errno || end == value || *end || value[0] == '-' || n < min ||
	    n > max) {
		snprintf(err, errlen, "%s: %s: '%s' is not a whole number "
			 "between %u and %u", where, key, value, min, max);
		return -EINVAL;
	}
	*out = (unsigned)n;
	return 0;
}

/* The keys of sessions and chat (llm_*, redis_*, max_prompt). */
static int set_chat(struct config *c, const char *key, const char *value,
		    const char *where, char *err, size_t errlen, int *found)
{
	*found = 1;
	if (strcmp(key, "redis_url") == 0) {
		if (strncmp(value, "redis://", 8) != 0) {
			snprintf(err, errlen, "%s: redis_url: not a redis://"
				 "[[user]:password@]host[:port][/db] URL",
				 where);
			return -EINVAL;
		}
		return set_string(&c->redis_url, value);
	}
	if (strcmp(key, "redis_timeout") == 0)
		return parse_count(&c->redis_timeout, key, value, 60, where,
				   err, errlen);
	if (strcmp(key, "llm_provider") == 0) {
		if (strcmp(value, "anthropic") && strcmp(value, "openai") &&
		    strcmp(value, "none")) {
			snprintf(err, errlen, "%s: llm_provider: unknown "
				 "provider '%s' (expected anthropic, openai or "
				 "none)", where, value);
			return -EINVAL;
		}
		return set_string(&c->llm_provider, value);
	}
	if (strcmp(key, "llm_model") == 0) {
		if (!*value || strlen(value) > 200 || strpbrk(value, "\"\\")) {
			snprintf(err, errlen, "%s: llm_model: '%s' is not a "
				 "model name", where, value);
			return -EINVAL;
		}
		return set_string(&c->llm_model, value);
	}
	if (strcmp(key, "llm_base_url") == 0)
		return set_url(&c->llm_base_url, key, value, where, err,
			       errlen);
	if (strcmp(key, "llm_max_tokens") == 0)
		return parse_uint(&c->llm_max_tokens, key, value, 1, 1000000,
				  where, err, errlen);
	if (strcmp(key, "llm_timeout") == 0)
		return parse_count(&c->llm_timeout, key, value, 86400, where,
				   err, errlen);
	if (strcmp(key, "llm_idle_timeout") == 0)
		return parse_count(&c->llm_idle_timeout, key, value, 3600,
				   where, err, errlen);
	if (strcmp(key, "llm_max_reply") == 0)
		return parse_size(&c->llm_max_reply, key, value, where, err,
				  errlen);
	if (strcmp(key, "max_prompt") == 0)
		return parse_size(&c->max_prompt, key, value, where, err,
				  errlen);
	if (strcmp(key, "llm_tool_rounds") == 0)
		return parse_uint(&c->llm_tool_rounds, key, value, 0, 100,
				  where, err, errlen);
	if (strcmp(key, "llm_context_skills") == 0)
		return parse_uint(&c->llm_context_skills, key, value, 0, 100,
				  where, err, errlen);
	if (strcmp(key, "llm_context_size") == 0)
		return parse_size(&c->llm_context_size, key, value, where, err,
				  errlen);
	if (strcmp(key, "llm_max_tools") == 0)
		return parse_uint(&c->llm_max_tools, key, value, 0, 128,
				  where, err, errlen);
	if (strcmp(key, "llm_max_turns") == 0)
		return parse_uint(&c->llm_max_turns, key, value, 1, 1024,
				  where, err, errlen);
	*found = 0;
	return 0;
}

/* A whole number of MiB, 0 (no limit) to 1 TiB. */
static int parse_mb(uint64_t *out, const char *key, const char *value,
		    const char *where, char *err, size_t errlen)
{
	unsigned long long n;
	char *end;

	errno = 0;
	n = strtoull(value, &end, 10);
	if (errno || end == value || *end || value[0] == '-' ||
	    n > (1ULL << 20)) {
		snprintf(err, errlen, "%s: %s: '%s' is not a whole number of "
			 "MB between 0 (no limit) and 1048576", where, key,
			 value);
		return -EINVAL;
	}
	*out = n;
	return 0;
}

static int parse_level(int *out, const char *value, const char *where,
		       char *err, size_t errlen)
{
	static const char *const names[] = { "error", "warning", "info",
					     "debug" };

	for (int i = 0; i < 4; i++) {
		if (strcmp(value, names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	snprintf(err, errlen, "%s: log_level: unknown level '%s' (expected "
		 "error, warning, info or debug)", where, value);
	return -EINVAL;
}

int config_set(struct config *c, const char *key, const char *value,
	       const char *where, char *err, size_t errlen)
{
	if (strcmp(key, "teams") == 0)
		return set_list(c->teams, &c->nteams, key, value, where, err,
				errlen);
	if (strcmp(key, "users") == 0)
		return set_list(c->users, &c->nusers, key, value, where, err,
				errlen);
	if (strcmp(key, "admin_group") == 0) {
		if (!valid_account_name(value)) {
			snprintf(err, errlen, "%s: admin_group: '%s' is not a "
				 "valid group name", where, value);
			return -EINVAL;
		}
		if (!getgrnam(value)) {
			snprintf(err, errlen, "%s: admin_group: no unix group "
				 "named '%s' (create it with groupadd)", where,
				 value);
			return -EINVAL;
		}
		return set_string(&c->admin_group, value);
	}
	if (strcmp(key, "storage") == 0) {
		if (strcmp(value, "local") != 0 && strcmp(value, "s3") != 0 &&
		    strcmp(value, "vercel") != 0) {
			snprintf(err, errlen, "%s: storage: unknown backend "
				 "'%s' (this build has: local, s3, vercel)",
				 where, value);
			return -EINVAL;
		}
		return set_string(&c->storage, value);
	}
	if (strncmp(key, "s3_", 3) == 0 || strncmp(key, "store_", 6) == 0 ||
	    strncmp(key, "vercel_", 7) == 0 ||
	    strcmp(key, "cache_size") == 0) {
		int found, rc = set_remote(c, key, value, where, err, errlen,
					   &found);

		if (found)
			return rc;
	}
	if (strcmp(key, "state") == 0 || strcmp(key, "system_skills") == 0) {
		if (value[0] != '/') {
			snprintf(err, errlen, "%s: %s: '%s' is not an absolute "
				 "path", where, key, value);
			return -EINVAL;
		}
		return set_string(key[0] == 's' && key[1] == 't' ?
				  &c->state_dir : &c->system_skills, value);
	}
	if (strcmp(key, "entry_timeout") == 0)
		return parse_seconds(&c->entry_timeout, key, value, where, err,
				     errlen);
	if (strcmp(key, "attr_timeout") == 0)
		return parse_seconds(&c->attr_timeout, key, value, where, err,
				     errlen);
	if (strcmp(key, "max_file_size") == 0)
		return parse_size(&c->max_file_size, key, value, where, err,
				  errlen);
	if (strcmp(key, "log_level") == 0)
		return parse_level(&c->log_level, value, where, err, errlen);
	if (strcmp(key, "network") == 0)
		return parse_bool(&c->network, key, value, where, err, errlen);
	if (strcmp(key, "history") == 0)
		return parse_bool(&c->history, key, value, where, err, errlen);
	if (strcmp(key, "history_quiet_ms") == 0) {
		double d;
		int rc = parse_count(&d, key, value, 600000, where, err,
				     errlen);

		if (!rc)
			c->history_quiet_ms = (unsigned)d;
		return rc;
	}
	if (strcmp(key, "node_cgroup") == 0)
		return parse_cgroup(&c->node_cgroup, value, where, err, errlen);
	if (strcmp(key, "jobs") == 0) {
		double d;
		int rc = parse_count(&d, key, value, CONFIG_MAX_JOBS, where,
				     err, errlen);

		if (!rc && d != (unsigned)d) {
			snprintf(err, errlen, "%s: jobs: '%s' is not a whole "
				 "number", where, value);
			rc = -EINVAL;
		}
		if (!rc)
			c->jobs = (unsigned)d;
		return rc;
	}
	if (strcmp(key, "user_quota_mb") == 0)
		return parse_mb(&c->user_quota_mb, key, value, where, err,
				errlen);
	if (strcmp(key, "user_memory_mb") == 0)
		return parse_mb(&c->user_memory_mb, key, value, where, err,
				errlen);
	{
		int found, rc = set_limit(c, key, value, where, err, errlen,
					  &found);

		if (found)
			return rc;
		rc = set_chat(c, key, value, where, err, errlen, &found);
		if (found)
			return rc;
	}
	snprintf(err, errlen, "%s: unknown key '%s' (expected teams, "
		 "admin_group, users, storage, s3_endpoint, s3_bucket, "
		 "s3_region, s3_path_style, vercel_base_url, "
		 "vercel_access, store_timeout, "
		 "store_connect_timeout, cache_size, state, system_skills, "
		 "entry_timeout, attr_timeout, max_file_size, log_level, "
		 "jobs, network, node_cgroup, history, history_quiet_ms, "
		 "limit_<limit>, max_<limit>, "
		 "user_quota_mb, user_memory_mb, redis_url, redis_timeout, "
		 "llm_provider, llm_model, llm_base_url, llm_max_tokens, "
		 "llm_timeout, llm_idle_timeout, llm_max_reply, max_prompt, "
		 "llm_tool_rounds, llm_context_skills, llm_context_size, "
		 "llm_max_tools or llm_max_turns)", where, key);
	return -EINVAL;
}

static int config_line(struct config *c, char *line, const char *where,
		       char *err, size_t errlen)
{
	char *hash = strchr(line, '#'), *eq, *key, *value;

	if (hash)
		*hash = '\0';
	key = trim(line);
	if (!*key)
		return 0;
	eq = strchr(key, '=');
	if (!eq) {
		snprintf(err, errlen, "%s: expected 'key = value', got '%s'",
			 where, key);
		return -EINVAL;
	}
	*eq = '\0';
	value = trim(eq + 1);
	key = trim(key);
	if (!*key) {
		snprintf(err, errlen, "%s: missing key before '='", where);
		return -EINVAL;
	}
	return config_set(c, key, value, where, err, errlen);
}

int config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	char line[4096], where[4200];
	unsigned lineno = 0;
	FILE *f = fopen(path, "re");
	int rc = 0;

	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: cannot read: %s", path,
			 strerror(errno));
		return rc;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		snprintf(where, sizeof(where), "%s:%u", path, lineno);
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s: line longer than %zu bytes",
				 where, sizeof(line) - 2);
			rc = -EINVAL;
			break;
		}
		rc = config_line(c, line, where, err, errlen);
		if (rc)
			break;
	}
	if (!rc && ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		rc = -EIO;
	}
	fclose(f);
	return rc;
}
