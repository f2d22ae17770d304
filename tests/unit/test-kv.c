/* tests/unit/test-kv.c: the key-value store (core/store/kv.h), both
 * backends through the same checks: files in a temporary folder, and a
 * real redis-server started on a free loopback port (skipped, saying so,
 * when none is installed). Then what a dead Redis does: calls fail
 * promptly, and succeed again by themselves once it is back. */
#include "core/store/kv.h"
#include "unit.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>

#define REDIS_SERVER "/usr/bin/redis-server"

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct collect {
	char all[4096];
	size_t n;
};

static int collect_one(void *arg, const char *data, size_t len)
{
	struct collect *c = arg;

	if (c->n + len + 2 < sizeof(c->all)) {
		memcpy(c->all + c->n, data, len);
		c->n += len;
		c->all[c->n++] = '|';
		c->all[c->n] = '\0';
	}
	return 0;
}

/* Sets are unordered: the test's members are one letter each. */
static int has_member(const struct collect *c, const char *m)
{
	char want[8];

	snprintf(want, sizeof(want), "%s|", m);
	return strstr(c->all, want) != NULL;
}

static void suite(struct kv *kv, const char *name)
{
	struct collect c = { "", 0 };
	struct buf b;
	uint64_t n = 99;
	static const char bin[] = "a\0b\nc";

	buf_init(&b, 1 << 20);
	CHECK_INT_EQ(-ENOENT, kv_get(kv, "t:none", &b),
		     "%s: a missing string is ENOENT", name);
	CHECK_INT_EQ(0, kv_set(kv, "t:s", bin, sizeof(bin) - 1, 0),
		     "%s: set", name);
	CHECK(kv_get(kv, "t:s", &b) == 0 &&
	      b.len == sizeof(bin) - 1 && memcmp(b.data, bin, b.len) == 0,
	      "%s: get gives the bytes back, NUL and newline included", name);
	CHECK_INT_EQ(-EEXIST, kv_set(kv, "t:s", "x", 1, KV_NX),
		     "%s: set NX of an existing key is EEXIST", name);
	CHECK_INT_EQ(0, kv_set(kv, "t:nx", "x", 1, KV_NX),
		     "%s: set NX of a new key", name);
	buf_resize(&b, 0);
	b.cap = 2;
	CHECK_INT_EQ(-EFBIG, kv_get(kv, "t:s", &b),
		     "%s: a value over the caller's cap is EFBIG", name);
	b.cap = 1 << 20;

	CHECK(kv_llen(kv, "t:l", &n) == 0 && n == 0,
	      "%s: a missing list is empty", name);
	kv_rpush(kv, "t:l", "one", 3);
	kv_rpush(kv, "t:l", "", 0);
	kv_rpush(kv, "t:l", "3\n3", 3);
	CHECK(kv_llen(kv, "t:l", &n) == 0 && n == 3,
	      "%s: rpush appends, llen counts", name);
	CHECK(kv_lrange(kv, "t:l", 0, -1, collect_one, &c) == 0 &&
	      strcmp(c.all, "one||3\n3|") == 0,
	      "%s: lrange 0 -1 gives them in order: %s", name, c.all);
	c.n = 0;
	c.all[0] = '\0';
	CHECK(kv_lrange(kv, "t:l", 1, 1, collect_one, &c) == 0 &&
	      strcmp(c.all, "|") == 0, "%s: lrange 1 1 is the empty "
	      "element", name);
	c.n = 0;
	c.all[0] = '\0';
	CHECK(kv_lrange(kv, "t:l", -1, 10, collect_one, &c) == 0 &&
	      strcmp(c.all, "3\n3|") == 0, "%s: lrange -1 10 is the last",
	      name);

	kv_sadd(kv, "t:set", "a");
	kv_sadd(kv, "t:set", "b");
	kv_sadd(kv, "t:set", "a");
	kv_sadd(kv, "t:set", "c");
	kv_srem(kv, "t:set", "b");
	kv_srem(kv, "t:set", "zz");
	c.n = 0;
	c.all[0] = '\0';
	CHECK(kv_smembers(kv, "t:set", collect_one, &c) == 0 && c.n == 4 &&
	      has_member(&c, "a") && has_member(&c, "c"),
	      "%s: a set holds each member once, less those removed: %s",
	      name, c.all);

	CHECK(kv_del(kv, "t:l") == 0 && kv_llen(kv, "t:l", &n) == 0 && n == 0,
	      "%s: del removes a list", name);
	CHECK(kv_del(kv, "t:s") == 0 && kv_get(kv, "t:s", &b) == -ENOENT,
	      "%s: del removes a string", name);
	CHECK_INT_EQ(0, kv_del(kv, "t:never"), "%s: del of nothing is 0",
		     name);
	kv_del(kv, "t:set");
	kv_del(kv, "t:nx");

	CHECK_INT_EQ(-ESTALE, kv_cas(kv, "t:head", "a", 1, "b", 1),
		     "%s: cas from a value of a missing key is ESTALE", name);
	CHECK_INT_EQ(0, kv_cas(kv, "t:head", NULL, 0, "a\0", 2),
		     "%s: cas from nothing makes the key", name);
	CHECK_INT_EQ(-ESTALE, kv_cas(kv, "t:head", NULL, 0, "c", 1),
		     "%s: cas from nothing of an existing key is ESTALE",
		     name);
	CHECK_INT_EQ(-ESTALE, kv_cas(kv, "t:head", "a", 1, "c", 1),
		     "%s: cas from another value is ESTALE (bytes, NUL "
		     "included)", name);
	CHECK_INT_EQ(0, kv_cas(kv, "t:head", "a\0", 2, "b", 1),
		     "%s: cas from the value swaps", name);
	CHECK_INT_EQ(0, kv_cas(kv, "t:head", "a\0", 2, "b", 1),
		     "%s: the same swap again (a retry) is 0", name);
	buf_resize(&b, 0);
	CHECK(kv_get(kv, "t:head", &b) == 0 && b.len == 1 && b.data[0] == 'b',
	      "%s: and the key holds the new value", name);
	kv_del(kv, "t:head");
	buf_release(&b);
}

static void test_local(void)
{
	char dir[128], sub[512];
	struct kv *kv;
	struct buf b;
	uint64_t n = 0;

	unit_tmpdir(dir, sizeof(dir), "kv");
	snprintf(sub, sizeof(sub), "%s/kv", dir);
	if (!CHECK_INT_EQ(0, kv_local_open(&kv, sub), "a local store"))
		return;
	suite(kv, "local");
	/* What survives a restart, and a torn last element. */
	kv_rpush(kv, "session:x:messages", "{\"role\":\"user\"}", 16);
	kv_set(kv, "session:x", "{}", 2, 0);
	kv_free(kv);
	{
		char path[600];
		FILE *f;

		snprintf(path, sizeof(path), "%s/list/session%%3Ax%%3Amessages",
			 sub);
		f = fopen(path, "a");
		CHECK(f != NULL, "the list is a file named from its key");
		if (f) {
			fputs("100\n{\"role\":", f);	/* a crash mid-write */
			fclose(f);
		}
	}
	if (!CHECK_INT_EQ(0, kv_local_open(&kv, sub), "opened again"))
		return;
	buf_init(&b, 1 << 20);
	CHECK(kv_get(kv, "session:x", &b) == 0 && b.len == 2,
	      "a string outlives the store's closing");
	CHECK(kv_llen(kv, "session:x:messages", &n) == 0 && n == 1,
	      "a list too, and a torn last element is ignored");
	buf_release(&b);
	kv_free(kv);
	unit_rm_rf(dir);
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a)) &&
	    !getsockname(fd, (struct sockaddr *)&a, &len))
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static pid_t redis_start(int port, const char *dir)
{
	char p[16];
	pid_t pid;

	snprintf(p, sizeof(p), "%d", port);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execl(REDIS_SERVER, REDIS_SERVER, "--port", p, "--bind",
		      "127.0.0.1", "--save", "", "--appendonly", "no",
		      "--dir", dir, (char *)NULL);
		_exit(127);
	}
	/* Ready when it answers. */
	for (int i = 0; i < 100 && pid > 0; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET };
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		a.sin_port = htons((uint16_t)port);
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
			close(fd);
			return pid;
		}
		close(fd);
		usleep(50 * 1000);
	}
	return -1;
}

static void redis_stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void test_redis(void)
{
	char url[64], err[256], dir[128];
	struct kv *kv;
	struct buf b;
	double t0, took;
	int port = free_port(), rc;
	pid_t pid;

	if (access(REDIS_SERVER, X_OK)) {
		unit_note("skip: no %s (scripts/install-deps installs it)",
			  REDIS_SERVER);
		return;
	}
	unit_tmpdir(dir, sizeof(dir), "redis");
	pid = redis_start(port, dir);
	if (!CHECK(pid > 0, "a redis-server on port %d", port))
		goto out;
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d/2", port);
	if (!CHECK_INT_EQ(0, kv_redis_open(&kv, url, 1, err, sizeof(err)),
			  "a redis store"))
		goto out_stop;
	suite(kv, "redis");
	{
		struct kv *kv2;

		/* Two connections, as two hosts: one swap wins. */
		if (CHECK_INT_EQ(0, kv_redis_open(&kv2, url, 1, err,
						  sizeof(err)),
				 "a second redis store")) {
			kv_set(kv, "t:race", "1", 1, 0);
			CHECK(kv_cas(kv, "t:race", "1", 1, "A", 1) == 0 &&
			      kv_cas(kv2, "t:race", "1", 1, "B", 1) ==
				      -ESTALE,
			      "redis: of two hosts swapping from one value, "
			      "the second is ESTALE");
			kv_del(kv, "t:race");
			kv_free(kv2);
		}
	}

	buf_init(&b, 1 << 20);
	kv_set(kv, "t:alive", "1", 1, 0);
	redis_stop(pid);
	t0 = mono();
	rc = kv_get(kv, "t:alive", &b);
	took = mono() - t0;
	CHECK(rc == -EIO || rc == -EAGAIN, "redis stopped: a call fails "
	      "with EIO or EAGAIN (%d)", rc);
	CHECK(took < 1.5, "promptly (%.3f s)", took);
	CHECK(strstr(kv_error(), "127.0.0.1") != NULL,
	      "saying where: %s", kv_error());
	pid = redis_start(port, dir);
	if (!CHECK(pid > 0, "redis started again"))
		goto out_free;
	usleep(250 * 1000);	/* past the pause between connections */
	buf_resize(&b, 0);
	CHECK(kv_set(kv, "t:back", "2", 1, 0) == 0 &&
	      kv_get(kv, "t:back", &b) == 0 && b.len == 1,
	      "and the store connects again by itself: %s", kv_error());
	/* A Redis that hangs: the command's timeout. */
	kill(pid, SIGSTOP);
	t0 = mono();
	rc = kv_get(kv, "t:back", &b);
	took = mono() - t0;
	kill(pid, SIGCONT);
	CHECK(rc == -EAGAIN && took < 2.5, "a Redis that does not answer: "
	      "EAGAIN after the 1 s timeout (%d after %.2f s)", rc, took);
	usleep(250 * 1000);
	buf_resize(&b, 0);
	CHECK(kv_get(kv, "t:back", &b) == 0,
	      "and it answers again when Redis does: %s", kv_error());
	/* A connection left broken across a restart: the next call goes
	 * through all the same. */
	redis_stop(pid);
	pid = redis_start(port, dir);
	buf_resize(&b, 0);
	CHECK(pid > 0 && kv_set(kv, "t:again", "3", 1, 0) == 0,
	      "a restart between two calls is not seen: %s", kv_error());
	kv_free(kv);
	CHECK(kv_redis_open(&kv, "redis://127.0.0.1:99999", 1, err,
			    sizeof(err)) == -EINVAL && strstr(err, "redis_url"),
	      "a bad URL is refused: %s", err);
	CHECK(kv_redis_open(&kv, "rediss://h", 1, err, sizeof(err)) ==
	      -EINVAL && strstr(err, "TLS"), "TLS says so: %s", err);
	buf_release(&b);
	goto out_stop;
out_free:
	kv_free(kv);
	buf_release(&b);
out_stop:
	if (pid > 0)
		redis_stop(pid);
out:
	unit_rm_rf(dir);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_local();
	test_redis();
	return unit_done();
}
