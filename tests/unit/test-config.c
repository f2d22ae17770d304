/* tests/unit/test-config.c: config_load and config_set (core/util/config.h) on
 * temporary files. Account names used are ones every Debian system has:
 * groups adm, daemon, users; accounts daemon, nobody. */
#include "core/util/config.h"
#include "core/util/log.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp[256];
static char path[512];

static void write_file(const char *content)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t len = strlen(content);

	if (fd < 0 || write(fd, content, len) != (ssize_t)len) {
		printf("not ok - cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
	close(fd);
}

static void test_defaults(void)
{
	struct config c;

	CHECK_INT_EQ(0, config_init(&c), "config_init");
	if (geteuid() == 0)
		CHECK_STR_EQ("/var/lib/llmunix", c.state_dir,
			     "root's default state folder");
	else
		CHECK(c.state_dir && strstr(c.state_dir, "/llmunix"),
		      "a user's default state folder ends in llmunix (%s)",
		      c.state_dir);
	CHECK_STR_EQ("local", c.storage, "default storage is local");
	CHECK(c.admin_group == NULL, "no admin group by default");
	CHECK_INT_EQ(0, c.nteams, "no teams by default");
	CHECK_INT_EQ(0, c.nusers, "no extra users by default");
	CHECK(c.entry_timeout == 1.0, "default entry_timeout is 1 s");
	CHECK(c.attr_timeout == 0.0, "default attr_timeout is 0 s");
	CHECK_INT_EQ((uint64_t)64 << 20, c.max_file_size,
		     "default max_file_size is 64M");
	CHECK_INT_EQ(LOG_LVL_INFO, c.log_level, "default log_level is info");
	CHECK_INT_EQ(1024, c.user_quota_mb, "default user_quota_mb is 1024");
	CHECK(c.system_skills && c.system_skills[0] == '/',
	      "default system_skills is an absolute path");
	config_release(&c);
}

static void test_every_key(void)
{
	struct config c;
	char err[512] = "";
	int rc;

	config_init(&c);
	write_file("# llmunixfs configuration\n"
		   "\n"
		   "   \n"
		   "\t# an indented comment\n"
		   "teams = adm, daemon   # two teams\n"
		   "admin_group=users\n"
		   "users =daemon,nobody\n"
		   "  storage = local  \n"
		   "state = /tmp/llmunix-state\n"
		   "system_skills\t=\t/opt/skills dir\n"
		   "entry_timeout = 2.5\n"
		   "attr_timeout = 0\n"
		   "max_file_size = 16M\n"
		   "log_level = debug\n"
		   "user_quota_mb = 64\n"
		   "# the end\n");
	rc = config_load(&c, path, err, sizeof(err));
	if (!CHECK_INT_EQ(0, rc, "a file with every key loads"))
		printf("#   message: %s\n", err);
	CHECK_INT_EQ(2, c.nteams, "teams: two names");
	if (c.nteams == 2) {
		CHECK_STR_EQ("adm", c.teams[0], "teams[0]");
		CHECK_STR_EQ("daemon", c.teams[1],
			     "teams[1] (trailing comment and spaces cut)");
	}
	CHECK_STR_EQ("users", c.admin_group, "admin_group without spaces");
	CHECK_INT_EQ(2, c.nusers, "users: two names");
	if (c.nusers == 2) {
		CHECK_STR_EQ("daemon", c.users[0], "users[0]");
		CHECK_STR_EQ("nobody", c.users[1], "users[1]");
	}
	CHECK_STR_EQ("local", c.storage, "storage with surrounding spaces");
	CHECK_STR_EQ("/tmp/llmunix-state", c.state_dir, "state");
	CHECK_STR_EQ("/opt/skills dir", c.system_skills,
		     "system_skills around tabs, inner space kept");
	CHECK(c.entry_timeout == 2.5, "entry_timeout = 2.5 (got %g)",
	      c.entry_timeout);
	CHECK(c.attr_timeout == 0.0, "attr_timeout = 0 (got %g)",
	      c.attr_timeout);
	CHECK_INT_EQ((uint64_t)16 << 20, c.max_file_size,
		     "max_file_size = 16M");
	CHECK_INT_EQ(LOG_LVL_DEBUG, c.log_level, "log_level = debug");
	CHECK_INT_EQ(64, c.user_quota_mb, "user_quota_mb = 64");
	config_release(&c);

	config_init(&c);
	write_file("user_quota_mb = 0\n");
	CHECK_INT_EQ(0, config_load(&c, path, err, sizeof(err)),
		     "user_quota_mb = 0 loads");
	CHECK_INT_EQ(0, c.user_quota_mb, "user_quota_mb = 0: no limit");
	config_release(&c);

	/* CRLF line endings and a last line without a newline. */
	config_init(&c);
	write_file("teams = adm\r\nlog_level = error\r\nmax_file_size = 1K");
	rc = config_load(&c, path, err, sizeof(err));
	if (!CHECK_INT_EQ(0, rc, "CRLF lines and no final newline load"))
		printf("#   message: %s\n", err);
	CHECK(c.nteams == 1 && strcmp(c.teams[0], "adm") == 0,
	      "CRLF: teams = adm");
	CHECK_INT_EQ(LOG_LVL_ERR, c.log_level, "CRLF: log_level = error");
	CHECK_INT_EQ(1024, c.max_file_size,
		     "last line without newline: max_file_size = 1K");
	config_release(&c);

	/* An empty file and a comment-only file change nothing. */
	config_init(&c);
	write_file("");
	CHECK_INT_EQ(0, config_load(&c, path, err, sizeof(err)),
		     "an empty file loads");
	write_file("# nothing\n\n# at all\n");
	CHECK_INT_EQ(0, config_load(&c, path, err, sizeof(err)),
		     "a comment-only file loads");
	CHECK_STR_EQ("local", c.storage, "defaults stay after empty files");
	config_release(&c);
}

/* Load `content`, expect -EINVAL and a message starting with "PATH:LINE: "
 * and containing each of `words` (NULL-terminated). */
static void expect_error(const char *what, const char *content,
			 unsigned line, const char *const *words)
{
	struct config c;
	char err[1024] = "", prefix[600];
	int rc;

	config_init(&c);
	write_file(content);
	rc = config_load(&c, path, err, sizeof(err));
	CHECK_INT_EQ(-EINVAL, rc, "%s: config_load fails with EINVAL", what);
	snprintf(prefix, sizeof(prefix), "%s:%u: ", path, line);
	if (!CHECK(strncmp(err, prefix, strlen(prefix)) == 0,
		   "%s: the message starts with FILE:%u:", what, line))
		printf("#   message: %s\n", err);
	for (; *words; words++)
		if (!CHECK(strstr(err, *words) != NULL,
			   "%s: the message says '%s'", what, *words))
			printf("#   message: %s\n", err);
	config_release(&c);
}

static void test_errors(void)
{
	struct config c;
	char err[512] = "";
	char *big;

	expect_error("unknown key", "# comment\n\ncolour = blue\n", 3,
		     (const char *const[]){ "unknown key", "'colour'", NULL });
	expect_error("missing '='", "teams = adm\nteams adm\n", 2,
		     (const char *const[]){ "key = value", "teams adm",
					    NULL });
	expect_error("missing key", "\n = adm\n", 2,
		     (const char *const[]){ "missing key", NULL });
	expect_error("bad size", "max_file_size = 12Q\n", 1,
		     (const char *const[]){ "max_file_size", "'12Q'", "size",
					    NULL });
	expect_error("size too large", "max_file_size = 5G\n", 1,
		     (const char *const[]){ "max_file_size", "'5G'", NULL });
	expect_error("size zero", "max_file_size = 0\n", 1,
		     (const char *const[]){ "max_file_size", NULL });
	expect_error("negative size", "max_file_size = -1\n", 1,
		     (const char *const[]){ "max_file_size", NULL });
	expect_error("bad timeout", "entry_timeout = soon\n", 1,
		     (const char *const[]){ "entry_timeout", "'soon'",
					    "seconds", NULL });
	expect_error("negative timeout", "\n\n\nattr_timeout = -1\n", 4,
		     (const char *const[]){ "attr_timeout", "'-1'", NULL });
	expect_error("team group that does not exist",
		     "teams = adm, nosuchgroup-llmunix\n", 1,
		     (const char *const[]){ "teams", "nosuchgroup-llmunix",
					    "groupadd", NULL });
	expect_error("admin group that does not exist",
		     "admin_group = nosuchgroup-llmunix\n", 1,
		     (const char *const[]){ "admin_group",
					    "nosuchgroup-llmunix", NULL });
	expect_error("user that does not exist",
		     "users = nosuchuser-llmunix\n", 1,
		     (const char *const[]){ "users", "nosuchuser-llmunix",
					    "useradd", NULL });
	expect_error("invalid team name", "teams = bad name!\n", 1,
		     (const char *const[]){ "teams", "'bad name!'", NULL });
	expect_error("unknown storage", "storage = azure\n", 1,
		     (const char *const[]){ "storage", "'azure'", "s3",
					    "vercel", NULL });
	expect_error("vercel access", "vercel_access = secret\n", 1,
		     (const char *const[]){ "vercel_access", "'secret'",
					    "public", NULL });
	expect_error("vercel base URL", "vercel_base_url = vercel.com\n", 1,
		     (const char *const[]){ "vercel_base_url", "http://",
					    NULL });
	expect_error("endpoint not a URL", "s3_endpoint = 127.0.0.1:9000\n",
		     1, (const char *const[]){ "s3_endpoint", "http://",
					       NULL });
	expect_error("bucket with capitals", "s3_bucket = My_Bucket\n", 1,
		     (const char *const[]){ "s3_bucket", "'My_Bucket'",
					    NULL });
	expect_error("path style", "s3_path_style = sometimes\n", 1,
		     (const char *const[]){ "s3_path_style", "yes or no",
					    NULL });
	expect_error("timeout zero", "store_timeout = 0\n", 1,
		     (const char *const[]){ "store_timeout", "'0'", NULL });
	expect_error("relative state", "state = var/lib\n", 1,
		     (const char *const[]){ "state", "absolute", NULL });
	expect_error("jobs zero", "jobs = 0\n", 1,
		     (const char *const[]){ "jobs", "'0'", NULL });
	expect_error("jobs not whole", "jobs = 1.5\n", 1,
		     (const char *const[]){ "jobs", "whole", NULL });
	expect_error("network maybe", "network = maybe\n", 1,
		     (const char *const[]){ "network", "yes or no", NULL });
	expect_error("node_cgroup sometimes", "node_cgroup = sometimes\n", 1,
		     (const char *const[]){ "node_cgroup", "'sometimes'",
					    "auto, on or off", NULL });
	expect_error("negative limit", "limit_memory_mb = -5\n", 1,
		     (const char *const[]){ "limit_memory_mb", "'-5'", NULL });
	expect_error("unknown limit", "limit_colour = 5\n", 1,
		     (const char *const[]){ "unknown key", "limit_<limit>",
					    NULL });
	expect_error("quota with a suffix", "user_quota_mb = 1G\n", 1,
		     (const char *const[]){ "user_quota_mb", "'1G'",
					    "whole number of MB", NULL });
	expect_error("negative quota", "user_quota_mb = -1\n", 1,
		     (const char *const[]){ "user_quota_mb", "'-1'", NULL });
	expect_error("quota too large", "user_quota_mb = 2000000\n", 1,
		     (const char *const[]){ "user_quota_mb", "1048576",
					    NULL });
	expect_error("unknown log level", "log_level = loud\n", 1,
		     (const char *const[]){ "log_level", "'loud'", NULL });

	/* A line longer than the reader's buffer. */
	big = malloc(10000);
	if (big) {
		memset(big, 'x', 9998);
		memcpy(big, "state = /", 9);
		big[9998] = '\n';
		big[9999] = '\0';
		expect_error("line too long", big, 1,
			     (const char *const[]){ "longer", NULL });
		free(big);
	}

	/* A missing file. */
	config_init(&c);
	CHECK_INT_EQ(-ENOENT, config_load(&c, "/nonexistent/llmunix.conf", err,
					  sizeof(err)),
		     "a missing file is ENOENT");
	CHECK(strstr(err, "/nonexistent/llmunix.conf") != NULL,
	      "the missing file's message names it");
	config_release(&c);
}

static void set_ok(struct config *c, const char *key, const char *value)
{
	char err[512] = "";
	int rc = config_set(c, key, value, "-o", err, sizeof(err));

	if (!CHECK_INT_EQ(0, rc, "-o %s=%s is accepted", key, value))
		printf("#   message: %s\n", err);
}

static void set_bad(struct config *c, const char *key, const char *value)
{
	char err[512] = "";
	int rc = config_set(c, key, value, "-o", err, sizeof(err));

	CHECK_INT_EQ(-EINVAL, rc, "-o %s=%s is refused", key, value);
	if (!CHECK(strncmp(err, "-o: ", 4) == 0 && strstr(err, key),
		   "-o %s=%s: message starts with '-o: ' and names the key",
		   key, value))
		printf("#   message: %s\n", err);
}

static void test_set(void)
{
	struct config c;

	config_init(&c);
	set_ok(&c, "state", "/srv/state");
	CHECK_STR_EQ("/srv/state", c.state_dir, "-o state sets state_dir");
	set_ok(&c, "system_skills", "/srv/skills");
	CHECK_STR_EQ("/srv/skills", c.system_skills,
		     "-o system_skills sets system_skills");
	CHECK_STR_EQ("/srv/state", c.state_dir,
		     "-o system_skills leaves state_dir alone");
	set_bad(&c, "state", "relative/path");
	set_bad(&c, "system_skills", "");
	set_bad(&c, "colour", "blue");

	/* Sizes. */
	set_ok(&c, "max_file_size", "1");
	CHECK_INT_EQ(1, c.max_file_size, "max_file_size=1");
	set_ok(&c, "max_file_size", "3k");
	CHECK_INT_EQ(3072, c.max_file_size, "max_file_size=3k");
	set_ok(&c, "max_file_size", "64M");
	CHECK_INT_EQ((uint64_t)64 << 20, c.max_file_size, "max_file_size=64M");
	set_ok(&c, "max_file_size", "4G");
	CHECK_INT_EQ((uint64_t)4 << 30, c.max_file_size, "max_file_size=4G");
	set_bad(&c, "max_file_size", "5G");
	set_bad(&c, "max_file_size", "4097M");
	set_bad(&c, "max_file_size", "1.5M");
	set_bad(&c, "max_file_size", "1MB");
	set_bad(&c, "max_file_size", "M");
	set_bad(&c, "max_file_size", "");
	set_bad(&c, "max_file_size", "0");
	set_bad(&c, "max_file_size", "-5");
	set_bad(&c, "max_file_size", "99999999999999999999999");
	CHECK_INT_EQ((uint64_t)4 << 30, c.max_file_size,
		     "refused sizes leave the last good one");

	/* Timeouts. */
	set_ok(&c, "entry_timeout", "0");
	CHECK(c.entry_timeout == 0.0, "entry_timeout=0");
	set_ok(&c, "attr_timeout", "0.25");
	CHECK(c.attr_timeout == 0.25, "attr_timeout=0.25");
	set_ok(&c, "attr_timeout", "86400");
	CHECK(c.attr_timeout == 86400.0, "attr_timeout=86400");
	set_bad(&c, "attr_timeout", "86401");
	set_bad(&c, "attr_timeout", "-0.5");
	set_bad(&c, "attr_timeout", "1s");
	set_bad(&c, "attr_timeout", "");
	set_bad(&c, "attr_timeout", "inf");
	set_bad(&c, "entry_timeout", "nan");
	CHECK(c.entry_timeout == 0.0,
	      "refused timeouts leave the last good one (got %g)",
	      c.entry_timeout);

	/* Log levels. */
	set_ok(&c, "log_level", "warning");
	CHECK_INT_EQ(LOG_LVL_WARN, c.log_level, "log_level=warning");
	set_ok(&c, "log_level", "info");
	CHECK_INT_EQ(LOG_LVL_INFO, c.log_level, "log_level=info");
	set_bad(&c, "log_level", "INFO ");

	/* Lists: a new value replaces the old list; empty items skipped. */
	set_ok(&c, "teams", "adm, daemon");
	CHECK_INT_EQ(2, c.nteams, "teams=adm, daemon: two teams");
	set_ok(&c, "teams", " users ,, ");
	CHECK(c.nteams == 1 && strcmp(c.teams[0], "users") == 0,
	      "a second teams= replaces the list, empty items skipped");
	set_ok(&c, "teams", "");
	CHECK_INT_EQ(0, c.nteams, "teams= (empty) clears the list");
	set_bad(&c, "teams", "nosuchgroup-llmunix");
	set_bad(&c, "teams", "-adm");
	set_bad(&c, "teams", "a-name-that-is-longer-than-32-chars");
	set_ok(&c, "users", "nobody");
	CHECK(c.nusers == 1 && strcmp(c.users[0], "nobody") == 0,
	      "users=nobody");
	set_bad(&c, "users", "nosuchuser-llmunix");

	set_ok(&c, "admin_group", "adm");
	CHECK_STR_EQ("adm", c.admin_group, "admin_group=adm");
	set_ok(&c, "admin_group", "users");
	CHECK_STR_EQ("users", c.admin_group, "admin_group replaced");
	set_bad(&c, "admin_group", "");
	set_bad(&c, "admin_group", "nosuchgroup-llmunix");
	set_bad(&c, "storage", "azure");
	set_ok(&c, "storage", "local");
	CHECK(c.s3_endpoint == NULL && strcmp(c.s3_region, "us-east-1") == 0 &&
	      c.s3_path_style == -1 && c.store_timeout == 5 &&
	      c.cache_size == (uint64_t)256 << 20,
	      "S3 defaults: AWS's endpoint, us-east-1, path style auto, "
	      "5 s, a 256M cache");
	set_ok(&c, "storage", "s3");
	set_ok(&c, "s3_endpoint", "http://127.0.0.1:4568");
	set_ok(&c, "s3_bucket", "skills.team-1");
	set_ok(&c, "s3_region", "eu-west-3");
	set_ok(&c, "s3_path_style", "no");
	set_ok(&c, "store_timeout", "2.5");
	set_ok(&c, "cache_size", "1G");
	CHECK(!strcmp(c.storage, "s3") && !strcmp(c.s3_bucket, "skills.team-1")
	      && !strcmp(c.s3_endpoint, "http://127.0.0.1:4568") &&
	      c.s3_path_style == 0 && c.store_timeout == 2.5 &&
	      c.cache_size == (uint64_t)1 << 30, "the S3 keys are kept");
	set_bad(&c, "s3_endpoint", "http://user:pw@host");
	set_bad(&c, "s3_bucket", "ab");
	set_bad(&c, "s3_region", "us east");
	CHECK(!strcmp(c.vercel_base_url, "https://vercel.com/api/blob") &&
	      !c.vercel_private, "Vercel defaults: the public API, a public "
	      "store");
	set_ok(&c, "storage", "vercel");
	set_ok(&c, "vercel_base_url", "http://127.0.0.1:3000/api/blob");
	set_ok(&c, "vercel_access", "private");
	CHECK(!strcmp(c.storage, "vercel") && c.vercel_private &&
	      !strcmp(c.vercel_base_url, "http://127.0.0.1:3000/api/blob"),
	      "the Vercel keys are kept");
	set_ok(&c, "vercel_access", "public");
	CHECK(!c.vercel_private, "vercel_access = public");
	set_bad(&c, "vercel_base_url", "ftp://x");
	set_bad(&c, "vercel_access", "");
	config_release(&c);
}

static void test_run_keys(void)
{
	struct config c;
	char err[512];

	config_init(&c);
	CHECK(c.jobs >= 1, "jobs defaults to the number of cores (%u)",
	      c.jobs);
	CHECK_INT_EQ(0, c.network, "the network is off by default");
	CHECK(c.limit[SKILL_LIMIT_TIMEOUT_S] == 60,
	      "the default timeout is 60 s");
	CHECK(c.limit[SKILL_LIMIT_MEMORY_MB] == 512,
	      "the default memory limit is 512 MB");
	CHECK_INT_EQ(0, config_set(&c, "jobs", "3", "-o", err, sizeof(err)),
		     "jobs = 3");
	CHECK_INT_EQ(3, (int)c.jobs, "jobs is 3");
	CHECK_INT_EQ(0, config_set(&c, "network", "yes", "-o", err,
				   sizeof(err)), "network = yes");
	CHECK_INT_EQ(1, c.network, "the network may be asked for");
	CHECK_INT_EQ(CONFIG_CGROUP_AUTO, c.node_cgroup,
		     "node_cgroup is auto by default");
	CHECK_INT_EQ(0, config_set(&c, "node_cgroup", "off", "-o", err,
				   sizeof(err)), "node_cgroup = off");
	CHECK_INT_EQ(CONFIG_CGROUP_OFF, c.node_cgroup, "node_cgroup is off");
	CHECK_INT_EQ(0, config_set(&c, "node_cgroup", "on", "-o", err,
				   sizeof(err)), "node_cgroup = on");
	CHECK_INT_EQ(CONFIG_CGROUP_ON, c.node_cgroup, "node_cgroup is on");
	CHECK_INT_EQ(0, config_set(&c, "limit_timeout_s", "5", "-o", err,
				   sizeof(err)), "limit_timeout_s = 5");
	CHECK(c.limit[SKILL_LIMIT_TIMEOUT_S] == 5, "the timeout is 5 s");
	CHECK_INT_EQ(0, config_set(&c, "max_output_mb", "2", "-o", err,
				   sizeof(err)), "max_output_mb = 2");
	CHECK(c.limit_max[SKILL_LIMIT_OUTPUT_MB] == 2,
	      "the output ceiling is 2 MB");
	config_release(&c);
}

static void test_too_many(void)
{
	struct config c;
	char *v, err[512];
	size_t len = 0, cap = CONFIG_MAX_LIST * 8 + 16;

	v = malloc(cap);
	if (!v)
		return;
	v[0] = '\0';
	for (int i = 0; i <= CONFIG_MAX_LIST; i++)
		len += (size_t)snprintf(v + len, cap - len, "%sadm",
					i ? "," : "");
	config_init(&c);
	CHECK_INT_EQ(-EINVAL, config_set(&c, "teams", v, "-o", err,
					 sizeof(err)),
		     "more than %d teams are refused", CONFIG_MAX_LIST);
	CHECK(strstr(err, "more than") != NULL,
	      "the message says there are too many (%s)", err);
	config_release(&c);
	free(v);
}

/* "key = value" (a comment after the value dropped) set as the file
 * would. */
static int example_line(struct config *c, char *line, char *err,
			size_t errlen)
{
	char *eq = strchr(line, '='), *v, *end, *hash;
	char key[64];
	size_t k;

	if (!eq)
		return -EINVAL;
	k = (size_t)(eq - line);
	while (k && line[k - 1] == ' ')
		k--;
	snprintf(key, sizeof(key), "%.*s", (int)k, line);
	v = eq + 1;
	while (*v == ' ')
		v++;
	hash = strchr(v, '#');
	if (hash)
		*hash = '\0';
	end = v + strlen(v);
	while (end > v && end[-1] == ' ')
		*--end = '\0';
	return config_set(c, key, v, "example", err, errlen);
}

/* The keys of sessions and chat: each accepted, its bad values refused
 * with a message naming it; the shipped example's lines all parse. */
static void test_chat_keys(void)
{
	struct config c;
	FILE *f;
	char line[512], err[512];
	int n = 0, bad = 0;

	config_init(&c);
	CHECK(c.llm_max_tokens == 4096 && c.llm_timeout == 300 &&
	      c.max_prompt == 256 << 10 && c.llm_max_turns == 16 &&
	      !c.llm_provider && !c.redis_url, "chat defaults");
	set_ok(&c, "redis_url", "redis://:secret@127.0.0.1:6380/2");
	set_ok(&c, "redis_timeout", "0.5");
	set_ok(&c, "llm_provider", "openai");
	set_ok(&c, "llm_model", "gpt-4o-mini");
	set_ok(&c, "llm_base_url", "http://127.0.0.1:11434/v1");
	set_ok(&c, "llm_max_tokens", "1000");
	set_ok(&c, "llm_idle_timeout", "5");
	set_ok(&c, "llm_max_reply", "2M");
	set_ok(&c, "max_prompt", "1K");
	set_ok(&c, "llm_tool_rounds", "0");
	set_ok(&c, "llm_context_skills", "3");
	set_ok(&c, "llm_context_size", "128K");
	set_ok(&c, "llm_max_tools", "0");
	CHECK(c.max_prompt == 1024 && c.llm_max_reply == 2u << 20 &&
	      strcmp(c.llm_provider, "openai") == 0,
	      "the chat keys set their fields");
	set_bad(&c, "redis_url", "http://127.0.0.1");
	set_bad(&c, "llm_provider", "gemini");
	set_bad(&c, "llm_model", "a\"b");
	set_bad(&c, "llm_base_url", "ftp://x");
	set_bad(&c, "llm_max_tokens", "0");
	set_bad(&c, "llm_max_tools", "129");
	set_bad(&c, "llm_max_turns", "-1");
	set_bad(&c, "max_prompt", "lots");
	config_release(&c);

	/* core/llmunix.conf.example's chat lines, uncommented. */
	config_init(&c);
	f = fopen("core/llmunix.conf.example", "r");
	while (f && fgets(line, sizeof(line), f)) {
		const char *keys[] = { "#redis_", "#llm_", "#max_prompt" };

		for (size_t k = 0; k < 3; k++) {
			if (strncmp(line, keys[k], strlen(keys[k])) != 0)
				continue;
			line[strcspn(line, "\n")] = '\0';
			n++;
			if (example_line(&c, line + 1, err, sizeof(err))) {
				bad++;
				printf("#   %s\n", err);
			}
		}
	}
	if (f)
		fclose(f);
	CHECK(n >= 15 && bad == 0, "the example's %d chat lines parse (%d "
	      "refused)", n, bad);
	config_release(&c);
}

int main(void)
{
	unit_tmpdir(tmp, sizeof(tmp), "config");
	snprintf(path, sizeof(path), "%s/llmunix.conf", tmp);
	if (!getgrnam("adm") || !getgrnam("daemon") || !getgrnam("users") ||
	    !getpwnam("nobody") || !getpwnam("daemon"))
		unit_note("SKIP some checks: groups adm/daemon/users or "
			  "accounts daemon/nobody missing; they will fail");
	log_set_level(LOG_LVL_ERR);
	test_defaults();
	test_every_key();
	test_errors();
	test_set();
	test_run_keys();
	test_too_many();
	test_chat_keys();
	unit_rm_rf(tmp);
	return unit_done();
}
