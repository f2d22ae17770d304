/* tests/unit/test-vercel-wire.c: what the Vercel Blob backend reads and
 * writes besides HTTP (core/store/vercel_int.h): the API's JSON replies
 * and errors, the body of a delete, ETags compared, the table of download
 * URLs; and the journal of renames (core/store/journal.h), replayed after
 * a stop, with entries cut short. */
#include "core/store/journal.h"
#include "core/store/vercel_int.h"
#include "unit.h"

#include <fcntl.h>

#define LIT(s) s, sizeof(s) - 1

struct seen {
	char paths[8][128];
	uint64_t sizes[8];
	int n;
};

static int collect(void *arg, const struct vc_blob *b)
{
	struct seen *s = arg;

	if (s->n < 8) {
		snprintf(s->paths[s->n], 128, "%.127s", b->pathname);
		s->sizes[s->n] = b->size;
	}
	s->n++;
	return s->n > 5 ? -E2BIG : 0;
}

static void test_blob(void)
{
	static const char put[] =
		"{\"url\":\"https://s.public.blob.vercel-storage.com/"
		"v/a%20b.md\",\"downloadUrl\":\"https://s.public.blob."
		"vercel-storage.com/v/a%20b.md?download=1\","
		"\"pathname\":\"v/a b.md\",\"contentType\":\"text/markdown\","
		"\"contentDisposition\":\"attachment; filename=\\\"a b.md"
		"\\\"\",\"etag\":\"\\\"e1\\\"\"}";
	static const char head[] =
		"{\"url\":\"u\",\"pathname\":\"p\",\"size\":12345678901,"
		"\"uploadedAt\":\"2024-05-04T15:12:07.818Z\","
		"\"etag\":\"\\\"x\\\"\"}";
	struct vc_blob *b = malloc(sizeof(*b));

	if (!CHECK(b != NULL, "memory"))
		return;
	if (CHECK_INT_EQ(0, vc_json_blob(put, sizeof(put) - 1, b),
			 "a put's reply parses")) {
		CHECK_STR_EQ("v/a b.md", b->pathname, "its pathname");
		CHECK_STR_EQ("https://s.public.blob.vercel-storage.com/v/"
			     "a%20b.md", b->url, "its url");
		CHECK_STR_EQ("\"e1\"", b->etag, "its etag");
		CHECK(b->size == 0 && !b->uploaded[0],
		      "no size nor uploadedAt in a put's reply: empty");
	}
	if (CHECK_INT_EQ(0, vc_json_blob(head, sizeof(head) - 1, b),
			 "a head's reply parses"))
		CHECK(b->size == 12345678901ull &&
		      !strcmp(b->uploaded, "2024-05-04T15:12:07.818Z"),
		      "size (past 32 bits) and uploadedAt");
	CHECK_INT_EQ(-EIO, vc_json_blob(LIT("{\"url\":\"u\"}"), b),
		     "no pathname: not a blob");
	CHECK_INT_EQ(-EIO, vc_json_blob(LIT("{\"pathname\":5,\"url\":\"u\"}"),
					b), "a pathname that is not a string");
	CHECK_INT_EQ(-EIO, vc_json_blob(LIT("[1,2]"), b), "not an object");
	CHECK_INT_EQ(-EIO, vc_json_blob(LIT("{\"url\":"), b), "cut short");
	CHECK_INT_EQ(-EIO, vc_json_blob(NULL, 0, b), "no body");
	free(b);
}

static void test_list(void)
{
	static const char page[] =
		"{\"blobs\":[{\"url\":\"u1\",\"downloadUrl\":\"d1\","
		"\"pathname\":\"volumes/user/a/skills/x.md\",\"size\":3,"
		"\"uploadedAt\":"
		"\"2024-01-02T03:04:05.678Z\",\"etag\":\"\\\"a\\\"\"},"
		"{\"url\":\"u2\","
		"\"pathname\":\"volumes/user/a/skills/d/\","
		"\"size\":0,\"uploadedAt\":\"2024-01-02T03:04:05.678Z\"}],"
		"\"cursor\":\"c/+=\",\"hasMore\":true}";
	static const char last[] = "{\"blobs\":[],\"hasMore\":false}";
	static const char six[] =
		"{\"blobs\":[{\"url\":\"u\",\"pathname\":\"1\"},"
		"{\"url\":\"u\",\"pathname\":\"2\"},"
		"{\"url\":\"u\",\"pathname\":\"3\"},"
		"{\"url\":\"u\",\"pathname\":\"4\"},"
		"{\"url\":\"u\",\"pathname\":\"5\"},"
		"{\"url\":\"u\",\"pathname\":\"6\"}],\"hasMore\":false}";
	struct seen s = { .n = 0 };
	char cursor[16];
	int more = 0;

	CHECK_INT_EQ(0, vc_json_list(page, sizeof(page) - 1, collect, &s,
				     &more, cursor, sizeof(cursor)),
		     "a page of a list parses");
	CHECK(s.n == 2 && !strcmp(s.paths[0], "volumes/user/a/skills/x.md") &&
	      s.sizes[0] == 3 && !strcmp(s.paths[1],
					 "volumes/user/a/skills/d/"),
	      "its blobs, a folder marker among them (%d)", s.n);
	CHECK(more && !strcmp(cursor, "c/+="), "hasMore, and the cursor");
	CHECK_INT_EQ(0, vc_json_list(last, sizeof(last) - 1, collect, &s,
				     &more, cursor, sizeof(cursor)),
		     "the last page");
	CHECK(!more && !cursor[0], "no more, no cursor");
	CHECK_INT_EQ(-ERANGE, vc_json_list(LIT("{\"blobs\":[],\"cursor\":"
					       "\"0123456789abcdefXYZ\","
					       "\"hasMore\":true}"), collect,
					   &s, &more, cursor, sizeof(cursor)),
		     "a cursor over its cap");
	CHECK_INT_EQ(-EIO, vc_json_list(LIT("{\"error\":{\"code\":"
					    "\"forbidden\"}}"), collect, &s,
					&more, cursor, sizeof(cursor)),
		     "an error is not a list");
	CHECK_INT_EQ(-EIO, vc_json_list(LIT("{\"blobs\":{},"
					    "\"hasMore\":false}"), collect, &s,
					&more, cursor, sizeof(cursor)),
		     "blobs that are not an array");
	CHECK_INT_EQ(-EIO, vc_json_list(LIT("{\"blobs\":[],"
					    "\"hasMore\":\"no\"}"), collect, &s,
					&more, cursor, sizeof(cursor)),
		     "hasMore that is not a boolean");
	s.n = 0;
	CHECK_INT_EQ(-E2BIG, vc_json_list(six, sizeof(six) - 1, collect, &s,
					  &more, cursor, sizeof(cursor)),
		     "what the callback returns stops the page");
	CHECK_INT_EQ(6, s.n, "... at that blob");
}

static void test_error(void)
{
	static const char e[] = "{\"error\":{\"code\":\"bad_request\","
				"\"message\":\"This blob already exists\"}}";
	char code[16], msg[64];

	CHECK_INT_EQ(0, vc_json_error(e, sizeof(e) - 1, code, sizeof(code),
				      msg, sizeof(msg)),
		     "an error reply parses");
	CHECK(!strcmp(code, "bad_request") &&
	      !strcmp(msg, "This blob already exists"), "its code and message");
	CHECK_INT_EQ(-ENOENT, vc_json_error(LIT("<html>502</html>"), code,
					    sizeof(code), msg, sizeof(msg)),
		     "a proxy's HTML page is not one");
	CHECK(!code[0] && !msg[0], "... and says nothing");
	CHECK_INT_EQ(0, vc_json_error(LIT("{\"error\":{\"code\":\"rate_"
					  "limited_for_a_very_long_time\"}}"),
				      code, sizeof(code), msg, sizeof(msg)),
		     "a long code");
	CHECK_STR_EQ("rate_limited_fo", code, "... is cut to its buffer");
}

static void test_urls_body(void)
{
	const char *keys[] = { "volumes/a \"q\".md", "b\\c", "\xc3\xbc" };
	const char *bad[] = { "ok", "\xff\xfe" };
	char *body;

	if (CHECK_INT_EQ(0, vc_json_urls(keys, 3, &body), "a delete's body")) {
		CHECK_STR_EQ("{\"urls\":[\"volumes/a \\\"q\\\".md\",\"b\\\\c\","
			     "\"\xc3\xbc\"]}", body, "as JSON, escaped");
		free(body);
	}
	CHECK_INT_EQ(-EINVAL, vc_json_urls(bad, 2, &body),
		     "a pathname that is not UTF-8 cannot be said in JSON");
}

static void test_etag(void)
{
	char out[16];

	vc_etag_norm(out, sizeof(out), "\"abc\"");
	CHECK_STR_EQ("abc", out, "quotes off");
	vc_etag_norm(out, sizeof(out), "W/\"abc\"");
	CHECK_STR_EQ("abc", out, "a weak one");
	vc_etag_norm(out, sizeof(out), "abc");
	CHECK_STR_EQ("abc", out, "bare");
	vc_etag_norm(out, 4, "\"abcdef\"");
	CHECK_STR_EQ("abc", out, "cut to its buffer");
}

static void test_url_table(void)
{
	struct vc_urls *u;
	char url[VC_URL_MAX], key[32];
	int all = 1;

	if (!CHECK_INT_EQ(0, vc_urls_new(&u), "a table of URLs"))
		return;
	CHECK_INT_EQ(-ENOENT, vc_urls_get(u, "k", url), "empty");
	vc_urls_set(u, "k", "http://one/k");
	vc_urls_set(u, "k", "http://two/k");
	CHECK(vc_urls_get(u, "k", url) == 0 && !strcmp(url, "http://two/k"),
	      "set twice: the second");
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "key-%d", i);
		vc_urls_set(u, key, key);
	}
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "key-%d", i);
		all &= vc_urls_get(u, key, url) == 0 && !strcmp(url, key);
	}
	CHECK(all, "5,000 keys, each with its own");
	vc_urls_del(u, "k");
	CHECK_INT_EQ(-ENOENT, vc_urls_get(u, "k", url), "deleted");
	vc_urls_free(u);
}

struct settled {
	char kinds[8];
	char fields[8][JOURNAL_FIELDS][64];
	int n, fail_kind;
};

static int settle(void *arg, char kind, char *const f[JOURNAL_FIELDS])
{
	struct settled *s = arg;

	if (kind == s->fail_kind)
		return -EIO;
	if (s->n < 8) {
		s->kinds[s->n] = kind;
		for (int i = 0; i < JOURNAL_FIELDS; i++)
			snprintf(s->fields[s->n][i], 64, "%.63s", f[i]);
	}
	s->n++;
	return 0;
}

static void write_raw(const char *dir, const char *name, const char *text)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0) {
		if (write(fd, text, strlen(text)) < 0)
			unit_note("write %s failed", path);
		close(fd);
	}
}

static void test_journal(void)
{
	char tmp[256], dir[512], id[JOURNAL_ID_MAX];
	const char *f[JOURNAL_FIELDS] = { "a/b c.md", "a/\"d\".md", "\"e1\"",
					  NULL };
	struct settled s = { .n = 0, .fail_kind = 'Z' };
	struct journal *j;

	unit_tmpdir(tmp, sizeof(tmp), "vercel-journal");
	snprintf(dir, sizeof(dir), "%s/journal", tmp);
	if (!CHECK_INT_EQ(0, journal_open(&j, dir), "a journal"))
		return;
	CHECK_INT_EQ(0, journal_add(j, id, 'F', f), "an entry is written");
	CHECK_INT_EQ(1, unit_count_entries(dir), "... as one file");
	f[3] = "\"b4\"";
	CHECK_INT_EQ(0, journal_set(j, id, 'X', f), "and replaced");
	CHECK_INT_EQ(1, unit_count_entries(dir), "... still one");
	journal_done(j, id);
	CHECK_INT_EQ(0, unit_count_entries(dir), "done: gone");

	journal_add(j, id, 'F', f);
	write_raw(dir, "1-cut", "C");		/* before its fsync */
	write_raw(dir, "1-9.new", "F\nx\n");	/* a rewrite cut short */
	write_raw(dir, "1-bad", "F\n%zz\n\n\n\n");	/* not ours */
	write_raw(dir, "1-empty", "C\na/\nb/\n\n\n");
	write_raw(dir, "1-three", "X\na/\nb/\n");	/* fields missing */
	s.fail_kind = 'Z';
	CHECK_INT_EQ(0, journal_replay(j, settle, &s), "a replay");
	CHECK_INT_EQ(3, s.n, "settles the three whole entries");
	for (int i = 0; i < s.n && i < 8; i++) {
		if (s.kinds[i] == 'X')
			CHECK(!strcmp(s.fields[i][1], "b/") &&
			      !s.fields[i][2][0] && !s.fields[i][3][0],
			      "fields missing at the end are empty");
		else if (s.kinds[i] == 'F')
			CHECK(!strcmp(s.fields[i][0], "a/b c.md") &&
			      !strcmp(s.fields[i][1], "a/\"d\".md") &&
			      !strcmp(s.fields[i][2], "\"e1\"") &&
			      !strcmp(s.fields[i][3], "\"b4\""),
			      "its fields, decoded");
		else
			CHECK(s.kinds[i] == 'C' &&
			      !strcmp(s.fields[i][0], "a/") &&
			      !s.fields[i][2][0] && !s.fields[i][3][0],
			      "empty fields stay empty");
	}
	CHECK_INT_EQ(0, unit_count_entries(dir),
		     "and leaves the folder empty");

	journal_add(j, id, 'C', f);
	s.fail_kind = 'C';
	CHECK_INT_EQ(-EIO, journal_replay(j, settle, &s),
		     "an entry that cannot be settled stops the replay");
	CHECK_INT_EQ(1, unit_count_entries(dir),
		     "... and is kept for the next one");
	journal_free(j);
	unit_rm_rf(tmp);
}

int main(void)
{
	test_blob();
	test_list();
	test_error();
	test_urls_body();
	test_etag();
	test_url_table();
	test_journal();
	return unit_done();
}
