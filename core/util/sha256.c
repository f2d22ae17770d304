/* core/util/sha256.c: SHA-256 through nettle's sha2 (see sha256.h). */
#include "core/util/sha256.h"

#include <nettle/sha2.h>

_Static_assert(sizeof(struct sha256_ctx) <= sizeof(((struct sha256 *)0)->ctx),
	       "struct sha256 too small for nettle's context");
_Static_assert(SHA256_DIGEST_SIZE == SHA256_LEN, "SHA-256 is 32 bytes");

static struct sha256_ctx *ctx_of(struct sha256 *s)
{
	return (struct sha256_ctx *)(void *)s->ctx.raw;
}

void sha256_begin(struct sha256 *s)
{
	sha256_init(ctx_of(s));
}

void sha256_add(struct sha256 *s, const void *data, size_t len)
{
	sha256_update(ctx_of(s), len, data);
}

void sha256_end(struct sha256 *s, uint8_t out[SHA256_LEN])
{
	sha256_digest(ctx_of(s), SHA256_LEN, out);
}

void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN])
{
	struct sha256 s;

	sha256_begin(&s);
	sha256_add(&s, data, len);
	sha256_end(&s, out);
}

char *sha256_hex(const uint8_t d[SHA256_LEN], char hex[SHA256_HEX])
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < SHA256_LEN; i++) {
		hex[2 * i] = digits[d[i] >> 4];
		hex[2 * i + 1] = digits[d[i] & 15];
	}
	hex[2 * SHA256_LEN] = '\0';
	return hex;
}
