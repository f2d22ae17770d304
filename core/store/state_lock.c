/* core/store/state_lock.c: see state_lock.h. */
#include "core/store/state_lock.h"
#include "core/util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>

int state_lock(const char *state_dir, int *fd)
{
	char path[PATH_MAX];

	*fd = -1;
	if (snprintf(path, sizeof(path), "%s/lock", state_dir) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0)
		return -errno;
	if (flock(*fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno;

		close(*fd);
		*fd = -1;
		if (err != EWOULDBLOCK)
			return -err;
		log_err("state folder '%s' is in use by another llmunixfs "
			"(unmount it first)", state_dir);
		return -EBUSY;
	}
	return 0;
}
