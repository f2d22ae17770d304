/* core/util/limits.h: the limits a node of a run may have (DESIGN.md
 * section 5): what a skill's or a graph node's `limits:` may set, and what
 * the configuration's limit_* and max_* keys bound. Names as written in
 * skills: "timeout_s", "memory_mb", ...
 */
#ifndef LLMUNIX_LIMITS_H
#define LLMUNIX_LIMITS_H

enum skill_limit {
	SKILL_LIMIT_TIMEOUT_S,
	SKILL_LIMIT_MEMORY_MB,
	SKILL_LIMIT_CPU_S,
	SKILL_LIMIT_PROCS,
	SKILL_LIMIT_FILE_MB,
	SKILL_LIMIT_OUTPUT_MB,
	SKILL_NLIMITS
};

/* "timeout_s", ...; "?" for a value out of range. */
const char *skill_limit_name(enum skill_limit l);

#endif
