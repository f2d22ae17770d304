/* tests/unit/test-quota.c: the per-user disk quota of core/run/run_quota.c on
 * a real state folder: what files and folders are charged, what a start-up
 * finds (records, cache entries in the order of their last use, a half
 * stored entry), eviction of the least recently used entry, a pinned entry
 * that is never evicted, the message when nothing more can go, and an
 * entry replaced. */
#include "core/run/engine_int.h"
#include "core/util/config.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KB 1024ull

static char state[256];

static void put(const char *path, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	static const char zero[4096];

	if (fd < 0) {
		printf("not ok - cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
	while (len) {
		size_t n = len < sizeof(zero) ? len : sizeof(zero);

		if (write(fd, zero, n) != (ssize_t)n)
			exit(1);
		len -= n;
	}
	close(fd);
}

static void mkdirs(const char *path)
{
	char p[512];

	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++) {
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0700);
			*s = '/';
		}
	}
	mkdir(p, 0700);
}

static int exists(const char *rel)
{
	char p[600];

	snprintf(p, sizeof(p), "%s/%s", state, rel);
	return access(p, F_OK) == 0;
}

/* A cache entry of user u: its folder and a file of `len` bytes, last
 * used at `when` (seconds since the epoch). */
static void entry(char key_hex, size_t len, time_t when)
{
	struct timespec t[2] = { { when, 0 }, { when, 0 } };
	char dir[512], file[600];

	snprintf(dir, sizeof(dir), "%s/cache/u/", state);
	memset(dir + strlen(dir), key_hex, 64);
	dir[strlen(state) + 9 + 64] = '\0';
	mkdirs(dir);
	snprintf(file, sizeof(file), "%s/outputs.json", dir);
	put(file, len);
	utimensat(AT_FDCWD, dir, t, 0);
}

static void key_of(char hex, uint8_t key[SHA256_LEN])
{
	unsigned v = hex <= '9' ? (unsigned)(hex - '0') :
		     (unsigned)(hex - 'a' + 10);

	memset(key, (int)(v << 4 | v), SHA256_LEN);
}

static void test_charge(void)
{
	char dir[300], p[400];
	struct du du = { 0, 0, 0 };
	int fd;

	CHECK_INT_EQ(4096, du_charge(0), "an empty file costs a block");
	CHECK_INT_EQ(4096, du_charge(1), "one byte costs a block");
	CHECK_INT_EQ(4096, du_charge(4096), "4096 bytes cost a block");
	CHECK_INT_EQ(8192, du_charge(4097), "4097 bytes cost two");

	snprintf(dir, sizeof(dir), "%s/tree", state);
	mkdirs(dir);
	snprintf(p, sizeof(p), "%s/a", dir);
	put(p, 5000);
	snprintf(p, sizeof(p), "%s/empty", dir);
	put(p, 0);
	snprintf(p, sizeof(p), "%s/sub", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/link", dir);
	if (symlink("/etc", p))
		exit(1);
	fd = open(state, O_RDONLY | O_DIRECTORY);
	CHECK_INT_EQ(0, du_tree(fd, "tree", SIZE_MAX, &du), "du_tree");
	CHECK_INT_EQ(6 * 4096, du.charge,
		     "folder, 5000 bytes (2 blocks), empty file, subfolder, "
		     "link: 6 blocks, the link not followed");
	CHECK_INT_EQ(5000, du.bytes, "bytes count regular files only");
	CHECK_INT_EQ(5, du.entries, "five entries");
	memset(&du, 0, sizeof(du));
	CHECK_INT_EQ(-EFBIG, du_tree(fd, "tree", 2, &du),
		     "du_tree stops after max_entries");
	memset(&du, 0, sizeof(du));
	CHECK_INT_EQ(0, du_tree(fd, "nothing", SIZE_MAX, &du),
		     "a missing tree costs nothing");
	CHECK_INT_EQ(0, du.charge, "nothing: 0 bytes");
	close(fd);
}

static int open_engine(struct engine **e, struct config *cfg)
{
	int rc = engine_new(e, cfg, NULL, NULL);

	CHECK_INT_EQ(0, rc, "engine_new on the state folder");
	return rc;
}

static void test_cache(void)
{
	struct config cfg;
	struct engine *e;
	struct quser *qu;
	struct centry *ce;
	uint8_t k1[SHA256_LEN], k2[SHA256_LEN], k3[SHA256_LEN];
	char p[400], msg[512];
	int rc;

	config_init(&cfg);
	free(cfg.state_dir);
	cfg.state_dir = strdup(state);
	cfg.jobs = 1;
	cfg.user_quota_mb = 1;

	/* a finished record of 104 KiB, three entries of 300 KiB, a half-stored one */
	snprintf(p, sizeof(p), "%s/runs/u/r1", state);
	mkdirs(p);
	snprintf(p, sizeof(p), "%s/runs/u/r1/graph.json", state);
	put(p, 96 * KB);
	snprintf(p, sizeof(p), "%s/runs/u/r1/status", state);
	{
		int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0 || write(fd, "succeeded\n", 10) != 10)
			exit(1);
		close(fd);
	}
	entry('1', 300 * KB, 2000000000);
	entry('2', 300 * KB, 1000000000);	/* used longest ago */
	entry('3', 300 * KB, 2100000000);	/* most recently */
	snprintf(p, sizeof(p), "%s/cache/u/.tmp-7", state);
	mkdirs(p);
	key_of('1', k1);
	key_of('2', k2);
	key_of('3', k3);

	if (open_engine(&e, &cfg))
		goto out_cfg;
	pthread_mutex_lock(&e->mu);
	qu = quota_user(e, "u");
	CHECK_INT_EQ(104 * KB, qu->records,
		     "start-up: the record is its folder and two files");
	CHECK_INT_EQ(3 * 304 * KB, qu->cache,
		     "start-up: three entries of a folder and 300 KiB");
	CHECK(!exists("cache/u/.tmp-7"),
	      "start-up removes an entry that was being stored");
	CHECK(qu->oldest && !memcmp(qu->oldest->key, k2, SHA256_LEN) &&
	      !memcmp(qu->newest->key, k3, SHA256_LEN),
	      "the order of use comes from the entries' mtimes");

	/* 8 (user folders) + 104 + 912 + 100 > 1024: the oldest goes */
	rc = quota_reserve(e, qu, 100 * KB, "x", msg, sizeof(msg));
	CHECK_INT_EQ(0, rc, "100 KiB fit once the oldest entry is evicted");
	CHECK(!exists("cache/u/2222222222222222222222222222222222222222222222"
		      "222222222222222222"), "the least recently used is gone");
	CHECK(exists("cache/u/1111111111111111111111111111111111111111111111"
		     "111111111111111111"), "the others stay");
	CHECK_INT_EQ(2 * 304 * KB, qu->cache, "the cache shrank by it");
	CHECK_INT_EQ(100 * KB, qu->held, "the reservation is held");

	/* a hit makes entry 1 the newest and, pinned, it cannot go */
	ce = cache_find(e, qu, k1);
	CHECK(ce && qu->newest == ce, "a hit makes the entry the newest");
	if (ce)
		ce->pins++;
	rc = quota_reserve(e, qu, 700 * KB, "out/", msg, sizeof(msg));
	CHECK_INT_EQ(-EDQUOT, rc, "700 KiB more cannot fit");
	CHECK(strstr(msg, "disk quota of 1 MB for u's runs and cache "
		     "exceeded: 0.7 MB more for out/") &&
	      strstr(msg, "records use 0.1 MB: remove old runs with rm -r "
		     "run/<name>"), "the message says what, how much, and "
	      "what to do (%s)", msg);
	CHECK(exists("cache/u/1111111111111111111111111111111111111111111111"
		     "111111111111111111"), "the pinned entry stays");
	CHECK(!exists("cache/u/3333333333333333333333333333333333333333333333"
		      "333333333333333333"),
	      "the unpinned one was evicted trying");
	CHECK_INT_EQ(100 * KB, qu->held, "a refusal holds nothing more");
	if (ce)
		ce->pins--;
	quota_unhold(qu, 100 * KB);
	CHECK_INT_EQ(0, qu->held, "quota_unhold gives it back");

	/* an entry stored again replaces its charge */
	CHECK_INT_EQ(0, cache_put(e, qu, k1, 40 * KB), "cache_put replaces");
	CHECK_INT_EQ(40 * KB, qu->cache, "with the new charge");
	CHECK_INT_EQ(0, cache_put(e, qu, k2, 8 * KB), "cache_put adds");
	CHECK(!memcmp(qu->newest->key, k2, SHA256_LEN),
	      "a new entry is the newest");
	CHECK(cache_find(e, qu, k3) == NULL, "an evicted key is not found");
	pthread_mutex_unlock(&e->mu);
	engine_free(e);

	/* unlimited: nothing is evicted, whatever is asked */
	cfg.user_quota_mb = 0;
	if (open_engine(&e, &cfg))
		goto out_cfg;
	pthread_mutex_lock(&e->mu);
	qu = quota_user(e, "u");
	CHECK_INT_EQ(0, quota_reserve(e, qu, 1ull << 40, "x", msg,
				      sizeof(msg)),
		     "user_quota_mb = 0: 1 TiB fits");
	CHECK(exists("cache/u/1111111111111111111111111111111111111111111111"
		     "111111111111111111"), "and no entry was evicted");
	pthread_mutex_unlock(&e->mu);
	engine_free(e);
out_cfg:
	config_release(&cfg);
}

int main(void)
{
	unit_tmpdir(state, sizeof(state), "quota");
	test_charge();
	test_cache();
	unit_rm_rf(state);
	return unit_done();
}
