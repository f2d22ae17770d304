/* tests/unit/test-s3-wire.c: what the S3 backend reads and writes besides
 * HTTP (core/store/s3_int.h): ListObjectsV2 pages, the xattrs header,
 * S3's dates; and its local metadata cache (core/store/objmeta.h), kept
 * across a reopen and a line cut short by a crash. */
#include "core/store/objmeta.h"
#include "core/store/s3_int.h"
#include "unit.h"

#include <fcntl.h>
#include <time.h>

struct seen {
	char keys[8][128];
	char etags[8][80];
	uint64_t sizes[8];
	int n;
};

static int collect(void *arg, const struct s3_obj *o)
{
	struct seen *s = arg;

	if (s->n < 8) {
		snprintf(s->keys[s->n], 128, "%.127s", o->key);
		snprintf(s->etags[s->n], 80, "%.79s", o->etag);
		s->sizes[s->n] = o->size;
	}
	s->n++;
	return 0;
}

static void test_list(void)
{
	static const char page[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/"
		"2006-03-01/\"><Name>b</Name><IsTruncated>true</IsTruncated>"
		"<Contents><Key>volumes/user/a/skills/x &amp; y.md</Key>"
		"<LastModified>2024-01-02T03:04:05.678Z</LastModified>"
		"<ETag>&quot;abc&quot;</ETag><Size>1234</Size></Contents>"
		"<Contents><Key>volumes/user/a/skills/d/</Key><ETag>\"e\""
		"</ETag><Size>0</Size></Contents>"
		"<NextContinuationToken>tok/+=</NextContinuationToken>"
		"</ListBucketResult>";
	struct seen s = { .n = 0 };
	char token[64];
	int truncated = 0;

	CHECK_INT_EQ(0, s3_list_parse(page, sizeof(page) - 1, collect, &s,
				      &truncated, token, sizeof(token)),
		     "a page of ListObjectsV2 parses");
	CHECK(s.n == 2 && !strcmp(s.keys[0], "volumes/user/a/skills/x & y.md")
	      && !strcmp(s.keys[1], "volumes/user/a/skills/d/"),
	      "its keys, entities decoded (%d)", s.n);
	CHECK(!strcmp(s.etags[0], "\"abc\"") && s.sizes[0] == 1234,
	      "ETag and size");
	CHECK(truncated && !strcmp(token, "tok/+="),
	      "truncated, with the token of the next page");
	CHECK_INT_EQ(-EIO, s3_list_parse("<Error><Code>X</Code></Error>", 29,
					 collect, &s, &truncated, token,
					 sizeof(token)),
		     "an error reply is not a listing");
}

static void test_xattrs(void)
{
	struct blob_xattr v[2] = {
		{ "user.a b", "v=1&2%", 6 },
		{ "user.bin", "\0\n\xff", 3 },
	};
	struct blob_xattrs x = { v, 2 }, back;
	char enc[256], small[16];

	CHECK_INT_EQ(0, s3_xattrs_encode(&x, enc, sizeof(enc)),
		     "xattrs encode");
	CHECK(!strpbrk(enc, " \t\r\n:"), "as one header value: %s", enc);
	if (CHECK_INT_EQ(0, s3_xattrs_decode(enc, &back), "and decode")) {
		CHECK(back.n == 2 && !strcmp(back.v[0].name, "user.a b") &&
		      back.v[0].len == 6 && !memcmp(back.v[0].value, "v=1&2%", 6)
		      && back.v[1].len == 3 &&
		      !memcmp(back.v[1].value, "\0\n\xff", 3),
		      "the same names and values, any bytes");
		blob_xattrs_release(&back);
	}
	CHECK_INT_EQ(-ENOSPC, s3_xattrs_encode(&x, small, sizeof(small)),
		     "a set too large for its room: ENOSPC");
	CHECK_INT_EQ(-EINVAL, s3_xattrs_decode("trusted.x=1", &back),
		     "only user.* names are taken back");
	CHECK_INT_EQ(-EINVAL, s3_xattrs_decode("user.x=%4", &back),
		     "a cut escape is refused");
}

static void test_helpers(void)
{
	struct timespec ts;
	char out[16];

	CHECK(s3_parse_time("2024-01-02T03:04:05.678Z", &ts) == 0 &&
	      ts.tv_sec == 1704164645 && ts.tv_nsec == 678000000,
	      "an S3 date with milliseconds");
	CHECK(s3_pct_decode(out, sizeof(out), "a%2Fb", 5) == 0 &&
	      !strcmp(out, "a/b"), "percent-decoding");
	CHECK_INT_EQ(-EINVAL, s3_pct_decode(out, sizeof(out), "a%00", 4),
		     "a NUL is refused");
	CHECK_INT_EQ(-ENAMETOOLONG, s3_pct_decode(out, 3, "abcd", 4),
		     "what does not fit is refused");
}

static void test_objmeta(void)
{
	char dir[] = "/tmp/unit-objmeta.XXXXXX", path[256];
	struct objmeta_ent e, got;
	struct objmeta *o;
	int fd;

	if (!CHECK(mkdtemp(dir) != NULL, "a temporary folder"))
		return;
	snprintf(path, sizeof(path), "%s/meta", dir);
	if (!CHECK_INT_EQ(0, objmeta_open(&o, path), "a new cache opens"))
		return;
	memset(&e, 0, sizeof(e));
	snprintf(e.etag, sizeof(e.etag), "\"d41d8\"");
	e.m.mode = S_IFREG | 0600;
	e.m.uid = 1001;
	e.m.gid = 1002;
	e.m.mtime.tv_sec = 981173106;
	e.m.mtime.tv_nsec = 123456789;
	e.m.size = 42;
	e.xattrs = "user.k=v";
	CHECK_INT_EQ(0, objmeta_set(o, "volumes/user/a/skills/a\tb\nc.md", &e),
		     "an entry with a tab and a newline in its key");
	objmeta_set(o, "gone", &e);
	objmeta_del(o, "gone");
	objmeta_free(o);
	/* A crash in the middle of a line. */
	fd = open(path, O_WRONLY | O_APPEND);
	if (fd >= 0) {
		CHECK(write(fd, "S\tcut", 5) == 5, "a line cut short");
		close(fd);
	}
	if (!CHECK_INT_EQ(0, objmeta_open(&o, path), "the cache opens again"))
		return;
	if (CHECK_INT_EQ(0, objmeta_get(o, "volumes/user/a/skills/a\tb\nc.md",
					&got), "the entry is back")) {
		CHECK(!strcmp(got.etag, "\"d41d8\"") &&
		      got.m.mode == (S_IFREG | 0600) && got.m.uid == 1001 &&
		      got.m.gid == 1002 && got.m.mtime.tv_sec == 981173106 &&
		      got.m.mtime.tv_nsec == 123456789 && got.m.size == 42 &&
		      got.xattrs && !strcmp(got.xattrs, "user.k=v"),
		      "whole: ETag, mode, owner, mtime, size, xattrs");
		free(got.xattrs);
	}
	CHECK_INT_EQ(-ENOENT, objmeta_get(o, "gone", &got),
		     "a deleted entry stays deleted");
	CHECK_INT_EQ(-ENOENT, objmeta_get(o, "cut", &got),
		     "the cut line is ignored");
	objmeta_free(o);
	unit_rm_rf(dir);
}

int main(void)
{
	test_list();
	test_xattrs();
	test_helpers();
	test_objmeta();
	return unit_done();
}
