/* tests/unit/test-blob-local.c: the local blob backend (core/store/blob_local.h)
 * on a temporary state folder, with injected faults and, as root, a real
 * full disk (a small tmpfs). */
#include "core/store/blob_local.h"
#include "core/util/log.h"
#include "unit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mount.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static char top[256];
static char state[512];

#define OPS(b) ((b)->ops)

static struct blob_meta meta(mode_t mode, time_t sec, long nsec)
{
	struct blob_meta m;

	memset(&m, 0, sizeof(m));
	m.mode = mode;
	m.uid = 0;
	m.gid = 0;
	m.mtime.tv_sec = sec;
	m.mtime.tv_nsec = nsec;
	return m;
}

static int put(struct blob *b, const char *key, const char *data, size_t len)
{
	struct blob_meta m = meta(S_IFREG | 0644, 1700000000, 0);

	return OPS(b)->put(b, key, data, len, &m, NULL, 0);
}

static int put_str(struct blob *b, const char *key, const char *s)
{
	return put(b, key, s, strlen(s));
}

/* Content of `key` as a string in `out` (NULL when get fails). */
static int get_str(struct blob *b, const char *key, struct buf *out)
{
	buf_release(out);
	return OPS(b)->get(b, key, out);
}

static void disk_path(char *out, size_t cap, const char *st, const char *key)
{
	snprintf(out, cap, "%s/blobs/%s", st, key);
}

/* Entries in STATE/tmp. */
static int tmp_count(const char *st)
{
	char p[600];

	snprintf(p, sizeof(p), "%s/tmp", st);
	return unit_count_entries(p);
}

static int open_store(struct blob **b, const char *st)
{
	int rc = blob_local_open(b, st);

	if (!CHECK_INT_EQ(0, rc, "blob_local_open('%s')", st))
		exit(1);
	return rc;
}

/* --- round trips ------------------------------------------------------- */

static void test_open(void)
{
	struct stat st;
	char p[600];

	CHECK(stat(state, &st) == 0 && S_ISDIR(st.st_mode),
	      "open creates the state folder");
	CHECK_INT_EQ(0700, st.st_mode & 07777, "the state folder is 0700");
	snprintf(p, sizeof(p), "%s/blobs", state);
	CHECK(stat(p, &st) == 0 && S_ISDIR(st.st_mode), "STATE/blobs exists");
	snprintf(p, sizeof(p), "%s/tmp", state);
	CHECK(stat(p, &st) == 0 && S_ISDIR(st.st_mode), "STATE/tmp exists");
}

static void test_round_trip(struct blob *b)
{
	static const size_t sizes[] = { 0, 1, 4095, 4096, 4097, 1 << 20 };
	struct buf out;
	char *data = malloc((1 << 20) + 1);
	char p[700];

	if (!data)
		return;
	for (size_t i = 0; i < (1 << 20); i++)
		data[i] = (char)(i * 7 + i / 251);
	buf_init(&out, 0);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char key[64];
		struct stat st;

		snprintf(key, sizeof(key), "rt/size-%zu", sizes[i]);
		CHECK_INT_EQ(0, put(b, key, data, sizes[i]),
			     "put %zu bytes", sizes[i]);
		CHECK_INT_EQ(0, get_str(b, key, &out), "get %zu bytes",
			     sizes[i]);
		CHECK(out.len == sizes[i] &&
		      (sizes[i] == 0 || memcmp(out.data, data, sizes[i]) == 0),
		      "%zu bytes come back identical (got %zu)", sizes[i],
		      out.len);
		CHECK(out.data && out.data[out.len] == '\0',
		      "%zu bytes: the buffer is NUL-terminated", sizes[i]);
		disk_path(p, sizeof(p), state, key);
		CHECK(stat(p, &st) == 0 && S_ISREG(st.st_mode) &&
		      (size_t)st.st_size == sizes[i],
		      "%zu bytes: a plain file STATE/blobs/%s of that size",
		      sizes[i], key);
	}
	/* Replacing with shorter content leaves no tail. */
	CHECK_INT_EQ(0, put_str(b, "rt/short", "a long first version"),
		     "put a long version");
	CHECK_INT_EQ(0, put_str(b, "rt/short", "short"), "put a short one");
	get_str(b, "rt/short", &out);
	CHECK_MEM_EQ("short", (size_t)5, out.data, out.len,
		     "a shorter replacement leaves no tail");
	/* Keys with odd but valid names. */
	CHECK_INT_EQ(0, put_str(b, "rt/h\xc3\xa9 llo #1.md", "utf8"),
		     "put a key with UTF-8, space and '#'");
	CHECK_INT_EQ(0, get_str(b, "rt/h\xc3\xa9 llo #1.md", &out),
		     "get it back");
	CHECK_INT_EQ(0, put_str(b, "rt/...", "dots"),
		     "a component '...' is a valid key");
	CHECK_INT_EQ(0, put_str(b, "rt/.hidden", "dot"),
		     "a component '.hidden' is a valid key");
	CHECK_INT_EQ(-ENOENT, get_str(b, "rt/missing", &out),
		     "get of a missing key is ENOENT");
	CHECK_INT_EQ(-ENOENT, get_str(b, "nodir/missing", &out),
		     "get under a missing folder is ENOENT");
	CHECK_INT_EQ(-ENOTDIR, get_str(b, "rt/short/below", &out),
		     "get below a file is ENOTDIR");
	CHECK_INT_EQ(-EISDIR, get_str(b, "rt", &out),
		     "get of a folder is EISDIR");
	CHECK_INT_EQ(-ENOTDIR, put_str(b, "rt/short/below", "x"),
		     "put below a file is ENOTDIR");
	CHECK_INT_EQ(0, tmp_count(state), "STATE/tmp is empty after puts");
	buf_release(&out);
	free(data);
}

static void test_cap(struct blob *b)
{
	struct buf out;

	buf_init(&out, 10);
	CHECK_INT_EQ(0, put_str(b, "cap/ten", "0123456789"), "put 10 bytes");
	CHECK_INT_EQ(0, put_str(b, "cap/eleven", "0123456789a"),
		     "put 11 bytes");
	CHECK_INT_EQ(0, OPS(b)->get(b, "cap/ten", &out),
		     "a cap of 10 takes 10 bytes");
	CHECK_INT_EQ(10, out.len, "all 10 bytes read");
	buf_release(&out);
	CHECK_INT_EQ(-EFBIG, OPS(b)->get(b, "cap/eleven", &out),
		     "a cap of 10 refuses 11 bytes with EFBIG");
	buf_release(&out);
	CHECK_INT_EQ(-EFBIG, OPS(b)->get(b, "rt/size-1048576", &out),
		     "a cap of 10 refuses 1 MiB with EFBIG");
	CHECK(out.alloc <= 64, "nothing big was allocated (%zu)", out.alloc);
	buf_release(&out);
}

/* --- metadata, xattrs, listings ----------------------------------------- */

struct seen {
	char key[32][128];
	struct blob_meta m[32];
	int n;
	int stop_after;		/* >0: return 42 at that call */
};

static int collect(void *arg, const char *key, const struct blob_meta *m)
{
	struct seen *s = arg;

	if (s->n < 32) {
		snprintf(s->key[s->n], sizeof(s->key[0]), "%s", key);
		s->m[s->n] = *m;
	}
	s->n++;
	if (s->stop_after && s->n == s->stop_after)
		return 42;
	return 0;
}

static int seen_at(const struct seen *s, const char *key)
{
	for (int i = 0; i < s->n && i < 32; i++)
		if (strcmp(s->key[i], key) == 0)
			return i;
	return -1;
}

static void test_meta(struct blob *b)
{
	struct blob_meta m = meta(S_IFREG | 0640, 1600000000, 123456789);
	struct blob_xattr xv[3] = {
		{ (char *)"user.color", (char *)"blue", 4 },
		{ (char *)"user.empty", (char *)"", 0 },
		{ (char *)"user.bin", (char *)"a\0b\xff", 4 },
	};
	struct blob_xattrs x = { xv, 3 }, got = { NULL, 0 };
	struct blob_xattr one[1] = { { (char *)"user.empty", (char *)"now",
				       3 } };
	struct blob_xattrs x1 = { one, 1 };
	struct seen s;
	struct stat st;
	char p[700], v[16];
	int i;

	CHECK_INT_EQ(0, OPS(b)->put(b, "meta/f.md", "hello", 5, &m, &x, 0),
		     "put with mode 0640, an mtime and 3 xattrs");
	disk_path(p, sizeof(p), state, "meta/f.md");
	CHECK(stat(p, &st) == 0, "the stored file exists");
	CHECK_INT_EQ(0640, st.st_mode & 07777, "the stored file is 0640");
	CHECK(st.st_mtim.tv_sec == 1600000000 &&
	      st.st_mtim.tv_nsec == 123456789,
	      "the stored file has the mtime to the nanosecond (%ld.%09ld)",
	      (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	CHECK_INT_EQ(4, getxattr(p, "user.color", v, sizeof(v)),
		     "the stored file carries user.color");
	CHECK_MEM_EQ("blue", (size_t)4, v, (size_t)4, "user.color = blue");

	memset(&s, 0, sizeof(s));
	CHECK_INT_EQ(0, OPS(b)->list(b, "meta", collect, &s), "list meta");
	i = seen_at(&s, "meta/f.md");
	if (CHECK(i >= 0, "list reports meta/f.md")) {
		CHECK_INT_EQ(S_IFREG | 0640, s.m[i].mode,
			     "list: mode S_IFREG|0640");
		CHECK(s.m[i].mtime.tv_sec == 1600000000 &&
		      s.m[i].mtime.tv_nsec == 123456789, "list: the mtime");
		CHECK_INT_EQ(5, s.m[i].size, "list: the size");
	}

	CHECK_INT_EQ(0, OPS(b)->getxattrs(b, "meta/f.md", &got),
		     "getxattrs");
	CHECK_INT_EQ(3, got.n, "three xattrs come back");
	for (size_t k = 0; k < 3; k++) {
		int found = 0;

		for (size_t j = 0; j < got.n; j++)
			if (strcmp(got.v[j].name, xv[k].name) == 0) {
				found = 1;
				CHECK_MEM_EQ(xv[k].value, xv[k].len,
					     got.v[j].value, got.v[j].len,
					     "xattr %s round-trips",
					     xv[k].name);
			}
		CHECK(found, "xattr %s is listed", xv[k].name);
	}
	blob_xattrs_release(&got);

	CHECK_INT_EQ(0, OPS(b)->setxattrs(b, "meta/f.md", &x1),
		     "setxattrs replaces the set");
	CHECK_INT_EQ(0, OPS(b)->getxattrs(b, "meta/f.md", &got),
		     "getxattrs after the replacement");
	CHECK(got.n == 1 && strcmp(got.v[0].name, "user.empty") == 0 &&
	      got.v[0].len == 3 && memcmp(got.v[0].value, "now", 3) == 0,
	      "only user.empty = now is left (%zu xattrs)", got.n);
	blob_xattrs_release(&got);
	CHECK_INT_EQ(-1, getxattr(p, "user.color", v, sizeof(v)),
		     "user.color is gone from the stored file");

	/* A replacement by put carries the new set only. */
	CHECK_INT_EQ(0, OPS(b)->put(b, "meta/f.md", "bye", 3, &m, NULL, 0),
		     "put again without xattrs");
	CHECK_INT_EQ(0, OPS(b)->getxattrs(b, "meta/f.md", &got),
		     "getxattrs after a put without xattrs");
	CHECK_INT_EQ(0, got.n, "a put without xattrs leaves none");
	blob_xattrs_release(&got);

	m = meta(S_IFREG | 0600, 1500000000, 5);
	CHECK_INT_EQ(0, OPS(b)->setmeta(b, "meta/f.md", &m), "setmeta");
	CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0600 &&
	      st.st_mtim.tv_sec == 1500000000 && st.st_mtim.tv_nsec == 5,
	      "setmeta changes mode to 0600 and the mtime");
	CHECK_INT_EQ(-ENOENT, OPS(b)->setmeta(b, "meta/none", &m),
		     "setmeta of a missing key is ENOENT");
	CHECK_INT_EQ(-ENOENT, OPS(b)->getxattrs(b, "meta/none", &got),
		     "getxattrs of a missing key is ENOENT");
	CHECK_INT_EQ(0, OPS(b)->sync(b, "meta/f.md"), "sync");
	CHECK_INT_EQ(-ENOENT, OPS(b)->sync(b, "meta/none"),
		     "sync of a missing key is ENOENT");
	m = meta(S_IFREG | 0644, 1700000000, 0);
	CHECK_INT_EQ(0, OPS(b)->put(b, "meta/synced", "s", 1, &m, NULL,
				    BLOB_SYNC), "put with BLOB_SYNC");
}

static void test_list(struct blob *b)
{
	struct blob_meta dm = meta(S_IFDIR | 0750, 1650000000, 0);
	static const char *const want[] = {
		"ls/a", "ls/a/b", "ls/a/b/c.md", "ls/a/d.md", "ls/e",
		"ls/e/f", "ls/z.md",
	};
	struct seen s;
	int ok = 1;

	put_str(b, "ls/a/b/c.md", "c");
	put_str(b, "ls/a/d.md", "d");
	put_str(b, "ls/z.md", "z");
	CHECK_INT_EQ(0, OPS(b)->mkdir(b, "ls/e/f", &dm),
		     "mkdir makes missing parents");
	memset(&s, 0, sizeof(s));
	CHECK_INT_EQ(0, OPS(b)->list(b, "ls", collect, &s), "list ls");
	CHECK_INT_EQ(7, s.n, "list reports 7 keys");
	for (size_t i = 0; i < 7; i++) {
		int at = seen_at(&s, want[i]);
		char parent[128];
		char *slash;

		CHECK(at >= 0, "list reports %s", want[i]);
		snprintf(parent, sizeof(parent), "%s", want[i]);
		slash = strrchr(parent, '/');
		*slash = '\0';
		if (strcmp(parent, "ls") != 0 && at >= 0 &&
		    !(seen_at(&s, parent) >= 0 && seen_at(&s, parent) < at))
			ok = 0;
	}
	CHECK(ok, "every key comes after its parent folder");
	{
		int e = seen_at(&s, "ls/e/f"), a = seen_at(&s, "ls/a/b");

		CHECK(e >= 0 && s.m[e].mode == (S_IFDIR | 0750),
		      "a mkdir marker is listed as S_IFDIR|0750");
		CHECK(e >= 0 && s.m[e].mtime.tv_sec == 1650000000,
		      "a mkdir marker keeps its mtime");
		CHECK(a >= 0 && S_ISDIR(s.m[a].mode),
		      "an implicit parent is listed as a folder");
	}
	memset(&s, 0, sizeof(s));
	CHECK_INT_EQ(0, OPS(b)->list(b, "nothing/here", collect, &s),
		     "list of a missing prefix is 0");
	CHECK_INT_EQ(0, s.n, "... and reports nothing");
	memset(&s, 0, sizeof(s));
	s.stop_after = 2;
	CHECK_INT_EQ(42, OPS(b)->list(b, "ls", collect, &s),
		     "a callback's non-zero return stops the walk and is "
		     "returned");
	CHECK_INT_EQ(2, s.n, "... after 2 calls");
}

static void test_dirs(struct blob *b)
{
	struct blob_meta dm = meta(S_IFDIR | 0755, 1650000000, 0);
	struct buf out;
	struct stat st;
	char p[700];

	buf_init(&out, 0);
	CHECK_INT_EQ(0, OPS(b)->mkdir(b, "dirs/empty", &dm), "mkdir");
	disk_path(p, sizeof(p), state, "dirs/empty");
	CHECK(stat(p, &st) == 0 && S_ISDIR(st.st_mode),
	      "mkdir makes a real folder");
	CHECK_INT_EQ(-EEXIST, OPS(b)->mkdir(b, "dirs/empty", &dm),
		     "mkdir of an existing folder is EEXIST");
	put_str(b, "dirs/full/x", "x");
	CHECK_INT_EQ(-ENOTEMPTY, OPS(b)->rmdir(b, "dirs/full"),
		     "rmdir of a non-empty folder is ENOTEMPTY");
	CHECK_INT_EQ(-ENOTDIR, OPS(b)->rmdir(b, "dirs/full/x"),
		     "rmdir of a file is ENOTDIR");
	CHECK_INT_EQ(0, OPS(b)->rmdir(b, "dirs/empty"), "rmdir");
	CHECK(stat(p, &st) < 0 && errno == ENOENT, "rmdir removes it");
	CHECK_INT_EQ(-ENOENT, OPS(b)->rmdir(b, "dirs/empty"),
		     "rmdir of a missing folder is ENOENT");
	CHECK_INT_EQ(0, OPS(b)->del(b, "dirs/full/x"), "del");
	CHECK_INT_EQ(-ENOENT, get_str(b, "dirs/full/x", &out),
		     "get after del is ENOENT");
	CHECK_INT_EQ(-ENOENT, OPS(b)->del(b, "dirs/full/x"),
		     "del of a missing key is ENOENT");
	CHECK_INT_EQ(-EISDIR, OPS(b)->del(b, "dirs/full"),
		     "del of a folder is EISDIR");
	buf_release(&out);
}

static void test_rename(struct blob *b)
{
	struct buf out;

	buf_init(&out, 0);
	put_str(b, "mv/a", "content of a");
	put_str(b, "mv/b", "content of b");
	CHECK_INT_EQ(0, OPS(b)->rename(b, "mv/a", "mv/b"),
		     "rename over an existing key");
	CHECK_INT_EQ(0, get_str(b, "mv/b", &out), "get the target");
	CHECK_MEM_EQ("content of a", (size_t)12, out.data, out.len,
		     "the target has the source's content");
	CHECK_INT_EQ(-ENOENT, get_str(b, "mv/a", &out),
		     "the source is gone");
	CHECK_INT_EQ(0, OPS(b)->rename(b, "mv/b", "mv/new/deep/c"),
		     "rename into folders that do not exist yet");
	CHECK_INT_EQ(0, get_str(b, "mv/new/deep/c", &out),
		     "the moved key is there");
	CHECK_INT_EQ(-ENOENT, OPS(b)->rename(b, "mv/nothing", "mv/x"),
		     "rename of a missing key is ENOENT");
	CHECK_INT_EQ(-ENOENT, get_str(b, "mv/x", &out),
		     "... and makes nothing");
	put_str(b, "mv/tree/one", "1");
	put_str(b, "mv/tree/sub/two", "2");
	CHECK_INT_EQ(0, OPS(b)->rename(b, "mv/tree", "mv/tree2"),
		     "rename a whole folder");
	CHECK_INT_EQ(0, get_str(b, "mv/tree2/sub/two", &out),
		     "the folder's content moved with it");
	CHECK_MEM_EQ("2", (size_t)1, out.data, out.len,
		     "... with the same content");
	buf_release(&out);
}

static void test_bad_keys(struct blob *b)
{
	static const char *const bad[] = {
		"../x", "..", ".", "a/../b", "a/..", "./a", "a/./b", "/abs",
		"a//b", "", "a/", "volumes/../../escape",
	};
	struct blob_meta m = meta(S_IFREG | 0644, 1700000000, 0);
	struct blob_meta dm = meta(S_IFDIR | 0755, 1700000000, 0);
	struct blob_xattrs none = { NULL, 0 }, got;
	struct buf out;
	struct seen s;
	struct stat st;
	char p[700];

	buf_init(&out, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *k = bad[i];
		int all = 1;

		all &= OPS(b)->put(b, k, "x", 1, &m, NULL, 0) == -EINVAL;
		all &= OPS(b)->get(b, k, &out) == -EINVAL;
		all &= OPS(b)->del(b, k) == -EINVAL;
		all &= OPS(b)->list(b, k, collect, &s) == -EINVAL;
		all &= OPS(b)->mkdir(b, k, &dm) == -EINVAL;
		all &= OPS(b)->rmdir(b, k) == -EINVAL;
		all &= OPS(b)->rename(b, k, "ok") == -EINVAL;
		all &= OPS(b)->rename(b, "rt/short", k) == -EINVAL;
		all &= OPS(b)->setmeta(b, k, &m) == -EINVAL;
		all &= OPS(b)->getxattrs(b, k, &got) == -EINVAL;
		all &= OPS(b)->setxattrs(b, k, &none) == -EINVAL;
		all &= OPS(b)->sync(b, k) == -EINVAL;
		CHECK(all, "key '%s' is EINVAL for every operation", k);
	}
	snprintf(p, sizeof(p), "%s/x", state);
	CHECK(stat(p, &st) < 0, "put '../x' wrote nothing next to blobs/");
	snprintf(p, sizeof(p), "%s/escape", top);
	CHECK(stat(p, &st) < 0, "nothing escaped the state folder");
	CHECK_INT_EQ(0, get_str(b, "rt/short", &out),
		     "a refused rename left its source alone");
	buf_release(&out);
}

/* --- atomic replacement ------------------------------------------------- */

#define BIG_A 300000
#define BIG_B 100000

struct race {
	struct blob *b;
	int stop;
	int torn;
	int reads;
};

static void *reader(void *arg)
{
	struct race *r = arg;
	struct buf out;

	buf_init(&out, 0);
	while (!__atomic_load_n(&r->stop, __ATOMIC_SEQ_CST)) {
		int rc = r->b->ops->get(r->b, "race/key", &out);
		char want;
		size_t len;

		if (rc) {
			r->torn++;
			continue;
		}
		r->reads++;
		if (out.len == BIG_A)
			want = 'A';
		else if (out.len == BIG_B)
			want = 'B';
		else {
			r->torn++;
			continue;
		}
		for (len = 0; len < out.len; len++)
			if (out.data[len] != want)
				break;
		if (len != out.len)
			r->torn++;
	}
	buf_release(&out);
	return NULL;
}

static void test_atomic(struct blob *b)
{
	struct race r = { b, 0, 0, 0 };
	char *a = malloc(BIG_A), *bb = malloc(BIG_B);
	pthread_t t;
	int rc = 0;

	if (!a || !bb)
		goto out;
	memset(a, 'A', BIG_A);
	memset(bb, 'B', BIG_B);
	put(b, "race/key", a, BIG_A);
	if (pthread_create(&t, NULL, reader, &r) != 0)
		goto out;
	for (int i = 0; i < 200 && !rc; i++) {
		rc = i % 2 ? put(b, "race/key", a, BIG_A) :
			     put(b, "race/key", bb, BIG_B);
		if (!rc)
			rc = i % 2 ? put(b, "race/other", bb, BIG_B) :
				     put(b, "race/other", a, BIG_A);
		if (!rc)
			rc = OPS(b)->rename(b, "race/other", "race/key");
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(t, NULL);
	CHECK_INT_EQ(0, rc, "200 rounds of put and rename over a key");
	CHECK_INT_EQ(0, r.torn, "a concurrent reader never saw a missing, "
		     "short or mixed object (%d reads)", r.reads);
out:
	free(a);
	free(bb);
}

/* --- failures ------------------------------------------------------------ */

static void test_faults(struct blob *b)
{
	struct blob_meta m0 = meta(S_IFREG | 0640, 1600000000, 0);
	struct blob_meta m1 = meta(S_IFREG | 0600, 1700000000, 0);
	struct blob_xattr xv[1] = { { (char *)"user.v", (char *)"2", 1 } };
	struct blob_xattrs x = { xv, 1 };
	struct buf out;
	struct stat st;
	char *big = malloc(1 << 16);
	char p[700];

	if (!big)
		return;
	memset(big, 'n', 1 << 16);
	buf_init(&out, 0);
	CHECK_INT_EQ(0, OPS(b)->put(b, "fault/key", "old content", 11, &m0,
				    NULL, 0), "put the old content");
	disk_path(p, sizeof(p), state, "fault/key");

	blob_local_inject(b, BLOB_FAULT_WRITE, ENOSPC);
	CHECK_INT_EQ(-ENOSPC, OPS(b)->put(b, "fault/key", big, 1 << 16, &m1,
					  &x, 0),
		     "put with a write failing ENOSPC returns ENOSPC");
	CHECK_INT_EQ(-ENOSPC, OPS(b)->put(b, "fault/new", big, 1 << 16, &m1,
					  NULL, BLOB_SYNC),
		     "the fault stays until cleared");
	blob_local_inject(b, BLOB_FAULT_WRITE, 0);
	CHECK_INT_EQ(0, get_str(b, "fault/key", &out),
		     "get after the failed put");
	CHECK_MEM_EQ("old content", (size_t)11, out.data, out.len,
		     "ENOSPC: the old content is intact");
	CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0640 &&
	      st.st_mtim.tv_sec == 1600000000,
	      "ENOSPC: the old mode and mtime are intact");
	CHECK_INT_EQ(-ENOENT, get_str(b, "fault/new", &out),
		     "ENOSPC: a new key was not created");
	CHECK_INT_EQ(0, tmp_count(state), "ENOSPC: no temporary file left");

	blob_local_inject(b, BLOB_FAULT_WRITE, EDQUOT);
	CHECK_INT_EQ(-EDQUOT, OPS(b)->put(b, "fault/key", big, 10, &m1, NULL,
					  0), "a write failing EDQUOT: EDQUOT");
	blob_local_inject(b, BLOB_FAULT_WRITE, 0);

	blob_local_inject(b, BLOB_FAULT_RENAME, EIO);
	CHECK_INT_EQ(-EIO, OPS(b)->put(b, "fault/key", big, 1 << 16, &m1, &x,
				       BLOB_SYNC),
		     "put with the final rename failing EIO returns EIO");
	CHECK_INT_EQ(0, get_str(b, "fault/key", &out),
		     "get after the failed put");
	CHECK_MEM_EQ("old content", (size_t)11, out.data, out.len,
		     "EIO: the old content is intact");
	CHECK_INT_EQ(0, tmp_count(state), "EIO: no temporary file left");
	CHECK_INT_EQ(-EIO, OPS(b)->rename(b, "fault/key", "fault/moved"),
		     "rename with the fault returns EIO");
	CHECK_INT_EQ(0, get_str(b, "fault/key", &out),
		     "the source of the failed rename is still there");
	CHECK_INT_EQ(-ENOENT, get_str(b, "fault/moved", &out),
		     "the target of the failed rename does not exist");
	blob_local_inject(b, BLOB_FAULT_RENAME, 0);

	CHECK_INT_EQ(0, OPS(b)->put(b, "fault/key", big, 1 << 16, &m1, &x, 0),
		     "after clearing the faults put works again");
	CHECK_INT_EQ(0, get_str(b, "fault/key", &out), "get the new content");
	CHECK(out.len == (1 << 16) && out.data[0] == 'n',
	      "the new content is stored");
	buf_release(&out);
	free(big);
}

static void test_leftovers(void)
{
	struct blob *b;
	struct stat st;
	char p[700];
	int fd;

	snprintf(p, sizeof(p), "%s/tmp/put-Xy12Zw", state);
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	open_store(&b, state);
	CHECK(stat(p, &st) < 0 && errno == ENOENT,
	      "opening the store removes a crash's leftover temporary");
	OPS(b)->free(b);
}

/* --- a daemon that is not root ------------------------------------------ */

/* Mode bits are stored, not enforced on the daemon: the namespace's rights
 * come from DESIGN.md section 2, so a user may chmod a file 0444 or 0000
 * or a folder 0555 and keep using it. A daemon running as an ordinary
 * user must still be able to store and read such objects. */
static void unprivileged_checks(const char *st)
{
	struct blob_meta ro = meta(S_IFREG | 0444, 1700000000, 0);
	struct blob_meta rw = meta(S_IFREG | 0644, 1700000000, 0);
	struct blob_meta none = meta(S_IFREG | 0000, 1700000000, 0);
	struct blob_meta rodir = meta(S_IFDIR | 0555, 1700000000, 0);
	struct blob_xattr xv[1] = { { (char *)"user.a", (char *)"1", 1 } };
	struct blob_xattrs x = { xv, 1 }, got = { NULL, 0 };
	struct blob *b;
	struct buf out;

	buf_init(&out, 0);
	open_store(&b, st);
	CHECK_INT_EQ(0, OPS(b)->put(b, "u/ro", "x", 1, &ro, &x, 0),
		     "unprivileged: put a 0444 file with an xattr");
	CHECK_INT_EQ(0, OPS(b)->put(b, "u/ro2", "x", 1, &rw, NULL, 0),
		     "unprivileged: put a 0644 file");
	CHECK_INT_EQ(0, OPS(b)->setmeta(b, "u/ro2", &ro),
		     "unprivileged: chmod it 0444");
	CHECK_INT_EQ(0, OPS(b)->setxattrs(b, "u/ro2", &x),
		     "unprivileged: set the xattrs of a 0444 file");
	CHECK_INT_EQ(0, OPS(b)->getxattrs(b, "u/ro2", &got),
		     "unprivileged: get the xattrs of a 0444 file");
	CHECK_INT_EQ(1, got.n, "unprivileged: the 0444 file has its xattr");
	blob_xattrs_release(&got);
	CHECK_INT_EQ(0, OPS(b)->put(b, "u/none", "y", 1, &none, NULL, 0),
		     "unprivileged: put a 0000 file");
	CHECK_INT_EQ(0, OPS(b)->get(b, "u/none", &out),
		     "unprivileged: get a 0000 file");
	CHECK_INT_EQ(0, OPS(b)->mkdir(b, "u/rodir", &rodir),
		     "unprivileged: mkdir a 0555 folder");
	CHECK_INT_EQ(0, OPS(b)->put(b, "u/rodir/f", "z", 1, &ro, NULL, 0),
		     "unprivileged: put a file into a 0555 folder");
	CHECK_INT_EQ(0, OPS(b)->rename(b, "u/rodir", "u2/rodir"),
		     "unprivileged: move a 0555 folder to another parent");
	buf_release(&out);
	OPS(b)->free(b);
}

static void as_nobody(void *arg)
{
	if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) ||
	    setresuid(65534, 65534, 65534)) {
		CHECK(0, "become nobody: %s", strerror(errno));
		return;
	}
	unprivileged_checks(arg);
}

static void test_unprivileged(void)
{
	char st[700];

	snprintf(st, sizeof(st), "%s/unpriv", top);
	if (geteuid() != 0) {
		unprivileged_checks(st);
		return;
	}
	/* As root: the same checks in a child running as nobody. */
	if (mkdir(st, 0700) < 0 || chown(st, 65534, 65534) < 0 ||
	    chmod(top, 0755) < 0) {
		unit_note("SKIP unprivileged checks: %s", strerror(errno));
		return;
	}
	unit_run_child(as_nobody, st, "unprivileged checks");
}

/* --- a real full disk ---------------------------------------------------- */

static void test_full_disk(void)
{
	char mnt[600], st2[700];
	struct blob *b;
	struct buf out;
	struct blob_meta m = meta(S_IFREG | 0644, 1700000000, 0);
	size_t big_len = 1 << 20;
	char *big;

	if (geteuid() != 0) {
		unit_note("SKIP full-disk test: needs root to mount a tmpfs");
		return;
	}
	snprintf(mnt, sizeof(mnt), "%s/small", top);
	if (mkdir(mnt, 0700) < 0 ||
	    mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV,
		  "size=256k,mode=0700") < 0) {
		unit_note("SKIP full-disk test: cannot mount a tmpfs: %s",
			  strerror(errno));
		return;
	}
	big = malloc(big_len);
	if (!big)
		goto out_umount;
	memset(big, 'F', big_len);
	snprintf(st2, sizeof(st2), "%s/state", mnt);
	if (!CHECK_INT_EQ(0, blob_local_open(&b, st2),
			  "full disk: open a store on the tmpfs")) {
		free(big);
		goto out_umount;
	}
	buf_init(&out, 0);
	CHECK_INT_EQ(0, OPS(b)->put(b, "volumes/system/skills/small.md",
				    "small file", 10, &m, NULL, BLOB_SYNC),
		     "full disk: a small put fits on a 256k tmpfs");
	CHECK_INT_EQ(-ENOSPC, OPS(b)->put(b, "volumes/system/skills/small.md",
					  big, big_len, &m, NULL, BLOB_SYNC),
		     "full disk: a 1 MiB put over it fails with ENOSPC");
	CHECK_INT_EQ(0, OPS(b)->get(b, "volumes/system/skills/small.md", &out),
		     "full disk: get after the failure");
	CHECK_MEM_EQ("small file", (size_t)10, out.data, out.len,
		     "full disk: the old content is intact");
	CHECK_INT_EQ(0, tmp_count(st2),
		     "full disk: no temporary file left in STATE/tmp");
	CHECK_INT_EQ(-ENOSPC, OPS(b)->put(b, "volumes/system/skills/new.md",
					  big, big_len, &m, NULL, 0),
		     "full disk: a 1 MiB new key fails with ENOSPC");
	CHECK_INT_EQ(-ENOENT, OPS(b)->get(b, "volumes/system/skills/new.md",
					  &out),
		     "full disk: the new key does not exist");
	CHECK_INT_EQ(0, OPS(b)->put(b, "volumes/system/skills/small.md",
				    "second", 6, &m, NULL, BLOB_SYNC),
		     "full disk: the space came back, a small put works");
	buf_release(&out);
	OPS(b)->free(b);
	free(big);
out_umount:
	if (umount2(mnt, 0) < 0)
		unit_note("could not unmount %s: %s", mnt, strerror(errno));
}

int main(void)
{
	struct blob *b;
	struct statvfs sv;

	log_set_level(LOG_LVL_ERR);
	unit_tmpdir(top, sizeof(top), "blob");
	snprintf(state, sizeof(state), "%s/state", top);
	open_store(&b, state);
	test_open();
	test_round_trip(b);
	test_cap(b);
	test_meta(b);
	test_list(b);
	test_dirs(b);
	test_rename(b);
	test_bad_keys(b);
	test_atomic(b);
	test_faults(b);
	CHECK_INT_EQ(0, OPS(b)->statfs(b, &sv), "statfs");
	CHECK(sv.f_bsize > 0 && sv.f_blocks > 0, "statfs reports a size");
	OPS(b)->free(b);
	test_leftovers();
	test_unprivileged();
	test_full_disk();
	unit_rm_rf(top);
	return unit_done();
}
