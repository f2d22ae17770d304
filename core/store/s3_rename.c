/* core/store/s3_rename.c: renames in the S3 backend (blob_s3.h), which
 * has no rename: CopyObject to the new key, then DeleteObject of the old.
 *
 * The namespace switches its tree at once, so the mount never shows a
 * rename half done. Each rename is written first to a journal entry in
 * STATE/s3/journal, fsynced, and removed once done; at the next open,
 * what a crash interrupted is settled, so that the names hold the old
 * or the new content and a folder is never split between the two:
 *   F from to etag   a file: the copy is done once `to` holds `from`'s
 *                    ETag; then only `from` is left to delete
 *   C from to        a folder being copied: undone (its copies deleted)
 *   X from to        a folder copied whole: `from` is deleted
 */
#include "core/store/http.h"
#include "core/store/journal.h"
#include "core/store/objmeta.h"
#include "core/store/s3_int.h"
#include "core/util/log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- copies and deletes ---------------------------------------------------- */

static int copy_object(struct blob_s3 *s, const char *from, const char *to)
{
	char src[S3_COPY_SOURCE_MAX];
	const char *hdrs[] = { src, "x-amz-metadata-directive: COPY", NULL };
	struct s3_call c = { .method = "PUT", .key = to, .headers = hdrs };
	struct objmeta_ent e;
	struct http_resp r;
	int rc = s3_copy_source(s, from, src, sizeof(src));

	if (rc)
		return rc;
	http_resp_init(&r);
	rc = s3_call(s, &c, &r);
	/* A copy can fail after its 200 has gone out: the body says so. */
	if (!rc && r.body.data && strstr(r.body.data, "<Error>")) {
		log_err("s3: copy of '%s' failed: %.200s", from, r.body.data);
		rc = -EIO;
	}
	if (!rc && objmeta_get(s->meta, from, &e) == 0) {
		const char *p = r.body.data ? r.body.data : "";
		char etag[OBJMETA_ETAG_MAX];

		if (!s3_xml_next(&p, p + r.body.len, "ETag", etag,
				 sizeof(etag)))
			memcpy(e.etag, etag, sizeof(etag));
		e.lastmod[0] = '\0';
		objmeta_set(s->meta, to, &e);
		free(e.xattrs);
	}
	http_resp_release(&r);
	return rc;
}

static int delete_key(struct blob_s3 *s, const char *key)
{
	int rc = s->base.ops->del(&s->base, key);

	return rc == -ENOENT ? 0 : rc;
}

/* The key under `to` of a key under `from`. */
static int moved_key(char *out, size_t cap, const char *key,
		     const char *from, const char *to)
{
	int n = snprintf(out, cap, "%s%s", to, key + strlen(from));

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

struct move {
	struct blob_s3 *s;
	struct s3_objs *objs;
	const char *from, *to;	/* "a/b/" and "a/c/" */
	char *copied;		/* per object: its copy was made */
};

static int copy_one(void *ctx, size_t i)
{
	struct move *m = ctx;
	char to[PATH_MAX];
	int rc = moved_key(to, sizeof(to), m->objs->v[i].key, m->from, m->to);

	if (!rc)
		rc = copy_object(m->s, m->objs->v[i].key, to);
	if (!rc)
		m->copied[i] = 1;
	return rc;
}

static int uncopy_one(void *ctx, size_t i)
{
	struct move *m = ctx;
	char to[PATH_MAX];
	int rc;

	if (!m->copied[i])
		return 0;
	rc = moved_key(to, sizeof(to), m->objs->v[i].key, m->from, m->to);
	return rc ? rc : delete_key(m->s, to);
}

static int delete_one(void *ctx, size_t i)
{
	struct move *m = ctx;

	return delete_key(m->s, m->objs->v[i].key);
}

/* Delete everything under `prefix`. */
static int delete_all(struct blob_s3 *s, const char *prefix)
{
	struct s3_objs objs = { NULL, 0, 0 };
	struct move m = { s, &objs, prefix, prefix, NULL };
	int rc = s3_list_all(s, prefix, 0, &objs);

	if (!rc && objs.n)
		rc = s3_parallel(objs.n, delete_one, &m);
	s3_objs_release(&objs);
	return rc;
}

/* --- renames -------------------------------------------------------------- */

static int rename_file(struct blob_s3 *s, const char *from, const char *to,
		       const char *etag)
{
	const char *f[JOURNAL_FIELDS] = { from, to, etag, NULL };
	char id[JOURNAL_ID_MAX];
	int rc = journal_add(s->journal, id, 'F', f);

	if (rc)
		return rc;
	rc = copy_object(s, from, to);
	if (rc) {
		journal_done(s->journal, id);
		return rc;
	}
	/* `to` holds the content: the rename is done. A leftover `from`
	 * is removed by the journal at the next start. */
	if (delete_key(s, from) == 0)
		journal_done(s->journal, id);
	return 0;
}

static int rename_dir(struct blob_s3 *s, const char *from, const char *to)
{
	char f[PATH_MAX], t[PATH_MAX], id[JOURNAL_ID_MAX];
	const char *fields[JOURNAL_FIELDS] = { f, t, NULL, NULL };
	struct s3_objs objs = { NULL, 0, 0 };
	struct move m = { s, &objs, f, t, NULL };
	int rc;

	snprintf(f, sizeof(f), "%s/", from);
	if (snprintf(t, sizeof(t), "%s/", to) >= (int)sizeof(t))
		return -ENAMETOOLONG;
	rc = s3_list_all(s, f, 0, &objs);
	if (rc || !objs.n)
		goto out;	/* only in the tree: nothing to move */
	m.copied = calloc(objs.n, 1);
	if (!m.copied) {
		rc = -ENOMEM;
		goto out;
	}
	rc = journal_add(s->journal, id, 'C', fields);
	if (rc)
		goto out;
	rc = s3_parallel(objs.n, copy_one, &m);
	if (rc) {
		/* Undo: the folder stays where it was. */
		if (s3_parallel(objs.n, uncopy_one, &m) == 0)
			journal_done(s->journal, id);
		goto out;
	}
	if (journal_set(s->journal, id, 'X', fields) == 0 &&
	    s3_parallel(objs.n, delete_one, &m) == 0)
		journal_done(s->journal, id);
out:
	free(m.copied);
	s3_objs_release(&objs);
	return rc;
}

int s3_rename(struct blob *b, const char *from, const char *to)
{
	struct blob_s3 *s = (struct blob_s3 *)b;
	struct objmeta_ent e;
	int rc;

	if (!*from || !*to || strlen(from) >= PATH_MAX - 2 ||
	    strlen(to) >= PATH_MAX - 2)
		return -EINVAL;
	rc = objmeta_get(s->meta, from, &e);
	if (rc == -ENOENT)
		rc = s3_head(s, from, &e);
	if (rc == -ENOENT)
		return rename_dir(s, from, to);
	if (rc)
		return rc;
	rc = rename_file(s, from, to, e.etag);
	free(e.xattrs);
	return rc;
}

/* --- after a crash -------------------------------------------------------- */

static int etag_of(struct blob_s3 *s, const char *key, char *out, size_t cap)
{
	struct objmeta_ent e;
	int rc = s3_head(s, key, &e);

	if (!rc) {
		snprintf(out, cap, "%s", e.etag);
		free(e.xattrs);
	}
	return rc;
}

static int settle_file(struct blob_s3 *s, const char *from, const char *to,
		       const char *etag)
{
	char a[OBJMETA_ETAG_MAX], b[OBJMETA_ETAG_MAX];
	int rc = etag_of(s, from, a, sizeof(a));

	if (rc == -ENOENT)
		return 0;	/* done */
	if (!rc)
		rc = etag_of(s, to, b, sizeof(b));
	if (rc == -ENOENT)
		return 0;	/* never copied: the old name stays */
	if (rc)
		return rc;
	if (strcmp(a, etag) || strcmp(b, etag))
		return 0;	/* not the copy, or changed since */
	return delete_key(s, from);
}

/* A folder's prefix: "a/", never "" (all of the bucket). */
static int is_prefix(const char *p)
{
	size_t k = strlen(p);

	return k > 1 && p[k - 1] == '/';
}

static int settle(void *arg, char kind, char *const f[JOURNAL_FIELDS])
{
	struct blob_s3 *s = arg;

	if (kind == 'F')
		return settle_file(s, f[0], f[1], f[2]);
	if ((kind == 'C' || kind == 'X') && is_prefix(f[0]) &&
	    is_prefix(f[1]))
		return delete_all(s, kind == 'C' ? f[1] : f[0]);
	return 0;	/* not ours: dropped */
}

int s3_journal_replay(struct blob_s3 *s)
{
	return journal_replay(s->journal, settle, s);
}
