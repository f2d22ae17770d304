/* tests/unit/test-name.c: name_check and name_is_noise (core/util/name.h). */
#include "core/util/name.h"
#include "unit.h"

#include <errno.h>
#include <string.h>

/* A name of `len` bytes made of `unit` (a UTF-8 sequence) repeated, then
 * padded with 'x'. */
static void make_name(char *out, size_t len, const char *unit)
{
	size_t k = strlen(unit), i = 0;

	while (i + k <= len) {
		memcpy(out + i, unit, k);
		i += k;
	}
	while (i < len)
		out[i++] = 'x';
	out[len] = '\0';
}

static void test_check(void)
{
	char name[600];

	make_name(name, 255, "a");
	CHECK_INT_EQ(0, name_check(name), "a 255-byte name is accepted");
	make_name(name, 256, "a");
	CHECK_INT_EQ(-ENAMETOOLONG, name_check(name),
		     "a 256-byte name is ENAMETOOLONG");
	make_name(name, 599, "a");
	CHECK_INT_EQ(-ENAMETOOLONG, name_check(name),
		     "a 599-byte name is ENAMETOOLONG");
	/* 85 three-byte characters: 255 bytes, fewer characters. */
	make_name(name, 255, "\xe6\x97\xa5");
	CHECK_INT_EQ(0, name_check(name),
		     "255 bytes of 3-byte UTF-8 characters are accepted");
	make_name(name, 258, "\xe6\x97\xa5");
	CHECK_INT_EQ(-ENAMETOOLONG, name_check(name),
		     "86 3-byte characters (258 bytes) are ENAMETOOLONG");

	CHECK_INT_EQ(-EINVAL, name_check(""), "\"\" is EINVAL");
	CHECK_INT_EQ(-EINVAL, name_check("."), "\".\" is EINVAL");
	CHECK_INT_EQ(-EINVAL, name_check(".."), "\"..\" is EINVAL");
	CHECK_INT_EQ(-EINVAL, name_check("a/b"), "\"a/b\" is EINVAL");
	CHECK_INT_EQ(-EINVAL, name_check("/"), "\"/\" is EINVAL");
	CHECK_INT_EQ(-EINVAL, name_check("a/"), "\"a/\" is EINVAL");

	CHECK_INT_EQ(0, name_check("a"), "\"a\" is fine");
	CHECK_INT_EQ(0, name_check("..."), "\"...\" is fine");
	CHECK_INT_EQ(0, name_check(".hidden"), "\".hidden\" is fine");
	CHECK_INT_EQ(0, name_check("..x"), "\"..x\" is fine");
	CHECK_INT_EQ(0, name_check("notes with spaces.md"),
		     "a name with spaces is fine");
	CHECK_INT_EQ(0, name_check("h\xc3\xa9llo-\xe6\x97\xa5\xe6\x9c\xac.md"),
		     "a UTF-8 name (accents, CJK) is fine");
	CHECK_INT_EQ(0, name_check("\xf0\x9f\x98\x80.md"),
		     "a name with a 4-byte UTF-8 emoji is fine");
}

static void test_noise(void)
{
	static const char *const noise[] = {
		"4913", "x.swp", ".x.swp", ".x.swo", ".x.swx", "x~",
		".notes.md~", ".#x", ".#notes.md", "sedAb12Cd", "sed000000",
		"sedzzzzzz",
	};
	static const char *const clean[] = {
		"sed.txt", "notes.md", "swp", "4913.md", "x4913", "49130",
		"sed", "sedAb12C", "sedAb12Cde", "sedAb.2Cd", "sed-b12Cd",
		"x.swp.md", "a#b", "#x", ".x", "~x", "x~y", "README",
		"SEDAb12Cd",
	};

	for (size_t i = 0; i < sizeof(noise) / sizeof(noise[0]); i++)
		CHECK(name_is_noise(noise[i]), "'%s' is editor noise",
		      noise[i]);
	for (size_t i = 0; i < sizeof(clean) / sizeof(clean[0]); i++)
		CHECK(!name_is_noise(clean[i]), "'%s' is not noise",
		      clean[i]);
}

int main(void)
{
	test_check();
	test_noise();
	return unit_done();
}
