/* core/store/vercel_open.c: opening a Vercel Blob store (blob_vercel.h):
 * the token taken out of the environment, the state folder, one list
 * call to check the store, the rename journal replayed. */
#include "core/store/blob_vercel.h"
#include "core/store/http.h"
#include "core/store/journal.h"
#include "core/store/objmeta.h"
#include "core/store/state_lock.h"
#include "core/store/vercel_int.h"
#include "core/util/log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Take the token out of the environment, its bytes wiped: no child
 * inherits it and /proc/PID/environ no longer shows it. The store id is
 * its fourth '_' field ("vercel_blob_rw_<store>_<secret>"), as the client
 * reads it. */
static int take_token(struct blob_vercel *v)
{
	char *tok = getenv("BLOB_READ_WRITE_TOKEN"), id[128] = "";
	const char *p;
	int rc = 0;

	if (!tok || !*tok) {
		log_err("vercel blob: BLOB_READ_WRITE_TOKEN must be set in the "
			"daemon's environment (the store's read-write token)");
		return -EINVAL;
	}
	p = tok;
	for (int i = 0; i < 3 && p; i++)
		p = strchr(p, '_') ? strchr(p, '_') + 1 : NULL;
	if (p && strcspn(p, "_") < sizeof(id))
		snprintf(id, sizeof(id), "%.*s", (int)strcspn(p, "_"), p);
	if (asprintf(&v->auth_hdr, "authorization: Bearer %s", tok) < 0) {
		v->auth_hdr = NULL;
		rc = -ENOMEM;
	}
	if (!rc && asprintf(&v->store_hdr, "x-vercel-blob-store-id: %s",
			    id) < 0) {
		v->store_hdr = NULL;
		rc = -ENOMEM;
	}
	explicit_bzero(tok, strlen(tok));
	unsetenv("BLOB_READ_WRITE_TOKEN");
	return rc;
}

/* One list call: the store exists and takes the token. */
static int check_store(struct blob_vercel *v)
{
	struct vc_call c = { .method = "GET", .path = "",
			     .query = "limit=1&prefix=volumes%2F" };
	struct http_resp r;
	char code[64], msg[240];
	int rc;

	http_resp_init(&r);
	rc = vc_call(v, &c, &r);
	vc_json_error(r.body.data, r.body.len, code, sizeof(code), msg,
		      sizeof(msg));
	if (rc == -EACCES)
		log_err("vercel blob at '%s' refused the token (HTTP %ld "
			"%s): check BLOB_READ_WRITE_TOKEN", v->api, r.status,
			*code ? code : "forbidden");
	else if (rc == -EDQUOT)
		log_err("vercel blob at '%s': the store is suspended (HTTP "
			"%ld store_suspended): see its dashboard", v->api,
			r.status);
	else if (!strcmp(code, "store_not_found"))
		log_err("vercel blob at '%s' has no store for this token "
			"(HTTP %ld store_not_found): check "
			"BLOB_READ_WRITE_TOKEN", v->api, r.status);
	else if (rc)
		log_err("vercel blob at '%s': %s", v->api, r.status ?
			"unexpected answer" :
			"no answer (is vercel_base_url right?)");
	http_resp_release(&r);
	if (rc == -EDQUOT)
		return -EACCES;
	return !strcmp(code, "store_not_found") ? -ENOENT : rc;
}

static int make_dirs(struct blob_vercel *v, const char *state_dir)
{
	char path[PATH_MAX];
	int rc;

	if (mkdir(state_dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/vercel", state_dir);
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	rc = state_lock(state_dir, &v->lock_fd);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s/vercel/journal", state_dir);
	rc = journal_open(&v->journal, path);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s/vercel/meta", state_dir);
	return objmeta_open(&v->meta, path);
}

int blob_vercel_open(struct blob **out, const struct blob_vercel_opts *o)
{
	struct blob_vercel *v = calloc(1, sizeof(*v));
	struct http_opts ho = { .timeout = o->timeout,
				.connect_timeout = o->connect_timeout };
	size_t n = strlen(o->base_url);
	int rc;

	if (!v)
		return -ENOMEM;
	v->base.ops = &vc_ops;
	v->lock_fd = -1;
	v->private_access = o->private_access;
	v->access = o->private_access ? "private" : "public";
	rc = take_token(v);
	if (rc)
		goto out_free;
	while (n && o->base_url[n - 1] == '/')
		n--;
	v->api = strndup(o->base_url, n);
	rc = v->api ? vc_urls_new(&v->urls) : -ENOMEM;
	if (!rc)
		rc = http_new(&v->http, &ho);
	if (rc)
		goto out_free;
	rc = make_dirs(v, o->state_dir);
	if (rc) {
		if (rc != -EBUSY)
			log_err("state folder '%s': %s", o->state_dir,
				strerror(-rc));
		goto out_free;
	}
	rc = check_store(v);
	if (!rc)
		rc = vc_journal_replay(v);
	if (rc)
		goto out_free;
	*out = &v->base;
	return 0;
out_free:
	vc_ops.free(&v->base);
	return rc;
}
