/* tests/unit/test-buf.c: the capped growable buffer (core/util/buf.h) and
 * log_escape (core/util/log.h). */
#include "core/util/buf.h"
#include "core/util/log.h"
#include "unit.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

static void test_buf(void)
{
	struct buf b;
	int zeros = 1;

	buf_init(&b, 0);
	CHECK(b.data == NULL && b.len == 0, "a new buffer is empty");
	CHECK_INT_EQ(0, buf_append(&b, "hello", 5), "append 5 bytes");
	CHECK_MEM_EQ("hello", (size_t)5, b.data, b.len, "the bytes are there");
	CHECK_INT_EQ('\0', b.data[b.len], "the data is NUL-terminated");
	CHECK_INT_EQ(0, buf_pwrite(&b, "XY", 2, 1), "pwrite inside");
	CHECK_MEM_EQ("hXYlo", (size_t)5, b.data, b.len, "overwritten in place");
	CHECK_INT_EQ(0, buf_pwrite(&b, "!", 1, 10), "pwrite past the end");
	CHECK_INT_EQ(11, b.len, "the buffer grew to 11");
	for (size_t i = 5; i < 10; i++)
		if (b.data[i] != '\0')
			zeros = 0;
	CHECK(zeros, "the gap is zero-filled");
	CHECK_INT_EQ(0, buf_resize(&b, 3), "shrink to 3");
	CHECK_MEM_EQ("hXY", (size_t)3, b.data, b.len, "shrunk");
	CHECK_INT_EQ('\0', b.data[3], "NUL after shrinking");
	CHECK_INT_EQ(0, buf_resize(&b, 6), "grow to 6 again");
	CHECK_MEM_EQ("hXY\0\0\0", (size_t)6, b.data, b.len,
		     "growth after a shrink is zero-filled, not old bytes");
	CHECK_INT_EQ(-EFBIG, buf_pwrite(&b, "x", 1, SIZE_MAX),
		     "an offset that overflows is refused");
	CHECK_INT_EQ(-EFBIG, buf_pwrite(&b, "x", SIZE_MAX, 2),
		     "a length that overflows is refused");
	CHECK_INT_EQ(6, b.len, "refused writes change nothing");
	buf_release(&b);
	CHECK(b.data == NULL && b.len == 0, "release empties the buffer");

	buf_init(&b, 8);
	CHECK_INT_EQ(0, buf_append(&b, "12345678", 8), "fill a cap of 8");
	CHECK_INT_EQ(-EFBIG, buf_append(&b, "9", 1), "one more is EFBIG");
	CHECK_INT_EQ(-EFBIG, buf_resize(&b, 9), "resize past the cap is EFBIG");
	CHECK_INT_EQ(-EFBIG, buf_reserve(&b, 100), "reserve past the cap");
	CHECK_MEM_EQ("12345678", (size_t)8, b.data, b.len,
		     "the content survives refused growth");
	buf_release(&b);
	CHECK_INT_EQ(8, b.cap, "release keeps the cap");

	buf_init(&b, 0);
	CHECK_INT_EQ(0, buf_resize(&b, 0), "resize an empty buffer to 0");
	CHECK(b.data && b.data[0] == '\0', "an empty buffer still has a NUL");
	CHECK_INT_EQ(-EFBIG, buf_reserve(&b, BUF_DEFAULT_CAP + 1),
		     "cap 0 means the default cap of 1 GiB");
	buf_release(&b);
}

static void test_escape(void)
{
	char out[64], small[8];

	CHECK_STR_EQ("plain name.md", log_escape(out, sizeof(out),
						 "plain name.md"),
		     "printable ASCII passes unchanged");
	CHECK_STR_EQ("a\\x0ab\\x1b[0m", log_escape(out, sizeof(out),
						    "a\nb\x1b[0m"),
		     "newline and escape are escaped");
	CHECK_STR_EQ("h\\xc3\\xa9", log_escape(out, sizeof(out), "h\xc3\xa9"),
		     "non-ASCII bytes are escaped");
	CHECK_STR_EQ("back\\x5cslash", log_escape(out, sizeof(out),
						   "back\\slash"),
		     "a backslash is escaped, so escapes are unambiguous");
	CHECK_STR_EQ("abcd...", log_escape(small, sizeof(small),
					   "abcdefghijkl"),
		     "a long name is cut with '...'");
	CHECK(strlen(log_escape(small, sizeof(small), "\n\n\n\n")) < 8,
	      "escapes never overflow the output");
	CHECK_STR_EQ("abcdefg", log_escape(small, sizeof(small), "abcdefg"),
		     "a name that fits exactly (7 bytes + NUL) is not cut");
	CHECK_STR_EQ("", log_escape(small, 1, "abc"),
		     "a 1-byte output holds the empty string");

	/* log_text_escape: a run's log line can be neither forged nor used
	 * to drive a terminal. */
	CHECK_INT_EQ(9, log_text_escape(out, sizeof(out), "plain 42\t"),
		     "plain text and a tab are kept");
	CHECK_STR_EQ("a\n    b", (log_text_escape(out, sizeof(out), "a\nb"), out),
		     "a newline starts an indented continuation line");
	CHECK_STR_EQ("x\\x1b[31mred\\x0d", (log_text_escape(out, sizeof(out),
		     "x\x1b[31mred\r"), out), "ESC and CR are escaped");
	CHECK_STR_EQ("h\xc3\xa9 \xe2\x82\xac", (log_text_escape(out, sizeof(out),
		     "h\xc3\xa9 \xe2\x82\xac"), out), "valid UTF-8 is kept");
	CHECK_STR_EQ("\\xc2\\x9b2J", (log_text_escape(out, sizeof(out),
		     "\xc2\x9b" "2J"), out), "a C1 control (CSI) is escaped");
	CHECK_STR_EQ("\\xff\\xc3(", (log_text_escape(out, sizeof(out),
		     "\xff\xc3("), out), "bytes that are not UTF-8 are escaped");
	CHECK_STR_EQ("\\xed\\xa0\\x80", (log_text_escape(out, sizeof(out),
		     "\xed\xa0\x80"), out), "a surrogate is escaped");
	CHECK_INT_EQ(5, log_text_escape(small, sizeof(small),
					"abcde\xe2\x82\xac" "fg"),
		     "cut to fit, at a character boundary");
	CHECK_STR_EQ("abcde", small, "the cut keeps whole characters only");
}

int main(void)
{
	test_buf();
	test_escape();
	return unit_done();
}
