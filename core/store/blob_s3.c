/* core/store/blob_s3.c: the S3 backend's requests and its one-object
 * operations, see blob_s3.h. Listing is in s3_list.c, renames and their
 * journal in s3_rename.c. */
#include "core/store/blob_s3.h"
#include "core/store/http.h"
#include "core/store/journal.h"
#include "core/store/objmeta.h"
#include "core/store/s3_int.h"
#include "core/store/state_lock.h"
#include "core/util/log.h"
#include "core/util/sha256.h"

#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define URL_MAX (3 * PATH_MAX + 512)

static struct blob_s3 *s3(struct blob *b)
{
	return (struct blob_s3 *)b;
}

/* --- requests ------------------------------------------------------------ */

/* The errno of an S3 answer: its status, and its error code for 400 and
 * the full-store cases. */
static int status_err(long status, const char *code)
{
	if (status == 404)
		return -ENOENT;
	if (status == 403)
		return -EACCES;
	if (status == 413 || !strcmp(code, "EntityTooLarge"))
		return -EFBIG;
	if (status == 507 || !strcmp(code, "XMinioStorageFull") ||
	    !strcmp(code, "InsufficientStorage"))
		return -ENOSPC;
	if (!strcmp(code, "QuotaExceeded") ||
	    !strcmp(code, "XMinioAdminBucketQuotaExceeded"))
		return -EDQUOT;
	return -EIO;
}

static int url_for(struct blob_s3 *s, const struct s3_call *c, char *out,
		   size_t cap)
{
	char key[3 * PATH_MAX];
	int n;

	if (c->key && http_escape(key, sizeof(key), c->key, 1))
		return -ENAMETOOLONG;
	n = snprintf(out, cap, "%s%s%s%s", s->base_url, c->key ? key : "",
		     c->query ? "?" : "", c->query ? c->query : "");
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

int s3_call(struct blob_s3 *s, const struct s3_call *c, struct http_resp *r)
{
	const char *hdrs[16];
	char url[URL_MAX], code[64] = "", msg[200] = "";
	char sha[40 + SHA256_HEX];
	uint8_t d[SHA256_LEN];
	struct http_req q = {
		.method = c->method, .url = url, .body = c->body,
		.body_len = c->len, .max_body = c->max_body,
		.idempotent = 1,	/* every S3 call we make is */
		.aws_sigv4 = s->sigv4, .userpwd = s->userpwd,
	};
	size_t n = 0;
	int rc;

	rc = url_for(s, c, url, sizeof(url));
	if (rc)
		return rc;
	/* S3 wants the payload's hash; curl signs it with the headers. */
	sha256(c->body ? c->body : "", c->len, d);
	memcpy(sha, "x-amz-content-sha256: ", 22);
	sha256_hex(d, sha + 22);
	hdrs[n++] = sha;
	for (size_t i = 0; c->headers && c->headers[i] && n < 14; i++)
		hdrs[n++] = c->headers[i];
	if (s->token_hdr)
		hdrs[n++] = s->token_hdr;
	hdrs[n] = NULL;
	q.headers = hdrs;
	rc = http_do(s->http, &q, r);
	if (rc) {
		log_err("s3: %s", r->err);
		return rc == -EFBIG ? -EFBIG : -EIO;
	}
	if (r->status >= 200 && r->status < 300)
		return 0;
	if (r->body.data) {
		const char *p = r->body.data;

		s3_xml_next(&p, r->body.data + r->body.len, "Code", code,
			    sizeof(code));
		p = r->body.data;
		s3_xml_next(&p, r->body.data + r->body.len, "Message", msg,
			    sizeof(msg));
	}
	rc = status_err(r->status, code);
	if (rc != -ENOENT || !c->quiet_404) {
		char esc[200];

		log_err("s3: %s%s%s%s%s (bucket '%s')", r->err,
			*code ? " " : "", code, *msg ? ": " : "",
			log_escape(esc, sizeof(esc), msg), s->bucket);
	}
	return rc;
}

int s3_copy_source(struct blob_s3 *s, const char *key, char *out,
		   size_t cap)
{
	char esc[3 * PATH_MAX];
	int n;

	if (http_escape(esc, sizeof(esc), key, 1))
		return -ENAMETOOLONG;
	n = snprintf(out, cap, "x-amz-copy-source: /%s/%s", s->bucket, esc);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* --- operations on one object --------------------------------------------- */

static int key_ok(const char *key)
{
	return *key && *key != '/' && strlen(key) < PATH_MAX - 2;
}

static int s3_get(struct blob *b, const char *key, struct buf *out)
{
	struct blob_s3 *s = s3(b);
	struct s3_call c = { .method = "GET", .key = key,
			     .max_body = out->cap ? out->cap :
					 BUF_DEFAULT_CAP };
	struct http_resp r;
	struct objmeta_ent e;
	int rc;

	if (!key_ok(key))
		return -EINVAL;
	http_resp_init(&r);
	rc = s3_call(s, &c, &r);
	if (!rc) {
		size_t cap = out->cap;

		buf_release(out);
		*out = r.body;		/* the body is ours now */
		out->cap = cap;
		buf_init(&r.body, 0);
		if (!objmeta_get(s->meta, key, &e)) {
			char etag[OBJMETA_ETAG_MAX];

			if (!http_header(&r, "ETag", etag, sizeof(etag)) &&
			    strcmp(etag, e.etag)) {
				/* Changed by someone else since listed. */
				memcpy(e.etag, etag, sizeof(etag));
				e.lastmod[0] = '\0';
				e.m.size = out->len;
				objmeta_set(s->meta, key, &e);
			}
			free(e.xattrs);
		}
	}
	http_resp_release(&r);
	return rc;
}

static int put_object(struct blob_s3 *s, const char *key, const void *data,
		      size_t len, const struct blob_meta *m,
		      const char *xattrs)
{
	struct meta_hdrs h;
	struct s3_call c = { .method = "PUT", .key = key, .body = data,
			     .len = len };
	struct http_resp r;
	struct blob_meta saved = *m;
	int rc = s3_meta_hdrs(&h, key, m, xattrs);

	if (rc)
		return rc;
	c.headers = h.v;
	http_resp_init(&r);
	rc = s3_call(s, &c, &r);
	if (!rc) {
		saved.size = len;
		s3_remember(s, key, &r, &saved, xattrs);
	}
	http_resp_release(&r);
	return rc;
}

static int s3_put(struct blob *b, const char *key, const void *data,
		  size_t len, const struct blob_meta *m,
		  const struct blob_xattrs *x, unsigned flags)
{
	char enc[S3_META_MAX];

	(void)flags;	/* stored means durable: PUT is acknowledged */
	if (!key_ok(key))
		return -EINVAL;
	if (s3_xattrs_encode(x, enc, sizeof(enc)))
		return -ENOSPC;
	return put_object(s3(b), key, data, len, m, enc);
}

static int s3_del(struct blob *b, const char *key)
{
	struct blob_s3 *s = s3(b);
	struct s3_call c = { .method = "DELETE", .key = key };
	struct http_resp r;
	int rc;

	if (!key_ok(key))
		return -EINVAL;
	http_resp_init(&r);
	rc = s3_call(s, &c, &r);
	http_resp_release(&r);
	if (!rc || rc == -ENOENT)
		objmeta_del(s->meta, key);
	return rc;
}

static int marker_key(char *out, size_t cap, const char *key)
{
	int n = snprintf(out, cap, "%s/", key);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* Whether anything is stored under "key/": a marker or other keys. */
static int prefix_exists(struct blob_s3 *s, const char *key)
{
	struct s3_objs o = { NULL, 0, 0 };
	char dir[PATH_MAX];
	int rc = marker_key(dir, sizeof(dir), key);

	if (!rc)
		rc = s3_list_all(s, dir, 1, &o);
	if (!rc)
		rc = o.n ? -EEXIST : 0;
	s3_objs_release(&o);
	return rc;
}

static int s3_mkdir(struct blob *b, const char *key, const struct blob_meta *m)
{
	struct blob_s3 *s = s3(b);
	char dir[PATH_MAX];
	int rc;

	if (!key_ok(key))
		return -EINVAL;
	rc = marker_key(dir, sizeof(dir), key);
	if (!rc)
		rc = prefix_exists(s, key);
	if (!rc)
		rc = put_object(s, dir, "", 0, m, NULL);
	return rc;
}

static int s3_rmdir(struct blob *b, const char *key)
{
	char dir[PATH_MAX];
	int rc = key_ok(key) ? marker_key(dir, sizeof(dir), key) : -EINVAL;

	if (!rc)
		rc = s3_del(b, dir);
	return rc == -ENOENT ? 0 : rc;
}

/* The cached entry of `key`, asked from the server if unknown. */
static int known(struct blob_s3 *s, const char *key, struct objmeta_ent *e)
{
	if (!objmeta_get(s->meta, key, e))
		return 0;
	return s3_head(s, key, e);
}

/* Replace the attributes of the object `key` with CopyObject onto
 * itself. */
static int copy_meta(struct blob_s3 *s, const char *key,
		     const struct blob_meta *m, const char *xattrs,
		     uint64_t size)
{
	char src[S3_COPY_SOURCE_MAX], etag[OBJMETA_ETAG_MAX];
	struct meta_hdrs h;
	const char *hdrs[12];
	struct s3_call c = { .method = "PUT", .key = key, .headers = hdrs };
	struct http_resp r;
	struct objmeta_ent e;
	size_t n = 0;
	int rc = s3_meta_hdrs(&h, key, m, xattrs);

	if (!rc)
		rc = s3_copy_source(s, key, src, sizeof(src));
	if (rc)
		return rc;
	hdrs[n++] = src;
	hdrs[n++] = "x-amz-metadata-directive: REPLACE";
	for (size_t i = 0; h.v[i]; i++)
		hdrs[n++] = h.v[i];
	hdrs[n] = NULL;
	http_resp_init(&r);
	rc = s3_call(s, &c, &r);
	if (!rc) {
		const char *p = r.body.data ? r.body.data : "";

		memset(&e, 0, sizeof(e));
		if (s3_xml_next(&p, p + r.body.len, "ETag", etag,
				sizeof(etag)) == 0)
			memcpy(e.etag, etag, sizeof(etag));
		e.m = *m;
		e.m.size = size;
		e.xattrs = (char *)xattrs;
		objmeta_set(s->meta, key, &e);
	}
	http_resp_release(&r);
	return rc;
}

static int same_owner_mode(const struct blob_meta *a,
			   const struct blob_meta *b)
{
	return (a->mode & 0777) == (b->mode & 0777) && a->uid == b->uid &&
	       a->gid == b->gid;
}

/* A folder's times change with each entry made in it: kept here only,
 * and sent with its marker when mode or owner change (a PUT per file
 * created would double the requests of every write). */
static int dir_setmeta(struct blob_s3 *s, const char *key,
		       const struct blob_meta *m, const char *xattrs)
{
	struct objmeta_ent e;
	char dir[PATH_MAX];
	int rc = marker_key(dir, sizeof(dir), key);

	if (rc)
		return rc;
	if (!objmeta_get(s->meta, dir, &e)) {
		if (!xattrs && same_owner_mode(&e.m, m)) {
			e.m.mtime = m->mtime;
			rc = objmeta_set(s->meta, dir, &e);
			free(e.xattrs);
			return rc;
		}
		if (!xattrs)
			xattrs = e.xattrs;
		rc = put_object(s, dir, "", 0, m, xattrs);
		free(e.xattrs);
		return rc;
	}
	return put_object(s, dir, "", 0, m, xattrs);
}

static int s3_setmeta(struct blob *b, const char *key,
		      const struct blob_meta *m)
{
	struct blob_s3 *s = s3(b);
	struct objmeta_ent e;
	int rc;

	if (!key_ok(key))
		return -EINVAL;
	if (S_ISDIR(m->mode))
		return dir_setmeta(s, key, m, NULL);
	rc = known(s, key, &e);
	if (rc)
		return rc;
	if (same_owner_mode(&e.m, m) &&
	    e.m.mtime.tv_sec == m->mtime.tv_sec &&
	    e.m.mtime.tv_nsec == m->mtime.tv_nsec)
		rc = 0;
	else
		rc = copy_meta(s, key, m, e.xattrs, e.m.size);
	free(e.xattrs);
	return rc;
}

static int s3_getxattrs(struct blob *b, const char *key,
			struct blob_xattrs *out)
{
	struct blob_s3 *s = s3(b);
	struct objmeta_ent e;
	char dir[PATH_MAX];
	int rc;

	out->v = NULL;
	out->n = 0;
	if (!key_ok(key))
		return -EINVAL;
	rc = marker_key(dir, sizeof(dir), key);
	if (!rc && objmeta_get(s->meta, key, &e) &&
	    objmeta_get(s->meta, dir, &e)) {
		rc = s3_head(s, key, &e);
		if (rc == -ENOENT)
			rc = s3_head(s, dir, &e);
		if (rc == -ENOENT)
			return 0;	/* a folder that is only a prefix */
	}
	if (rc)
		return rc;
	rc = s3_xattrs_decode(e.xattrs, out);
	free(e.xattrs);
	return rc;
}

static int s3_setxattrs(struct blob *b, const char *key,
			const struct blob_xattrs *x)
{
	struct blob_s3 *s = s3(b);
	char enc[S3_META_MAX], dir[PATH_MAX];
	struct objmeta_ent e;
	int rc;

	if (!key_ok(key))
		return -EINVAL;
	if (s3_xattrs_encode(x, enc, sizeof(enc)) ||
	    strlen(enc) > S3_META_MAX - S3_ATTR_ROOM)
		return -ENOSPC;
	rc = marker_key(dir, sizeof(dir), key);
	if (rc)
		return rc;
	if (!objmeta_get(s->meta, dir, &e))
		goto out_marker;
	if (!objmeta_get(s->meta, key, &e))
		goto out_object;
	rc = s3_head(s, key, &e);
	if (!rc)
		goto out_object;
	if (rc == -ENOENT)
		rc = s3_head(s, dir, &e);
	if (rc == -ENOENT) {
		/* A folder that is only a prefix: its marker now. */
		memset(&e, 0, sizeof(e));
		e.m.mode = S_IFDIR | 0755;
		s3_default_owner(key, &e.m.uid, &e.m.gid);
		clock_gettime(CLOCK_REALTIME, &e.m.mtime);
		rc = 0;
	}
	if (rc)
		return rc;
out_marker:
	rc = put_object(s, dir, "", 0, &e.m, enc);
	free(e.xattrs);
	return rc;
out_object:
	rc = copy_meta(s, key, &e.m, enc, e.m.size);
	free(e.xattrs);
	return rc;
}

static int s3_fitxattrs(struct blob *b, const struct blob_xattrs *x)
{
	char enc[S3_META_MAX];

	(void)b;
	if (s3_xattrs_encode(x, enc, sizeof(enc)) ||
	    strlen(enc) > S3_META_MAX - S3_ATTR_ROOM)
		return -ENOSPC;
	return 0;
}

static int s3_sync(struct blob *b, const char *key)
{
	(void)b;
	(void)key;
	return 0;	/* a stored object is durable once acknowledged */
}

int s3_statfs(struct blob *b, struct statvfs *out)
{
	(void)b;
	/* A bucket has no size: say 1 PiB free, as s3fs does (256 TiB). */
	memset(out, 0, sizeof(*out));
	out->f_bsize = 4096;
	out->f_frsize = 4096;
	out->f_blocks = (fsblkcnt_t)1 << 38;
	out->f_bfree = out->f_blocks;
	out->f_bavail = out->f_blocks;
	out->f_files = (fsfilcnt_t)1 << 32;
	out->f_ffree = out->f_files;
	out->f_favail = out->f_files;
	out->f_namemax = 255;
	return 0;
}

static int s3_version(struct blob *b, const char *key, char *out, size_t cap)
{
	return objmeta_etag(s3(b)->meta, key, out, cap);
}

static void s3_free(struct blob *b)
{
	struct blob_s3 *s = s3(b);

	if (!s)
		return;
	http_free(s->http);
	objmeta_free(s->meta);
	if (s->userpwd) {
		explicit_bzero(s->userpwd, strlen(s->userpwd));
		free(s->userpwd);
	}
	if (s->token_hdr) {
		explicit_bzero(s->token_hdr, strlen(s->token_hdr));
		free(s->token_hdr);
	}
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s->base_url);
	free(s->endpoint);
	free(s->bucket);
	free(s->sigv4);
	journal_free(s->journal);
	free(s);
}

static const struct blob_ops s3_ops = {
	.name = "s3",
	.get = s3_get,
	.put = s3_put,
	.del = s3_del,
	.list = s3_list,
	.mkdir = s3_mkdir,
	.rmdir = s3_rmdir,
	.rename = s3_rename,
	.setmeta = s3_setmeta,
	.getxattrs = s3_getxattrs,
	.setxattrs = s3_setxattrs,
	.fitxattrs = s3_fitxattrs,
	.sync = s3_sync,
	.statfs = s3_statfs,
	.version = s3_version,
	.free = s3_free,
};

/* --- opening -------------------------------------------------------------- */

/* Virtual-host style where AWS wants it: on amazonaws.com, for a bucket
 * name that is a plain DNS label. */
static int want_path_style(const struct blob_s3_opts *o, const char *host)
{
	size_t k = strlen(host), a = strlen(".amazonaws.com");

	if (o->path_style >= 0)
		return o->path_style;
	if (k < a || strcmp(host + k - a, ".amazonaws.com") != 0)
		return 1;
	for (const char *p = o->bucket; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '-'))
			return 1;
	return 0;
}

static int make_base_url(struct blob_s3 *s, const struct blob_s3_opts *o)
{
	const char *sep = strstr(o->endpoint, "://");
	char host[512];
	size_t k, n;
	int rc;

	if (!sep || (strncmp(o->endpoint, "http://", 7) &&
		     strncmp(o->endpoint, "https://", 8))) {
		log_err("s3_endpoint '%s' is not an http:// or https:// URL",
			o->endpoint);
		return -EINVAL;
	}
	k = strcspn(sep + 3, "/");
	if (k == 0 || k >= sizeof(host)) {
		log_err("s3_endpoint '%s' has no host", o->endpoint);
		return -EINVAL;
	}
	memcpy(host, sep + 3, k);
	host[k] = '\0';
	host[strcspn(host, ":")] = '\0';	/* the port */
	n = strlen(o->endpoint);
	while (n && o->endpoint[n - 1] == '/')
		n--;
	if (want_path_style(o, host))
		rc = asprintf(&s->base_url, "%.*s/%s/", (int)n, o->endpoint,
			      o->bucket);
	else
		rc = asprintf(&s->base_url, "%.*s%s.%.*s/",
			      (int)(sep + 3 - o->endpoint), o->endpoint,
			      o->bucket, (int)(n - (size_t)(sep + 3 -
							    o->endpoint)),
			      sep + 3);
	if (rc < 0) {
		s->base_url = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Take the credentials out of the environment: no child inherits them. */
static int take_credentials(struct blob_s3 *s)
{
	const char *id = getenv("AWS_ACCESS_KEY_ID");
	const char *key = getenv("AWS_SECRET_ACCESS_KEY");
	const char *tok = getenv("AWS_SESSION_TOKEN");

	if (!id || !*id || !key || !*key) {
		log_err("s3: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must "
			"be set in the daemon's environment");
		return -EINVAL;
	}
	if (asprintf(&s->userpwd, "%s:%s", id, key) < 0) {
		s->userpwd = NULL;
		return -ENOMEM;
	}
	if (tok && *tok &&
	    asprintf(&s->token_hdr, "x-amz-security-token: %s", tok) < 0) {
		s->token_hdr = NULL;
		return -ENOMEM;
	}
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_ACCESS_KEY_ID");
	return 0;
}

/* One listing of one key: the bucket exists and takes our signature. */
static int check_bucket(struct blob_s3 *s)
{
	struct s3_call c = { .method = "GET",
			     .query = "list-type=2&max-keys=1" };
	struct http_resp r;
	int rc;

	http_resp_init(&r);
	rc = s3_call(s, &c, &r);
	if (rc == -EACCES)
		log_err("s3 endpoint '%s' refused the credentials for bucket "
			"'%s' (HTTP %ld): check AWS_ACCESS_KEY_ID and "
			"AWS_SECRET_ACCESS_KEY", s->endpoint, s->bucket,
			r.status);
	else if (rc == -ENOENT)
		log_err("s3 endpoint '%s' has no bucket '%s' (HTTP %ld): "
			"create it, or fix s3_bucket", s->endpoint, s->bucket,
			r.status);
	else if (rc)
		log_err("s3 endpoint '%s' bucket '%s': %s", s->endpoint,
			s->bucket, r.status ? "unexpected answer" :
			"no answer (is the server running?)");
	http_resp_release(&r);
	return rc;
}

static int make_dirs(struct blob_s3 *s, const char *state_dir)
{
	char path[PATH_MAX];

	if (mkdir(state_dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/s3", state_dir);
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/s3/journal", state_dir);
	return journal_open(&s->journal, path);
}

int blob_s3_open(struct blob **out, const struct blob_s3_opts *o)
{
	struct blob_s3 *s = calloc(1, sizeof(*s));
	struct http_opts ho = { .timeout = o->timeout,
				.connect_timeout = o->connect_timeout };
	char path[PATH_MAX];
	int rc;

	if (!s)
		return -ENOMEM;
	s->base.ops = &s3_ops;
	s->lock_fd = -1;
	rc = take_credentials(s);
	if (rc)
		goto out_free;
	s->endpoint = strdup(o->endpoint);
	s->bucket = strdup(o->bucket);
	if (!s->endpoint || !s->bucket ||
	    asprintf(&s->sigv4, "aws:amz:%s:s3", o->region) < 0) {
		s->sigv4 = NULL;
		rc = -ENOMEM;
		goto out_free;
	}
	rc = make_base_url(s, o);
	if (!rc)
		rc = http_new(&s->http, &ho);
	if (rc)
		goto out_free;
	rc = make_dirs(s, o->state_dir);
	if (rc) {
		log_err("state folder '%s': %s", o->state_dir, strerror(-rc));
		goto out_free;
	}
	rc = state_lock(o->state_dir, &s->lock_fd);
	if (rc)
		goto out_free;
	snprintf(path, sizeof(path), "%s/s3/meta", o->state_dir);
	rc = objmeta_open(&s->meta, path);
	if (rc) {
		log_err("metadata cache '%s': %s", path, strerror(-rc));
		goto out_free;
	}
	rc = check_bucket(s);
	if (!rc)
		rc = s3_journal_replay(s);
	if (rc)
		goto out_free;
	*out = &s->base;
	return 0;
out_free:
	s3_free(&s->base);
	return rc;
}
