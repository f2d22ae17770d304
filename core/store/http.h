/* core/store/http.h: an HTTP client over libcurl, for the remote blob
 * backends (S3, Vercel Blob) and, later, the LLM providers. The only file
 * that includes curl.h is http.c.
 *
 * A struct http is made once per remote service and used from any thread
 * at once: each call takes an easy handle from a locked pool and gives it
 * back, so connections are kept alive and reused between calls.
 *
 * Every call is bounded: a connect timeout, a timeout per attempt, a
 * deadline for the whole call across its retries, and a cap on the body
 * kept. Idempotent requests are retried on connection errors, timeouts,
 * 5xx and 429, after an exponential backoff with jitter or the server's
 * Retry-After, as long as the deadline allows. So a call never takes
 * longer than its deadline (by default one timeout for the first attempt
 * and one for a retry).
 *
 * Nothing secret is kept in messages: URLs and statuses only, never a
 * header or a credential.
 */
#ifndef LLMUNIX_HTTP_H
#define LLMUNIX_HTTP_H

#include <stddef.h>

#include "core/util/buf.h"

struct http;

struct http_opts {
	double connect_timeout;	/* seconds to connect; default 2 */
	double timeout;		/* seconds one attempt may take; default 5 */
	double deadline;	/* seconds for a call with its retries;
				 * default timeout * 2 + 1 */
	unsigned retries;	/* extra attempts at most; default 3 */
	double backoff;		/* first backoff in seconds; default 0.1,
				 * doubling up to 2 s, with jitter */
	unsigned pool;		/* easy handles kept between calls;
				 * default 32 */
};

/* Called with each piece of the body as it arrives (streaming mode, for
 * server-sent events). A non-zero return stops the transfer; the call then
 * returns that value. */
typedef int (*http_chunk_cb)(void *arg, const char *data, size_t len);

struct http_req {
	const char *method;		/* "GET", "PUT", "HEAD", ... */
	const char *url;
	const char *const *headers;	/* "Name: value", NULL-ended, or NULL */
	const void *body;		/* borrowed; sent as is */
	size_t body_len;
	size_t max_body;		/* body kept at most; 0: 1 MiB */
	/* 0: the client's; a negative timeout: none (streams, which
	 * then use idle_timeout). */
	double timeout, connect_timeout, deadline;
	double idle_timeout;		/* fail when nothing came for this
					 * long; 0: not checked */
	int idempotent;			/* may be retried */
	/* AWS SigV4 by libcurl ("aws:amz:REGION:s3") with "KEY:SECRET". */
	const char *aws_sigv4;
	const char *userpwd;
	/* Streaming: the body goes to on_chunk instead of resp->body; a call
	 * is retried only while nothing was passed on. */
	http_chunk_cb on_chunk;
	void *arg;
};

struct http_resp {
	long status;		/* 0 when no response came */
	struct buf body;
	struct buf headers;	/* the final response's header lines */
	unsigned attempts;
	char err[320];		/* what went wrong, for the log and users */
};

/* Defaults for what `o` leaves at 0 (o may be NULL). */
int http_new(struct http **out, const struct http_opts *o);
void http_free(struct http *h);

void http_resp_init(struct http_resp *r);
void http_resp_release(struct http_resp *r);

/* Make the request. Returns 0 once a response came, whatever its status
 * (after the retries a 5xx deserves); resp->err then says what a status
 * of 400 or more was. Otherwise -ETIMEDOUT (no answer in time),
 * -ECONNREFUSED or -EHOSTUNREACH (no server), -EFBIG (body over the cap),
 * -ENOMEM, -EINVAL (a bad URL or method), -EIO (anything else), or what
 * on_chunk returned; resp->err says what happened in each case. */
int http_do(struct http *h, const struct http_req *req,
	    struct http_resp *resp);

/* The value of header `name` (any case) of the response, trimmed, into
 * `out`. Returns 0, -ENOENT or -ERANGE (does not fit). */
int http_header(const struct http_resp *r, const char *name, char *out,
		size_t cap);

/* Percent-encode `s` for a URL path or query ("%2F" for '/' unless
 * `keep_slash`): every byte but A-Z a-z 0-9 - . _ ~ as %XX, as SigV4's
 * canonical form wants. Returns 0 or -ENAMETOOLONG. */
int http_escape(char *out, size_t cap, const char *s, int keep_slash);

/* Seconds from a Retry-After value (a number or an HTTP date); -1 when it
 * is neither. */
double http_retry_after(const char *value);

#endif
