/* core/store/http.c: the HTTP client over libcurl, see http.h. */
#include "core/store/http.h"
#include "core/util/log.h"

#include <curl/curl.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define HEADERS_MAX (64u << 10)
#define BODY_DEFAULT_MAX (1u << 20)
#define BACKOFF_MAX 2.0

struct http {
	struct http_opts o;
	pthread_mutex_t mu;
	CURL **free_handles;	/* kept for reuse: their connections live */
	unsigned nfree;
};

/* What one transfer collects. */
struct xfer {
	const struct http_req *req;
	struct http_resp *resp;
	int capped;		/* the body went over max_body */
	int passed;		/* on_chunk got something */
	int cb_rc;		/* what on_chunk returned */
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_for(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int http_new(struct http **out, const struct http_opts *o)
{
	struct http *h;

	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return -ENOMEM;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	if (o)
		h->o = *o;
	if (h->o.connect_timeout <= 0)
		h->o.connect_timeout = 2;
	if (h->o.timeout <= 0)
		h->o.timeout = 5;
	if (h->o.deadline <= 0)
		h->o.deadline = h->o.timeout * 2 + 1;
	if (!h->o.retries)
		h->o.retries = 3;
	if (h->o.backoff <= 0)
		h->o.backoff = 0.1;
	if (!h->o.pool)
		h->o.pool = 32;
	h->free_handles = calloc(h->o.pool, sizeof(*h->free_handles));
	if (!h->free_handles) {
		free(h);
		return -ENOMEM;
	}
	pthread_mutex_init(&h->mu, NULL);
	*out = h;
	return 0;
}

void http_free(struct http *h)
{
	if (!h)
		return;
	for (unsigned i = 0; i < h->nfree; i++)
		curl_easy_cleanup(h->free_handles[i]);
	free(h->free_handles);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

static CURL *handle_take(struct http *h)
{
	CURL *c = NULL;

	pthread_mutex_lock(&h->mu);
	if (h->nfree)
		c = h->free_handles[--h->nfree];
	pthread_mutex_unlock(&h->mu);
	if (c)
		curl_easy_reset(c);	/* keeps its live connections */
	else
		c = curl_easy_init();
	return c;
}

static void handle_give(struct http *h, CURL *c)
{
	pthread_mutex_lock(&h->mu);
	if (h->nfree < h->o.pool) {
		h->free_handles[h->nfree++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&h->mu);
	if (c)
		curl_easy_cleanup(c);
}

void http_resp_init(struct http_resp *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->body, BODY_DEFAULT_MAX);
	buf_init(&r->headers, HEADERS_MAX);
}

void http_resp_release(struct http_resp *r)
{
	buf_release(&r->body);
	buf_release(&r->headers);
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;

	if (x->req->on_chunk) {
		x->passed = 1;
		x->cb_rc = x->req->on_chunk(x->req->arg, data, len);
		return x->cb_rc ? 0 : len;
	}
	if (buf_append(&x->resp->body, data, len)) {
		x->capped = 1;
		return 0;
	}
	return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;

	/* A new status line (after a 100 Continue, or a retry): keep only
	 * the last response's headers. */
	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0)
		buf_resize(&x->resp->headers, 0);
	buf_append(&x->resp->headers, data, len);	/* past the cap: lost */
	return len;
}

/* The URL without its query, cut to fit a message. */
static const char *url_shown(char *out, size_t cap, const char *url)
{
	size_t n = strcspn(url, "?");

	if (n >= cap)
		n = cap - 1;
	memcpy(out, url, n);
	out[n] = '\0';
	return out;
}

static int map_curl(CURLcode cc, const struct xfer *x)
{
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_WRITE_ERROR:
		if (x->capped)
			return -EFBIG;
		if (x->cb_rc)
			return x->cb_rc;
		return -EIO;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return -EINVAL;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

/* Whether a failed attempt may be tried again. */
static int retryable(int rc, long status)
{
	if (rc == 0)
		return status >= 500 || status == 429;
	return rc == -ETIMEDOUT || rc == -ECONNREFUSED || rc == -EIO;
}

/* The caller's headers, and a content type for a body (curl would say
 * form data). curl's SigV4 signs every header of the list, also one
 * written "Name:" to remove it, which is then not sent: so removals
 * ("Expect:", saving a round trip for large bodies) only when not
 * signing. */
static int set_headers(struct curl_slist **list, const struct http_req *req)
{
	static const char *const unsigned_only[] = { "Expect:", NULL };
	int has_type = 0;
	struct curl_slist *l;

	for (size_t i = 0; req->headers && req->headers[i]; i++) {
		if (strncasecmp(req->headers[i], "content-type:", 13) == 0)
			has_type = 1;
		l = curl_slist_append(*list, req->headers[i]);
		if (!l)
			return -ENOMEM;
		*list = l;
	}
	for (size_t i = 0; !req->aws_sigv4 && unsigned_only[i]; i++) {
		l = curl_slist_append(*list, unsigned_only[i]);
		if (!l)
			return -ENOMEM;
		*list = l;
	}
	if (!has_type && strcmp(req->method, "GET") &&
	    strcmp(req->method, "HEAD") && strcmp(req->method, "DELETE")) {
		l = curl_slist_append(*list, "Content-Type: "
				      "application/octet-stream");
		if (!l)
			return -ENOMEM;
		*list = l;
	}
	return 0;
}

static long ms(double s)
{
	return s <= 0 ? 0 : (long)(s * 1000) + 1;
}

static int setup(CURL *c, const struct http_req *req, struct xfer *x,
		 struct curl_slist *hdrs, double timeout, double connect)
{
	CURLcode cc = CURLE_OK;

#define SET(opt, val) do { if (cc == CURLE_OK) \
	cc = curl_easy_setopt(c, opt, val); } while (0)
	SET(CURLOPT_URL, req->url);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_HTTPHEADER, hdrs);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, x);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, x);
	SET(CURLOPT_CONNECTTIMEOUT_MS, ms(connect));
	if (timeout > 0)
		SET(CURLOPT_TIMEOUT_MS, ms(timeout));
	if (req->idle_timeout > 0) {
		SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
		SET(CURLOPT_LOW_SPEED_TIME, (long)req->idle_timeout + 1);
	}
	SET(CURLOPT_USERAGENT, "llmunixfs/" LLMUNIX_VERSION);
	if (strcmp(req->method, "HEAD") == 0) {
		SET(CURLOPT_NOBODY, 1L);
	} else if (strcmp(req->method, "GET") != 0) {
		SET(CURLOPT_CUSTOMREQUEST, req->method);
		if (req->body || strcmp(req->method, "DELETE") != 0) {
			SET(CURLOPT_POSTFIELDSIZE_LARGE,
			    (curl_off_t)req->body_len);
			SET(CURLOPT_POSTFIELDS, req->body ? req->body : "");
		}
	}
	if (req->aws_sigv4) {
		SET(CURLOPT_AWS_SIGV4, req->aws_sigv4);
		SET(CURLOPT_USERPWD, req->userpwd);
	}
#undef SET
	if (cc == CURLE_OUT_OF_MEMORY)
		return -ENOMEM;
	return cc == CURLE_OK ? 0 : -EINVAL;
}

/* One attempt; fills resp->status or returns an error. */
static int attempt(struct http *h, const struct http_req *req,
		   struct http_resp *resp, struct xfer *x, double timeout,
		   double connect, char *why, size_t whycap)
{
	struct curl_slist *hdrs = NULL;
	CURLcode cc;
	CURL *c;
	int rc;

	c = handle_take(h);
	if (!c)
		return -ENOMEM;
	buf_resize(&resp->body, 0);
	buf_resize(&resp->headers, 0);
	resp->status = 0;
	rc = set_headers(&hdrs, req);
	if (!rc)
		rc = setup(c, req, x, hdrs, timeout, connect);
	if (rc)
		goto out;
	cc = curl_easy_perform(c);
	if (cc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	} else {
		rc = map_curl(cc, x);
		snprintf(why, whycap, "%s", curl_easy_strerror(cc));
	}
out:
	curl_slist_free_all(hdrs);
	handle_give(h, c);
	return rc;
}

static __thread unsigned jitter_seed;

/* Exponential backoff with jitter (half to the whole step). */
static double backoff(const struct http *h, unsigned n)
{
	double step = h->o.backoff;

	if (!jitter_seed)
		jitter_seed = (unsigned)time(NULL) ^ (unsigned)(size_t)&step;
	for (unsigned i = 0; i < n && step < BACKOFF_MAX; i++)
		step *= 2;
	if (step > BACKOFF_MAX)
		step = BACKOFF_MAX;
	return step * (0.5 + 0.5 * (double)rand_r(&jitter_seed) / RAND_MAX);
}

static void resp_message(struct http_resp *resp, const struct http_req *req,
			 int rc, const char *why)
{
	char url[160];

	url_shown(url, sizeof(url), req->url);
	if (rc == -EFBIG)
		snprintf(resp->err, sizeof(resp->err), "%.16s %s: the answer is "
			 "larger than %zu bytes", req->method, url,
			 resp->body.cap);
	else if (rc)
		snprintf(resp->err, sizeof(resp->err), "%.16s %s: %.120s%s",
			 req->method, url, why,
			 resp->attempts > 1 ? " (after retries)" : "");
	else if (resp->status >= 400)
		snprintf(resp->err, sizeof(resp->err), "%.16s %s: HTTP %ld%s",
			 req->method, url, resp->status,
			 resp->attempts > 1 ? " (after retries)" : "");
	else
		resp->err[0] = '\0';
}

int http_do(struct http *h, const struct http_req *req,
	    struct http_resp *resp)
{
	double timeout = req->timeout ? req->timeout : h->o.timeout;
	double connect = req->connect_timeout ? req->connect_timeout :
			 h->o.connect_timeout;
	double limit = req->deadline ? req->deadline : h->o.deadline;
	double end = now() + limit;
	char why[CURL_ERROR_SIZE] = "";
	struct xfer x = { req, resp, 0, 0, 0 };
	int rc;

	resp->body.cap = req->max_body ? req->max_body : BODY_DEFAULT_MAX;
	resp->attempts = 0;
	for (;;) {
		double left = end - now(), wait, t = timeout;
		char ra[64];

		if (resp->attempts && left < 0.01) {
			rc = -ETIMEDOUT;	/* no time left for another */
			break;
		}
		if (t > 0 && t > left)
			t = left;
		if (connect > left)
			connect = left;
		resp->attempts++;
		rc = attempt(h, req, resp, &x, t, connect, why, sizeof(why));
		log_debug("http: %s attempt %u: %s, status %ld", req->method,
			  resp->attempts, rc ? why : "answered", resp->status);
		if (!req->idempotent || !retryable(rc, resp->status) ||
		    resp->attempts > h->o.retries || x.passed)
			break;
		wait = backoff(h, resp->attempts - 1);
		if (!rc && !http_header(resp, "Retry-After", ra, sizeof(ra))) {
			double s = http_retry_after(ra);

			if (s > wait)
				wait = s;
		}
		/* A retry needs time to wait, and to connect and answer. */
		if (now() + wait + 0.05 >= end)
			break;
		sleep_for(wait);
	}
	if (rc == -ETIMEDOUT)
		snprintf(why, sizeof(why), "no answer within %.3g s", timeout);
	resp_message(resp, req, rc, why);
	return rc;
}

int http_header(const struct http_resp *r, const char *name, char *out,
		size_t cap)
{
	const char *p = r->headers.data, *end = p + r->headers.len;
	size_t k = strlen(name);

	if (!p)
		return -ENOENT;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *v, *ve;

		if (!eol)
			eol = end;
		if ((size_t)(eol - p) > k && p[k] == ':' &&
		    strncasecmp(p, name, k) == 0) {
			v = p + k + 1;
			ve = eol;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && isspace((unsigned char)ve[-1]))
				ve--;
			if ((size_t)(ve - v) >= cap)
				return -ERANGE;
			memcpy(out, v, (size_t)(ve - v));
			out[ve - v] = '\0';
			return 0;
		}
		p = eol + 1;
	}
	return -ENOENT;
}

int http_escape(char *out, size_t cap, const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (isalnum(ch) || ch == '-' || ch == '.' || ch == '_' ||
		    ch == '~' || (keep_slash && ch == '/')) {
			if (n + 1 >= cap)
				return -ENAMETOOLONG;
			out[n++] = (char)ch;
		} else {
			if (n + 3 >= cap)
				return -ENAMETOOLONG;
			out[n++] = '%';
			out[n++] = hex[ch >> 4];
			out[n++] = hex[ch & 15];
		}
	}
	if (n >= cap)
		return -ENAMETOOLONG;
	out[n] = '\0';
	return 0;
}

double http_retry_after(const char *value)
{
	char *end;
	double s;
	time_t t;

	if (!*value)
		return -1;
	s = strtod(value, &end);
	if (end != value && *end == '\0')
		return s < 0 ? -1 : s;
	t = curl_getdate(value, NULL);
	if (t < 0)
		return -1;
	s = difftime(t, time(NULL));
	return s < 0 ? 0 : s;
}
