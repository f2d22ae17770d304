/* core/util/sha256.h: SHA-256, for the keys of cached results and the
 * content hashes of skills; a thin layer over nettle (the only file that
 * includes it is sha256.c).
 *
 * Incremental: sha256_begin(), any number of sha256_add(), then
 * sha256_end(). A context is used by one thread at a time; nothing here
 * allocates or fails.
 */
#ifndef LLMUNIX_SHA256_H
#define LLMUNIX_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_HEX (2 * SHA256_LEN + 1)

/* Room for nettle's context (checked at compile time in sha256.c). */
struct sha256 {
	union {
		uint64_t align;
		unsigned char raw[128];
	} ctx;
};

void sha256_begin(struct sha256 *s);
void sha256_add(struct sha256 *s, const void *data, size_t len);
void sha256_end(struct sha256 *s, uint8_t out[SHA256_LEN]);
/* One call: hash `len` bytes of `data`. */
void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);
/* Lower-case hex of a digest, NUL-terminated. Returns `hex`. */
char *sha256_hex(const uint8_t d[SHA256_LEN], char hex[SHA256_HEX]);

#endif
