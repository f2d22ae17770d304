/* core/store/vercel_json.c: the JSON of Vercel Blob's API, see
 * vercel_int.h. Fields are read as @vercel/blob reads them: url,
 * downloadUrl, pathname, size, uploadedAt, contentType, etag; blobs,
 * cursor, hasMore; error.code, error.message. */
#include "core/store/vercel_int.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The string member `name` of `o` into out; "" when absent. -ERANGE when
 * it does not fit. */
static int get_str(json_t *o, const char *name, char *out, size_t cap)
{
	const char *s = json_string_value(json_object_get(o, name));
	size_t n;

	out[0] = '\0';
	if (!s)
		return 0;
	n = strlen(s);
	if (n >= cap)
		return -ERANGE;
	memcpy(out, s, n + 1);
	return 0;
}

static int blob_from(json_t *o, struct vc_blob *b)
{
	json_t *size = json_object_get(o, "size");

	memset(b, 0, sizeof(*b));
	if (!json_is_object(o) ||
	    get_str(o, "pathname", b->pathname, sizeof(b->pathname)) ||
	    get_str(o, "url", b->url, sizeof(b->url)) ||
	    get_str(o, "etag", b->etag, sizeof(b->etag)) ||
	    get_str(o, "uploadedAt", b->uploaded, sizeof(b->uploaded)))
		return -EIO;
	if (!b->pathname[0] || !b->url[0])
		return -EIO;
	if (json_is_integer(size) && json_integer_value(size) >= 0)
		b->size = (uint64_t)json_integer_value(size);
	else if (json_is_real(size) && json_real_value(size) >= 0)
		b->size = (uint64_t)json_real_value(size);
	return 0;
}

static json_t *load(const char *body, size_t len)
{
	json_error_t err;

	if (!body || !len)
		return NULL;
	return json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
}

int vc_json_blob(const char *body, size_t len, struct vc_blob *out)
{
	json_t *o = load(body, len);
	int rc = o ? blob_from(o, out) : -EIO;

	json_decref(o);
	return rc;
}

int vc_json_list(const char *body, size_t len,
		 int (*cb)(void *arg, const struct vc_blob *b), void *arg,
		 int *has_more, char *cursor, size_t cursor_cap)
{
	json_t *o = load(body, len), *blobs, *more;
	struct vc_blob *b = malloc(sizeof(*b));
	int rc = 0;

	blobs = json_object_get(o, "blobs");
	more = json_object_get(o, "hasMore");
	if (!b) {
		rc = -ENOMEM;
		goto out;
	}
	if (!json_is_object(o) || !json_is_array(blobs) ||
	    (more && !json_is_boolean(more))) {
		rc = -EIO;
		goto out;
	}
	rc = get_str(o, "cursor", cursor, cursor_cap);
	if (rc)
		goto out;
	*has_more = json_is_true(more);
	for (size_t i = 0; i < json_array_size(blobs) && !rc; i++) {
		rc = blob_from(json_array_get(blobs, i), b);
		if (!rc)
			rc = cb(arg, b);
	}
out:
	free(b);
	json_decref(o);
	return rc;
}

int vc_json_error(const char *body, size_t len, char *code, size_t code_cap,
		  char *msg, size_t msg_cap)
{
	json_t *o = load(body, len), *e = json_object_get(o, "error");
	int rc = -ENOENT;

	code[0] = '\0';
	msg[0] = '\0';
	if (json_is_object(e)) {
		const char *c = json_string_value(json_object_get(e, "code"));
		const char *m = json_string_value(json_object_get(e,
								  "message"));

		snprintf(code, code_cap, "%s", c ? c : "");
		snprintf(msg, msg_cap, "%s", m ? m : "");
		rc = 0;
	}
	json_decref(o);
	return rc;
}

int vc_json_urls(const char *const *keys, size_t n, char **out)
{
	json_t *o = json_object(), *a = json_array();
	int rc = 0;

	*out = NULL;
	if (!o || !a || json_object_set(o, "urls", a)) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n && !rc; i++)
		if (json_array_append_new(a, json_string(keys[i])))
			rc = -EINVAL;	/* not UTF-8 */
	if (!rc && !(*out = json_dumps(o, JSON_COMPACT)))
		rc = -ENOMEM;
out:
	json_decref(a);
	json_decref(o);
	return rc;
}

void vc_etag_norm(char *out, size_t cap, const char *etag)
{
	size_t n;

	if (strncmp(etag, "W/", 2) == 0)
		etag += 2;
	if (*etag == '"')
		etag++;
	n = strlen(etag);
	if (n && etag[n - 1] == '"')
		n--;
	if (n >= cap)
		n = cap - 1;
	memcpy(out, etag, n);
	out[n] = '\0';
}
