/* core/util/name.h: validation of names and paths inside a volume. */
#ifndef LLMUNIX_NAME_H
#define LLMUNIX_NAME_H

#include <stddef.h>

#define NAME_MAX_BYTES 255	/* one path component */
#define PATH_MAX_BYTES 1000	/* a path inside a volume, e.g. skills/a/b.md */

/* 0 for a name that may be created, -ENAMETOOLONG past NAME_MAX_BYTES,
 * -EINVAL for "", ".", ".." or a name holding '/'. */
int name_check(const char *name);

/* Whether `name` is editor or tool noise that is never versioned:
 * vim's 4913 probe, swap files (.swp .swx .swo), backups (~), emacs .#*, sed's
 * sedXXXXXX temporaries. */
int name_is_noise(const char *name);

#endif
