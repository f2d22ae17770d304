/* core/store/s3_wire.c: what the S3 backend reads and writes on the wire
 * besides HTTP itself, see s3_int.h. */
#include "core/store/s3_int.h"
#include "core/store/http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int s3_pct_decode(char *out, size_t cap, const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= len)
				return -EINVAL;
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			c = hi * 16 + lo;
			i += 2;
		}
		if (c == 0)
			return -EINVAL;
		if (n + 1 >= cap)
			return -ENAMETOOLONG;
		out[n++] = (char)c;
	}
	if (cap == 0)
		return -ENAMETOOLONG;
	out[n] = '\0';
	return 0;
}

/* Percent-encode `len` bytes (values may hold any byte) into out+*n. */
static int pct_encode(char *out, size_t cap, size_t *n, const char *s,
		      size_t len)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
		    ch == '_' || ch == '~') {
			if (*n + 1 >= cap)
				return -ENOSPC;
			out[(*n)++] = (char)ch;
		} else {
			if (*n + 3 >= cap)
				return -ENOSPC;
			out[(*n)++] = '%';
			out[(*n)++] = hex[ch >> 4];
			out[(*n)++] = hex[ch & 15];
		}
	}
	return 0;
}

int s3_xattrs_encode(const struct blob_xattrs *x, char *out, size_t cap)
{
	size_t n = 0;
	int rc;

	if (!cap)
		return -ENOSPC;
	out[0] = '\0';
	for (size_t i = 0; x && i < x->n; i++) {
		const struct blob_xattr *a = &x->v[i];

		if (i) {
			if (n + 1 >= cap)
				return -ENOSPC;
			out[n++] = '&';
		}
		rc = pct_encode(out, cap, &n, a->name, strlen(a->name));
		if (!rc && n + 1 >= cap)
			rc = -ENOSPC;
		if (rc)
			return rc;
		out[n++] = '=';
		rc = pct_encode(out, cap, &n, a->value, a->len);
		if (rc)
			return rc;
	}
	out[n] = '\0';
	return 0;
}

/* Decode a value that may hold NUL bytes: returns its length or -1. */
static long pct_decode_bin(char *out, const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%') {
			int hi, lo;

			if (i + 2 >= len)
				return -1;
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			out[n++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			out[n++] = s[i];
		}
	}
	out[n] = '\0';
	return (long)n;
}

static int add_xattr(struct blob_xattrs *out, const char *s, size_t len)
{
	const char *eq = memchr(s, '=', len);
	struct blob_xattr *v, a;
	long k;

	if (!eq)
		return -EINVAL;
	a.name = malloc((size_t)(eq - s) + 1);
	a.value = malloc(len - (size_t)(eq - s));
	if (!a.name || !a.value)
		goto out_nomem;
	if (s3_pct_decode(a.name, (size_t)(eq - s) + 1, s, (size_t)(eq - s)) ||
	    strncmp(a.name, "user.", 5) != 0 || !a.name[5])
		goto out_inval;
	k = pct_decode_bin(a.value, eq + 1, len - (size_t)(eq - s) - 1);
	if (k < 0)
		goto out_inval;
	a.len = (size_t)k;
	v = realloc(out->v, (out->n + 1) * sizeof(*v));
	if (!v)
		goto out_nomem;
	out->v = v;
	out->v[out->n++] = a;
	return 0;
out_inval:
	free(a.name);
	free(a.value);
	return -EINVAL;
out_nomem:
	free(a.name);
	free(a.value);
	return -ENOMEM;
}

int s3_xattrs_decode(const char *s, struct blob_xattrs *out)
{
	out->v = NULL;
	out->n = 0;
	while (s && *s) {
		size_t len = strcspn(s, "&");
		int rc = add_xattr(out, s, len);

		if (rc) {
			blob_xattrs_release(out);
			return rc;
		}
		s += len;
		if (*s == '&')
			s++;
	}
	return 0;
}

int s3_xml_elem(const char *p, const char *end, const char *tag,
		const char **in, const char **in_end)
{
	char open[64], close[64];
	size_t ko = (size_t)snprintf(open, sizeof(open), "<%s>", tag);
	size_t kc = (size_t)snprintf(close, sizeof(close), "</%s>", tag);
	const char *a, *b;

	if (p >= end)
		return -ENOENT;
	a = memmem(p, (size_t)(end - p), open, ko);
	if (!a)
		return -ENOENT;
	a += ko;
	b = memmem(a, (size_t)(end - a), close, kc);
	if (!b)
		return -ENOENT;
	*in = a;
	*in_end = b;
	return 0;
}

/* XML text with the five entities and numeric references decoded. */
static int xml_text(char *out, size_t cap, const char *s, const char *end)
{
	static const struct { const char *ent; char ch; } ents[] = {
		{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
		{ "&quot;", '"' }, { "&apos;", '\'' },
	};
	size_t n = 0;

	while (s < end) {
		char ch = *s;
		size_t used = 1;

		if (ch == '&') {
			size_t i;

			for (i = 0; i < 5; i++) {
				size_t k = strlen(ents[i].ent);

				if ((size_t)(end - s) >= k &&
				    !memcmp(s, ents[i].ent, k)) {
					ch = ents[i].ch;
					used = k;
					break;
				}
			}
			if (i == 5 && s + 2 < end && s[1] == '#') {
				char *e;
				long v = s[2] == 'x' ?
					 strtol(s + 3, &e, 16) :
					 strtol(s + 2, &e, 10);

				if (e >= end || *e != ';' || v <= 0 ||
				    v > 127)
					return -ERANGE;	/* not in keys */
				ch = (char)v;
				used = (size_t)(e + 1 - s);
			}
		}
		if (n + 1 >= cap)
			return -ERANGE;
		out[n++] = ch;
		s += used;
	}
	if (!cap)
		return -ERANGE;
	out[n] = '\0';
	return 0;
}

int s3_xml_next(const char **p, const char *end, const char *tag, char *out,
		size_t cap)
{
	const char *a, *b;
	int rc = s3_xml_elem(*p, end, tag, &a, &b);

	if (rc)
		return rc;
	*p = b + strlen(tag) + 3;
	return xml_text(out, cap, a, b);
}

int s3_list_parse(const char *body, size_t len,
		  int (*cb)(void *arg, const struct s3_obj *o), void *arg,
		  int *truncated, char *token, size_t token_cap)
{
	const char *p = body, *end = body + len, *a, *b;
	char flag[16];
	int rc;

	if (!body || !memmem(body, len, "<ListBucketResult", 17))
		return -EIO;
	*truncated = 0;
	token[0] = '\0';
	while (!s3_xml_elem(p, end, "Contents", &a, &b)) {
		struct s3_obj *o = malloc(sizeof(*o));
		char size[32];
		const char *q = a;

		if (!o)
			return -ENOMEM;
		rc = s3_xml_next(&q, b, "Key", o->key, sizeof(o->key));
		q = a;
		if (!rc && s3_xml_next(&q, b, "ETag", o->etag,
				       sizeof(o->etag)))
			o->etag[0] = '\0';
		q = a;
		if (!rc && s3_xml_next(&q, b, "LastModified", o->lastmod,
				       sizeof(o->lastmod)))
			o->lastmod[0] = '\0';
		q = a;
		o->size = 0;
		if (!rc && !s3_xml_next(&q, b, "Size", size, sizeof(size)))
			o->size = strtoull(size, NULL, 10);
		/* A key too long or odd for a name is skipped. */
		rc = rc ? 0 : cb(arg, o);
		free(o);
		if (rc)
			return rc;
		p = b + 11;
	}
	a = body;
	if (!s3_xml_next(&a, end, "IsTruncated", flag, sizeof(flag)))
		*truncated = strcmp(flag, "true") == 0;
	a = body;
	if (*truncated && s3_xml_next(&a, end, "NextContinuationToken", token,
				      token_cap))
		return -EIO;
	return 0;
}

int s3_parse_time(const char *s, struct timespec *out)
{
	struct tm tm;
	const char *e;
	long ms = 0;

	memset(&tm, 0, sizeof(tm));
	e = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!e)
		return -EINVAL;
	if (*e == '.') {
		int digits = 0;

		for (e++; *e >= '0' && *e <= '9'; e++)
			if (digits++ < 3)
				ms = ms * 10 + (*e - '0');
		while (digits++ < 3)
			ms *= 10;
	}
	out->tv_sec = timegm(&tm);
	out->tv_nsec = ms * 1000000;
	return 0;
}
