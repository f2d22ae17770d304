/* core/store/journal.h: intentions written down before a remote
 * backend's operation that takes several requests (a rename is a copy
 * and a delete), so that what a stop interrupted is settled at the next
 * start.
 *
 * The journal is a folder; each entry is a file of a kind letter and up
 * to four fields (keys, ETags), percent-encoded one a line, written to a
 * temporary name, fsynced and renamed, so an entry is whole or absent.
 * An entry is replaced when its operation moves on to another phase, and
 * removed once done.
 *
 * Thread-safe: entries have names of their own.
 */
#ifndef LLMUNIX_JOURNAL_H
#define LLMUNIX_JOURNAL_H

#include <stddef.h>

#define JOURNAL_FIELDS 4
#define JOURNAL_ID_MAX 64

struct journal;

/* Open the folder `dir` (made as needed, mode 0700). */
int journal_open(struct journal **out, const char *dir);
void journal_free(struct journal *j);

/* Write a new entry of `kind` with `fields` (NULL ones are empty); its
 * name goes to `id` (JOURNAL_ID_MAX). Returns 0 or -errno (logged). */
int journal_add(struct journal *j, char *id, char kind,
		const char *const fields[JOURNAL_FIELDS]);
/* Replace the entry `id`. */
int journal_set(struct journal *j, const char *id, char kind,
		const char *const fields[JOURNAL_FIELDS]);
/* The operation is over: forget it. */
void journal_done(struct journal *j, const char *id);

/* Called for each entry left by a stop, with its fields decoded. 0: the
 * entry is settled and removed; otherwise replay stops with that value. */
typedef int (*journal_settle_cb)(void *arg, char kind,
				 char *const fields[JOURNAL_FIELDS]);
int journal_replay(struct journal *j, journal_settle_cb cb, void *arg);

#endif
