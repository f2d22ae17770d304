/* core/store/dir_move.h: moving a folder in a store of flat keys (S3,
 * Vercel Blob), which has no rename: every object under the folder is
 * copied to its new key (eight at once), then the old ones deleted. A
 * journal entry says how far it got, so that a crash is settled at the
 * next start and a folder is never split between its two names:
 *   C from to   copying: undone (the copies deleted)
 *   X from to   copied whole: `from` is deleted
 * `from` and `to` in the journal end with '/'. */
#ifndef LLMUNIX_STORE_DIR_MOVE_H
#define LLMUNIX_STORE_DIR_MOVE_H

#include <stddef.h>

struct journal;
struct s3_objs;

/* What a backend gives: `be` is passed back to each. */
struct dir_move_ops {
	/* Every object under `prefix` (ending with '/'): 0 or -errno. */
	int (*list)(void *be, const char *prefix, struct s3_objs *out);
	/* Copy one object to a new key: 0 or -errno. */
	int (*copy)(void *be, const char *from, const char *to);
	/* Delete one object; one already gone is 0. */
	int (*del)(void *be, const char *key);
	/* Delete all of `objs` (NULL: `del` for each, eight at once). */
	int (*del_objs)(void *be, const struct s3_objs *objs);
};

/* Move the folder `from` to `to` (no trailing '/'): 0, or -errno with
 * the folder where it was (the copies made are deleted). */
int dir_move(void *be, struct journal *j, const struct dir_move_ops *ops,
	     const char *from, const char *to);

/* Delete every object under `prefix` (ending with '/'). */
int dir_delete_all(void *be, const struct dir_move_ops *ops,
		   const char *prefix);

#endif
