/* core/skill/skill_xattr.h: a skill file's parsed fields as the read-only
 * extended attributes user.skill.* (name, description, category, type,
 * id, inputs, outputs, runner, error, warning), so a shell can read them
 * with getfattr. `runner` says what runs the skill as a node ("python",
 * "sh", "spice", "javascript") or "context" when it is not one; it is
 * absent when the file has errors. `warning` lists what was read
 * leniently, one message a line; a skill with warnings runs. */
#ifndef LLMUNIX_SKILL_XATTR_H
#define LLMUNIX_SKILL_XATTR_H

#include <stddef.h>

#include "core/store/blob.h"

#define SKILL_XATTR_PREFIX "user.skill."

/* Parse `len` bytes of `data`, the file `filename` ("skills/x.md", used in
 * messages and for the default id), into `out` (released by the caller
 * with blob_xattrs_release). A `len` over SKILL_MAX_FILE is not read: the
 * set then only holds the error. Returns 0 or -ENOMEM. */
int skill_xattrs_build(struct blob_xattrs *out, const char *filename,
		       const char *data, size_t len);

/* Whether `name` is in the reserved user.skill. namespace. */
int skill_xattr_reserved(const char *name);

#endif
