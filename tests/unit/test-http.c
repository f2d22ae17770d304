/* tests/unit/test-http.c: the HTTP client (core/store/http.h) against a
 * real HTTP/1.1 server on loopback, run in a thread of this test, that
 * answers each request as the test scripted it: a status, a Retry-After,
 * a large body, a stall, a reset connection. */
#include "core/store/http.h"
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>

enum act { A_OK, A_STATUS, A_STALL, A_RESET, A_BIG };

struct step {
	enum act act;
	int status;
	const char *extra;	/* more header lines, "\r\n"-ended */
};

#define MAXSTEPS 64

static struct {
	pthread_mutex_t mu;
	struct step script[MAXSTEPS];
	int nscript, next;	/* past the script: 200 "hello" */
	int requests, connections;
	char last_method[16];
	char last_body[256];
	size_t last_body_len;
	char last_headers[4096];
	int lfd;
	int port;
	int stop;
} srv = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void script(int n, const struct step *s)
{
	pthread_mutex_lock(&srv.mu);
	if (n)
		memcpy(srv.script, s, (size_t)n * sizeof(*s));
	srv.nscript = n;
	srv.next = 0;
	srv.requests = 0;
	srv.connections = 0;
	pthread_mutex_unlock(&srv.mu);
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);

		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Read one request (head and Content-Length body); 0 or -1. */
static int read_request(int fd, char *buf, size_t cap, size_t *have)
{
	char *end;
	size_t need;
	char *cl;

	for (;;) {
		ssize_t k;

		buf[*have] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end)
			break;
		if (*have + 1 >= cap)
			return -1;
		k = recv(fd, buf + *have, cap - 1 - *have, 0);
		if (k <= 0)
			return -1;
		*have += (size_t)k;
	}
	need = (size_t)(end + 4 - buf);
	cl = strcasestr(buf, "\r\ncontent-length:");
	if (cl && cl < end)
		need += strtoul(cl + 17, NULL, 10);
	while (*have < need) {
		ssize_t k;

		if (need >= cap)
			return -1;
		k = recv(fd, buf + *have, cap - 1 - *have, 0);
		if (k <= 0)
			return -1;
		*have += (size_t)k;
	}
	pthread_mutex_lock(&srv.mu);
	sscanf(buf, "%15s", srv.last_method);
	srv.last_body_len = need - (size_t)(end + 4 - buf);
	if (srv.last_body_len >= sizeof(srv.last_body))
		srv.last_body_len = sizeof(srv.last_body) - 1;
	memcpy(srv.last_body, end + 4, srv.last_body_len);
	snprintf(srv.last_headers, sizeof(srv.last_headers), "%.*s",
		 (int)(end - buf), buf);
	pthread_mutex_unlock(&srv.mu);
	memmove(buf, buf + need, *have - need);
	*have -= need;
	return 0;
}

static int answer(int fd, const struct step *s)
{
	char head[512];
	int n;

	switch (s->act) {
	case A_STALL:
		sleep(3);
		return -1;
	case A_RESET: {
		struct linger l = { 1, 0 };

		setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		return -1;
	}
	case A_BIG: {
		static char big[1 << 16];
		size_t total = 2u << 20;

		memset(big, 'x', sizeof(big));
		n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\n"
			     "Content-Length: %zu\r\n\r\n", total);
		if (send_all(fd, head, (size_t)n))
			return -1;
		for (size_t done = 0; done < total; done += sizeof(big))
			if (send_all(fd, big, sizeof(big)))
				return -1;
		return 0;
	}
	default:
		n = snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\n%s"
			     "X-Test: yes\r\nContent-Length: 5\r\n\r\nhello",
			     s->act == A_OK ? 200 : s->status,
			     s->extra ? s->extra : "");
		return send_all(fd, head, (size_t)n);
	}
}

static void *serve_conn(void *arg)
{
	int fd = (int)(long)arg;
	static __thread char buf[1 << 16];
	size_t have = 0;

	while (read_request(fd, buf, sizeof(buf), &have) == 0) {
		struct step s = { A_OK, 200, NULL };

		pthread_mutex_lock(&srv.mu);
		srv.requests++;
		if (srv.next < srv.nscript)
			s = srv.script[srv.next++];
		pthread_mutex_unlock(&srv.mu);
		if (answer(fd, &s))
			break;
	}
	close(fd);
	return NULL;
}

static void *server(void *arg)
{
	(void)arg;
	for (;;) {
		struct pollfd p = { srv.lfd, POLLIN, 0 };
		pthread_t t;
		int fd;

		if (poll(&p, 1, 100) <= 0) {
			if (__atomic_load_n(&srv.stop, __ATOMIC_SEQ_CST))
				return NULL;
			continue;
		}
		fd = accept(srv.lfd, NULL, NULL);
		if (fd < 0)
			continue;
		pthread_mutex_lock(&srv.mu);
		srv.connections++;
		pthread_mutex_unlock(&srv.mu);
		pthread_create(&t, NULL, serve_conn, (void *)(long)fd);
		pthread_detach(t);
	}
}

static int listen_any(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 64) ||
	    getsockname(fd, (struct sockaddr *)&a, &len))
		return -1;
	srv.port = ntohs(a.sin_port);
	return fd;
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char url[128];

static int get(struct http *h, const char *method, int idem,
	       struct http_resp *r)
{
	struct http_req q = { .method = method, .url = url,
			      .idempotent = idem };

	http_resp_release(r);
	http_resp_init(r);
	return http_do(h, &q, r);
}

static void test_plain(struct http *h)
{
	struct http_resp r;
	char v[16];
	int rc;

	http_resp_init(&r);
	script(0, NULL);
	rc = get(h, "GET", 1, &r);
	CHECK_INT_EQ(0, rc, "a GET is answered");
	CHECK_INT_EQ(200, r.status, "with status 200");
	CHECK_MEM_EQ("hello", 5, r.body.data, r.body.len, "and its body");
	CHECK(http_header(&r, "x-TEST", v, sizeof(v)) == 0 &&
	      strcmp(v, "yes") == 0, "a response header is found in any case");
	CHECK_INT_EQ(-ENOENT, http_header(&r, "X-None", v, sizeof(v)),
		     "a missing header is ENOENT");
	CHECK_INT_EQ(-ERANGE, http_header(&r, "X-Test", v, 2),
		     "a header too long for the buffer is ERANGE");
	rc = get(h, "GET", 1, &r);
	CHECK(rc == 0 && srv.connections == 1,
	      "a second call reuses the connection (%d made)",
	      srv.connections);
	http_resp_release(&r);
}

static void test_put_body(struct http *h)
{
	static const char *const hdrs[] = { "X-Amz-Meta-Mode: 33188", NULL };
	struct http_req q = { .method = "PUT", .url = url, .body = "abc\0d",
			      .body_len = 5, .headers = hdrs,
			      .idempotent = 1 };
	struct http_resp r;

	http_resp_init(&r);
	script(0, NULL);
	CHECK_INT_EQ(0, http_do(h, &q, &r), "a PUT with a body is answered");
	CHECK(strcmp(srv.last_method, "PUT") == 0, "it is sent as PUT");
	CHECK_MEM_EQ("abc\0d", 5, srv.last_body, srv.last_body_len,
		     "the body arrives whole, NUL bytes included");
	CHECK(strcasestr(srv.last_headers, "x-amz-meta-mode: 33188") != NULL,
	      "the caller's headers are sent");
	CHECK(!strcasestr(srv.last_headers, "form-urlencoded") &&
	      !strcasestr(srv.last_headers, "expect:"),
	      "no form content type, no Expect: 100-continue");
	http_resp_release(&r);
}

static void test_retries(struct http *h)
{
	static const struct step three500[] = {
		{ A_STATUS, 500, NULL }, { A_STATUS, 502, NULL },
		{ A_STATUS, 500, NULL } };
	static const struct step after[] = {
		{ A_STATUS, 503, "Retry-After: 1\r\n" } };
	static const struct step reset[] = { { A_RESET, 0, NULL },
					     { A_RESET, 0, NULL } };
	static const struct step many[] = {
		{ A_STATUS, 500, NULL }, { A_STATUS, 500, NULL },
		{ A_STATUS, 500, NULL }, { A_STATUS, 500, NULL },
		{ A_STATUS, 500, NULL }, { A_STATUS, 500, NULL } };
	static const struct step busy[] = { { A_STATUS, 429, NULL } };
	static const struct step notfound[] = { { A_STATUS, 404, NULL } };
	struct http_resp r;
	double t0;
	int rc;

	http_resp_init(&r);
	script(3, three500);
	rc = get(h, "GET", 1, &r);
	CHECK(rc == 0 && r.status == 200 && r.attempts == 4,
	      "500, 502, 500 then 200: retried to success (attempts %u)",
	      r.attempts);

	script(1, after);
	t0 = mono();
	rc = get(h, "GET", 1, &r);
	CHECK(rc == 0 && r.status == 200 && mono() - t0 >= 0.95,
	      "503 with Retry-After: 1 is retried no sooner than a second "
	      "later");

	script(1, busy);
	rc = get(h, "GET", 1, &r);
	CHECK(rc == 0 && r.status == 200 && r.attempts == 2,
	      "429 is retried");

	/* curl itself tries a reused connection again once. */
	script(2, reset);
	rc = get(h, "GET", 1, &r);
	CHECK(rc == 0 && r.status == 200 && r.attempts >= 2,
	      "reset connections are retried (attempts %u)", r.attempts);

	script(6, many);
	rc = get(h, "GET", 1, &r);
	CHECK(rc == 0 && r.status == 500 && r.attempts == 4,
	      "a server that keeps failing: the last answer after 3 retries "
	      "(attempts %u)", r.attempts);
	CHECK(strstr(r.err, "HTTP 500") && strstr(r.err, "after retries"),
	      "and a message that says so: %s", r.err);

	script(6, many);
	rc = get(h, "POST", 0, &r);
	CHECK(rc == 0 && r.status == 500 && r.attempts == 1,
	      "a request that is not idempotent is never retried");

	script(1, notfound);
	rc = get(h, "GET", 1, &r);
	CHECK(rc == 0 && r.status == 404 && r.attempts == 1,
	      "404 is an answer, not retried");
	CHECK(strstr(r.err, "HTTP 404") != NULL, "its message: %s", r.err);
	http_resp_release(&r);
}

static void test_limits(void)
{
	static const struct step big[] = { { A_BIG, 0, NULL } };
	static const struct step stall[] = { { A_STALL, 0, NULL },
					     { A_STALL, 0, NULL },
					     { A_STALL, 0, NULL } };
	struct http_opts o = { .timeout = 0.5, .deadline = 1.2 };
	struct http_req q = { .method = "GET", .url = url, .idempotent = 1,
			      .max_body = 1 << 20 };
	struct http_resp r;
	struct http *h;
	double t0, took;
	int rc;

	if (!CHECK_INT_EQ(0, http_new(&h, &o), "a client with short timeouts"))
		return;
	http_resp_init(&r);
	script(1, big);
	rc = http_do(h, &q, &r);
	CHECK_INT_EQ(-EFBIG, rc, "a body over the cap is refused");
	CHECK(strstr(r.err, "larger than") != NULL, "saying so: %s", r.err);
	CHECK(r.body.len <= (1u << 20), "and no more than the cap is kept");

	script(3, stall);
	t0 = mono();
	rc = http_do(h, &q, &r);
	took = mono() - t0;
	CHECK_INT_EQ(-ETIMEDOUT, rc, "a stalled server times out");
	CHECK(took < 1.2 + 1.0, "within the deadline (%.2f s for a 1.2 s "
	      "deadline), never the server's 3 s stall", took);
	CHECK(r.attempts == 2, "having tried twice (timeout + one retry): %u",
	      r.attempts);
	CHECK(strstr(r.err, "no answer within") != NULL, "message: %s",
	      r.err);
	http_resp_release(&r);
	http_free(h);
}

static void test_refused(struct http *h)
{
	struct http_req q = { .method = "GET", .idempotent = 1 };
	struct http_resp r;
	char dead[64];
	int fd = listen_any(), rc;

	/* A port that was just free: nobody listens there any more. */
	snprintf(dead, sizeof(dead), "http://127.0.0.1:%d/x", srv.port);
	close(fd);
	q.url = dead;
	http_resp_init(&r);
	rc = http_do(h, &q, &r);
	CHECK_INT_EQ(-ECONNREFUSED, rc, "no server: ECONNREFUSED");
	CHECK(strstr(r.err, "127.0.0.1") && !strchr(r.err, '?'),
	      "the message names the server: %s", r.err);
	http_resp_release(&r);
}

struct chunks {
	size_t total;
	int stop_after;
};

static int on_chunk(void *arg, const char *data, size_t len)
{
	struct chunks *c = arg;

	(void)data;
	c->total += len;
	if (c->stop_after && c->total >= (size_t)c->stop_after)
		return -ECANCELED;
	return 0;
}

static void test_stream(struct http *h)
{
	static const struct step big[] = { { A_BIG, 0, NULL } };
	struct chunks c = { 0, 0 };
	struct http_req q = { .method = "GET", .url = url, .idempotent = 1,
			      .on_chunk = on_chunk, .arg = &c };
	struct http_resp r;
	int rc;

	http_resp_init(&r);
	script(1, big);
	rc = http_do(h, &q, &r);
	CHECK(rc == 0 && c.total == (2u << 20) && r.body.len == 0,
	      "streaming passes the whole body to the callback, past the "
	      "cap (%zu bytes)", c.total);
	c.total = 0;
	c.stop_after = 1000;
	script(1, big);
	rc = http_do(h, &q, &r);
	CHECK_INT_EQ(-ECANCELED, rc, "a callback that stops ends the call "
		     "with its value");
	http_resp_release(&r);
}

static void *hammer(void *arg)
{
	struct http *h = arg;
	int bad = 0;

	for (int i = 0; i < 25; i++) {
		struct http_resp r;

		http_resp_init(&r);
		if (get(h, "GET", 1, &r) || r.status != 200 || r.body.len != 5)
			bad++;
		http_resp_release(&r);
	}
	return (void *)(long)bad;
}

static void test_threads(struct http *h)
{
	pthread_t t[8];
	long bad = 0;

	script(0, NULL);
	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, hammer, h);
	for (int i = 0; i < 8; i++) {
		void *v;

		pthread_join(t[i], &v);
		bad += (long)v;
	}
	CHECK(bad == 0 && srv.connections <= 8,
	      "8 threads x 25 calls: all answered, over at most 8 "
	      "connections (%d)", srv.connections);
}

static void test_helpers(void)
{
	char out[64];

	CHECK(http_escape(out, sizeof(out), "a b/c~d+é", 1) == 0 &&
	      strcmp(out, "a%20b/c~d%2B%C3%A9") == 0,
	      "escape keeps unreserved bytes and '/' (%s)", out);
	CHECK(http_escape(out, sizeof(out), "a/b", 0) == 0 &&
	      strcmp(out, "a%2Fb") == 0, "escape of a query value: %s", out);
	CHECK_INT_EQ(-ENAMETOOLONG, http_escape(out, 4, "abcd", 1),
		     "escape refuses what does not fit");
	CHECK(http_retry_after("7") == 7, "Retry-After in seconds");
	CHECK(http_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0,
	      "Retry-After as a date in the past: now");
	CHECK(http_retry_after("soon") < 0, "Retry-After that is neither");
}

int main(void)
{
	struct http *h;
	pthread_t t;

	srv.lfd = listen_any();
	if (!CHECK(srv.lfd >= 0, "a loopback server listens"))
		return unit_done();
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/obj?x=1", srv.port);
	pthread_create(&t, NULL, server, NULL);
	test_helpers();
	if (CHECK_INT_EQ(0, http_new(&h, NULL), "a client")) {
		test_plain(h);
		test_put_body(h);
		test_retries(h);
		test_stream(h);
		test_threads(h);
		test_refused(h);
		http_free(h);
	}
	test_limits();
	__atomic_store_n(&srv.stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(t, NULL);
	close(srv.lfd);
	return unit_done();
}
