/* core/store/s3_meta.c: what an S3 object's headers say of it (mode,
 * owner, mtime, xattrs; s3fs's names and forms), HEAD, and what the
 * metadata cache keeps after a write (s3_int.h). */
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


/* --- metadata headers ---------------------------------------------------- */

void s3_default_owner(const char *key, uid_t *uid, gid_t *gid)
{
	char name[64], buf[4096];
	const char *p;
	size_t k;

	*uid = 0;
	*gid = 0;
	if (strncmp(key, "volumes/user/", 13) == 0)
		p = key + 13;
	else if (strncmp(key, "volumes/team/", 13) == 0)
		p = key + 13;
	else
		return;
	k = strcspn(p, "/");
	if (k == 0 || k >= sizeof(name))
		return;
	memcpy(name, p, k);
	name[k] = '\0';
	if (key[8] == 'u') {
		struct passwd pw, *res = NULL;

		if (!getpwnam_r(name, &pw, buf, sizeof(buf), &res) && res) {
			*uid = res->pw_uid;
			*gid = res->pw_gid;
		}
	} else {
		struct group gr, *res = NULL;

		if (!getgrnam_r(name, &gr, buf, sizeof(buf), &res) && res)
			*gid = res->gr_gid;
	}
}

static int header_num(const struct http_resp *r, const char *name,
		      unsigned long *out)
{
	char v[32], *end;

	if (http_header(r, name, v, sizeof(v)))
		return -ENOENT;
	errno = 0;
	*out = strtoul(v, &end, 10);
	return errno || end == v || *end ? -EINVAL : 0;
}

/* "1700000000.123456789" (s3fs and rclone read it too). */
static int parse_mtime(const char *v, struct timespec *ts)
{
	char *end;
	long long sec;
	long nsec = 0;
	int digits = 0;

	errno = 0;
	sec = strtoll(v, &end, 10);
	if (errno || end == v)
		return -EINVAL;
	if (*end == '.')
		for (end++; *end >= '0' && *end <= '9'; end++)
			if (digits++ < 9)
				nsec = nsec * 10 + (*end - '0');
	if (*end)
		return -EINVAL;
	for (; digits < 9; digits++)
		nsec *= 10;
	ts->tv_sec = (time_t)sec;
	ts->tv_nsec = nsec;
	return 0;
}

static int parse_http_date(const char *v, struct timespec *ts)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (!strptime(v, "%a, %d %b %Y %H:%M:%S", &tm))
		return -EINVAL;
	ts->tv_sec = timegm(&tm);
	ts->tv_nsec = 0;
	return 0;
}

void s3_meta_from_headers(const struct http_resp *r, const char *key,
			  const char *lastmod, uint64_t size,
			  struct objmeta_ent *e)
{
	int dir = key[strlen(key) - 1] == '/';
	unsigned long v;
	char s[S3_META_MAX + 1];

	e->m.mode = dir ? S_IFDIR | 0755 : S_IFREG | 0644;
	s3_default_owner(key, &e->m.uid, &e->m.gid);
	e->m.size = size;
	e->m.mtime.tv_sec = 0;
	e->m.mtime.tv_nsec = 0;
	e->xattrs = NULL;
	/* s3fs's convention: the type bits too, S_IFLNK for a link whose
	 * content is its target */
	if (!header_num(r, "x-amz-meta-mode", &v))
		e->m.mode = (dir ? S_IFDIR : (v & S_IFMT) == S_IFLNK ?
					     S_IFLNK : S_IFREG) |
			    (mode_t)(v & 0777);
	if (!header_num(r, "x-amz-meta-uid", &v))
		e->m.uid = (uid_t)v;
	if (!header_num(r, "x-amz-meta-gid", &v))
		e->m.gid = (gid_t)v;
	if (http_header(r, "x-amz-meta-mtime", s, sizeof(s)) ||
	    parse_mtime(s, &e->m.mtime)) {
		if (!lastmod || !*lastmod ||
		    s3_parse_time(lastmod, &e->m.mtime))
			if (http_header(r, "Last-Modified", s, sizeof(s)) ||
			    parse_http_date(s, &e->m.mtime))
				clock_gettime(CLOCK_REALTIME, &e->m.mtime);
	}
	if (!http_header(r, "x-amz-meta-llmunix-xattrs", s, sizeof(s)) && *s)
		e->xattrs = strdup(s);
	if (http_header(r, "ETag", e->etag, sizeof(e->etag)))
		e->etag[0] = '\0';
	snprintf(e->lastmod, sizeof(e->lastmod), "%s", lastmod ? lastmod : "");
}


static const char *content_type(const char *key)
{
	size_t k = strlen(key);

	if (key[k - 1] == '/')
		return "application/x-directory";
	if (k > 3 && !strcmp(key + k - 3, ".md"))
		return "text/markdown; charset=utf-8";
	if (k > 5 && !strcmp(key + k - 5, ".json"))
		return "application/json";
	return "application/octet-stream";
}

int s3_meta_hdrs(struct meta_hdrs *h, const char *key,
			  const struct blob_meta *m, const char *xattrs)
{
	size_t n = 0;

	snprintf(h->type, sizeof(h->type), "Content-Type: %s",
		 content_type(key));
	snprintf(h->mode, sizeof(h->mode), "x-amz-meta-mode: %u",
		 (unsigned)((S_ISDIR(m->mode) ? S_IFDIR :
			     S_ISLNK(m->mode) ? S_IFLNK : S_IFREG) |
			    (m->mode & 0777)));
	snprintf(h->uid, sizeof(h->uid), "x-amz-meta-uid: %u",
		 (unsigned)m->uid);
	snprintf(h->gid, sizeof(h->gid), "x-amz-meta-gid: %u",
		 (unsigned)m->gid);
	snprintf(h->mtime, sizeof(h->mtime), "x-amz-meta-mtime: %lld.%09ld",
		 (long long)m->mtime.tv_sec, m->mtime.tv_nsec);
	h->v[n++] = h->type;
	h->v[n++] = h->mode;
	h->v[n++] = h->uid;
	h->v[n++] = h->gid;
	h->v[n++] = h->mtime;
	if (xattrs && *xattrs) {
		if (strlen(xattrs) > S3_META_MAX - S3_ATTR_ROOM)
			return -ENOSPC;
		snprintf(h->xattrs, sizeof(h->xattrs),
			 "x-amz-meta-llmunix-xattrs: %s", xattrs);
		h->v[n++] = h->xattrs;
	}
	h->v[n] = NULL;
	return 0;
}

/* What the cache keeps after a write of `key`. */
void s3_remember(struct blob_s3 *s, const char *key,
		     const struct http_resp *r, const struct blob_meta *m,
		     const char *xattrs)
{
	struct objmeta_ent e;

	memset(&e, 0, sizeof(e));
	if (http_header(r, "ETag", e.etag, sizeof(e.etag)))
		e.etag[0] = '\0';
	e.m = *m;
	e.xattrs = (char *)xattrs;
	objmeta_set(s->meta, key, &e);
}

int s3_head(struct blob_s3 *s, const char *key, struct objmeta_ent *e)
{
	struct s3_call c = { .method = "HEAD", .key = key, .quiet_404 = 1 };
	struct http_resp r;
	char len[32];
	int rc;

	http_resp_init(&r);
	rc = s3_call(s, &c, &r);
	if (!rc) {
		s3_meta_from_headers(&r, key, NULL, 0, e);
		if (!http_header(&r, "Content-Length", len, sizeof(len)))
			e->m.size = strtoull(len, NULL, 10);
		objmeta_set(s->meta, key, e);
	}
	http_resp_release(&r);
	return rc;
}

