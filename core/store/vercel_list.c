/* core/store/vercel_list.c: listing a volume of the Vercel Blob backend
 * (blob_vercel.h): the list call with the volume's prefix, a page of
 * 1,000 blobs at a time following the cursor while hasMore. A page says
 * each blob's pathname, URL, size, uploadedAt and ETag, which is all there
 * is: attributes come from the metadata cache when the ETag matches, the
 * defaults otherwise, and no blob is asked on its own. */
#include "core/store/http.h"
#include "core/store/objmeta.h"
#include "core/store/s3_int.h"
#include "core/store/vercel_int.h"
#include "core/util/log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LIST_PAGE 1000		/* the most the API gives at once */
#define LIST_PAGE_MAX (8u << 20)
#define CURSOR_MAX 2048

struct collect {
	struct blob_vercel *v;
	struct s3_objs *out;
	struct s3_obj ob;
	size_t max;
};

static int collect_one(void *arg, const struct vc_blob *b)
{
	struct collect *c = arg;

	if (c->max && c->out->n >= c->max)
		return 0;
	if (strlen(b->pathname) >= sizeof(c->ob.key))
		return 0;	/* never one of ours */
	memcpy(c->ob.key, b->pathname, strlen(b->pathname) + 1);
	snprintf(c->ob.etag, sizeof(c->ob.etag), "%s", b->etag);
	snprintf(c->ob.lastmod, sizeof(c->ob.lastmod), "%s", b->uploaded);
	c->ob.size = b->size;
	vc_urls_set(c->v->urls, b->pathname, b->url);
	return s3_objs_add(c->out, &c->ob);
}

static int by_key(const void *a, const void *b)
{
	return strcmp(((const struct s3_ent *)a)->key,
		      ((const struct s3_ent *)b)->key);
}

/* One page into c->out; the cursor for the next in `cursor` ("" when
 * there is none). */
static int list_page(struct collect *c, const char *prefix, char *cursor)
{
	size_t qcap = 3 * (VC_PATHNAME_MAX + 64 + CURSOR_MAX) + 64;
	char *query = malloc(qcap);
	char epre[3 * (VC_PATHNAME_MAX + 64)], ecur[3 * CURSOR_MAX];
	struct vc_call call = { .method = "GET", .path = "", .query = query,
				.max_body = LIST_PAGE_MAX, .key = prefix };
	size_t limit = c->max && c->max < LIST_PAGE ? c->max : LIST_PAGE;
	char esc[200];
	struct http_resp r;
	int more = 0, rc;

	if (!query)
		return -ENOMEM;
	rc = http_escape(epre, sizeof(epre), prefix, 0);
	if (!rc)
		rc = http_escape(ecur, sizeof(ecur), cursor, 0);
	if (rc)
		goto out;
	snprintf(query, qcap, "limit=%zu&prefix=%s%s%s", limit, epre,
		 *cursor ? "&cursor=" : "", ecur);
	http_resp_init(&r);
	rc = vc_call(c->v, &call, &r);
	if (!rc) {
		rc = vc_json_list(r.body.data, r.body.len, collect_one, c,
				  &more, cursor, CURSOR_MAX);
		if (rc == -EIO || rc == -ERANGE) {
			log_err("vercel blob: listing '%s': the answer is not "
				"a list of blobs",
				log_escape(esc, sizeof(esc), prefix));
			rc = -EIO;
		}
	}
	http_resp_release(&r);
	if (!rc && !more)
		cursor[0] = '\0';
	else if (!rc && !*cursor) {
		log_err("vercel blob: listing '%s': hasMore without a "
			"cursor", log_escape(esc, sizeof(esc), prefix));
		rc = -EIO;
	}
out:
	free(query);
	return rc;
}

int vc_list_all(struct blob_vercel *v, const char *prefix, size_t max,
		struct s3_objs *out)
{
	struct collect *c = calloc(1, sizeof(*c));
	char cursor[CURSOR_MAX] = "";
	int rc = 0;

	if (!c)
		return -ENOMEM;
	c->v = v;
	c->out = out;
	c->max = max;
	do
		rc = list_page(c, prefix, cursor);
	while (!rc && *cursor && (!max || out->n < max));
	free(c);
	if (!rc && out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), by_key);
	return rc;
}

/* Each listed blob's attributes: the cache's when it knows that version,
 * else the defaults (then kept). */
static int resolve(void *ctx, struct s3_objs *objs, struct objmeta_ent *ents)
{
	struct blob_vercel *v = ctx;
	struct vc_blob *b = malloc(sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < objs->n; i++) {
		const struct s3_ent *o = &objs->v[i];
		struct objmeta_ent *e = &ents[i];

		if (objmeta_get(v->meta, o->key, e) == 0) {
			if (strcmp(e->etag, o->etag) == 0) {
				if (e->m.size != o->size &&
				    !S_ISDIR(e->m.mode)) {
					e->m.size = o->size;
					objmeta_set(v->meta, o->key, e);
				}
				continue;
			}
			free(e->xattrs);	/* another version */
		}
		memset(b, 0, sizeof(*b));
		snprintf(b->etag, sizeof(b->etag), "%s", o->etag);
		snprintf(b->uploaded, sizeof(b->uploaded), "%s", o->lastmod);
		b->size = o->size;
		vc_meta_default(o->key, b, e);
		objmeta_set(v->meta, o->key, e);
	}
	free(b);
	return 0;
}

int vc_list(struct blob *b, const char *prefix, blob_list_cb cb, void *arg)
{
	struct blob_vercel *v = (struct blob_vercel *)b;
	struct s3_objs objs = { NULL, 0, 0 };
	char dir[PATH_MAX];
	int rc;

	if (!*prefix || snprintf(dir, sizeof(dir), "%s/", prefix) >=
			    (int)sizeof(dir))
		return -EINVAL;
	rc = vc_list_all(v, dir, 0, &objs);
	if (!rc)
		rc = s3_list_walk(&objs, prefix, resolve, v, cb, arg);
	s3_objs_release(&objs);
	return rc;
}
