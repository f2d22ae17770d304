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
#include "core/store/dir_move.h"
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

static int move_list(void *be, const char *prefix, struct s3_objs *out)
{
	return s3_list_all(be, prefix, 0, out);
}

static int move_copy(void *be, const char *from, const char *to)
{
	return copy_object(be, from, to);
}

static int move_del(void *be, const char *key)
{
	return delete_key(be, key);
}

static const struct dir_move_ops moves = {
	.list = move_list,
	.copy = move_copy,
	.del = move_del,
};

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
		return dir_move(s, s->journal, &moves, from, to);
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
		return dir_delete_all(s, &moves, kind == 'C' ? f[1] : f[0]);
	return 0;	/* not ours: dropped */
}

int s3_journal_replay(struct blob_s3 *s)
{
	return journal_replay(s->journal, settle, s);
}
