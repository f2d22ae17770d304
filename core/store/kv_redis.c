/* core/store/kv_redis.c: the key-value store on Redis (kv.h), the only
 * file that includes hiredis.h.
 *
 * One connection, used by one thread at a time (a mutex): the calls are
 * single short commands. Connecting and every command have a timeout
 * (redisSetTimeout); when a call fails on the connection (Redis stopped,
 * restarted, a network cut) the connection is dropped and the next call
 * makes a new one, so the daemon reconnects by itself. A call whose
 * command may be repeated safely (all but RPUSH) is tried once more on a
 * fresh connection when the old one turns out to be broken, which is what
 * a connection left idle across a restart of Redis looks like. While
 * Redis stays down, attempts to connect are made at most every 200 ms;
 * calls in between fail at once.
 *
 * The URL is redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] (percent-escapes
 * allowed in USER and PASSWORD); the password is sent with AUTH and
 * never appears in a message.
 */
#include "core/store/kv.h"
#include "core/util/log.h"

#include <hiredis/hiredis.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RETRY_CONNECT_S 0.2
#define ARGS_MAX 4

/* kv.h's compare-and-swap in one script, which Redis runs atomically.
 * ARGV: "1" when an old value is given, the old value, the new one. A
 * missing key reads as false, equal to no string. */
static const char cas_script[] =
	"local cur = redis.call('GET', KEYS[1])\n"
	"if cur == ARGV[3] then return 1 end\n"
	"if ARGV[1] == '1' then\n"
	"  if cur ~= ARGV[2] then return 0 end\n"
	"elseif cur then return 0 end\n"
	"redis.call('SET', KEYS[1], ARGV[3])\n"
	"return 1\n";

struct kv_redis {
	struct kv kv;			/* first: kv.h */
	pthread_mutex_t mu;
	redisContext *c;
	char host[256];
	int port;
	char user[128];
	char password[256];
	int db;
	struct timeval tv;
	double last_fail;		/* when connecting last failed */
	int down_logged;
};

static struct kv_redis *redis_of(struct kv *kv)
{
	return (struct kv_redis *)kv;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- the URL --------------------------------------------------------------- */

static int unescape(char *out, size_t cap, const char *s, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%' && i + 2 < n &&
		    isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2])) {
			char h[3] = { s[i + 1], s[i + 2], 0 };

			c = (char)strtol(h, NULL, 16);
			i += 2;
		}
		if (k + 1 >= cap)
			return -1;
		out[k++] = c;
	}
	out[k] = '\0';
	return 0;
}

static int parse_url(struct kv_redis *r, const char *url, char *err,
		     size_t errlen)
{
	const char *p, *at, *host, *end, *colon;
	char port[16];

	if (strncmp(url, "redis://", 8) != 0) {
		snprintf(err, errlen, "redis_url: '%.40s...' is not a "
			 "redis://[[user]:password@]host[:port][/db] URL%s",
			 url, strncmp(url, "rediss://", 9) == 0 ?
			 " (TLS, rediss://, is not supported by this build)" :
			 "");
		return -EINVAL;
	}
	p = url + 8;
	end = p + strcspn(p, "/");
	at = memchr(p, '@', (size_t)(end - p));
	host = p;
	if (at) {
		colon = memchr(p, ':', (size_t)(at - p));
		if (colon) {
			if (unescape(r->user, sizeof(r->user), p,
				     (size_t)(colon - p)) ||
			    unescape(r->password, sizeof(r->password),
				     colon + 1, (size_t)(at - colon - 1)))
				goto bad;
		} else if (unescape(r->password, sizeof(r->password), p,
				    (size_t)(at - p))) {
			goto bad;
		}
		host = at + 1;
	}
	colon = memchr(host, ':', (size_t)(end - host));
	if ((size_t)((colon ? colon : end) - host) >= sizeof(r->host) ||
	    (colon ? colon : end) == host)
		goto bad;
	memcpy(r->host, host, (size_t)((colon ? colon : end) - host));
	r->port = 6379;
	if (colon) {
		char *e;
		long v;

		if ((size_t)(end - colon - 1) >= sizeof(port))
			goto bad;
		memcpy(port, colon + 1, (size_t)(end - colon - 1));
		port[end - colon - 1] = '\0';
		v = strtol(port, &e, 10);
		if (*e || e == port || v < 1 || v > 65535)
			goto bad;
		r->port = (int)v;
	}
	if (*end == '/' && end[1]) {
		char *e;
		long v = strtol(end + 1, &e, 10);

		if (*e || v < 0 || v > 1000000)
			goto bad;
		r->db = (int)v;
	}
	return 0;
bad:
	snprintf(err, errlen, "redis_url: not a redis://[[user]:password@]"
		 "host[:port][/db] URL (host '%.60s')", r->host);
	return -EINVAL;
}

/* --- the connection ---------------------------------------------------------- */

static int conn_fail(struct kv_redis *r, const char *what)
{
	int rc = -EIO;

	if (r->c && r->c->err == REDIS_ERR_IO &&
	    (errno == EAGAIN || errno == EWOULDBLOCK))
		rc = -EAGAIN;
	kv_set_error("%s at %s:%d: %s%s", r->kv.where, r->host, r->port, what,
		     rc == -EAGAIN ? " (no answer in time)" : "");
	if (r->c) {
		redisFree(r->c);
		r->c = NULL;
	}
	return rc;
}

/* One command on the connection, which exists; the reply or NULL. */
static redisReply *command(struct kv_redis *r, int argc, const char **argv,
			   const size_t *len)
{
	return redisCommandArgv(r->c, argc, argv, len);
}

/* A reply that is an error: its message kept, -EINVAL. */
static int reply_error(struct kv_redis *r, redisReply *rep)
{
	kv_set_error("%s at %s:%d: %.*s", r->kv.where, r->host, r->port,
		     (int)(rep->len > 200 ? 200 : rep->len), rep->str);
	return -EINVAL;
}

/* AUTH and SELECT on a new connection. */
static int conn_setup(struct kv_redis *r)
{
	redisReply *rep = NULL;
	char db[16];
	int rc = 0;

	if (r->password[0]) {
		const char *av[3] = { "AUTH", r->user, r->password };
		size_t al[3] = { 4, strlen(r->user), strlen(r->password) };

		if (r->user[0])
			rep = command(r, 3, av, al);
		else
			rep = command(r, 2, (const char *[]){ "AUTH",
					      r->password },
				      (const size_t[]){ 4, al[2] });
		if (!rep)
			return conn_fail(r, "authenticating failed");
		if (rep->type == REDIS_REPLY_ERROR) {
			kv_set_error("%s at %s:%d refused the password: %.*s",
				     r->kv.where, r->host, r->port,
				     (int)(rep->len > 120 ? 120 : rep->len),
				     rep->str);
			rc = -EACCES;
		}
		freeReplyObject(rep);
	}
	if (!rc && r->db) {
		snprintf(db, sizeof(db), "%d", r->db);
		rep = command(r, 2, (const char *[]){ "SELECT", db },
			      (const size_t[]){ 6, strlen(db) });
		if (!rep)
			return conn_fail(r, "selecting the database failed");
		if (rep->type == REDIS_REPLY_ERROR)
			rc = reply_error(r, rep);
		freeReplyObject(rep);
	}
	if (rc) {
		redisFree(r->c);
		r->c = NULL;
	}
	return rc;
}

static int conn_get(struct kv_redis *r)
{
	double t = now();
	int rc;

	if (r->c)
		return 0;
	if (r->last_fail && t - r->last_fail < RETRY_CONNECT_S) {
		kv_set_error("%s at %s:%d is unreachable (retrying)",
			     r->kv.where, r->host, r->port);
		return -EIO;
	}
	r->c = redisConnectWithTimeout(r->host, r->port, r->tv);
	if (!r->c || r->c->err) {
		char why[160];

		snprintf(why, sizeof(why), "cannot connect: %s",
			 r->c ? r->c->errstr : "out of memory");
		r->last_fail = now();
		if (!r->down_logged)
			log_warn("redis %s:%d: %s", r->host, r->port, why);
		r->down_logged = 1;
		rc = conn_fail(r, why);
		return rc == -EAGAIN ? -EIO : rc;
	}
	redisSetTimeout(r->c, r->tv);
	redisEnableKeepAlive(r->c);
	rc = conn_setup(r);
	if (rc) {
		r->last_fail = now();
		return rc;
	}
	if (r->down_logged)
		log_info("redis %s:%d: connected again", r->host, r->port);
	r->down_logged = 0;
	r->last_fail = 0;
	return 0;
}

/* Run one command and hand its reply to `take` (with r->mu held); a
 * broken connection is replaced and, when `retry`, the command sent once
 * more. */
static int call(struct kv_redis *r, int retry, int argc, const char **argv,
		const size_t *len,
		int (*take)(struct kv_redis *r, redisReply *rep, void *arg),
		void *arg)
{
	redisReply *rep;
	int rc, fresh;

	pthread_mutex_lock(&r->mu);
	for (int attempt = 0;; attempt++) {
		fresh = r->c == NULL;
		rc = conn_get(r);
		if (rc)
			break;
		rep = command(r, argc, argv, len);
		if (rep) {
			rc = rep->type == REDIS_REPLY_ERROR ?
			     reply_error(r, rep) : take(r, rep, arg);
			freeReplyObject(rep);
			break;
		}
		rc = conn_fail(r, r->c->errstr[0] ? r->c->errstr :
			       "the connection failed");
		/* A connection made for this call failing is Redis going
		 * away now: not worth another. */
		if (!retry || fresh || attempt || rc == -EAGAIN)
			break;
	}
	pthread_mutex_unlock(&r->mu);
	return rc;
}

/* --- replies ---------------------------------------------------------------- */

static int want(struct kv_redis *r, redisReply *rep, int type)
{
	if (rep->type == type)
		return 0;
	kv_set_error("%s at %s:%d: unexpected reply of type %d", r->kv.where,
		     r->host, r->port, rep->type);
	return -EIO;
}

static int take_string(struct kv_redis *r, redisReply *rep, void *arg)
{
	if (rep->type == REDIS_REPLY_NIL)
		return -ENOENT;
	if (want(r, rep, REDIS_REPLY_STRING))
		return -EIO;
	return buf_append(arg, rep->str, rep->len);
}

static int take_set(struct kv_redis *r, redisReply *rep, void *arg)
{
	(void)arg;
	if (rep->type == REDIS_REPLY_NIL)
		return -EEXIST;		/* SET NX that did not set */
	return want(r, rep, REDIS_REPLY_STATUS);
}

static int take_int(struct kv_redis *r, redisReply *rep, void *arg)
{
	if (want(r, rep, REDIS_REPLY_INTEGER))
		return -EIO;
	if (arg)
		*(uint64_t *)arg = rep->integer < 0 ? 0 :
				   (uint64_t)rep->integer;
	return 0;
}

struct walk {
	kv_item_cb cb;
	void *arg;
};

static int take_array(struct kv_redis *r, redisReply *rep, void *arg)
{
	struct walk *w = arg;

	if (want(r, rep, REDIS_REPLY_ARRAY))
		return -EIO;
	for (size_t i = 0; i < rep->elements; i++) {
		redisReply *e = rep->element[i];
		int rc;

		if (e->type != REDIS_REPLY_STRING)
			continue;
		rc = w->cb(w->arg, e->str, e->len);
		if (rc)
			return rc;
	}
	return 0;
}

/* --- operations ---------------------------------------------------------- */

static int key_ok(const char *key)
{
	size_t n = strlen(key);

	if (n == 0 || n > KV_KEY_MAX) {
		kv_set_error("key of %zu bytes (1 to %d)", n, KV_KEY_MAX);
		return -EINVAL;
	}
	return 0;
}

static int redis_get(struct kv *kv, const char *key, struct buf *out)
{
	const char *av[] = { "GET", key };
	size_t al[] = { 3, strlen(key) };

	return key_ok(key) ? -EINVAL :
	       call(redis_of(kv), 1, 2, av, al, take_string, out);
}

static int redis_set(struct kv *kv, const char *key, const void *v,
		     size_t len, unsigned flags)
{
	const char *av[] = { "SET", key, v, "NX" };
	size_t al[] = { 3, strlen(key), len, 2 };

	return key_ok(key) ? -EINVAL :
	       call(redis_of(kv), !(flags & KV_NX), flags & KV_NX ? 4 : 3,
		    av, al, take_set, NULL);
}

static int redis_del(struct kv *kv, const char *key)
{
	const char *av[] = { "DEL", key };
	size_t al[] = { 3, strlen(key) };

	return key_ok(key) ? -EINVAL :
	       call(redis_of(kv), 1, 2, av, al, take_int, NULL);
}

static int redis_rpush(struct kv *kv, const char *key, const void *v,
		       size_t len)
{
	const char *av[] = { "RPUSH", key, v };
	size_t al[] = { 5, strlen(key), len };

	return key_ok(key) ? -EINVAL :
	       call(redis_of(kv), 0, 3, av, al, take_int, NULL);
}

static int redis_llen(struct kv *kv, const char *key, uint64_t *out)
{
	const char *av[] = { "LLEN", key };
	size_t al[] = { 4, strlen(key) };

	*out = 0;
	return key_ok(key) ? -EINVAL :
	       call(redis_of(kv), 1, 2, av, al, take_int, out);
}

static int redis_lrange(struct kv *kv, const char *key, int64_t start,
			int64_t stop, kv_item_cb cb, void *arg)
{
	char a[24], b[24];
	const char *av[] = { "LRANGE", key, a, b };
	size_t al[4];
	struct walk w = { cb, arg };

	snprintf(a, sizeof(a), "%lld", (long long)start);
	snprintf(b, sizeof(b), "%lld", (long long)stop);
	al[0] = 6;
	al[1] = strlen(key);
	al[2] = strlen(a);
	al[3] = strlen(b);
	return key_ok(key) ? -EINVAL :
	       call(redis_of(kv), 1, 4, av, al, take_array, &w);
}

static int redis_set_op(struct kv *kv, const char *cmd, const char *key,
			const char *member)
{
	const char *av[] = { cmd, key, member };
	size_t al[] = { 4, strlen(key), strlen(member) };

	return key_ok(key) ? -EINVAL :
	       call(redis_of(kv), 1, 3, av, al, take_int, NULL);
}

static int redis_sadd(struct kv *kv, const char *key, const char *member)
{
	return redis_set_op(kv, "SADD", key, member);
}

static int redis_srem(struct kv *kv, const char *key, const char *member)
{
	return redis_set_op(kv, "SREM", key, member);
}

static int redis_smembers(struct kv *kv, const char *key, kv_item_cb cb,
			  void *arg)
{
	const char *av[] = { "SMEMBERS", key };
	size_t al[] = { 8, strlen(key) };
	struct walk w = { cb, arg };

	return key_ok(key) ? -EINVAL :
	       call(redis_of(kv), 1, 2, av, al, take_array, &w);
}

static int take_cas(struct kv_redis *r, redisReply *rep, void *arg)
{
	(void)arg;
	if (want(r, rep, REDIS_REPLY_INTEGER))
		return -EIO;
	return rep->integer == 1 ? 0 : -ESTALE;
}

/* EVAL each time rather than EVALSHA: no script cache to miss after a
 * restart of Redis, and the script is a few hundred bytes. */
static int redis_cas(struct kv *kv, const char *key, const void *old,
		     size_t oldlen, const void *v, size_t len)
{
	const char *av[] = { "EVAL", cas_script, "1", key, old ? "1" : "0",
			     old ? old : "", v };
	size_t al[] = { 4, sizeof(cas_script) - 1, 1, strlen(key), 1,
			old ? oldlen : 0, len };

	/* Safe to send again: a swap already made answers 0 (kv.h). */
	return key_ok(key) ? -EINVAL :
	       call(redis_of(kv), 1, 7, av, al, take_cas, NULL);
}

static void redis_free(struct kv *kv)
{
	struct kv_redis *r = redis_of(kv);

	if (r->c)
		redisFree(r->c);
	pthread_mutex_destroy(&r->mu);
	memset(r->password, 0, sizeof(r->password));
	free(r);
}

static const struct kv_ops redis_ops = {
	.name = "redis",
	.get = redis_get,
	.set = redis_set,
	.del = redis_del,
	.rpush = redis_rpush,
	.llen = redis_llen,
	.lrange = redis_lrange,
	.sadd = redis_sadd,
	.srem = redis_srem,
	.smembers = redis_smembers,
	.cas = redis_cas,
	.free = redis_free,
};

int kv_redis_open(struct kv **out, const char *url, double timeout,
		  char *err, size_t errlen)
{
	struct kv_redis *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return -ENOMEM;
	rc = parse_url(r, url, err, errlen);
	if (rc) {
		free(r);
		return rc;
	}
	if (timeout <= 0)
		timeout = 2;
	r->tv.tv_sec = (time_t)timeout;
	r->tv.tv_usec = (suseconds_t)((timeout - (double)r->tv.tv_sec) * 1e6);
	pthread_mutex_init(&r->mu, NULL);
	r->kv.ops = &redis_ops;
	snprintf(r->kv.where, sizeof(r->kv.where), "redis");
	*out = &r->kv;
	log_info("sessions in redis at %s:%d (db %d)", r->host, r->port,
		 r->db);
	return 0;
}
