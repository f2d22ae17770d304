/* core/prov/area_load.c: the areas of a volume from the store, and the
 * seeding of the system volume on the very first mount (area.h). */
#include "core/prov/area.h"
#include "core/util/log.h"
#include "core/util/name.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct load_ctx {
	struct ns *ns;
	struct node *vol;
	size_t prefix_len;
	size_t skipped;
};

/* Find or make the folder `name` under `parent` while loading. */
static struct node *load_dir(struct ns *ns, struct node *parent,
			     const char *name)
{
	struct node *n = node_child(ns, parent, name);

	if (n)
		return n->sub == AREA_FILE ? NULL : n;
	n = node_new(ns, parent, name, &area_prov, AREA_DIR, S_IFDIR | 0755);
	if (n)
		n->stored = 1;
	return n;
}

static void set_meta(struct node *n, const struct blob_meta *m)
{
	n->mode = (n->mode & S_IFMT) | (m->mode & 0777);
	n->uid = m->uid;
	n->gid = m->gid;
	n->mtime = m->mtime;
	n->ctime = m->mtime;
	if (n->sub == AREA_FILE) {
		n->size = m->size;
		n->saved = *m;
	}
	n->stored = 1;
	n->xattrs_loaded = 0;
}

/* One key of a volume, "skills/a/b.md" after the volume's prefix. */
static int load_one(void *arg, const char *key, const struct blob_meta *m)
{
	struct load_ctx *lc = arg;
	char path[PATH_MAX], *save = NULL, *comp, *next;
	struct node *n = lc->vol;
	int depth = 0;

	if (strlen(key) <= lc->prefix_len + 1 ||
	    strlen(key + lc->prefix_len + 1) > PATH_MAX_BYTES) {
		lc->skipped++;
		return 0;
	}
	snprintf(path, sizeof(path), "%s", key + lc->prefix_len + 1);
	comp = strtok_r(path, "/", &save);
	for (; comp; comp = next, depth++) {
		next = strtok_r(NULL, "/", &save);
		if (depth == 0) {
			n = node_child(lc->ns, n, comp);
			if (!n || n->ops != &area_prov) {
				lc->skipped++;
				return 0;
			}
		} else if (name_check(comp) != 0) {
			lc->skipped++;
			return 0;
		} else if (next || S_ISDIR(m->mode)) {
			n = load_dir(lc->ns, n, comp);
		} else if (node_child(lc->ns, n, comp)) {
			return 0;
		} else {
			n = node_new(lc->ns, n, comp, &area_prov, AREA_FILE,
				     S_IFREG | 0644);
			if (n)
				n->loaded = 0;
		}
		if (!n)
			return -ENOMEM;
	}
	set_meta(n, m);
	return 0;
}

int area_volume_load(struct ns *ns, struct node *vol)
{
	struct load_ctx lc = { ns, vol, strlen(vol->vol->prefix), 0 };
	int rc = ns->blob->ops->list(ns->blob, vol->vol->prefix, load_one,
				     &lc);

	if (lc.skipped)
		log_warn("%s: %zu stored names skipped (not valid here)",
			 vol->vol->prefix, lc.skipped);
	return rc;
}

/* --- seeding ------------------------------------------------------------- */

static int seed_file(struct ns *ns, int dirfd, const char *name,
		     const char *key, const struct stat *st)
{
	struct blob_meta m = { S_IFREG | (st->st_mode & 0777), 0, 0,
			       st->st_mtim, (uint64_t)st->st_size };
	struct buf b;
	ssize_t n;
	int fd, rc;

	buf_init(&b, (size_t)ns->cfg->max_file_size);
	if ((uint64_t)st->st_size > ns->cfg->max_file_size)
		return -EFBIG;
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	rc = buf_resize(&b, (size_t)st->st_size);
	if (!rc) {
		n = pread(fd, b.data, b.len, 0);
		if (n < 0)
			rc = -errno;
		else
			b.len = (size_t)n;
	}
	close(fd);
	if (!rc)
		rc = ns->blob->ops->put(ns->blob, key, b.data, b.len, &m,
					NULL, 0);
	buf_release(&b);
	return rc;
}

/* Copy the folder `fd0` to keys under `key` (of length `len`). The top
 * level's "workflows" goes to the system workflows, the rest to skills. */
static int seed_dir(struct ns *ns, int fd0, char *key, size_t len,
		    int top)
{
	DIR *d = fdopendir(fd0);
	struct dirent *de;
	int rc = 0;

	if (!d) {
		close(fd0);
		return -errno;
	}
	while ((de = readdir(d)) && !rc) {
		struct stat st;
		size_t k;

		if (de->d_name[0] == '.')
			continue;	/* ., .., dot files */
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		if (top && strcmp(de->d_name, "workflows") == 0 &&
		    S_ISDIR(st.st_mode))
			k = (size_t)snprintf(key, PATH_MAX,
					     "volumes/system/workflows");
		else
			k = len + (size_t)snprintf(key + len, PATH_MAX - len,
						   "/%s", de->d_name);
		if (k >= PATH_MAX - 1 || name_check(de->d_name)) {
			key[len] = '\0';
			continue;
		}
		if (S_ISREG(st.st_mode)) {
			rc = seed_file(ns, dirfd(d), de->d_name, key, &st);
			if (rc && rc != -ENOMEM && rc != -ENOSPC &&
			    rc != -EDQUOT && rc != -EIO) {
				/* One bad file does not stop the mount. */
				char esc[256];

				log_warn("seed: skipped '%s': %s",
					 log_escape(esc, sizeof(esc), key),
					 strerror(-rc));
				rc = 0;
			}
		} else if (S_ISDIR(st.st_mode)) {
			struct blob_meta m = { S_IFDIR | (st.st_mode & 0777),
					       0, 0, st.st_mtim, 0 };
			int fd;

			rc = ns->blob->ops->mkdir(ns->blob, key, &m);
			if (rc == -EEXIST)
				rc = 0;
			fd = openat(dirfd(d), de->d_name, O_RDONLY |
				    O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
			if (!rc && fd >= 0)
				rc = seed_dir(ns, fd, key, k, 0);
			else if (fd >= 0)
				close(fd);
		}
		if (top)
			k = (size_t)snprintf(key, PATH_MAX,
					     "volumes/system/skills");
		key[len] = '\0';
	}
	closedir(d);
	return rc;
}

int area_seed(struct ns *ns)
{
	struct blob_meta m = { S_IFDIR | 0755, 0, 0, { 0, 0 }, 0 };
	const char *src = ns->cfg->system_skills;
	char key[PATH_MAX];
	int fd, rc;

	ns_now(&m.mtime);
	rc = ns->blob->ops->mkdir(ns->blob, "volumes/system", &m);
	if (rc == -EEXIST)
		return 0;	/* seeded before */
	if (rc)
		return rc;
	ns->blob->ops->mkdir(ns->blob, "volumes/system/skills", &m);
	ns->blob->ops->mkdir(ns->blob, "volumes/system/workflows", &m);
	fd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		log_warn("system skills folder '%s': %s; the system volume "
			 "starts empty", src, strerror(errno));
		return 0;
	}
	snprintf(key, sizeof(key), "volumes/system/skills");
	rc = seed_dir(ns, fd, key, strlen(key), 1);
	if (rc)
		log_err("seeding the system volume from '%s': %s", src,
			strerror(-rc));
	else
		log_info("system volume seeded from '%s'", src);
	return rc;
}
