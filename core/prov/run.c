/* core/prov/run.c: user/<u>/run, the magic run folder (DESIGN.md section 5).
 *
 * run/ lists the user's runs (engine_list) and the graph files being
 * written (RUN_GRAPH, in memory like any open file; closing one submits
 * it, see run_submit.c). Below run/<name>/ every name is a file or folder
 * of the run's record on disk (core/run/engine.h), plus `wait` and `ctl`;
 * the nodes are made when looked up or listed and dropped when the record
 * no longer has them. Record files are read anew at each read, with direct
 * I/O, so every read sees the current content.
 *
 * A record may hold many files (a node may write thousands into out/), so
 * nothing here costs more than O(1) per name under the tree's write lock:
 * a lookup checks the one name on disk and adds its node; a removal
 * removes on disk with no tree lock and then drops the node; a listing
 * reads the folder with no tree lock and then applies it, one hash look-up
 * per name.
 *
 * Removing anything inside a run cancels it; `rm -r run/<name>` ends with
 * the rmdir of run/<name>, which forgets the run and deletes its record.
 */
#include "core/prov/run.h"
#include "core/run/engine.h"
#include "core/util/log.h"
#include "core/util/name.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct node *run_of(struct node *n)
{
	while (n && n->sub != RUN_RUN)
		n = n->parent;
	return n;
}

static int is_record_dir(const struct node *n)
{
	return n->sub == RUN_RUN || (n->sub == RUN_ENT && S_ISDIR(n->mode));
}

/* wait and ctl: never on disk. */
static int synthetic(const struct node *n)
{
	return n->sub == RUN_WAIT || n->sub == RUN_CTL;
}

static int synthetic_name(const struct node *dir, const char *name)
{
	return dir->sub == RUN_RUN &&
	       (!strcmp(name, "wait") || !strcmp(name, "ctl"));
}

/* Where the record keeps `n` (RUN_RUN or below). The tree is held. */
int run_path(struct ns *ns, const struct node *n, char *out,
		    size_t cap)
{
	const struct node *p, *r = run_of((struct node *)n);
	size_t len, rel = 0;
	int rc;

	if (!r || !ns->engine)
		return -ENOENT;
	rc = engine_path(ns->engine, n->vol->owner, r->name, out, cap);
	if (rc)
		return rc;
	len = strlen(out);
	for (p = n; p != r; p = p->parent)
		rel += strlen(p->name) + 1;
	if (len + rel + 1 > cap)
		return -ENAMETOOLONG;
	out[len + rel] = '\0';
	for (p = n; p != r; p = p->parent) {
		size_t k = strlen(p->name);

		rel -= k + 1;
		out[len + rel] = '/';
		memcpy(out + len + rel + 1, p->name, k);
	}
	return 0;
}

/* The path of the name `name` in the record folder `dir`. */
static int run_path_of(struct ns *ns, const struct node *dir,
		       const char *name, char *out, size_t cap)
{
	size_t len;
	int rc = run_path(ns, dir, out, cap);

	if (rc)
		return rc;
	len = strlen(out);
	if ((size_t)snprintf(out + len, cap - len, "/%s", name) >= cap - len)
		return -ENAMETOOLONG;
	return 0;
}

struct node *run_node_new(struct ns *ns, struct node *dir, const char *name,
			  enum run_sub sub, mode_t mode)
{
	struct node *n = node_new(ns, dir, name, &run_prov, sub, mode);

	if (n) {
		n->uid = dir->uid;
		n->gid = dir->gid;
	}
	return n;
}

/* The node for an entry of type `type` found on disk. */
static struct node *add_entry(struct ns *ns, struct node *dir,
			      const char *name, mode_t type)
{
	enum run_sub sub = RUN_ENT;

	if (!S_ISDIR(type) && dir->sub == RUN_RUN &&
	    strcmp(name, "events") == 0)
		sub = RUN_EVENTS;
	return run_node_new(ns, dir, name, sub,
			 S_ISDIR(type) ? S_IFDIR | 0555 : S_IFREG | 0444);
}

/* --- names read off the engine or the disk, sorted ------------------------ */

struct names {
	char **v;
	mode_t *type;
	size_t n, alloc;
};

static int names_add(struct names *s, const char *name, mode_t type)
{
	if (s->n == s->alloc) {
		size_t k = s->alloc ? 2 * s->alloc : 16;
		char **v = realloc(s->v, k * sizeof(*v));
		mode_t *t;

		if (!v)
			return -ENOMEM;
		s->v = v;
		t = realloc(s->type, k * sizeof(*t));
		if (!t)
			return -ENOMEM;
		s->type = t;
		s->alloc = k;
	}
	s->v[s->n] = strdup(name);
	if (!s->v[s->n])
		return -ENOMEM;
	s->type[s->n++] = type;
	return 0;
}

static int names_add_run(void *arg, const char *name)
{
	return names_add(arg, name, S_IFDIR);
}

static void names_release(struct names *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	free(s->type);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort the names (their types are not needed once sorted). */
static void names_sort(struct names *s)
{
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), cmp_str);
}

static int names_has(const struct names *s, const char *name)
{
	return s->n && bsearch(&name, s->v, s->n, sizeof(*s->v), cmp_str);
}

/* run/: one RUN_RUN per run the engine has. The tree is write-locked; the
 * engine's list is made under its own lock only. */
static int sync_runs(struct ns *ns, struct node *dir)
{
	struct names s = { 0 };
	struct node *ch, *next;
	int rc;

	if (!ns->engine)
		return 0;
	rc = engine_list(ns->engine, dir->vol->owner, names_add_run, &s);
	if (rc)
		goto out;
	names_sort(&s);
	for (ch = dir->child; ch; ch = next) {
		next = ch->next;
		if (ch->sub == RUN_RUN && !names_has(&s, ch->name))
			node_detach_subtree(ns, ch);
	}
	for (size_t i = 0; i < s.n && !rc; i++)
		if (!node_child(ns, dir, s.v[i]) &&
		    !run_node_new(ns, dir, s.v[i], RUN_RUN, S_IFDIR | 0555))
			rc = -ENOMEM;
out:
	names_release(&s);
	return rc;
}

/* Read the record folder at `path` (no tree lock held): its files and
 * folders, without the files being replaced (REC_TMP). */
static int read_record(const char *path, struct names *s)
{
	struct dirent *de;
	DIR *d = opendir(path);
	int rc = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d)) && !rc) {
		size_t k = strlen(de->d_name);
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    (k > strlen(REC_TMP) &&
		     !strcmp(de->d_name + k - strlen(REC_TMP), REC_TMP)))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
		    (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)))
			continue;
		rc = names_add(s, de->d_name, st.st_mode & S_IFMT);
	}
	closedir(d);
	return rc;
}

/* Make the children of the record folder `dir` what `s` (read off the
 * disk) says; wait and ctl at the top. The tree is write-locked. */
static int apply_record(struct ns *ns, struct node *dir, struct names *s)
{
	struct node *ch, *next;
	int rc = 0;

	for (size_t i = 0; i < s->n && !rc; i++) {
		ch = node_child(ns, dir, s->v[i]);
		if (ch && (synthetic(ch) ||
			   (ch->mode & S_IFMT) != s->type[i])) {
			if (synthetic(ch))
				continue;
			node_detach_subtree(ns, ch);
			ch = NULL;
		}
		if (!ch && !add_entry(ns, dir, s->v[i], s->type[i]))
			rc = -ENOMEM;
	}
	names_sort(s);
	for (ch = dir->child; ch && !rc; ch = next) {
		next = ch->next;
		if (!synthetic(ch) && !names_has(s, ch->name))
			node_detach_subtree(ns, ch);
	}
	if (!rc && dir->sub == RUN_RUN) {
		if (!node_child(ns, dir, "wait") &&
		    !run_node_new(ns, dir, "wait", RUN_WAIT, S_IFREG | 0444))
			rc = -ENOMEM;
		if (!node_child(ns, dir, "ctl") &&
		    !run_node_new(ns, dir, "ctl", RUN_CTL, S_IFREG | 0644))
			rc = -ENOMEM;
	}
	return rc;
}

/* Bring the children of `dir` up to date before a listing. */
static int run_sync(struct ns *ns, struct caller *c, struct node *dir)
{
	char path[PATH_MAX];
	struct names s = { 0 };
	int rc = 0;

	pthread_rwlock_rdlock(&ns->tree);
	if (!node_visible(ns, c, dir))
		rc = -ENOENT;
	else if (dir->detached || !is_record_dir(dir))
		path[0] = '\0';
	else
		rc = run_path(ns, dir, path, sizeof(path));
	pthread_rwlock_unlock(&ns->tree);
	if (rc)
		return rc == -ENOENT && dir->sub != RUN_TOP ? 0 : rc;
	if (dir->sub == RUN_TOP) {
		pthread_rwlock_wrlock(&ns->tree);
		rc = dir->detached ? 0 : sync_runs(ns, dir);
		pthread_rwlock_unlock(&ns->tree);
		return rc;
	}
	if (!path[0])
		return 0;
	rc = read_record(path, &s);
	pthread_rwlock_wrlock(&ns->tree);
	if (dir->detached) {
		rc = 0;
	} else if (rc) {
		/* Gone from disk: so are its entries. */
		while (dir->child)
			node_detach_subtree(ns, dir->child);
	} else {
		rc = apply_record(ns, dir, &s);
	}
	pthread_rwlock_unlock(&ns->tree);
	names_release(&s);
	return rc == -ENOENT ? 0 : rc;
}

/* --- lookups ---------------------------------------------------------------- */

/* A node already known that is still there: one check, no listing. The
 * tree is held. */
static int still_there(struct ns *ns, struct node *n)
{
	char path[PATH_MAX];
	struct stat b;

	if (n->sub == RUN_GRAPH || synthetic(n))
		return 1;
	if (n->sub == RUN_RUN)
		return engine_has(ns->engine, n->vol->owner, n->name) != 0;
	return run_path(ns, n, path, sizeof(path)) == 0 &&
	       lstat(path, &b) == 0 &&
	       (b.st_mode & S_IFMT) == (n->mode & S_IFMT);
}

/* The hot path (cat run/x/status): a name already known, read-locked.
 * Otherwise -EAGAIN, with the path of the name on disk in `path` for a
 * record folder ("" for run/ and for wait and ctl). */
static int lookup_known(struct ns *ns, struct caller *c, struct node *dir,
			const char *name, struct node **out, struct stat *st,
			char *path, size_t cap)
{
	struct node *n;
	int rc = -EAGAIN;

	path[0] = '\0';
	pthread_rwlock_rdlock(&ns->tree);
	if (!node_visible(ns, c, dir)) {
		rc = -ENOENT;
	} else if (!S_ISDIR(dir->mode)) {
		rc = -ENOTDIR;
	} else if (dir->detached) {
		rc = -ENOENT;
	} else {
		n = node_child(ns, dir, name);
		if (n && still_there(ns, n)) {
			node_lookup_ref(ns, c, n, st);
			*out = n;
			rc = 0;
		} else if (is_record_dir(dir) && !synthetic_name(dir, name) &&
			   run_path_of(ns, dir, name, path, cap)) {
			rc = -ENOENT;
		}
	}
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

/* A name of a record folder, as the disk has it now: its node made,
 * replaced or dropped. `b` is its lstat (NULL: not on disk). The tree is
 * write-locked. */
static struct node *record_entry(struct ns *ns, struct node *dir,
				 const char *name, const struct stat *b)
{
	struct node *n = node_child(ns, dir, name);

	if (synthetic_name(dir, name)) {
		if (!n)
			n = run_node_new(ns, dir, name,
				      strcmp(name, "wait") ? RUN_CTL : RUN_WAIT,
				      strcmp(name, "wait") ? S_IFREG | 0644 :
							     S_IFREG | 0444);
		return n;
	}
	if (n && (!b || (n->mode & S_IFMT) != (b->st_mode & S_IFMT))) {
		node_detach_subtree(ns, n);
		n = NULL;
	}
	if (!n && b && (S_ISREG(b->st_mode) || S_ISDIR(b->st_mode)))
		n = add_entry(ns, dir, name, b->st_mode & S_IFMT);
	return n;
}

static int run_lookup(struct ns *ns, struct caller *c, struct node *dir,
		      const char *name, struct node **out, struct stat *st)
{
	char path[PATH_MAX];
	struct stat b;
	int on_disk = 0, rc;
	struct node *n;

	rc = lookup_known(ns, c, dir, name, out, st, path, sizeof(path));
	if (rc != -EAGAIN)
		return rc;
	if (path[0]) {
		size_t k = strlen(name);

		/* One lstat, with no lock: a name being replaced is not
		 * part of the record. */
		on_disk = lstat(path, &b) == 0 &&
			  !(k > strlen(REC_TMP) &&
			    !strcmp(name + k - strlen(REC_TMP), REC_TMP));
		if (!on_disk && errno != ENOENT)
			on_disk = -1;
	}
	pthread_rwlock_wrlock(&ns->tree);
	rc = 0;
	if (!node_visible(ns, c, dir) || dir->detached) {
		rc = -ENOENT;
		goto out;
	}
	if (dir->sub == RUN_TOP) {
		rc = sync_runs(ns, dir);
		n = rc ? NULL : node_child(ns, dir, name);
	} else if (on_disk < 0) {
		rc = -EIO;
		goto out;
	} else {
		n = record_entry(ns, dir, name, on_disk ? &b : NULL);
	}
	if (rc)
		goto out;	/* e.g. -ENOMEM: the view would be stale */
	if (!n) {
		rc = -ENOENT;
		goto out;
	}
	node_lookup_ref(ns, c, n, st);
	*out = n;
out:
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

/* Size and times of a record file; the tree and n->mu are held. */
static void run_stat(struct ns *ns, struct node *n, struct stat *st)
{
	char path[PATH_MAX];
	struct stat b;

	if (n->sub == RUN_TOP || n->sub == RUN_GRAPH || synthetic(n))
		return;
	if (run_path(ns, n, path, sizeof(path)) ||
	    lstat(path, &b))
		return;
	if (!S_ISDIR(n->mode))
		st->st_size = b.st_size;
	st->st_blocks = (st->st_size + 511) / 512;
	st->st_mtim = b.st_mtim;
	st->st_atim = b.st_mtim;
	st->st_ctim = b.st_ctim;
}

/* --- removal and attributes ---------------------------------------------- */

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) && errno != ENOENT ?
	       -1 : 0;
}

static int rm_tree(const char *path)
{
	if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) && errno != ENOENT)
		return -errno;
	return 0;
}

/* A name in run/: a graph being written (dropped), or a run: the engine
 * forgets it and deletes its record first, with no tree lock held, then
 * its nodes go (a lookup in between finds no run, and drops them too). */
static int remove_in_runs(struct ns *ns, struct node *dir, const char *name,
			  int isdir)
{
	struct node *n;
	int rc, run = 0;

	pthread_rwlock_wrlock(&ns->tree);
	rc = dir->detached ? 0 : sync_runs(ns, dir);
	n = node_child(ns, dir, name);
	if (rc && rc != -ENOENT)
		;
	else if (!n)
		rc = -ENOENT;
	else if (n->sub == RUN_GRAPH)
		rc = isdir ? -ENOTDIR : 0;
	else
		rc = isdir ? 0 : -EISDIR;
	if (!rc && n->sub == RUN_GRAPH) {
		node_detach(ns, n);
		ns_now(&dir->mtime);
	} else if (!rc) {
		run = 1;
	}
	pthread_rwlock_unlock(&ns->tree);
	if (!run)
		return rc;
	engine_delete(ns->engine, dir->vol->owner, name);
	pthread_rwlock_wrlock(&ns->tree);
	n = node_child(ns, dir, name);
	if (n && n->sub == RUN_RUN &&
	    !engine_has(ns->engine, dir->vol->owner, name))
		node_detach_subtree(ns, n);
	ns_now(&dir->mtime);
	pthread_rwlock_unlock(&ns->tree);
	return 0;
}

/* A name inside a run's record: cancel the run, remove on disk with no
 * tree lock, then drop the node. */
static int remove_in_record(struct ns *ns, struct node *dir,
			    const char *name, int isdir)
{
	char path[PATH_MAX], user[IDENT_NAME_MAX], run[RUN_NAME_MAX + 1];
	struct stat b;
	struct node *n;
	int rc, syn = synthetic_name(dir, name);

	pthread_rwlock_rdlock(&ns->tree);
	rc = dir->detached ? -ENOENT :
	     run_path_of(ns, dir, name, path, sizeof(path));
	if (!rc) {
		snprintf(user, sizeof(user), "%s", dir->vol->owner);
		snprintf(run, sizeof(run), "%s", run_of(dir)->name);
	}
	pthread_rwlock_unlock(&ns->tree);
	if (rc)
		return rc;
	if (!syn) {
		if (lstat(path, &b))
			return errno == ENOENT ? -ENOENT : -EIO;
		if (isdir != !!S_ISDIR(b.st_mode))
			return isdir ? -ENOTDIR : -EISDIR;
	} else if (isdir) {
		return -ENOTDIR;
	}
	engine_cancel(ns->engine, user, run);
	if (!syn) {
		if (isdir)
			rc = rm_tree(path);
		else if (unlink(path) && errno != ENOENT)
			rc = -errno;
		if (rc)
			return rc;
	}
	pthread_rwlock_wrlock(&ns->tree);
	n = node_child(ns, dir, name);
	if (n)
		node_detach_subtree(ns, n);
	ns_now(&dir->mtime);
	pthread_rwlock_unlock(&ns->tree);
	return 0;
}

static int run_remove(struct ns *ns, struct caller *c, struct node *parent,
		      const char *name, int isdir)
{
	unsigned r;
	int rc = 0;

	pthread_rwlock_rdlock(&ns->tree);
	r = node_rights(ns, c, parent);
	if (!(r & ACL_R))
		rc = -ENOENT;
	else if (!S_ISDIR(parent->mode))
		rc = -ENOTDIR;
	else if (!(r & ACL_W))
		rc = -EACCES;
	else if (!ns->engine)
		rc = -EIO;
	pthread_rwlock_unlock(&ns->tree);
	if (rc)
		return rc;
	if (parent->sub == RUN_TOP)
		return remove_in_runs(ns, parent, name, isdir);
	return remove_in_record(ns, parent, name, isdir);
}

static int run_unlink(struct ns *ns, struct caller *c, struct node *parent,
		      const char *name)
{
	return run_remove(ns, c, parent, name, 0);
}

static int run_rmdir(struct ns *ns, struct caller *c, struct node *parent,
		     const char *name)
{
	return run_remove(ns, c, parent, name, 1);
}

/* Graphs go into run/ by writing them; records stay where they are. */
static int run_rename(struct ns *ns, struct caller *c, struct node *parent,
		      const char *name, struct node *newparent,
		      const char *newname, unsigned flags)
{
	(void)ns;
	(void)c;
	(void)parent;
	(void)name;
	(void)newparent;
	(void)newname;
	(void)flags;
	return -EPERM;
}

static int run_setattr(struct ns *ns, struct caller *c, struct node *n,
		       struct ns_file *f, const struct stat *want,
		       unsigned what, struct stat *st)
{
	unsigned r;
	int rc = 0;

	(void)f;
	pthread_rwlock_rdlock(&ns->tree);
	r = node_rights(ns, c, n);
	if (!(r & ACL_R))
		rc = -ENOENT;
	else if (!(r & ACL_W))
		rc = -EACCES;
	else if (n->sub != RUN_GRAPH &&
		 !(n->sub == RUN_CTL && what == NS_SET_SIZE))
		rc = -EPERM;
	if (rc)
		goto out;
	pthread_mutex_lock(&n->mu);
	if (n->sub == RUN_GRAPH && (what & NS_SET_SIZE) &&
	    !(rc = run_graph_writer(n, c))) {
		rc = buf_resize(&n->data, (size_t)want->st_size);
		if (!rc) {
			n->size = n->data.len;
			n->dirty = 1;
		}
	}
	/* A graph's mode and times are not kept: cp -p may set them. */
	pthread_mutex_unlock(&n->mu);
	if (!rc)
		node_stat(ns, c, n, st);
out:
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

const struct prov_ops run_prov = {
	.name = "run",
	.flags = PROV_PRIVATE | PROV_NOCACHE,
	.lookup = run_lookup,
	.sync = run_sync,
	.create = run_graph_create,
	.unlink = run_unlink,
	.rmdir = run_rmdir,
	.rename = run_rename,
	.stat = run_stat,
	.setattr = run_setattr,
	.open = run_open,
	.direct_io = run_direct_io,
	.read = run_read,
	.write = run_write,
	.flush = run_flush,
	.release = run_release,
};
