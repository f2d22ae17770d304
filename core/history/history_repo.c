/* core/history/history_repo.c: opening and creating a volume's repository,
 * libgit2's errors as errnos, and packing loose objects. */
#include "core/history/history_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* An OS error that libgit2 reported through errno alone: a failed write
 * of a loose object sets no message (libgit2 1.5). */
static int os_error(int e)
{
	switch (e) {
	case ENOSPC: case EDQUOT: case EROFS: case EIO: case ENOMEM:
	case EACCES: case EPERM: case EMFILE: case ENFILE: case EFBIG:
		return e;
	default:
		return 0;
	}
}

int hist_git_err(int rc, char *msg, size_t cap)
{
	const git_error *e = git_error_last();
	int saved = errno;
	const char *text;

	if (!e && os_error(saved))
		text = strerror(saved);
	else
		text = e && e->message ? e->message : "unknown error";
	if (msg && cap)
		snprintf(msg, cap, "%s", text);
	switch (rc) {
	case GIT_ENOTFOUND:
		return -ENOENT;
	case GIT_EEXISTS:
		return -EEXIST;
	case GIT_EAMBIGUOUS:
		return -ENOTUNIQ;
	case GIT_EBUFS:
		return -EFBIG;
	case GIT_ELOCKED:
	case GIT_EMODIFIED:
		return -EAGAIN;
	default:
		break;
	}
	if (!e)
		return os_error(saved) ? -saved : -EIO;
	if (e->klass == GIT_ERROR_NOMEMORY)
		return -ENOMEM;
	/* libgit2 words an OS error as "what: strerror(errno)"; errno
	 * itself may have been changed by its clean-up since. */
	if (strstr(text, "No space left on device"))
		return -ENOSPC;
	if (strstr(text, "Disk quota exceeded"))
		return -EDQUOT;
	if (e->klass == GIT_ERROR_OS && os_error(saved))
		return -saved;
	return -EIO;
}

/* The seam for shared stores (history.h): a repository whose objects and
 * refs live elsewhere would get its backends attached here. */
int hist_repo_open(struct history *h, struct hist_vol *v, int create,
		   git_repository **out, char *msg, size_t cap)
{
	git_repository_init_options opts;
	unsigned flags = GIT_REPOSITORY_OPEN_NO_SEARCH |
			 GIT_REPOSITORY_OPEN_BARE |
			 GIT_REPOSITORY_OPEN_NO_DOTGIT;
	int rc;

	(void)h;
	*out = NULL;
	rc = git_repository_open_ext(out, v->gitdir, flags, NULL);
	if (rc == 0)
		return 0;
	if (rc != GIT_ENOTFOUND)
		return hist_git_err(rc, msg, cap);
	if (!create) {
		git_error_clear();
		return -ENOENT;
	}
	git_repository_init_options_init(&opts,
					 GIT_REPOSITORY_INIT_OPTIONS_VERSION);
	opts.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH;
	opts.initial_head = "main";
	opts.description = "llmunixfs: the history of one volume\n";
	rc = git_repository_init_ext(out, v->gitdir, &opts);
	if (rc < 0) {
		*out = NULL;
		return hist_git_err(rc, msg, cap);
	}
	return 0;
}

/* fsync a file of the repository by name. */
static int sync_file(const char *dir, const char *name)
{
	char path[4096];
	int fd, rc = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

struct loose {
	git_oid *id;
	size_t n, alloc;
};

static int loose_add(struct loose *l, const git_oid *id)
{
	if (l->n == l->alloc) {
		size_t want = l->alloc ? 2 * l->alloc : 256;
		git_oid *p = realloc(l->id, want * sizeof(*p));

		if (!p)
			return -ENOMEM;
		l->id = p;
		l->alloc = want;
	}
	git_oid_cpy(&l->id[l->n++], id);
	return 0;
}

/* Every loose object of the repository at `objects`. */
static int loose_list(const char *objects, struct loose *l)
{
	char path[4096], hex[GIT_OID_HEXSZ + 1];
	int rc = 0;

	for (unsigned fan = 0; fan < 256 && !rc; fan++) {
		struct dirent *de;
		DIR *d;

		if ((size_t)snprintf(path, sizeof(path), "%s/%02x", objects,
				     fan) >= sizeof(path))
			return -ENAMETOOLONG;
		d = opendir(path);
		if (!d)
			continue;
		while (!rc && (de = readdir(d))) {
			git_oid id;

			if (strlen(de->d_name) != GIT_OID_HEXSZ - 2)
				continue;
			snprintf(hex, 3, "%02x", fan);
			memcpy(hex + 2, de->d_name, GIT_OID_HEXSZ - 2);
			hex[GIT_OID_HEXSZ] = '\0';
			if (git_oid_fromstr(&id, hex) < 0)
				continue;
			rc = loose_add(l, &id);
		}
		closedir(d);
	}
	return rc;
}

int hist_repo_pack(git_repository *repo, char *msg, size_t cap)
{
	struct loose l = { 0 };
	git_packbuilder *pb = NULL;
	char objects[4096], packdir[4096], name[128], hex[GIT_OID_HEXSZ + 1];
	int rc;

	if ((size_t)snprintf(objects, sizeof(objects), "%sobjects",
			     git_repository_path(repo)) >= sizeof(objects) ||
	    (size_t)snprintf(packdir, sizeof(packdir), "%s/pack", objects) >=
		    sizeof(packdir))
		return -ENAMETOOLONG;
	rc = loose_list(objects, &l);
	if (rc || l.n == 0)
		goto out;
	rc = git_packbuilder_new(&pb, repo);
	if (rc < 0)
		goto out_git;
	git_packbuilder_set_threads(pb, 1);
	for (size_t i = 0; i < l.n; i++) {
		rc = git_packbuilder_insert(pb, &l.id[i], NULL);
		if (rc < 0)
			goto out_git;
	}
	rc = git_packbuilder_write(pb, packdir, 0, NULL, NULL);
	if (rc < 0)
		goto out_git;
	/* The pack must be on disk before the loose copies go. */
	snprintf(name, sizeof(name), "pack-%s.pack", git_packbuilder_name(pb));
	rc = sync_file(packdir, name);
	snprintf(name, sizeof(name), "pack-%s.idx", git_packbuilder_name(pb));
	if (!rc)
		rc = sync_file(packdir, name);
	if (!rc)
		rc = sync_file(packdir, ".");
	if (rc) {
		snprintf(msg, cap, "cannot sync the new pack: %s",
			 strerror(-rc));
		goto out;
	}
	for (size_t i = 0; i < l.n; i++) {
		char path[4096];

		git_oid_tostr(hex, sizeof(hex), &l.id[i]);
		if ((size_t)snprintf(path, sizeof(path), "%s/%.2s/%s", objects,
				     hex, hex + 2) < sizeof(path))
			unlink(path);
	}
	rc = 0;
	goto out;
out_git:
	rc = hist_git_err(rc, msg, cap);
out:
	git_packbuilder_free(pb);
	free(l.id);
	return rc;
}
