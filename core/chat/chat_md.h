/* core/chat/chat_md.h: the artifacts of a conversation: every fenced code
 * block the assistant wrote, as a file.
 *
 * A block in Markdown (or with no language) that starts with YAML
 * frontmatter ("---") is a skill, named from its frontmatter: its
 * skill_id, else its name, made a file name ("bond-scan.md"); an answer
 * that is itself a skill (frontmatter first) is one too. Any other block
 * is named from its message and place and its language: "0004-2.py" (the
 * second block of message 4, in python). A later block with a name taken
 * replaces the earlier one (a newer version of a skill). Pure functions
 * on memory, thread-safe.
 */
#ifndef LLMUNIX_CHAT_MD_H
#define LLMUNIX_CHAT_MD_H

#include <stddef.h>

struct chat_artifact {
	char *name;
	char *text;		/* NUL-terminated */
	size_t len;
	int skill;
	unsigned msg;		/* the message it came from (1-based) */
};

struct chat_artifacts {
	struct chat_artifact *v;
	size_t n;
};

/* Add the artifacts of message number `msg` (its content). 0, -ENOMEM or
 * -EFBIG. */
int chat_artifacts_scan(struct chat_artifacts *a, const char *content,
			unsigned msg);
void chat_artifacts_release(struct chat_artifacts *a);

#endif
