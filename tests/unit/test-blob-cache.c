/* tests/unit/test-blob-cache.c: the local copy of a remote store's
 * content (core/store/blob_cache.h) around an inner store that counts its
 * reads and versions its objects as S3 does with ETags (a test double of
 * the blob interface, in the manner of libgit2's fake odb backends). */
#include "core/store/blob_cache.h"
#include "unit.h"

#include <dirent.h>

#define NOBJ 8

struct fake {
	struct blob base;
	struct { char key[64]; char data[4096]; size_t len; int ver; } o[NOBJ];
	int gets;
	int fail_get;
};

static struct fake *fk(struct blob *b)
{
	return (struct fake *)b;
}

static int find(struct fake *f, const char *key)
{
	for (int i = 0; i < NOBJ; i++)
		if (!strcmp(f->o[i].key, key))
			return i;
	return -1;
}

static int f_get(struct blob *b, const char *key, struct buf *out)
{
	struct fake *f = fk(b);
	int i = find(f, key);

	f->gets++;
	if (f->fail_get)
		return -EIO;
	if (i < 0)
		return -ENOENT;
	buf_resize(out, 0);
	return buf_append(out, f->o[i].data, f->o[i].len);
}

static int f_put(struct blob *b, const char *key, const void *data,
		 size_t len, const struct blob_meta *m,
		 const struct blob_xattrs *x, unsigned flags)
{
	struct fake *f = fk(b);
	int i = find(f, key);

	(void)m, (void)x, (void)flags;
	if (i < 0)
		i = find(f, "");
	if (i < 0 || len > sizeof(f->o[i].data))
		return -ENOSPC;
	snprintf(f->o[i].key, sizeof(f->o[i].key), "%s", key);
	memcpy(f->o[i].data, data, len);
	f->o[i].len = len;
	f->o[i].ver++;
	return 0;
}

static int f_del(struct blob *b, const char *key)
{
	int i = find(fk(b), key);

	if (i < 0)
		return -ENOENT;
	fk(b)->o[i].key[0] = '\0';
	return 0;
}

static int f_rename(struct blob *b, const char *from, const char *to)
{
	struct fake *f = fk(b);
	int i = find(f, from), j = find(f, to);

	if (i < 0)
		return -ENOENT;
	if (j >= 0)
		f->o[j].key[0] = '\0';
	snprintf(f->o[i].key, sizeof(f->o[i].key), "%s", to);
	return 0;
}

static int f_version(struct blob *b, const char *key, char *out, size_t cap)
{
	int i = find(fk(b), key);

	if (i < 0)
		return -ENOENT;
	snprintf(out, cap, "\"v%d-%zu\"", fk(b)->o[i].ver, fk(b)->o[i].len);
	return 0;
}

static void f_free(struct blob *b)
{
	free(b);
}

static const struct blob_ops fake_ops = {
	.name = "fake", .get = f_get, .put = f_put, .del = f_del,
	.rename = f_rename, .version = f_version, .free = f_free,
};

/* The bytes of the copies in `dir`. */
static long bytes(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct stat st;
	long n = 0;

	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.' &&
		    !fstatat(dirfd(d), de->d_name, &st, 0))
			n += st.st_size;
	if (d)
		closedir(d);
	return n;
}

static int get(struct blob *c, const char *key, char *out, size_t cap)
{
	struct buf b;
	int rc;

	buf_init(&b, 1 << 20);
	rc = c->ops->get(c, key, &b);
	if (!rc)
		snprintf(out, cap, "%.*s", (int)b.len, b.data ? b.data : "");
	buf_release(&b);
	return rc;
}

int main(void)
{
	char dir[] = "/tmp/unit-blob-cache.XXXXXX", sub[256], got[64];
	struct blob_meta m = { .mode = S_IFREG | 0644 };
	struct fake *f = calloc(1, sizeof(*f));
	struct blob *c;
	char big[3000];

	if (!CHECK(f && mkdtemp(dir), "a fake inner store and a folder"))
		return unit_done();
	f->base.ops = &fake_ops;
	snprintf(sub, sizeof(sub), "%s/content", dir);
	if (!CHECK_INT_EQ(0, blob_cache_open(&c, &f->base, sub, 8192),
			  "the cache opens (8 KiB bound)"))
		return unit_done();
	f_put(&f->base, "a", "first", 5, &m, NULL, 0);
	CHECK(get(c, "a", got, sizeof(got)) == 0 && !strcmp(got, "first") &&
	      f->gets == 1, "a first read goes to the store");
	CHECK(get(c, "a", got, sizeof(got)) == 0 && !strcmp(got, "first") &&
	      f->gets == 1, "a second read is answered from the copy");
	f_put(&f->base, "a", "changed", 7, &m, NULL, 0);
	CHECK(get(c, "a", got, sizeof(got)) == 0 && !strcmp(got, "changed") &&
	      f->gets == 2, "a new version (ETag) is read again, never the "
	      "stale copy");
	CHECK_INT_EQ(0, c->ops->put(c, "b", "written", 7, &m, NULL, 0),
		     "a write through the cache");
	CHECK(get(c, "b", got, sizeof(got)) == 0 && !strcmp(got, "written") &&
	      f->gets == 2, "what was written is read from the copy");
	CHECK_INT_EQ(0, c->ops->rename(c, "b", "b2"), "a rename");
	CHECK(get(c, "b2", got, sizeof(got)) == 0 && !strcmp(got, "written") &&
	      f->gets == 2, "the copy follows the file to its new name");
	f->fail_get = 1;
	CHECK(get(c, "a", got, sizeof(got)) == 0 && !strcmp(got, "changed"),
	      "the store failing: a file read before is still read");
	f->fail_get = 0;
	CHECK_INT_EQ(0, c->ops->del(c, "a"), "a delete");
	CHECK_INT_EQ(-ENOENT, get(c, "a", got, sizeof(got)),
		     "a deleted file is gone, not served from a copy");
	memset(big, 'x', sizeof(big));
	for (int i = 0; i < 12; i++) {
		char k[16];

		snprintf(k, sizeof(k), "big%d", i);
		f_put(&f->base, k, big, 1000, &m, NULL, 0);
		get(c, k, got, sizeof(got));
	}
	CHECK(bytes(sub) > 4000 && bytes(sub) <= 8192,
	      "after 12 KB read, the copies stay within their bound: %ld "
	      "bytes for 8 KiB", bytes(sub));
	c->ops->free(c);
	unit_rm_rf(dir);
	return unit_done();
}
