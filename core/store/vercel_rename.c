/* core/store/vercel_rename.c: renames in the Vercel Blob backend
 * (blob_vercel.h), which has no rename of its own that we rely on: a copy
 * to the new pathname (PUT ?pathname=TO&fromUrl=FROM), then a delete of
 * the old one.
 *
 * The namespace switches its tree at once, so the mount never shows a
 * rename half done; each rename is written to the journal (journal.h)
 * first and forgotten once done, so that after a stop the names hold the
 * old or the new content, and a folder is never split between the two:
 *   F from to etag-of-from etag-of-to-before
 *                  a file: the copy is done once `to` no longer has the
 *                  ETag it had before; then `from` is deleted, if it is
 *                  still what was copied
 *   C from/ to/    a folder being copied: undone (its copies deleted)
 *   X from/ to/    a folder copied whole: `from/` is deleted
 * A copy's ETag need not be its source's, so a file's entry notes the
 * target's version before the copy instead.
 */
#include "core/store/dir_move.h"
#include "core/store/http.h"
#include "core/store/journal.h"
#include "core/store/objmeta.h"
#include "core/store/s3_int.h"
#include "core/store/vercel_int.h"
#include "core/util/log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- one copy ------------------------------------------------------------- */

/* Whether `to`, which the service says exists, holds `from`'s content. */
static int copied_already(struct blob_vercel *v, const char *from,
			  const char *to, struct vc_blob *out)
{
	struct http_resp r;
	int rc;

	http_resp_init(&r);
	rc = vc_download(v, from, BUF_DEFAULT_CAP, &r);
	if (!rc)
		rc = vc_confirm(v, to, r.body.data, r.body.len, out);
	http_resp_release(&r);
	return rc;
}

/* Copy `from` to `to` (replacing it when `overwrite`); the copy's
 * description into `out`. */
static int copy_blob(struct blob_vercel *v, const char *from, const char *to,
		     int overwrite, struct vc_blob *out)
{
	size_t qcap = 2 * 3 * (VC_PATHNAME_MAX + 64) + 32, k;
	char *query = malloc(qcap), access[48], esc[200];
	const char *hdrs[] = { access, "x-add-random-suffix: 0",
			       overwrite ? "x-allow-overwrite: 1" :
					   "x-allow-overwrite: 0", NULL };
	struct vc_call c = { .method = "PUT", .path = "", .query = query,
			     .headers = hdrs, .key = from };
	struct http_resp r;
	int rc;

	if (!query)
		return -ENOMEM;
	snprintf(access, sizeof(access), "x-vercel-blob-access: %s",
		 v->access);
	memcpy(query, "pathname=", 9);
	rc = http_escape(query + 9, qcap - 9, to, 0);
	k = strlen(query);
	if (!rc && k + 10 < qcap) {
		memcpy(query + k, "&fromUrl=", 10);
		rc = http_escape(query + k + 9, qcap - k - 9, from, 0);
	} else if (!rc) {
		rc = -ENAMETOOLONG;
	}
	if (rc)
		goto out;
	http_resp_init(&r);
	rc = vc_call(v, &c, &r);
	if (!rc && vc_json_blob(r.body.data, r.body.len, out)) {
		log_err("vercel blob: copy of '%s': the answer does not "
			"describe the blob",
			log_escape(esc, sizeof(esc), from));
		rc = -EIO;
	}
	/* Made, its answer lost and sent again: the copy finds itself. */
	if (rc == -EEXIST)
		rc = copied_already(v, from, to, out);
	if (rc == -EEXIST) {
		log_err("vercel blob: '%s' was created in the store by another "
			"writer since it was listed; not overwritten",
			log_escape(esc, sizeof(esc), to));
		rc = -EIO;
	}
	http_resp_release(&r);
	if (!rc)
		vc_urls_set(v->urls, to, out->url);
out:
	free(query);
	return rc;
}

/* `to` takes `from`'s attributes, at the copy's version. */
static void move_meta(struct blob_vercel *v, const char *from, const char *to,
		      const struct vc_blob *copy)
{
	struct objmeta_ent e;

	if (objmeta_get(v->meta, from, &e))
		return;
	snprintf(e.etag, sizeof(e.etag), "%s", copy->etag);
	snprintf(e.lastmod, sizeof(e.lastmod), "%s", copy->uploaded);
	objmeta_set(v->meta, to, &e);
	free(e.xattrs);
}

static int copy_known(struct blob_vercel *v, const char *from, const char *to)
{
	struct vc_blob *b = malloc(sizeof(*b));
	struct objmeta_ent e;
	int overwrite = objmeta_get(v->meta, to, &e) == 0, rc;

	if (overwrite)
		free(e.xattrs);
	rc = b ? copy_blob(v, from, to, overwrite, b) : -ENOMEM;
	if (!rc)
		move_meta(v, from, to, b);
	free(b);
	return rc;
}

/* --- files ---------------------------------------------------------------- */

static int rename_file(struct blob_vercel *v, const char *from,
		       const char *to, const char *etag)
{
	char id[JOURNAL_ID_MAX], before[OBJMETA_ETAG_MAX] = "";
	const char *f[JOURNAL_FIELDS] = { from, to, etag, before };
	struct objmeta_ent e;
	int rc;

	if (!objmeta_get(v->meta, to, &e)) {
		snprintf(before, sizeof(before), "%s", e.etag);
		free(e.xattrs);
	}
	rc = journal_add(v->journal, id, 'F', f);
	if (rc)
		return rc;
	rc = copy_known(v, from, to);
	if (rc) {
		journal_done(v->journal, id);
		return rc;
	}
	/* `to` holds the content: the rename is done. A `from` left over
	 * is deleted by the journal at the next start. */
	if (vc_delete(v, &from, 1) == 0)
		journal_done(v->journal, id);
	return 0;
}

/* --- folders -------------------------------------------------------------- */

/* Delete every blob of `objs`, a hundred to a request. */
static int delete_objs(struct blob_vercel *v, const struct s3_objs *objs)
{
	const char **keys = malloc((objs->n ? objs->n : 1) * sizeof(*keys));
	int rc;

	if (!keys)
		return -ENOMEM;
	for (size_t i = 0; i < objs->n; i++)
		keys[i] = objs->v[i].key;
	rc = vc_delete(v, keys, objs->n);
	free(keys);
	return rc;
}

static int move_list(void *be, const char *prefix, struct s3_objs *out)
{
	return vc_list_all(be, prefix, 0, out);
}

static int move_copy(void *be, const char *from, const char *to)
{
	return copy_known(be, from, to);
}

static int move_del(void *be, const char *key)
{
	return vc_delete(be, &key, 1);
}

static int move_del_objs(void *be, const struct s3_objs *objs)
{
	return delete_objs(be, objs);
}

static const struct dir_move_ops moves = {
	.list = move_list,
	.copy = move_copy,
	.del = move_del,
	.del_objs = move_del_objs,
};

int vc_rename(struct blob *b, const char *from, const char *to)
{
	struct blob_vercel *v = (struct blob_vercel *)b;
	struct objmeta_ent e;
	struct vc_blob *h;
	int rc;

	if (!*from || !*to || strlen(from) > VC_PATHNAME_MAX ||
	    strlen(to) > VC_PATHNAME_MAX)
		return strlen(to) > VC_PATHNAME_MAX ? -ENAMETOOLONG : -EINVAL;
	if (objmeta_get(v->meta, from, &e) == 0) {
		rc = rename_file(v, from, to, e.etag);
		free(e.xattrs);
		return rc;
	}
	h = malloc(sizeof(*h));
	rc = h ? vc_head(v, from, h) : -ENOMEM;
	if (!rc)
		rc = rename_file(v, from, to, h->etag);
	else if (rc == -ENOENT)
		rc = dir_move(v, v->journal, &moves, from, to);
	free(h);
	return rc;
}

/* --- after a stop --------------------------------------------------------- */

static int settle_file(struct blob_vercel *v, const char *from,
		       const char *to, const char *etag, const char *before)
{
	struct vc_blob *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	int rc = a && b ? vc_head(v, from, a) : -ENOMEM;

	if (!rc)
		rc = vc_head(v, to, b);
	if (rc == -ENOENT) {
		rc = 0;		/* done, or never copied */
		goto out;
	}
	if (rc)
		goto out;
	/* Copied (`to` changed), and `from` is still what was copied. */
	if (strcmp(b->etag, before) && !strcmp(a->etag, etag)) {
		move_meta(v, from, to, b);
		rc = vc_delete(v, &from, 1);
	}
out:
	free(a);
	free(b);
	return rc;
}

/* A folder's prefix: "a/", never "" (all of the store). */
static int is_prefix(const char *p)
{
	size_t k = strlen(p);

	return k > 1 && p[k - 1] == '/';
}

static int settle(void *arg, char kind, char *const f[JOURNAL_FIELDS])
{
	struct blob_vercel *v = arg;

	if ((kind == 'C' || kind == 'X') && (!is_prefix(f[0]) ||
					     !is_prefix(f[1])))
		return 0;	/* not ours: dropped */
	if (kind == 'F')
		return settle_file(v, f[0], f[1], f[2], f[3]);
	if (kind == 'C')
		return dir_delete_all(v, &moves, f[1]);
	if (kind == 'X')
		return dir_delete_all(v, &moves, f[0]);
	return 0;
}

int vc_journal_replay(struct blob_vercel *v)
{
	return journal_replay(v->journal, settle, v);
}
