/* core/util/config.h: the daemon's configuration.
 *
 * The file is `key = value` lines; `#` starts a comment. Keys:
 *   teams = eng, research     unix groups that are teams
 *   admin_group = llmadmin    members are admins (uid 0 always is)
 *   users = a, b              accounts outside the login uid range that
 *                             also get a user volume
 *   storage = local           blob backend: local, s3 or vercel
 *   s3_endpoint = URL         S3-compatible server (default AWS's for
 *                             s3_region), s3_bucket, s3_region
 *                             (us-east-1), s3_path_style = auto|yes|no
 *   vercel_base_url = URL     Vercel Blob's API (default
 *                             https://vercel.com/api/blob)
 *   vercel_access = public    the store's access: public or private
 *   store_timeout = 5         seconds one request to a remote store may
 *                             take; a retry at most doubles it
 *   store_connect_timeout = 2 seconds to connect to it
 *   cache_size = 256M         content of a remote store kept in STATE
 *   state = DIR               where everything is stored
 *   system_skills = DIR       seed of the system volume (first mount only)
 *   entry_timeout = 1.0       seconds the kernel may cache names
 *   attr_timeout = 0          seconds the kernel may cache attributes
 *   max_file_size = 64M       largest file in skills/ and workflows/
 *   log_level = info          error, warning, info or debug
 *   jobs = 2                  nodes run at once (default: the cores)
 *   network = no              whether a skill may ask for the network
 *   node_cgroup = auto        how memory_mb and procs cap a node as a
 *                             whole: auto (a cgroup per node when the
 *                             daemon can make one, else a monitor), on
 *                             (a memory cgroup or refuse to start), off
 *                             (the monitor)
 *   limit_timeout_s = 60      a node's default limits (timeout_s,
 *   max_timeout_s = 600       cpu_s, memory_mb, procs, file_mb,
 *                             output_mb), and the most a skill or a
 *                             graph may raise them to
 *   user_quota_mb = 1024      MiB of disk each user's run records and
 *                             cached results may use together (0: no
 *                             limit); see core/run/engine.h
 *   history = yes             every change in skills/ and workflows/ is
 *                             a git commit, shown in <volume>/history/
 *   history_quiet_ms = 1000   changes this close are one commit
 *   redis_url = redis://h:p   sessions in Redis (LLMos-Lite's layout);
 *                             default $REDIS_URL, else files in the state
 *   redis_timeout = 2         seconds to connect and for each command
 *   llm_provider = anthropic  anthropic, openai (any OpenAI-compatible
 *                             server) or none; default: the one whose key
 *                             is in the environment
 *   llm_model, llm_base_url   the model and the server (defaults: the
 *                             provider's)
 *   llm_max_tokens = 4096     asked of the model per request
 *   llm_timeout = 300         seconds a reply may take, all rounds
 *   llm_idle_timeout = 60     seconds a stream may stay silent
 *   llm_max_reply = 1M        bytes of a reply
 *   max_prompt = 256K         bytes of a prompt
 *   llm_tool_rounds = 8       tool calls answered per turn
 *   llm_context_skills = 5    skills whose full text a request carries
 *   llm_context_size = 64K    bytes of skills (catalog and full texts)
 *   llm_max_tools = 32        runnable skills offered as tools
 *   llm_max_turns = 16        replies streaming at once, all users
 *   user_memory_mb = 256      MiB of file content each user may hold in
 *                             the daemon's memory (files being written,
 *                             small files being read); 0: no limit
 * Loaded once at start-up, then read-only: any thread may read it.
 */
#ifndef LLMUNIX_CONFIG_H
#define LLMUNIX_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "core/util/limits.h"

#define CONFIG_MAX_LIST 64

enum config_cgroup { CONFIG_CGROUP_AUTO, CONFIG_CGROUP_ON, CONFIG_CGROUP_OFF };
#define CONFIG_MAX_JOBS 256

struct config {
	char *state_dir;
	char *system_skills;
	char *storage;
	char *s3_endpoint;		/* NULL: AWS's, for s3_region */
	char *s3_bucket;
	char *s3_region;
	int s3_path_style;		/* 1 yes, 0 no, -1 auto */
	char *vercel_base_url;
	int vercel_private;		/* the store's access is private */
	double store_timeout;
	double store_connect_timeout;
	uint64_t cache_size;
	char *admin_group;		/* NULL: root is the only admin */
	char *teams[CONFIG_MAX_LIST];
	size_t nteams;
	char *users[CONFIG_MAX_LIST];
	size_t nusers;
	double entry_timeout;
	double attr_timeout;
	uint64_t max_file_size;
	int log_level;			/* enum log_level */
	unsigned jobs;			/* 1..CONFIG_MAX_JOBS */
	int network;			/* skills may ask for the network */
	int history;			/* changes are committed to git */
	unsigned history_quiet_ms;	/* group changes this close */
	int node_cgroup;		/* enum config_cgroup */
	double limit[SKILL_NLIMITS];	/* defaults, by enum skill_limit */
	double limit_max[SKILL_NLIMITS];	/* ceilings */
	uint64_t user_quota_mb;		/* per user, runs + cache; 0: none */
	uint64_t user_memory_mb;	/* per user, open files' content */

	/* Sessions and chat (DESIGN.md section 6). */
	char *redis_url;		/* NULL: $REDIS_URL, else local */
	double redis_timeout;		/* connect and each command */
	char *llm_provider;		/* anthropic, openai, none; NULL:
					 * from the keys in the environment */
	char *llm_model;		/* NULL: the provider's default */
	char *llm_base_url;		/* NULL: the provider's own */
	unsigned llm_max_tokens;	/* asked of the model per request */
	double llm_timeout;		/* seconds a reply may take */
	double llm_idle_timeout;	/* seconds a stream may stay silent */
	uint64_t llm_max_reply;		/* bytes of a reply */
	uint64_t max_prompt;		/* bytes of a prompt */
	unsigned llm_tool_rounds;	/* tool calls and answers per turn */
	unsigned llm_context_skills;	/* skills sent whole, at most */
	uint64_t llm_context_size;	/* bytes of skills in a request */
	unsigned llm_max_tools;		/* skills offered as tools */
	unsigned llm_max_turns;		/* replies streaming at once */
};

/* Defaults: state in /var/lib/llmunix for root, $XDG_STATE_HOME/llmunix
 * (or ~/.local/state/llmunix) otherwise. Returns 0 or -ENOMEM. */
int config_init(struct config *c);
void config_release(struct config *c);

/* Read `path`. On a bad line returns -EINVAL and writes
 * "PATH:LINE: what is wrong" into `err`. A missing file is -ENOENT. */
int config_load(struct config *c, const char *path, char *err, size_t errlen);

/* Set one key from the command line (-o key=value); same messages, with
 * `where` in place of "PATH:LINE". */
int config_set(struct config *c, const char *key, const char *value,
	       const char *where, char *err, size_t errlen);

#endif
