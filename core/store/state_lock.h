/* core/store/state_lock.h: one daemon per state folder, whatever the
 * backend: two would overwrite each other's view of the store. */
#ifndef LLMUNIX_STATE_LOCK_H
#define LLMUNIX_STATE_LOCK_H

/* Take STATE/lock (made as needed) for as long as `*fd` stays open.
 * Returns 0, -EBUSY (another daemon holds it; logged) or -errno. */
int state_lock(const char *state_dir, int *fd);

#endif
