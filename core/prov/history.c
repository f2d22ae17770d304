/* core/prov/history.c: <volume>/history/ (DESIGN.md section 7), the
 * volume's past, read-only, for whoever may read its skills:
 *
 *   log                newest first: the newest 1,000 commits, each with
 *                      its date, author, summary and the files it changed
 *   error              what went wrong with the history, if anything
 *   HEAD/              the files as the last commit has them
 *   HEAD~N/, HEAD^/    found by name, not listed
 *   by-commit/         the newest 100 commits by short id; any unique
 *                      prefix of 4 or more hex digits is found
 *   by-date/           the days with commits; <day>/ is the tree at the
 *                      day's last commit, <day>T<hh:mm[:ss]>/ the tree at
 *                      that time (local time), found, not listed
 *   file/<path>        the log of one file (a folder of file/ mirrors the
 *                      folders of HEAD; a removed file is found by name)
 *
 * Everything is made from the repository when looked up or listed
 * (core/history/history.h), so a listing costs the same with 100,000
 * commits as with 10. A tree at a commit never changes; HEAD and the
 * days are resolved again at each lookup. Any write gives EROFS.
 */
#include "core/prov/history_int.h"
#include "core/util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


/* --- where a node is --------------------------------------------------------- */

static const char *vol_of(const struct node *n)
{
	return n->vol->prefix + strlen("volumes/");
}

static struct node *root_of(struct node *n)
{
	while (n && n->sub != HIST_ROOT)
		n = n->parent;
	return n;
}

/* The path of `n` below `top` (excluded): "skills/a/x.md", "" for top.
 * The tree is held. */
static int path_below(const struct node *n, const struct node *top,
		      char *out, size_t cap)
{
	const struct node *p;
	size_t len = 0;

	for (p = n; p && p != top; p = p->parent)
		len += strlen(p->name) + 1;
	if (!p)
		return -EINVAL;
	if (len > cap)
		return -ENAMETOOLONG;
	out[len ? len - 1 : 0] = '\0';
	for (p = n; p != top; p = p->parent) {
		size_t k = strlen(p->name);

		len -= k + 1;
		memcpy(out + len, p->name, k);
		if (len)
			out[len - 1] = '/';
	}
	return 0;
}

/* history/file/ of `n` (a HIST_FILES or HIST_FILELOG node). */
static struct node *files_top(struct node *n)
{
	while (n->parent && n->parent->sub != HIST_TOP)
		n = n->parent;
	return n;
}

int hist_where(struct node *dir, struct where *w)
{
	struct node *r;

	snprintf(w->vol, sizeof(w->vol), "%s", vol_of(dir));
	w->sub = dir->sub;
	w->path[0] = '\0';
	if (dir->sub == HIST_ROOT || dir->sub == HIST_DIR ||
	    dir->sub == HIST_FILE) {
		r = root_of(dir);
		w->id = ((struct hist_root *)r->priv)->id;
		return path_below(dir, r, w->path, sizeof(w->path));
	}
	if (dir->sub == HIST_FILES || dir->sub == HIST_FILELOG)
		return path_below(dir, files_top(dir), w->path,
				  sizeof(w->path));
	return 0;
}

static int join(char *out, size_t cap, const char *dir, const char *name)
{
	int k = snprintf(out, cap, "%s%s%s", dir, *dir ? "/" : "", name);

	return k < 0 || (size_t)k >= cap ? -ENAMETOOLONG : 0;
}

/* --- nodes ------------------------------------------------------------------ */

static struct node *add(struct ns *ns, struct node *dir, const char *name,
			enum hist_sub sub, mode_t mode)
{
	struct node *n = node_new(ns, dir, name, &history_prov, sub, mode);

	if (n) {
		n->uid = dir->uid;
		n->gid = dir->gid;
	}
	return n;
}

static struct node *add_root(struct ns *ns, struct node *dir,
			     const char *name, const struct history_id *id,
			     int dynamic, int64_t when)
{
	struct hist_root *r = calloc(1, sizeof(*r));
	struct node *n;

	if (!r)
		return NULL;
	n = add(ns, dir, name, HIST_ROOT, S_IFDIR | 0555);
	if (!n) {
		free(r);
		return NULL;
	}
	r->id = *id;
	r->dynamic = dynamic;
	r->resolved = 1;
	n->priv = r;
	n->mtime.tv_sec = (time_t)when;
	n->mtime.tv_nsec = 0;
	n->ctime = n->atime = n->mtime;
	return n;
}

static void hist_destroy(struct node *n)
{
	if (n->sub == HIST_LOG || n->sub == HIST_FILELOG)
		buf_release(&((struct hist_cache *)n->priv)->text);
	free(n->priv);
	n->priv = NULL;
}

/* A root found again: when it now names another commit, what was made
 * under it goes. The tree is write-locked. */
static void root_update(struct ns *ns, struct node *n,
			const struct history_id *id, int64_t when)
{
	struct hist_root *r = n->priv;

	if (r->resolved && !memcmp(&r->id, id, sizeof(*id)))
		return;
	while (n->child)
		node_detach_subtree(ns, n->child);
	r->id = *id;
	r->resolved = 1;
	n->mtime.tv_sec = (time_t)when;
	n->ctime = n->atime = n->mtime;
}

/* --- names ------------------------------------------------------------------ */

/* "2026-12-04" (the end of that day) or "2026-12-04T10:31[:05]", local
 * time; 0 or -ENOENT. */
static int parse_day(const char *name, time_t *out)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(name, "%Y-%m-%d", &tm);
	if (!end)
		return -ENOENT;
	if (!*end) {
		tm.tm_hour = 23;
		tm.tm_min = 59;
		tm.tm_sec = 59;
	} else if (*end == 'T') {
		const char *e = strptime(end + 1, "%H:%M", &tm);

		if (e && *e == ':')
			e = strptime(e + 1, "%S", &tm);
		if (!e || *e)
			return -ENOENT;
	} else {
		return -ENOENT;
	}
	tm.tm_isdst = -1;
	*out = mktime(&tm);
	return *out == (time_t)-1 ? -ENOENT : 0;
}

int hist_commit_time(struct history *h, const char *vol,
		       const struct history_id *id, int64_t *when)
{
	struct history_commit c;
	int rc = history_commit(h, vol, id, 0, &c);

	if (!rc) {
		*when = c.time;
		history_commit_release(&c);
	}
	return rc;
}

/* The commit a root's name gives now. */
static int resolve_root(struct history *h, const char *vol, int sub,
			const char *name, struct history_id *id,
			int *dynamic)
{
	time_t t;
	int rc;

	*dynamic = 1;
	if (sub == HIST_TOP)
		return strncmp(name, "HEAD", 4) ? -ENOENT :
		       history_resolve(h, vol, name, id);
	if (sub == HIST_BYDATE)
		return parse_day(name, &t) ? -ENOENT :
		       history_at(h, vol, t, id);
	*dynamic = 0;
	rc = history_resolve(h, vol, name, id);
	return rc == -EINVAL || rc == -ENOTUNIQ ? -ENOENT : rc;
}

/* The newest commit that changed `path`: whether the path was a file
 * there (the changed files are files, a folder's are below it). */
struct had {
	const char *path;
	int found, folder;
};

static int had_path(void *arg, const struct history_commit *c)
{
	struct had *h = arg;
	size_t k = strlen(h->path);

	h->found = 1;
	for (size_t i = 0; i < c->nfiles; i++) {
		const char *p[2] = { c->files[i].path, c->files[i].from };

		for (int j = 0; j < 2; j++)
			if (p[j] && !strncmp(p[j], h->path, k) &&
			    p[j][k] == '/')
				h->folder = 1;
	}
	return 1;
}

/* What `name` in the folder `w` is: its kind, mode, size and (for a root)
 * commit. -ENOENT when nothing. No tree lock is held. */
struct found {
	enum hist_sub sub;
	mode_t mode;
	uint64_t size;
	struct history_id id;
	int dynamic;
	int64_t when;
};

static int find_name(struct history *h, const struct where *w,
		     const char *name, struct found *f)
{
	struct history_entry e;
	struct history_id head;
	char path[PATH_MAX];
	uint64_t cursor = HISTORY_NEWEST;
	struct had was = { path, 0, 0 };
	int rc;

	switch (w->sub) {
	case HIST_TOP:
	case HIST_BYCOMMIT:
	case HIST_BYDATE:
		rc = resolve_root(h, w->vol, w->sub, name, &f->id,
				  &f->dynamic);
		if (!rc)
			rc = hist_commit_time(h, w->vol, &f->id, &f->when);
		f->sub = HIST_ROOT;
		f->mode = S_IFDIR | 0555;
		return rc;
	case HIST_ROOT:
	case HIST_DIR:
		rc = join(path, sizeof(path), w->path, name);
		if (!rc)
			rc = history_stat(h, w->vol, &w->id, path, &e);
		if (rc)
			return rc == -ENOTDIR ? -ENOENT : rc;
		f->sub = S_ISDIR(e.mode) ? HIST_DIR : HIST_FILE;
		f->mode = S_ISDIR(e.mode) ? S_IFDIR | 0555 :
			  S_IFREG | (e.mode & 0111 ? 0555 : 0444);
		f->size = e.size;
		return 0;
	case HIST_FILES:
		rc = join(path, sizeof(path), w->path, name);
		if (rc)
			return rc;
		if (history_resolve(h, w->vol, "HEAD", &head) == 0 &&
		    history_stat(h, w->vol, &head, path, &e) == 0 &&
		    S_ISDIR(e.mode)) {
			f->sub = HIST_FILES;
			f->mode = S_IFDIR | 0555;
			return 0;
		}
		rc = history_file_log(h, w->vol, path, &cursor, 1,
				      FILE_LOG_BUDGET, HISTORY_FILES,
				      had_path, &was);
		if (rc < 0 && rc != -ENOENT)
			return rc;
		if (!was.found)
			return -ENOENT;
		f->sub = was.folder ? HIST_FILES : HIST_FILELOG;
		f->mode = was.folder ? S_IFDIR | 0555 : S_IFREG | 0444;
		return 0;
	default:
		return -ENOTDIR;
	}
}

/* Make or update the node `name` of `dir` as `f` says; the tree is
 * write-locked. */
static struct node *place(struct ns *ns, struct node *dir, const char *name,
			  const struct found *f)
{
	struct node *n = node_child(ns, dir, name);

	if (n && (n->sub != (int)f->sub || (n->mode & S_IFMT) !=
					    (f->mode & S_IFMT))) {
		node_detach_subtree(ns, n);
		n = NULL;
	}
	if (n && n->sub == HIST_ROOT)
		root_update(ns, n, &f->id, f->when);
	if (n)
		return n;
	if (f->sub == HIST_ROOT)
		return add_root(ns, dir, name, &f->id, f->dynamic, f->when);
	n = add(ns, dir, name, f->sub, f->mode);
	if (n) {
		n->size = f->size;
		if (dir->sub == HIST_ROOT || dir->sub == HIST_DIR)
			n->mtime = n->ctime = n->atime = dir->mtime;
	}
	return n;
}

/* --- lookups and listings ---------------------------------------------------------- */

static int hist_lookup(struct ns *ns, struct caller *c, struct node *dir,
		       const char *name, struct node **out, struct stat *st)
{
	struct where w;
	struct found f;
	struct node *n;
	int rc = 0;

	memset(&f, 0, sizeof(f));
	pthread_rwlock_rdlock(&ns->tree);
	if (!node_visible(ns, c, dir))
		rc = -ENOENT;
	else if (!S_ISDIR(dir->mode))
		rc = -ENOTDIR;
	else if (dir->detached)
		rc = -ENOENT;
	n = rc ? NULL : node_child(ns, dir, name);
	/* Known, and not a name that follows HEAD: HEAD, a day, a name of
	 * file/ (the fixed ones of history/ are always there). */
	if (n && !(n->sub == HIST_ROOT &&
		   ((struct hist_root *)n->priv)->dynamic) &&
	    !((n->sub == HIST_FILES || n->sub == HIST_FILELOG) &&
	      dir->sub == HIST_FILES)) {
		node_lookup_ref(ns, c, n, st);
		*out = n;
		pthread_rwlock_unlock(&ns->tree);
		return 0;
	}
	if (!rc)
		rc = hist_where(dir, &w);
	pthread_rwlock_unlock(&ns->tree);
	if (rc)
		return rc;
	if (!ns->history)
		return -ENOENT;
	rc = find_name(ns->history, &w, name, &f);
	if (rc)
		return rc == -ENOTUNIQ || rc == -EINVAL ? -ENOENT : rc;
	pthread_rwlock_wrlock(&ns->tree);
	if (dir->detached || !node_visible(ns, c, dir)) {
		rc = -ENOENT;
	} else if (!(n = place(ns, dir, name, &f))) {
		rc = -ENOMEM;
	} else {
		node_lookup_ref(ns, c, n, st);
		*out = n;
	}
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

/* What a listing collects before it takes the write lock. */
struct listing {
	struct history *h;
	const char *vol;
	char **names;
	struct found *f;
	size_t n, alloc;
	int err;
};

static int listing_add(struct listing *l, const char *name,
		       const struct found *f)
{
	if (l->n == l->alloc) {
		size_t k = l->alloc ? 2 * l->alloc : 32;
		char **v = realloc(l->names, k * sizeof(*v));
		struct found *g;

		if (!v)
			return -ENOMEM;
		l->names = v;
		g = realloc(l->f, k * sizeof(*g));
		if (!g)
			return -ENOMEM;
		l->f = g;
		l->alloc = k;
	}
	l->names[l->n] = strdup(name);
	if (!l->names[l->n])
		return -ENOMEM;
	l->f[l->n++] = *f;
	return 0;
}

static void listing_release(struct listing *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	free(l->f);
}

static int list_commit(void *arg, const struct history_commit *c)
{
	struct listing *l = arg;
	struct found f = { .sub = HIST_ROOT, .mode = S_IFDIR | 0555,
			   .id = c->id, .when = c->time };

	return listing_add(l, c->short_hex, &f);
}

static int list_day(void *arg, const struct history_day *d)
{
	struct listing *l = arg;
	struct found f = { .sub = HIST_ROOT, .mode = S_IFDIR | 0555,
			   .id = d->last, .dynamic = 1,
			   .when = d->last_time };

	return listing_add(l, d->date, &f);
}

static int list_entry(void *arg, const struct history_entry *e)
{
	struct listing *l = arg;
	struct found f = { .size = e->size };

	if (S_ISDIR(e->mode)) {
		f.sub = HIST_DIR;
		f.mode = S_IFDIR | 0555;
	} else {
		f.sub = HIST_FILE;
		f.mode = S_IFREG | (e->mode & 0111 ? 0555 : 0444);
	}
	return listing_add(l, e->name, &f);
}

/* file/: folders stay folders, files become their logs. */
static int list_files_entry(void *arg, const struct history_entry *e)
{
	struct listing *l = arg;
	struct found f;

	memset(&f, 0, sizeof(f));
	f.sub = S_ISDIR(e->mode) ? HIST_FILES : HIST_FILELOG;
	f.mode = S_ISDIR(e->mode) ? S_IFDIR | 0555 : S_IFREG | 0444;
	return listing_add(l, e->name, &f);
}

static int hist_sync(struct ns *ns, struct caller *c, struct node *dir)
{
	struct listing l = { 0 };
	struct history_id head;
	struct where w;
	int rc = 0;

	pthread_rwlock_rdlock(&ns->tree);
	if (!node_visible(ns, c, dir))
		rc = -ENOENT;
	else if (!S_ISDIR(dir->mode) || dir->detached)
		rc = 1;
	else
		rc = hist_where(dir, &w);
	pthread_rwlock_unlock(&ns->tree);
	if (rc)
		return rc > 0 ? 0 : rc;
	if (!ns->history)
		return 0;
	l.h = ns->history;
	l.vol = w.vol;
	switch (w.sub) {
	case HIST_TOP:
		if (history_resolve(l.h, w.vol, "HEAD", &head) == 0) {
			struct found f = { .sub = HIST_ROOT,
					   .mode = S_IFDIR | 0555,
					   .id = head, .dynamic = 1 };

			rc = hist_commit_time(l.h, w.vol, &head, &f.when);
			if (!rc)
				rc = listing_add(&l, "HEAD", &f);
		}
		break;
	case HIST_BYCOMMIT:
		rc = history_log(l.h, w.vol, 0, LIST_COMMITS, 0, list_commit,
				 &l);
		break;
	case HIST_BYDATE:
		rc = history_days(l.h, w.vol, list_day, &l);
		break;
	case HIST_ROOT:
	case HIST_DIR:
		rc = history_list(l.h, w.vol, &w.id, w.path, list_entry, &l);
		break;
	case HIST_FILES:
		rc = history_resolve(l.h, w.vol, "HEAD", &head);
		if (!rc)
			rc = history_list(l.h, w.vol, &head, w.path,
					  list_files_entry, &l);
		break;
	default:
		break;
	}
	if (rc == -ENOENT)
		rc = 0;	/* no history yet: an empty folder */
	if (!rc) {
		pthread_rwlock_wrlock(&ns->tree);
		for (size_t i = 0; i < l.n && !rc; i++)
			if (!dir->detached &&
			    !place(ns, dir, l.names[i], &l.f[i]))
				rc = -ENOMEM;
		pthread_rwlock_unlock(&ns->tree);
	}
	listing_release(&l);
	return rc;
}

/* history/ and its fixed names, in every volume. */
static int hist_volume_load(struct ns *ns, struct node *vol)
{
	static const struct {
		const char *name;
		enum hist_sub sub;
		mode_t mode;
	} fixed[] = {
		{ "log", HIST_LOG, S_IFREG | 0444 },
		{ "error", HIST_ERROR, S_IFREG | 0444 },
		{ "by-commit", HIST_BYCOMMIT, S_IFDIR | 0555 },
		{ "by-date", HIST_BYDATE, S_IFDIR | 0555 },
		{ "file", HIST_FILES, S_IFDIR | 0555 },
	};
	struct node *top = node_child(ns, vol, "history");

	if (!top)
		return 0;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (!add(ns, top, fixed[i].name, fixed[i].sub, fixed[i].mode))
			return -ENOMEM;
	return 0;
}

const struct prov_ops history_prov = {
	.name = "history",
	.flags = PROV_NOCACHE | PROV_RDONLY,
	.lookup = hist_lookup,
	.sync = hist_sync,
	.stat = hist_stat,
	.open = hist_open,
	.volume_load = hist_volume_load,
	.destroy = hist_destroy,
	.direct_io = hist_direct_io,
	.read = ns_snap_read,
};
