/* core/sha256.h: SHA-256 (FIPS 180-4), for the keys of cached results.
 *
 * Incremental: sha256_init(), any number of sha256_update(), then
 * sha256_final(). A context is used by one thread at a time.
 */
#ifndef LLMUNIX_SHA256_H
#define LLMUNIX_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_HEX (2 * SHA256_LEN + 1)

struct sha256 {
	uint32_t h[8];
	uint64_t total;		/* bytes hashed */
	uint8_t block[64];
	size_t used;		/* bytes in block */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, uint8_t out[SHA256_LEN]);
/* One call: hash `len` bytes of `data`. */
void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);
/* Lower-case hex of a digest, NUL-terminated. Returns `hex`. */
char *sha256_hex(const uint8_t d[SHA256_LEN], char hex[SHA256_HEX]);

#endif
