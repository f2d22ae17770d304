/* core/history/history_read.c: what the history/ directory reads. Every
 * call locks the volume's reader handle (v->rmu) for its length and finds
 * positions in the commit list (history_index.c), so its cost does not
 * grow with the number of commits, except the per-file log's walk. */
#include "core/history/history_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/util/name.h"

char *history_id_hex(const struct history_id *id, char hex[HISTORY_HEX])
{
	static const char digit[] = "0123456789abcdef";

	for (size_t i = 0; i < HISTORY_ID_LEN; i++) {
		hex[2 * i] = digit[id->raw[i] >> 4];
		hex[2 * i + 1] = digit[id->raw[i] & 15];
	}
	hex[2 * HISTORY_ID_LEN] = '\0';
	return hex;
}

static void to_git(git_oid *o, const struct history_id *id)
{
	git_oid_fromraw(o, id->raw);
}

static void from_git(struct history_id *id, const git_oid *o)
{
	memcpy(id->raw, o->id, HISTORY_ID_LEN);
}

/* Lock the volume's reader and make sure its repository and commit list
 * are open: 0 with v->rmu held, or -errno (-ENOENT: no history yet). */
static int begin(struct history *h, const char *volume, struct hist_vol **out)
{
	char msg[HIST_ERR_MAX] = "";
	struct hist_vol *v;
	int rc;

	if (!volume || hist_volume_check(volume))
		return -EINVAL;
	pthread_mutex_lock(&h->mu);
	v = hist_vol_get(h, volume, 1);
	pthread_mutex_unlock(&h->mu);
	if (!v)
		return -ENOMEM;
	hist_shared_poll(h, v);
	pthread_mutex_lock(&v->rmu);
	if (!v->rrepo) {
		rc = hist_repo_open(h, v, 0, &v->rrepo, msg, sizeof(msg));
		if (rc)
			goto fail;
	}
	pthread_mutex_lock(&v->imu);
	rc = hist_index_load(v, v->rrepo, msg, sizeof(msg));
	pthread_mutex_unlock(&v->imu);
	if (rc)
		goto fail;
	*out = v;
	return 0;
fail:
	pthread_mutex_unlock(&v->rmu);
	if (rc != -ENOENT)
		hist_set_error(h, v, "cannot read '%s': %s", v->gitdir,
			       *msg ? msg : strerror(-rc));
	return rc;
}

static void end(struct hist_vol *v)
{
	pthread_mutex_unlock(&v->rmu);
}

/* A libgit2 failure while reading: -errno, kept as the volume's error
 * unless it only says the thing asked for is not there. */
static int read_err(struct history *h, struct hist_vol *v, int rc)
{
	char msg[HIST_ERR_MAX];

	rc = hist_git_err(rc, msg, sizeof(msg));
	if (rc != -ENOENT && rc != -ENOTUNIQ)
		hist_set_error(h, v, "cannot read '%s': %s", v->gitdir, msg);
	return rc;
}

static uint64_t count_of(struct hist_vol *v)
{
	uint64_t n;

	pthread_mutex_lock(&v->imu);
	n = v->icount;
	pthread_mutex_unlock(&v->imu);
	return n;
}

static int rec_at(struct hist_vol *v, uint64_t pos, struct hist_rec *r)
{
	int rc;

	pthread_mutex_lock(&v->imu);
	rc = hist_index_get(v, pos, r);
	pthread_mutex_unlock(&v->imu);
	return rc;
}

int history_count(struct history *h, const char *volume, uint64_t *n)
{
	struct hist_vol *v;
	int rc = begin(h, volume, &v);

	if (rc)
		return rc;
	*n = count_of(v);
	end(v);
	return 0;
}

/* ---- names of commits ---- */

/* "HEAD", "HEAD^", "HEAD~N": how many commits back; -1 if not one. */
static long long head_back(const char *spec)
{
	long long n = 0;

	if (strncmp(spec, "HEAD", 4) != 0)
		return -1;
	spec += 4;
	if (!*spec)
		return 0;
	if (strcmp(spec, "^") == 0 || strcmp(spec, "~") == 0)
		return 1;
	if (*spec != '~' || !spec[1] || strlen(spec + 1) > 18)
		return -1;
	for (spec++; *spec; spec++) {
		if (!isdigit((unsigned char)*spec))
			return -1;
		n = n * 10 + (*spec - '0');
	}
	return n;
}

static int resolve_prefix(struct history *h, struct hist_vol *v,
			  const char *hex, size_t len, git_oid *out)
{
	git_odb *odb = NULL;
	git_object_t type;
	git_oid shortid;
	size_t size;
	int rc, count;

	rc = git_oid_fromstrn(&shortid, hex, len);
	if (rc < 0)
		return -EINVAL;
	rc = git_repository_odb(&odb, v->rrepo);
	if (rc < 0)
		return read_err(h, v, rc);
	rc = git_odb_exists_prefix(out, odb, &shortid, len);
	if (rc == 0) {
		rc = git_odb_read_header(&size, &type, odb, out);
		if (rc < 0)
			rc = read_err(h, v, rc);
		else if (type != GIT_OBJECT_COMMIT)
			rc = -ENOENT;
	} else if (rc == GIT_EAMBIGUOUS) {
		/* Ambiguous among all objects; a name of a commit only
		 * needs to be unique among the commits. */
		git_error_clear();
		pthread_mutex_lock(&v->imu);
		rc = hist_index_find_prefix(v, &shortid, len, out, &count);
		pthread_mutex_unlock(&v->imu);
		if (!rc)
			rc = count == 0 ? -ENOENT : count > 1 ? -ENOTUNIQ : 0;
	} else {
		rc = read_err(h, v, rc);
	}
	git_odb_free(odb);
	return rc;
}

int history_resolve(struct history *h, const char *volume, const char *spec,
		    struct history_id *out)
{
	char hex[GIT_OID_HEXSZ + 1];
	struct hist_rec r;
	struct hist_vol *v;
	long long back;
	size_t len;
	git_oid id;
	int rc;

	if (!spec)
		return -EINVAL;
	len = strlen(spec);
	back = head_back(spec);
	if (back < 0) {
		if (len < HISTORY_PREFIX_MIN || len > GIT_OID_HEXSZ)
			return -EINVAL;
		for (size_t i = 0; i < len; i++) {
			if (!isxdigit((unsigned char)spec[i]))
				return -EINVAL;
			hex[i] = (char)tolower((unsigned char)spec[i]);
		}
		hex[len] = '\0';
	}
	rc = begin(h, volume, &v);
	if (rc)
		return rc;
	if (back >= 0) {
		uint64_t n = count_of(v);

		rc = (uint64_t)back >= n ? -ENOENT :
					   rec_at(v, n - 1 - (uint64_t)back, &r);
		if (!rc)
			from_git(out, &r.id);
	} else {
		rc = resolve_prefix(h, v, hex, len, &id);
		if (!rc)
			from_git(out, &id);
	}
	end(v);
	return rc;
}

int history_at(struct history *h, const char *volume, time_t t,
	       struct history_id *out)
{
	struct hist_vol *v;
	struct hist_rec r;
	uint64_t pos;
	int rc = begin(h, volume, &v);

	if (rc)
		return rc;
	pthread_mutex_lock(&v->imu);
	rc = hist_index_at(v, (int64_t)t, &pos);
	if (!rc)
		rc = hist_index_get(v, pos, &r);
	pthread_mutex_unlock(&v->imu);
	if (!rc)
		from_git(out, &r.id);
	end(v);
	return rc;
}

/* Midnight, local time, of the day holding `t`; its date into `date`. */
static int64_t day_start(int64_t t, char *date, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!localtime_r(&tt, &tm))
		return t;
	strftime(date, cap, "%Y-%m-%d", &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm);
}

int history_days(struct history *h, const char *volume, history_day_cb cb,
		 void *arg)
{
	struct hist_vol *v;
	struct hist_rec r;
	uint64_t pos, n;
	int rc = begin(h, volume, &v);

	if (rc)
		return rc;
	n = count_of(v);
	for (pos = n; pos > 0 && !rc;) {
		struct history_day d;
		uint64_t first;

		rc = rec_at(v, pos - 1, &r);
		if (rc)
			break;
		memset(&d, 0, sizeof(d));
		pthread_mutex_lock(&v->imu);
		first = hist_index_first_from(
			v, day_start(r.time, d.date, sizeof(d.date)), 0,
			pos - 1);
		pthread_mutex_unlock(&v->imu);
		d.ncommits = pos - first;
		d.skip = n - pos;
		from_git(&d.last, &r.id);
		d.last_time = r.time;
		rc = cb(arg, &d);
		pos = first;
	}
	end(v);
	return rc;
}

/* ---- commits ---- */

void history_commit_release(struct history_commit *c)
{
	free(c->author);
	free(c->email);
	free(c->summary);
	free(c->message);
	hist_files_free(c->files, c->nfiles);
	memset(c, 0, sizeof(*c));
}

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

static int files_of(git_repository *repo, git_commit *c,
		    struct history_commit *out)
{
	git_tree *tree = NULL, *old = NULL;
	git_commit *parent = NULL;
	int rc;

	rc = git_commit_tree(&tree, c);
	if (rc == 0 && git_commit_parentcount(c) > 0) {
		rc = git_commit_parent(&parent, c, 0);
		if (rc == 0)
			rc = git_commit_tree(&old, parent);
	}
	if (rc < 0)
		rc = hist_git_err(rc, NULL, 0);
	else
		rc = hist_diff_files(repo, old, tree, &out->files,
				     &out->nfiles);
	git_tree_free(tree);
	git_tree_free(old);
	git_commit_free(parent);
	return rc;
}

static int fill_commit(struct history *h, struct hist_vol *v,
		       const git_oid *id, unsigned flags,
		       struct history_commit *out)
{
	const git_signature *a;
	git_buf shortid = { 0 };
	git_commit *c = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = git_commit_lookup(&c, v->rrepo, id);
	if (rc < 0)
		return read_err(h, v, rc);
	from_git(&out->id, id);
	history_id_hex(&out->id, out->hex);
	if (git_object_short_id(&shortid, (git_object *)c) == 0)
		snprintf(out->short_hex, sizeof(out->short_hex), "%s",
			 shortid.ptr);
	else
		snprintf(out->short_hex, sizeof(out->short_hex), "%.7s",
			 out->hex);
	git_buf_dispose(&shortid);
	a = git_commit_author(c);
	out->time = a->when.time;
	out->tz_min = a->when.offset;
	out->commit_time = git_commit_time(c);
	out->author = dup_or_empty(a->name);
	out->email = dup_or_empty(a->email);
	out->summary = dup_or_empty(git_commit_summary(c));
	out->message = dup_or_empty(git_commit_message(c));
	if (!out->author || !out->email || !out->summary || !out->message)
		rc = -ENOMEM;
	else if (flags & HISTORY_FILES)
		rc = files_of(v->rrepo, c, out);
	git_commit_free(c);
	if (rc)
		history_commit_release(out);
	return rc;
}

int history_commit(struct history *h, const char *volume,
		   const struct history_id *id, unsigned flags,
		   struct history_commit *out)
{
	struct hist_vol *v;
	git_oid o;
	int rc = begin(h, volume, &v);

	if (rc)
		return rc;
	to_git(&o, id);
	rc = fill_commit(h, v, &o, flags, out);
	end(v);
	return rc;
}

static int emit(struct history *h, struct hist_vol *v, const git_oid *id,
		unsigned flags, history_commit_cb cb, void *arg)
{
	struct history_commit c;
	int rc = fill_commit(h, v, id, flags, &c);

	if (rc)
		return rc;
	rc = cb(arg, &c);
	history_commit_release(&c);
	return rc;
}

int history_log(struct history *h, const char *volume, uint64_t skip,
		size_t max, unsigned flags, history_commit_cb cb, void *arg)
{
	struct hist_vol *v;
	struct hist_rec r;
	uint64_t n;
	int rc = begin(h, volume, &v);

	if (rc)
		return rc;
	n = count_of(v);
	for (size_t i = 0; !rc && i < max && skip < n && i < n - skip; i++) {
		rc = rec_at(v, n - 1 - skip - i, &r);
		if (!rc)
			rc = emit(h, v, &r.id, flags, cb, arg);
	}
	end(v);
	return rc;
}

/* What `path` is at the commit in position `pos`: 1 with its id and
 * mode, 0 when absent. */
static int entry_at(struct history *h, struct hist_vol *v, uint64_t pos,
		    const char *path, git_oid *id, unsigned *mode)
{
	git_tree_entry *e = NULL;
	git_commit *c = NULL;
	git_tree *t = NULL;
	struct hist_rec r;
	int rc;

	rc = rec_at(v, pos, &r);
	if (rc)
		return rc;
	rc = git_commit_lookup(&c, v->rrepo, &r.id);
	if (rc == 0)
		rc = git_commit_tree(&t, c);
	if (rc == 0)
		rc = git_tree_entry_bypath(&e, t, path);
	if (rc == 0) {
		git_oid_cpy(id, git_tree_entry_id(e));
		*mode = git_tree_entry_filemode_raw(e);
		rc = 1;
	} else if (rc == GIT_ENOTFOUND && c && t) {
		git_error_clear();
		rc = 0;
	} else {
		rc = read_err(h, v, rc);
	}
	git_tree_entry_free(e);
	git_tree_free(t);
	git_commit_free(c);
	return rc;
}

static int path_ok(const char *path)
{
	return path && *path != '/' &&
	       strnlen(path, PATH_MAX_BYTES + 1) <= PATH_MAX_BYTES;
}

int history_file_log(struct history *h, const char *volume, const char *path,
		     uint64_t *cursor, size_t max, uint64_t budget,
		     unsigned flags, history_commit_cb cb, void *arg)
{
	git_oid cur_id, par_id;
	unsigned cur_mode = 0, par_mode = 0;
	uint64_t n, pos, looked = 0;
	size_t found = 0;
	struct hist_vol *v;
	struct hist_rec r;
	int rc, cur, par;

	if (!path_ok(path) || !*path)
		return -EINVAL;
	rc = begin(h, volume, &v);
	if (rc)
		return rc;
	n = count_of(v);
	pos = *cursor > n ? n : *cursor;
	if (pos == 0)
		*cursor = 0;
	if (pos == 0 || max == 0)
		goto out;
	pos--;
	cur = entry_at(h, v, pos, path, &cur_id, &cur_mode);
	for (rc = cur < 0 ? cur : 0; !rc;) {
		par = pos ? entry_at(h, v, pos - 1, path, &par_id, &par_mode) :
			    0;
		if (par < 0) {
			rc = par;
			break;
		}
		looked++;
		if (cur != par || (cur && (!git_oid_equal(&cur_id, &par_id) ||
					   cur_mode != par_mode))) {
			rc = rec_at(v, pos, &r);
			if (!rc)
				rc = emit(h, v, &r.id, flags, cb, arg);
			found++;
		}
		cur = par;
		git_oid_cpy(&cur_id, &par_id);
		cur_mode = par_mode;
		if (pos == 0) {
			*cursor = 0;
			break;
		}
		pos--;
		*cursor = pos + 1;
		if (found >= max || (budget && looked >= budget))
			break;
	}
out:
	end(v);
	return rc;
}

/* ---- trees ---- */

static mode_t mode_of(unsigned git_mode)
{
	switch (git_mode) {
	case GIT_FILEMODE_TREE:
	case GIT_FILEMODE_COMMIT:
		return S_IFDIR | 0755;
	case GIT_FILEMODE_BLOB_EXECUTABLE:
		return S_IFREG | 0755;
	case GIT_FILEMODE_LINK:
		return S_IFLNK | 0777;
	default:
		return S_IFREG | 0644;
	}
}

static int fill_entry(git_odb *odb, const git_oid *id, unsigned git_mode,
		      struct history_entry *e)
{
	git_object_t type;
	size_t size = 0;
	int rc = 0;

	e->mode = mode_of(git_mode);
	e->size = 0;
	from_git(&e->id, id);
	if (S_ISREG(e->mode) || S_ISLNK(e->mode)) {
		rc = git_odb_read_header(&size, &type, odb, id);
		e->size = size;
	}
	return rc;
}

/* The tree of commit `id`, and the odb. */
static int commit_tree(struct history *h, struct hist_vol *v,
		       const struct history_id *id, git_tree **tree,
		       git_odb **odb)
{
	git_commit *c = NULL;
	git_oid o;
	int rc;

	to_git(&o, id);
	*tree = NULL;
	*odb = NULL;
	rc = git_commit_lookup(&c, v->rrepo, &o);
	if (rc == 0)
		rc = git_commit_tree(tree, c);
	if (rc == 0)
		rc = git_repository_odb(odb, v->rrepo);
	git_commit_free(c);
	return rc < 0 ? read_err(h, v, rc) : 0;
}

/* begin(), then the tree of commit `id` and the odb; on failure nothing
 * is held. */
static int begin_tree(struct history *h, const char *volume, const char *path,
		      const struct history_id *id, struct hist_vol **v,
		      git_tree **tree, git_odb **odb)
{
	int rc;

	if (!path_ok(path))
		return -EINVAL;
	rc = begin(h, volume, v);
	if (rc)
		return rc;
	rc = commit_tree(h, *v, id, tree, odb);
	if (rc) {
		git_tree_free(*tree);
		git_odb_free(*odb);
		end(*v);
	}
	return rc;
}

int history_stat(struct history *h, const char *volume,
		 const struct history_id *id, const char *path,
		 struct history_entry *out)
{
	git_tree_entry *e = NULL;
	git_tree *tree;
	git_odb *odb;
	struct hist_vol *v;
	int rc;

	rc = begin_tree(h, volume, path, id, &v, &tree, &odb);
	if (rc)
		return rc;
	out->name = NULL;
	if (!*path) {
		rc = fill_entry(odb, git_tree_id(tree), GIT_FILEMODE_TREE, out);
	} else {
		rc = git_tree_entry_bypath(&e, tree, path);
		if (rc == 0)
			rc = fill_entry(odb, git_tree_entry_id(e),
					git_tree_entry_filemode_raw(e), out);
	}
	if (rc < 0)
		rc = read_err(h, v, rc);
	git_tree_entry_free(e);
	git_tree_free(tree);
	git_odb_free(odb);
	end(v);
	return rc;
}

/* The tree at `dir` under `root` (which it takes). */
static int tree_at(struct history *h, struct hist_vol *v, git_tree *root,
		   const char *dir, git_tree **out)
{
	git_tree_entry *e = NULL;
	int rc;

	*out = NULL;
	if (!*dir) {
		*out = root;
		return 0;
	}
	rc = git_tree_entry_bypath(&e, root, dir);
	if (rc < 0)
		rc = read_err(h, v, rc);
	else if (git_tree_entry_type(e) != GIT_OBJECT_TREE)
		rc = -ENOTDIR;
	else if ((rc = git_tree_lookup(out, v->rrepo,
				       git_tree_entry_id(e))) < 0)
		rc = read_err(h, v, rc);
	git_tree_entry_free(e);
	git_tree_free(root);
	return rc;
}

int history_list(struct history *h, const char *volume,
		 const struct history_id *id, const char *dir,
		 history_entry_cb cb, void *arg)
{
	git_tree *root, *tree;
	git_odb *odb;
	struct hist_vol *v;
	int rc;

	rc = begin_tree(h, volume, dir, id, &v, &root, &odb);
	if (rc)
		return rc;
	rc = tree_at(h, v, root, dir, &tree);
	for (size_t i = 0; !rc && i < git_tree_entrycount(tree); i++) {
		const git_tree_entry *te = git_tree_entry_byindex(tree, i);
		struct history_entry e;

		e.name = git_tree_entry_name(te);
		rc = fill_entry(odb, git_tree_entry_id(te),
				git_tree_entry_filemode_raw(te), &e);
		if (rc < 0) {
			rc = read_err(h, v, rc);
			break;
		}
		rc = cb(arg, &e);
	}
	git_tree_free(tree);
	git_odb_free(odb);
	end(v);
	return rc;
}

int history_read(struct history *h, const char *volume,
		 const struct history_id *id, const char *path,
		 struct buf *out)
{
	git_tree_entry *e = NULL;
	git_tree *tree;
	git_odb *odb;
	git_blob *b = NULL;
	struct hist_vol *v;
	int rc;

	if (!path || !*path)
		return -EINVAL;
	rc = begin_tree(h, volume, path, id, &v, &tree, &odb);
	if (rc)
		return rc;
	rc = git_tree_entry_bypath(&e, tree, path);
	if (rc < 0) {
		rc = read_err(h, v, rc);
		goto out;
	}
	if (git_tree_entry_type(e) == GIT_OBJECT_TREE) {
		rc = -EISDIR;
		goto out;
	}
	rc = git_blob_lookup(&b, v->rrepo, git_tree_entry_id(e));
	if (rc < 0) {
		rc = read_err(h, v, rc);
		goto out;
	}
	rc = buf_append(out, git_blob_rawcontent(b),
			(size_t)git_blob_rawsize(b));
out:
	git_blob_free(b);
	git_tree_entry_free(e);
	git_tree_free(tree);
	git_odb_free(odb);
	end(v);
	return rc;
}
