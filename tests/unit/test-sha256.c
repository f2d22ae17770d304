/* tests/unit/test-sha256.c: SHA-256 against the FIPS 180-4 examples and
 * sha256sum, whole and in pieces. */
#include "unit.h"

#include "core/util/sha256.h"

static void expect(const char *what, const void *data, size_t len,
		   const char *hex)
{
	uint8_t d[SHA256_LEN];
	char h[SHA256_HEX];
	struct sha256 s;

	sha256(data, len, d);
	CHECK_STR_EQ(hex, sha256_hex(d, h), "%s", what);
	/* the same bytes fed one at a time */
	sha256_begin(&s);
	for (size_t i = 0; i < len; i++)
		sha256_add(&s, (const char *)data + i, 1);
	sha256_end(&s, d);
	CHECK_STR_EQ(hex, sha256_hex(d, h), "%s, a byte at a time", what);
}

int main(void)
{
	char *m = malloc(1000000);

	expect("empty", "", 0,
	       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	expect("abc", "abc", 3,
	       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	expect("two blocks",
	       "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
	       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	if (m) {
		memset(m, 'a', 1000000);
		expect("a million a's", m, 1000000,
		       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
		/* 55, 56 and 64 bytes: the padding's edge cases */
		expect("55 a's", m, 55,
		       "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
		expect("56 a's", m, 56,
		       "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
		expect("64 a's", m, 64,
		       "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
	}
	free(m);
	return unit_done();
}
