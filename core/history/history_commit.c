/* core/history/history_commit.c: the writer's side: a group of changes
 * (or a scan of the volume's files) becomes one commit. Runs on the
 * background thread only. */
#include "core/history/history_int.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/util/buf.h"
#include "core/util/name.h"

#define DAEMON_NAME "llmunixfs"
#define BODY_FILES 100		/* files listed in a message's body */
#define EMPTY_TREE "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
#define CAS_TRIES 8		/* builds on a shared head that moved */
#define CAS_BACKOFF_MS 20	/* doubled after each lost race */

struct ctx {
	struct history *h;
	struct hist_vol *v;
	git_repository *repo;
	struct hist_stage *st;
	struct buf data;
	char what[PATH_MAX_BYTES + 1];	/* the path worked on, for errors */
	char *msg;			/* what failed, when not libgit2 */
	size_t msgcap;
};

static void working_on(struct ctx *x, const char *path)
{
	snprintf(x->what, sizeof(x->what), "%s", path);
}

static unsigned git_mode(mode_t mode)
{
	if (!mode)
		return 0;
	return (mode & 0111) ? GIT_FILEMODE_BLOB_EXECUTABLE :
			       GIT_FILEMODE_BLOB;
}

/* Whether a path found in a volume is one that history keeps. */
static int versioned(const char *path)
{
	const char *base = strrchr(path, '/');

	for (const char *p = path; p; p = strchr(p, '/')) {
		if (*p == '/')
			p++;
		if (strncasecmp(p, ".git", 4) == 0 && (p[4] == '/' || !p[4]))
			return 0;
	}
	return !name_is_noise(base ? base + 1 : path);
}

static int put_data(struct ctx *x, const char *path, const void *data,
		    size_t len, unsigned mode)
{
	git_oid id;
	int rc;

	errno = 0;	/* libgit2 may report a failed write by errno alone */
	rc = git_blob_create_from_buffer(&id, x->repo, data, len);
	if (rc < 0)
		return hist_git_err(rc, NULL, 0);
	return hist_stage_put(x->st, path, &id, mode);
}

static int refresh(struct ctx *x, const char *path, mode_t mode);

static int refresh_cb(void *arg, const char *path, mode_t mode)
{
	struct ctx *x = arg;

	if (!versioned(path))
		return 0;
	return refresh(x, path, mode);
}

/* Take `path` as the volume has it now. */
static int refresh(struct ctx *x, const char *path, mode_t mode)
{
	struct history_source *src = x->h->cfg.src;
	mode_t m = 0;
	int rc;

	working_on(x, path);
	x->data.len = 0;
	rc = src->ops->read(src, x->v->name, path, &x->data, &m);
	if (rc == -ENOENT)
		return hist_stage_remove(x->st, path);
	if (rc == -EFBIG) {
		/* Never retried into a loop: the file keeps its last
		 * recorded version, and the error says why. */
		hist_set_error(x->h, x->v, "'%s' in '%s' is larger than "
			       "history keeps (%zu bytes): not recorded",
			       path, x->v->name, x->h->cfg.max_file);
		return 0;
	}
	if (rc == -EISDIR) {
		rc = hist_stage_remove(x->st, path);
		if (!rc)
			rc = src->ops->walk(src, x->v->name, path, refresh_cb, x);
		return rc;
	}
	if (rc)
		return rc;
	return put_data(x, path, x->data.data ? x->data.data : "",
			x->data.len, git_mode(mode ? mode : m));
}

static int apply(struct ctx *x, const struct hist_change *c)
{
	unsigned mode;
	int rc;

	working_on(x, c->path);
	switch (c->op) {
	case HISTORY_WRITE:
	case HISTORY_CREATE:
		if (!c->data)
			return refresh(x, c->path, c->mode);
		return put_data(x, c->path, c->data, c->len, git_mode(c->mode));
	case HISTORY_UNLINK:
	case HISTORY_RMDIR:
		return hist_stage_remove(x->st, c->path);
	case HISTORY_MKDIR:
		return 0;	/* git keeps no empty folders */
	case HISTORY_RENAME:
		rc = hist_stage_move(x->st, c->path, c->to);
		if (rc == -ENOENT)
			rc = refresh(x, c->to, 0);
		return rc;
	case HISTORY_CHMOD:
		switch (hist_stage_lookup(x->st, c->path, &mode)) {
		case 1:
			return hist_stage_chmod(x->st, c->path,
						git_mode(c->mode));
		case 2:
			return 0;
		default:
			return refresh(x, c->path, c->mode);
		}
	}
	return -EINVAL;
}

static int in_keep(const char *path, const char *const *keep, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(keep[i], path) == 0)
			return 1;
	return 0;
}

struct scan {
	struct ctx *x;
	const char *const *keep;
	size_t nkeep;
};

static int scan_cb(void *arg, const char *path, mode_t mode)
{
	struct scan *s = arg;

	if (!versioned(path) || in_keep(path, s->keep, s->nkeep))
		return 0;
	return refresh(s->x, path, mode);
}

/* The stage starts empty: the files as they are, except the paths that
 * later groups change, which keep what the last commit had (`base`). */
static int apply_scan(struct ctx *x, git_tree *base, const char *const *keep,
		      size_t nkeep)
{
	static const char *const areas[] = { "skills", "workflows" };
	struct history_source *src = x->h->cfg.src;
	struct scan s = { x, keep, nkeep };
	int rc;

	for (size_t i = 0; i < 2; i++) {
		working_on(x, areas[i]);
		rc = src->ops->walk(src, x->v->name, areas[i], scan_cb, &s);
		if (rc)
			return rc;
	}
	for (size_t i = 0; base && i < nkeep; i++) {
		git_tree_entry *e;

		if (git_tree_entry_bypath(&e, base, keep[i]) < 0)
			continue;
		rc = hist_stage_put(x->st, keep[i], git_tree_entry_id(e),
				    git_tree_entry_filemode_raw(e));
		git_tree_entry_free(e);
		if (rc)
			return rc;
	}
	git_error_clear();
	return 0;
}

/* ---- the message ---- */

static int buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

/* Append `s` with control characters as '?': one line stays one line. */
static int buf_put_line(struct buf *b, const char *s)
{
	for (; *s; s++) {
		char c = ((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s;
		int rc = buf_append(b, &c, 1);

		if (rc)
			return rc;
	}
	return 0;
}

static const char *verb(char status)
{
	switch (status) {
	case 'A':
		return "add";
	case 'D':
		return "delete";
	case 'R':
		return "rename";
	case 'T':
		return "change the mode of";
	default:
		return "update";
	}
}

static int summary(struct buf *b, const struct history_file *f, size_t n)
{
	static const char order[] = "AMDRT";
	static const char *const word[] = { "added", "updated", "deleted",
					    "renamed", "mode changed" };
	size_t count[5] = { 0 };
	char num[64];
	int kinds = 0, rc;

	if (n == 0)
		return buf_puts(b, "update the volume");
	if (n == 1) {
		rc = buf_puts(b, verb(f[0].status));
		rc = rc ? rc : buf_puts(b, " ");
		if (!rc && f[0].status == 'R') {
			rc = buf_put_line(b, f[0].from);
			rc = rc ? rc : buf_puts(b, " to ");
		}
		return rc ? rc : buf_put_line(b, f[0].path);
	}
	for (size_t i = 0; i < n; i++)
		count[strchr(order, f[i].status) - order]++;
	for (size_t k = 0; k < 5; k++)
		kinds += count[k] > 0;
	if (kinds == 1) {
		snprintf(num, sizeof(num), "%s %zu files", verb(f[0].status),
			 n);
		return buf_puts(b, num);
	}
	snprintf(num, sizeof(num), "change %zu files (", n);
	rc = buf_puts(b, num);
	for (size_t k = 0, first = 1; !rc && k < 5; k++) {
		if (!count[k])
			continue;
		snprintf(num, sizeof(num), "%s%zu %s", first ? "" : ", ",
			 count[k], word[k]);
		rc = buf_puts(b, num);
		first = 0;
	}
	return rc ? rc : buf_puts(b, ")");
}

static int trailer(struct buf *b, const char *name, const char *value)
{
	int rc;

	if (!value || !*value)
		return 0;
	rc = buf_puts(b, name);
	rc = rc ? rc : buf_put_line(b, value);
	return rc ? rc : buf_puts(b, "\n");
}

static int message(struct buf *b, const struct hist_group *g,
		   const struct history_file *f, size_t n)
{
	char line[64];
	int rc = summary(b, f, n);

	rc = rc ? rc : buf_puts(b, "\n");
	if (!rc && n > 1) {
		rc = buf_puts(b, "\n");
		for (size_t i = 0; !rc && i < n && i < BODY_FILES; i++) {
			snprintf(line, sizeof(line), "%c  ", f[i].status);
			rc = buf_puts(b, line);
			if (!rc && f[i].from) {
				rc = buf_put_line(b, f[i].from);
				rc = rc ? rc : buf_puts(b, " -> ");
			}
			rc = rc ? rc : buf_put_line(b, f[i].path);
			rc = rc ? rc : buf_puts(b, "\n");
		}
		if (!rc && n > BODY_FILES) {
			snprintf(line, sizeof(line), "... and %zu more\n",
				 n - BODY_FILES);
			rc = buf_puts(b, line);
		}
	}
	if (!rc && g->kind == HG_SCAN)
		rc = buf_puts(b, "\nFiles of the volume that history had not "
				 "recorded (a new repository, or changes\n"
				 "made before an unclean shutdown).\n");
	if (!rc && g->kind == HG_CHANGES &&
	    (g->key.run || g->key.session || g->key.tool)) {
		rc = buf_puts(b, "\n");
		rc = rc ? rc : trailer(b, "Run: ", g->key.run);
		rc = rc ? rc : trailer(b, "Session: ", g->key.session);
		rc = rc ? rc : trailer(b, "Tool: ", g->key.tool);
	}
	return rc;
}

/* ---- signatures ---- */

/* Without '<', '>' and control characters, trimmed; git refuses them. */
static void clean_ident(char *out, size_t cap, const char *in)
{
	size_t o = 0;

	while (*in == ' ')
		in++;
	for (; *in && o + 1 < cap; in++) {
		unsigned char c = (unsigned char)*in;

		if (c < 0x20 || c == 0x7f || c == '<' || c == '>')
			continue;
		out[o++] = (char)c;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

/* The full name of the account (GECOS, up to the first comma). */
static void full_name(const char *user, char *out, size_t cap)
{
	struct passwd pw, *res = NULL;
	char buf[4096], name[256];

	name[0] = '\0';
	if (getpwnam_r(user, &pw, buf, sizeof(buf), &res) == 0 && res &&
	    res->pw_gecos) {
		size_t n = strcspn(res->pw_gecos, ",");

		if (n >= sizeof(name))
			n = sizeof(name) - 1;
		memcpy(name, res->pw_gecos, n);
		name[n] = '\0';
	}
	clean_ident(out, cap, name);
	if (!*out)
		clean_ident(out, cap, user);
	if (!*out)
		snprintf(out, cap, "unknown");
}

static int tz_offset(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!localtime_r(&tt, &tm))
		return 0;
	return (int)(tm.tm_gmtoff / 60);
}

static int signature(git_signature **out, const char *user, int daemon,
		     const char *host, int64_t when)
{
	char name[256], login[128], email[512];

	if (daemon) {
		snprintf(name, sizeof(name), "%s", DAEMON_NAME);
		snprintf(login, sizeof(login), "%s", DAEMON_NAME);
	} else {
		full_name(user, name, sizeof(name));
		clean_ident(login, sizeof(login), user);
	}
	snprintf(email, sizeof(email), "%s@%s", *login ? login : "unknown",
		 host);
	return git_signature_new(out, name, email, (git_time_t)when,
				 tz_offset(when));
}

/* ---- the diff ---- */

void hist_files_free(struct history_file *f, size_t n)
{
	for (size_t i = 0; f && i < n; i++) {
		free(f[i].path);
		free(f[i].from);
	}
	free(f);
}

static char status_of(const git_diff_delta *d)
{
	switch (d->status) {
	case GIT_DELTA_ADDED:
		return 'A';
	case GIT_DELTA_DELETED:
		return 'D';
	case GIT_DELTA_RENAMED:
		return 'R';
	case GIT_DELTA_TYPECHANGE:
		return 'T';
	default:
		if (git_oid_equal(&d->old_file.id, &d->new_file.id))
			return 'T';
		return 'M';
	}
}

int hist_diff_files(git_repository *repo, git_tree *old, git_tree *new_tree,
		    struct history_file **out, size_t *n)
{
	git_diff_find_options fo;
	struct history_file *f = NULL;
	git_diff *diff = NULL;
	size_t count = 0;
	int rc;

	*out = NULL;
	*n = 0;
	git_diff_find_options_init(&fo, GIT_DIFF_FIND_OPTIONS_VERSION);
	rc = git_diff_tree_to_tree(&diff, repo, old, new_tree, NULL);
	if (rc < 0)
		return hist_git_err(rc, NULL, 0);
	fo.flags = GIT_DIFF_FIND_RENAMES | GIT_DIFF_FIND_EXACT_MATCH_ONLY;
	rc = git_diff_find_similar(diff, &fo);
	if (rc < 0) {
		rc = hist_git_err(rc, NULL, 0);
		goto out;
	}
	count = git_diff_num_deltas(diff);
	f = calloc(count ? count : 1, sizeof(*f));
	if (!f) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);

		f[i].status = status_of(d);
		f[i].path = strdup(d->new_file.path ? d->new_file.path :
						      d->old_file.path);
		if (f[i].status == 'R')
			f[i].from = strdup(d->old_file.path);
		if (!f[i].path || (f[i].status == 'R' && !f[i].from)) {
			rc = -ENOMEM;
			goto out;
		}
	}
	*out = f;
	*n = count;
	f = NULL;
	rc = 0;
out:
	hist_files_free(f, count);
	git_diff_free(diff);
	return rc;
}

/* ---- the commit ---- */

static void record(struct ctx *x, const git_oid *id, const git_oid *parent,
		   int64_t when)
{
	struct hist_vol *v = x->v;
	struct hist_rec last, r;
	char msg[HIST_ERR_MAX] = "";
	int rc;

	git_oid_cpy(&r.id, id);
	r.time = when;
	r.tz = tz_offset(when);
	pthread_mutex_lock(&v->imu);
	rc = hist_index_load(v, x->repo, msg, sizeof(msg));
	if (!rc && v->icount &&
	    (rc = hist_index_get(v, v->icount - 1, &last)) == 0 &&
	    git_oid_equal(&last.id, id))
		goto out;	/* the load found it already */
	if (!rc && ((!parent && !v->icount) ||
		    (parent && v->icount && git_oid_equal(&last.id, parent))))
		rc = hist_index_append(v, &r);
	else if (!rc)
		v->iok = 0;
out:
	pthread_mutex_unlock(&v->imu);
	if (rc)
		hist_set_error(x->h, v, "the commit list of '%s': %s",
			       v->name, *msg ? msg : strerror(-rc));
}

static void maybe_pack(struct ctx *x)
{
	char msg[HIST_ERR_MAX] = "";
	int rc;

	if (++x->v->since_pack < x->h->cfg.pack_every)
		return;
	x->v->since_pack = 0;
	rc = hist_repo_pack(x->repo, msg, sizeof(msg));
	if (rc)
		hist_set_error(x->h, x->v, "cannot pack '%s': %s",
			       x->v->gitdir, *msg ? msg : strerror(-rc));
}

static int make_commit(struct ctx *x, struct hist_group *g,
		       git_commit *parent, const git_oid *tree_id)
{
	git_signature *author = NULL, *committer = NULL;
	struct history_file *files = NULL;
	git_tree *old = NULL, *tree = NULL;
	const git_commit *parents[1] = { parent };
	struct buf msg;
	size_t nfiles = 0;
	int64_t now = time(NULL);
	git_oid id;
	int rc;

	buf_init(&msg, 1 << 20);
	if (parent && git_commit_time(parent) > now)
		now = git_commit_time(parent);	/* keep times in order */
	rc = git_tree_lookup(&tree, x->repo, tree_id);
	if (rc == 0 && parent)
		rc = git_commit_tree(&old, parent);
	if (rc < 0) {
		rc = hist_git_err(rc, NULL, 0);
		goto out;
	}
	rc = hist_diff_files(x->repo, old, tree, &files, &nfiles);
	if (!rc)
		rc = message(&msg, g, files, nfiles);
	if (rc)
		goto out;
	rc = signature(&author, g->key.user, g->kind == HG_SCAN, x->h->host,
		       g->kind == HG_SCAN ? now : g->when);
	if (rc == 0)
		rc = signature(&committer, DAEMON_NAME, 1, x->h->host, now);
	errno = 0;
	/* Shared: the local branch moves only once the shared head has. */
	if (rc == 0)
		rc = git_commit_create(&id, x->repo,
				       hist_shared(x->h) ? NULL : "HEAD",
				       author, committer, NULL, msg.data, tree,
				       parent ? 1 : 0, parents);
	if (rc < 0) {
		rc = hist_git_err(rc, NULL, 0);
		goto out;
	}
	if (hist_shared(x->h)) {
		rc = hist_head_cas(x->h, x->v, parent ? git_commit_id(parent) :
				   NULL, &id, x->msg, x->msgcap);
		if (!rc)
			rc = hist_ref_set(x->repo, &id, x->msg, x->msgcap);
		if (rc)
			goto out;
	}
	record(x, &id, parent ? git_commit_id(parent) : NULL, now);
	maybe_pack(x);
out:
	git_signature_free(author);
	git_signature_free(committer);
	hist_files_free(files, nfiles);
	git_tree_free(old);
	git_tree_free(tree);
	buf_release(&msg);
	return rc;
}

/* Sleep about CAS_BACKOFF_MS << tries (half to one and a half of it,
 * so that two hosts racing part), never more than a second. */
static void backoff(unsigned tries)
{
	static __thread unsigned seed;
	int64_t ns = (int64_t)(CAS_BACKOFF_MS << tries) *
		     (500000 + rand_r(&seed) % 1000000);
	struct timespec ts;

	if (!seed)
		seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)&ts;
	if (ns > 1000000000)
		ns = 1000000000;
	ts.tv_sec = 0;
	ts.tv_nsec = (long)ns;
	nanosleep(&ts, NULL);
}

static const char *hint(int rc, const char *msg, int remote)
{
	if (rc == -ENOSPC || rc == -EDQUOT)
		return "free space in the state folder";
	if (remote || strstr(msg, "blob store"))
		return "check that Redis and the blob store answer";
	return "check the repository with git fsck";
}

int hist_commit_group(struct history *h, struct hist_vol *v,
		      struct hist_group *g, const char *const *keep,
		      size_t nkeep)
{
	char msg[HIST_ERR_MAX] = "";
	struct ctx x = { .h = h, .v = v, .msg = msg, .msgcap = sizeof(msg) };
	git_commit *parent = NULL;
	git_tree *base = NULL;
	git_oid head, tree_id, empty_tree;
	unsigned tries = 0;
	int rc, remote = 0, fresh;

	git_error_clear();
	git_oid_fromstr(&empty_tree, EMPTY_TREE);
	buf_init(&x.data, h->cfg.max_file);
	rc = hist_wrepo_open(h, v, 1, msg, sizeof(msg));
	if (rc)
		goto out;
	x.repo = v->wrepo;
	fresh = git_reference_name_to_id(&head, x.repo, "HEAD") < 0;
	git_error_clear();
again:
	/* Shared: build on the head of all hosts. */
	if (hist_shared(h)) {
		rc = hist_catch_up(h, v, msg, sizeof(msg));
		remote = rc != 0;
		if (rc)
			goto out;
		/* The scan that starts a new repository is not for one that
		 * other hosts started: it would take their changes not yet
		 * committed as the daemon's. */
		if (g->kind == HG_SCAN && fresh &&
		    git_reference_name_to_id(&head, x.repo, "HEAD") == 0)
			goto out;
		git_error_clear();
	}
	rc = git_reference_name_to_id(&head, x.repo, "HEAD");
	if (rc == 0)
		rc = git_commit_lookup(&parent, x.repo, &head);
	if (rc == 0)
		rc = git_commit_tree(&base, parent);
	if (rc == GIT_ENOTFOUND || rc == GIT_EUNBORNBRANCH) {
		if (parent) {
			rc = hist_git_err(rc, msg, sizeof(msg));
			goto out;
		}
		git_error_clear();	/* no commit yet */
	} else if (rc < 0) {
		rc = hist_git_err(rc, msg, sizeof(msg));
		goto out;
	}
	rc = hist_stage_new(&x.st, x.repo, g->kind == HG_SCAN || !base ?
					       NULL : git_tree_id(base));
	if (rc)
		goto out;
	if (g->kind == HG_SCAN)
		rc = apply_scan(&x, base, keep, nkeep);
	for (struct hist_change *c = g->head; !rc && c; c = c->next)
		rc = apply(&x, c);
	if (!rc) {
		x.what[0] = '\0';
		errno = 0;
		rc = hist_stage_write(x.st, &tree_id);
	}
	if (rc)
		goto out;
	/* Nothing to record: noise only, a chmod git does not keep, a scan
	 * that found the files as history has them. */
	if (git_oid_equal(&tree_id, base ? git_tree_id(base) : &empty_tree))
		goto out;
	rc = make_commit(&x, g, parent, &tree_id);
	remote = rc && *msg;
	if (rc == -ESTALE && ++tries < CAS_TRIES) {
		/* Another host committed first: again on its commit. */
		git_tree_free(base);
		git_commit_free(parent);
		hist_stage_free(x.st);
		base = NULL;
		parent = NULL;
		x.st = NULL;
		x.what[0] = '\0';
		backoff(tries);
		goto again;
	}
out:
	if (rc) {
		const git_error *e = git_error_last();

		if (rc == -ESTALE)
			snprintf(msg, sizeof(msg), "other hosts moved the "
				 "shared head %u times in a row", tries);
		if (!*msg)
			snprintf(msg, sizeof(msg), "%s",
				 e && e->message && rc != -ENOSPC &&
						 rc != -EDQUOT ?
					 e->message : strerror(-rc));
		hist_set_error(h, v, "cannot commit to '%s'%s%s%s: %s (%s; "
			       "the changes wait in memory and are retried)",
			       v->gitdir, *x.what ? " (" : "", x.what,
			       *x.what ? ")" : "", msg, hint(rc, msg, remote));
	}
	git_tree_free(base);
	git_commit_free(parent);
	hist_stage_free(x.st);
	buf_release(&x.data);
	return rc;
}
