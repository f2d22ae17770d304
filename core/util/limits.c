/* core/util/limits.c: the names of the limits (limits.h). */
#include "core/util/limits.h"

static const char *const limit_names[] = {
	[SKILL_LIMIT_TIMEOUT_S] = "timeout_s",
	[SKILL_LIMIT_MEMORY_MB] = "memory_mb",
	[SKILL_LIMIT_CPU_S] = "cpu_s",
	[SKILL_LIMIT_PROCS] = "procs",
	[SKILL_LIMIT_FILE_MB] = "file_mb",
	[SKILL_LIMIT_OUTPUT_MB] = "output_mb",
};

const char *skill_limit_name(enum skill_limit l)
{
	return (unsigned)l < SKILL_NLIMITS ? limit_names[l] : "?";
}
