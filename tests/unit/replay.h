/* tests/unit/replay.h: replay a fuzz corpus through a fuzz target, each
 * file in a child process, so that a sanitizer report or an abort() of the
 * target is one failed check. Include it after the target's source (which
 * defines LLVMFuzzerTestOneInput) and unit.h; the sanitizer build makes
 * this the corpus replay of make check. Run from the top folder. */
#ifndef LLMUNIX_REPLAY_H
#define LLMUNIX_REPLAY_H

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

static void replay_one(void *arg)
{
	const char *path = arg;
	struct stat st;
	uint8_t *data;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (!CHECK(fd >= 0 && fstat(fd, &st) == 0, "%s: open", path))
		return;
	/* Exactly the file's size, so that ASan sees a read past the end. */
	data = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (CHECK(data && read(fd, data, (size_t)st.st_size) == st.st_size,
		  "%s: read", path))
		CHECK_INT_EQ(0, LLVMFuzzerTestOneInput(data,
						       (size_t)st.st_size),
			     "%s: the target took it and freed it", path);
	free(data);
	close(fd);
}

static int replay_by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Every regular file of `dir`, in name order; at least `min` of them. */
static void replay_dir(const char *dir, int min)
{
	struct dirent **list;
	char path[1024];
	int n = scandir(dir, &list, NULL, replay_by_name), files = 0;

	if (!CHECK(n >= 0, "%s: list the folder", dir))
		return;
	for (int i = 0; i < n; i++) {
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
		if (list[i]->d_name[0] != '.' && stat(path, &st) == 0 &&
		    S_ISREG(st.st_mode)) {
			unit_run_child(replay_one, path, path);
			files++;
		}
		free(list[i]);
	}
	free(list);
	CHECK(files >= min, "%s: replayed %d files", dir, files);
}

#endif
