/* core/prov/ns_run.c: user/<u>/run, the magic run folder (DESIGN.md section 5).
 *
 * run/ lists the user's runs (engine_list) and the graph files being
 * written (NK_RUNGRAPH, in memory like any open file; closing one submits
 * it, see ns_submit.c). Below run/<name>/ every name is a file or folder
 * of the run's record on disk (core/run/engine.h), plus `wait` and `ctl`; the
 * nodes are made when looked up or listed and dropped when the record no
 * longer has them. Record files are read anew at each read, with direct
 * I/O, so every read sees the current content.
 *
 * Removing anything inside a run cancels it; `rm -r run/<name>` ends with
 * the rmdir of run/<name>, which forgets the run and deletes its record.
 */
#include "core/run/engine.h"
#include "core/util/log.h"
#include "core/util/name.h"
#include "core/ns/ns_int.h"

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

void ns_set_engine(struct ns *ns, struct engine *e)
{
	ns->engine = e;
}

static struct node *run_of(struct node *n)
{
	while (n && n->kind != NK_RUN)
		n = n->parent;
	return n;
}

/* Where the record keeps `n` (NK_RUN or below). */
static int run_path(struct ns *ns, const struct node *n, char *out,
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

static void detach_subtree(struct ns *ns, struct node *n)
{
	while (n->child)
		detach_subtree(ns, n->child);
	node_detach(ns, n);
}

static struct node *add_child(struct ns *ns, struct node *dir,
			      const char *name, enum node_kind kind,
			      mode_t mode)
{
	struct node *n = node_new(ns, dir, name, kind, mode);

	if (n) {
		n->uid = dir->uid;
		n->gid = dir->gid;
	}
	return n;
}

/* --- keeping the nodes in step with the engine and the records ---------- */

struct names {
	char **v;
	size_t n, alloc;
};

static int names_add(void *arg, const char *name)
{
	struct names *s = arg;

	if (s->n == s->alloc) {
		size_t k = s->alloc ? 2 * s->alloc : 16;
		char **v = realloc(s->v, k * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->alloc = k;
	}
	s->v[s->n] = strdup(name);
	if (!s->v[s->n])
		return -ENOMEM;
	s->n++;
	return 0;
}

static void names_release(struct names *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

static int names_has(const struct names *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], name) == 0)
			return 1;
	return 0;
}

/* run/: one NK_RUN per run the engine has. The tree is write-locked. */
static int sync_runs(struct ns *ns, struct node *dir)
{
	struct names s = { 0 };
	struct node *ch, *next;
	int rc;

	if (!ns->engine)
		return 0;
	rc = engine_list(ns->engine, dir->vol->owner, names_add, &s);
	if (rc)
		goto out;
	for (ch = dir->child; ch; ch = next) {
		next = ch->next;
		if (ch->kind == NK_RUN && !names_has(&s, ch->name))
			detach_subtree(ns, ch);
	}
	for (size_t i = 0; i < s.n && !rc; i++)
		if (!node_child(ns, dir, s.v[i]) &&
		    !add_child(ns, dir, s.v[i], NK_RUN, S_IFDIR | 0555))
			rc = -ENOMEM;
out:
	names_release(&s);
	return rc;
}

static enum node_kind entry_kind(const struct node *dir, const char *name,
				 mode_t type)
{
	if (S_ISDIR(type))
		return NK_RUNENT;
	if (dir->kind == NK_RUN && strcmp(name, "events") == 0)
		return NK_RUNEVENTS;
	return NK_RUNENT;
}

static int synthetic(const struct node *n)
{
	return n->kind == NK_RUNWAIT || n->kind == NK_RUNCTL;
}

/* A record folder: its files and folders, and wait and ctl at the top. */
static int sync_record(struct ns *ns, struct node *dir)
{
	char path[PATH_MAX];
	struct names s = { 0 };
	struct node *ch, *next;
	struct dirent *de;
	DIR *d;
	int rc = run_path(ns, dir, path, sizeof(path));

	if (rc)
		return rc;
	d = opendir(path);
	if (!d) {
		rc = -errno;
		for (ch = dir->child; ch; ch = next) {
			next = ch->next;
			detach_subtree(ns, ch);
		}
		return rc;
	}
	while ((de = readdir(d)) && !rc) {
		size_t k = strlen(de->d_name);
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    (k > strlen(REC_TMP) &&
		     !strcmp(de->d_name + k - strlen(REC_TMP), REC_TMP)))
			continue;	/* REC_TMP: a file being replaced */
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
		    (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)))
			continue;
		rc = names_add(&s, de->d_name);
		if (rc)
			break;
		ch = node_child(ns, dir, de->d_name);
		if (ch && (ch->mode & S_IFMT) != (st.st_mode & S_IFMT)) {
			detach_subtree(ns, ch);
			ch = NULL;
		}
		if (!ch && !add_child(ns, dir, de->d_name,
				      entry_kind(dir, de->d_name, st.st_mode),
				      S_ISDIR(st.st_mode) ? S_IFDIR | 0555 :
							    S_IFREG | 0444))
			rc = -ENOMEM;
	}
	closedir(d);
	for (ch = dir->child; ch && !rc; ch = next) {
		next = ch->next;
		if (!synthetic(ch) && !names_has(&s, ch->name))
			detach_subtree(ns, ch);
	}
	if (!rc && dir->kind == NK_RUN) {
		if (!node_child(ns, dir, "wait") &&
		    !add_child(ns, dir, "wait", NK_RUNWAIT, S_IFREG | 0444))
			rc = -ENOMEM;
		if (!node_child(ns, dir, "ctl") &&
		    !add_child(ns, dir, "ctl", NK_RUNCTL, S_IFREG | 0644))
			rc = -ENOMEM;
	}
	names_release(&s);
	return rc;
}

/* The tree is write-locked. */
static int sync_dir(struct ns *ns, struct node *dir)
{
	if (dir->kind == NK_RUNS)
		return sync_runs(ns, dir);
	if (dir->kind == NK_RUN || (dir->kind == NK_RUNENT &&
				    S_ISDIR(dir->mode)))
		return sync_record(ns, dir);
	return 0;
}

int run_sync(struct ns *ns, struct caller *c, struct node *dir)
{
	int rc = 0;

	pthread_rwlock_wrlock(&ns->tree);
	if (!(node_rights(ns, c, dir) & ACL_R))
		rc = -ENOENT;
	else if (!dir->detached)
		rc = sync_dir(ns, dir);
	pthread_rwlock_unlock(&ns->tree);
	return rc == -ENOENT && dir->kind != NK_RUNS ? 0 : rc;
}

/* A node already known that is still there: one check, no listing. The
 * tree is held. */
static int still_there(struct ns *ns, struct node *n)
{
	char path[PATH_MAX];
	struct stat b;

	if (n->kind == NK_RUNGRAPH || synthetic(n))
		return 1;
	if (n->kind == NK_RUN)
		return engine_has(ns->engine, n->vol->owner, n->name) != 0;
	return run_path(ns, n, path, sizeof(path)) == 0 &&
	       lstat(path, &b) == 0 &&
	       (b.st_mode & S_IFMT) == (n->mode & S_IFMT);
}

/* A name not in the record folder `dir` on disk: one lstat, so that a
 * lookup that misses (an editor's probe, a shell's completion) needs
 * neither a listing nor the write lock. wait and ctl are never on disk.
 * The tree is held. */
static int absent_from_record(struct ns *ns, struct node *dir,
			      const char *name)
{
	char path[PATH_MAX];
	struct stat b;
	size_t len;

	if (dir->kind != NK_RUN && !(dir->kind == NK_RUNENT &&
				     S_ISDIR(dir->mode)))
		return 0;
	if (dir->kind == NK_RUN &&
	    (!strcmp(name, "wait") || !strcmp(name, "ctl")))
		return 0;
	if (run_path(ns, dir, path, sizeof(path)))
		return 0;
	len = strlen(path);
	if ((size_t)snprintf(path + len, sizeof(path) - len, "/%s", name) >=
	    sizeof(path) - len)
		return 0;
	return lstat(path, &b) != 0 && errno == ENOENT;
}

/* The hot path (cat run/x/status): a name already known, read-locked;
 * a name that is not on disk fails here too. */
static int lookup_known(struct ns *ns, struct caller *c, struct node *parent,
			const char *name, struct node **out, struct stat *st)
{
	struct node *n;
	int rc = -EAGAIN;

	pthread_rwlock_rdlock(&ns->tree);
	if (!(node_rights(ns, c, parent) & ACL_R)) {
		rc = -ENOENT;
	} else if (!S_ISDIR(parent->mode)) {
		rc = -ENOTDIR;
	} else if (!parent->detached) {
		n = node_child(ns, parent, name);
		if (n && still_there(ns, n)) {
			node_lookup_ref(ns, c, n, st);
			*out = n;
			rc = 0;
		} else if (!n && absent_from_record(ns, parent, name)) {
			rc = -ENOENT;
		}
	}
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

int run_lookup(struct ns *ns, struct caller *c, struct node *parent,
	       const char *name, struct node **out, struct stat *st)
{
	struct node *n;
	int rc = lookup_known(ns, c, parent, name, out, st);

	if (rc != -EAGAIN)
		return rc;
	rc = 0;
	pthread_rwlock_wrlock(&ns->tree);
	if (!(node_rights(ns, c, parent) & ACL_R)) {
		rc = -ENOENT;
		goto out;
	}
	if (!S_ISDIR(parent->mode)) {
		rc = -ENOTDIR;
		goto out;
	}
	if (!parent->detached)
		rc = sync_dir(ns, parent);
	if (rc && rc != -ENOENT)
		goto out;	/* e.g. -ENOMEM: the view would be stale */
	n = node_child(ns, parent, name);
	if (!n) {
		rc = -ENOENT;
		goto out;
	}
	rc = 0;
	node_lookup_ref(ns, c, n, st);
	*out = n;
out:
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

void run_stat(struct ns *ns, struct node *n, struct stat *st)
{
	char path[PATH_MAX];
	struct stat b;

	if (n->kind == NK_RUNS || n->kind == NK_RUNGRAPH || synthetic(n))
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

/* --- open, read, write ---------------------------------------------------- */

int run_open(struct ns *ns, struct caller *c, struct node *n, int flags,
	     struct ns_file **out)
{
	int write = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
	char path[PATH_MAX];
	unsigned r;
	int rc = 0;

	*out = NULL;
	pthread_rwlock_rdlock(&ns->tree);
	r = node_rights(ns, c, n);
	if (!(r & ACL_R))
		rc = -ENOENT;
	else if (S_ISDIR(n->mode))
		rc = -EISDIR;
	else if (write && (n->kind != NK_RUNCTL || !(r & ACL_W)))
		rc = -EACCES;
	else if (n->kind == NK_RUNENT || n->kind == NK_RUNEVENTS)
		rc = run_path(ns, n, path, sizeof(path));
	if (rc)
		goto out;
	pthread_mutex_lock(&n->mu);
	rc = file_handle_new(n, c, flags, out);
	pthread_mutex_unlock(&n->mu);
	if (!rc && (n->kind == NK_RUNENT || n->kind == NK_RUNEVENTS)) {
		(*out)->path = strdup(path);
		if (!(*out)->path)
			rc = -ENOMEM;
	}
	if (!rc) {
		struct node *run = run_of(n);

		(*out)->run_name = strdup(run->name);
		if (!(*out)->run_name)
			rc = -ENOMEM;
	}
out:
	pthread_rwlock_unlock(&ns->tree);
	if (rc && *out) {
		ns_release(ns, *out);
		*out = NULL;
	}
	return rc;
}

static ssize_t pread_path(const char *path, char *dst, size_t size,
			  off_t off)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t k;

	if (fd < 0)
		return -errno;
	do
		k = pread(fd, dst, size, off);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		k = -errno;
	close(fd);
	return k;
}

static ssize_t copy_text(const char *text, char *dst, size_t size, off_t off)
{
	size_t len = strlen(text);

	if ((uint64_t)off >= len)
		return 0;
	if (size > len - (size_t)off)
		size = len - (size_t)off;
	memcpy(dst, text + off, size);
	return (ssize_t)size;
}

ssize_t run_read(struct ns *ns, struct ns_file *f, char *dst, size_t size,
		 off_t off)
{
	const char *user = f->node->vol->owner;
	struct run_state st;
	char text[64];
	int rc;

	switch (f->node->kind) {
	case NK_RUNENT:
		return pread_path(f->path, dst, size, off);
	case NK_RUNEVENTS:
		rc = engine_state(ns->engine, user, f->run_name, &st);
		if (rc)
			return rc;
		if ((uint64_t)off >= st.events_len)
			return st.finished ? 0 : -EAGAIN;
		if (size > st.events_len - (uint64_t)off)
			size = (size_t)(st.events_len - (uint64_t)off);
		return pread_path(f->path, dst, size, off);
	case NK_RUNWAIT:
		rc = engine_state(ns->engine, user, f->run_name, &st);
		if (rc)
			return rc;
		if (!st.finished)
			return -EAGAIN;
		snprintf(text, sizeof(text), "%s\n",
			 run_status_name(st.status));
		return copy_text(text, dst, size, off);
	case NK_RUNCTL:
		return copy_text("", dst, size, off);
	default:
		return -EBADF;
	}
}

ssize_t run_write(struct ns *ns, struct ns_file *f, const char *src,
		  size_t size, off_t off)
{
	char cmd[32];
	size_t n = size, a = 0;
	int rc;

	(void)off;
	if (f->node->kind != NK_RUNCTL)
		return -EBADF;
	while (a < n && (src[a] == ' ' || src[a] == '\t' || src[a] == '\n'))
		a++;
	while (n > a && (src[n - 1] == ' ' || src[n - 1] == '\t' ||
			 src[n - 1] == '\n' || src[n - 1] == '\r'))
		n--;
	if (n == a)
		return (ssize_t)size;	/* an empty line */
	if (n - a >= sizeof(cmd))
		return -EINVAL;
	memcpy(cmd, src + a, n - a);
	cmd[n - a] = '\0';
	if (strcmp(cmd, "cancel") != 0) {
		char esc[64];

		log_info("run '%s': unknown command '%s' (expected cancel)",
			 f->run_name, log_escape(esc, sizeof(esc), cmd));
		return -EINVAL;
	}
	rc = engine_cancel(ns->engine, f->node->vol->owner, f->run_name);
	return rc ? rc : (ssize_t)size;
}

/* --- graph files ---------------------------------------------------------- */

/* "x.json" -> "x"; 0, or -EINVAL for a name that cannot be a run's. */
static int graph_base(const char *name, char *base, size_t cap)
{
	size_t n = strlen(name);

	if (n <= 5 || strcmp(name + n - 5, ".json") != 0 || name[0] == '.' ||
	    n - 5 > RUN_NAME_MAX || n - 5 >= cap)
		return -EINVAL;
	/* A run's name goes into its log and into `ls`: no control
	 * characters (a newline or an escape sequence). */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return -EINVAL;
	memcpy(base, name, n - 5);
	base[n - 5] = '\0';
	return 0;
}

int run_create(struct ns *ns, struct caller *c, struct node *parent,
	       const char *name, mode_t mode, int flags, struct node **out,
	       struct stat *st, struct ns_file **fout)
{
	char base[RUN_NAME_MAX + 1];
	unsigned r;
	struct node *n;
	int rc = 0;

	(void)mode;
	pthread_rwlock_wrlock(&ns->tree);
	r = node_rights(ns, c, parent);
	if (!(r & ACL_R))
		rc = -ENOENT;
	else if (!S_ISDIR(parent->mode))
		rc = -ENOTDIR;
	else if (parent->kind != NK_RUNS)
		rc = r & ACL_W ? -EPERM : -EACCES;	/* a run's record */
	else if (!(r & ACL_W))
		rc = -EACCES;
	else if (strlen(name) > NAME_MAX_BYTES)
		rc = -ENAMETOOLONG;
	else if (name_check(name) || graph_base(name, base, sizeof(base)))
		rc = -EINVAL;
	else if (!ns->engine)
		rc = -EIO;
	if (rc)
		goto out;
	if (engine_has(ns->engine, parent->vol->owner, base) == 2) {
		rc = -EEXIST;
		goto out;
	}
	n = node_child(ns, parent, name);
	if (n && (flags & O_EXCL)) {
		rc = -EEXIST;
		goto out;
	}
	if (!n) {
		n = add_child(ns, parent, name, NK_RUNGRAPH, S_IFREG | 0644);
		if (!n) {
			rc = -ENOMEM;
			goto out;
		}
		n->loaded = 1;
		n->dirty = 1;
	}
	pthread_mutex_lock(&n->mu);
	rc = run_graph_writer(n, c);
	if (!rc && (flags & O_TRUNC)) {
		rc = buf_resize(&n->data, 0);
		n->size = n->data.len;
		n->dirty = 1;
	}
	if (!rc)
		rc = file_handle_new(n, c, flags, fout);
	pthread_mutex_unlock(&n->mu);
	if (rc)
		goto out;
	node_lookup_ref(ns, c, n, st);
	*out = n;
out:
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

int run_graph_writer(struct node *n, struct caller *c)
{
	struct caller *w;

	if (n->writer) {
		acl_load_groups(c);
		return acl_caller_same(n->writer, c) ? 0 : -EBUSY;
	}
	w = malloc(sizeof(*w));
	if (!w)
		return -ENOMEM;
	acl_caller_keep(w, c);
	n->writer = w;
	return 0;
}

/* The graph is submitted as the opener of `f` (ns.h: rights after open),
 * whoever sends the flush: every writer of `n` is that same identity
 * (run_graph_writer). */
int run_flush(struct ns *ns, struct ns_file *f)
{
	struct node *n = f->node, *parent;
	char base[RUN_NAME_MAX + 1];
	char *json = NULL;
	size_t len = 0;
	int rc = 0;

	if (!f->opener)
		return 0;	/* opened for reading: submits nothing */
	pthread_rwlock_rdlock(&ns->tree);
	pthread_mutex_lock(&n->mu);
	parent = n->parent;
	/* Empty: a shell's `> run/x.json` flushes once before it writes
	 * (it closes the fd it dup2()ed); a graph is never empty. */
	if (n->dirty && !n->detached && n->data.len) {
		len = n->data.len;
		json = malloc(len + 1);
		if (json) {
			memcpy(json, n->data.data, len);
			json[len] = '\0';
			n->dirty = 0;
		} else {
			rc = -ENOMEM;
		}
	}
	pthread_mutex_unlock(&n->mu);
	pthread_rwlock_unlock(&ns->tree);
	if (rc || !json)
		return rc ? rc : f->result;
	if (graph_base(n->name, base, sizeof(base)) == 0)
		rc = run_submit(ns, f->opener, parent, base, json, len);
	else
		rc = -EINVAL;
	free(json);
	f->result = rc;

	pthread_rwlock_wrlock(&ns->tree);
	if (!n->detached)
		node_detach(ns, n);
	pthread_rwlock_unlock(&ns->tree);
	return rc;
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

static int remove_in_runs(struct ns *ns, struct node *dir, struct node *n,
			  int isdir)
{
	if (n->kind == NK_RUNGRAPH) {
		if (isdir)
			return -ENOTDIR;
		node_detach(ns, n);
		return 0;
	}
	if (!isdir)
		return -EISDIR;
	engine_delete(ns->engine, dir->vol->owner, n->name);
	detach_subtree(ns, n);
	return 0;
}

static int remove_in_record(struct ns *ns, struct node *n, int isdir)
{
	struct node *run = run_of(n);
	char path[PATH_MAX];
	int rc;

	if (isdir != !!S_ISDIR(n->mode))
		return isdir ? -ENOTDIR : -EISDIR;
	engine_cancel(ns->engine, n->vol->owner, run->name);
	if (!synthetic(n)) {
		rc = run_path(ns, n, path, sizeof(path));
		if (rc)
			return rc;
		if (isdir)
			rc = rm_tree(path);
		else if (unlink(path) && errno != ENOENT)
			rc = -errno;
		if (rc)
			return rc;
	}
	detach_subtree(ns, n);
	return 0;
}

int run_remove(struct ns *ns, struct caller *c, struct node *parent,
	       const char *name, int isdir)
{
	struct node *n;
	unsigned r;
	int rc = 0;

	pthread_rwlock_wrlock(&ns->tree);
	r = node_rights(ns, c, parent);
	if (!(r & ACL_R))
		rc = -ENOENT;
	else if (!S_ISDIR(parent->mode))
		rc = -ENOTDIR;
	else if (!(r & ACL_W))
		rc = -EACCES;
	else if (!ns->engine)
		rc = -EIO;
	if (rc)
		goto out;
	if (!parent->detached)
		rc = sync_dir(ns, parent);
	if (rc && rc != -ENOENT)
		goto out;
	n = node_child(ns, parent, name);
	if (!n)
		rc = -ENOENT;
	else if (parent->kind == NK_RUNS)
		rc = remove_in_runs(ns, parent, n, isdir);
	else
		rc = remove_in_record(ns, n, isdir);
	if (!rc)
		ns_now(&parent->mtime);
out:
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

int run_setattr(struct ns *ns, struct caller *c, struct node *n,
		const struct stat *want, unsigned what, struct stat *st)
{
	unsigned r;
	int rc = 0;

	pthread_rwlock_rdlock(&ns->tree);
	r = node_rights(ns, c, n);
	if (!(r & ACL_R))
		rc = -ENOENT;
	else if (!(r & ACL_W))
		rc = -EACCES;
	else if (n->kind != NK_RUNGRAPH &&
		 !(n->kind == NK_RUNCTL && what == NS_SET_SIZE))
		rc = -EPERM;
	if (rc)
		goto out;
	pthread_mutex_lock(&n->mu);
	if (n->kind == NK_RUNGRAPH && (what & NS_SET_SIZE) &&
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
