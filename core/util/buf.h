/* core/util/buf.h: a growable byte buffer with a size cap.
 *
 * `data` is always NUL-terminated after `len` bytes (when allocated) so text
 * can be used directly. Growth is checked for overflow and refused past
 * `cap` with -EFBIG. Not thread-safe; the owner serialises access.
 */
#ifndef LLMUNIX_BUF_H
#define LLMUNIX_BUF_H

#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t alloc;
	size_t cap;	/* largest allowed len; 0 means BUF_DEFAULT_CAP */
};

#define BUF_DEFAULT_CAP ((size_t)1 << 30)

void buf_init(struct buf *b, size_t cap);
void buf_release(struct buf *b);
/* Make room for `len` bytes in total; returns 0, -ENOMEM or -EFBIG. */
int buf_reserve(struct buf *b, size_t len);
/* Set the length to `len`, zero-filling any growth. */
int buf_resize(struct buf *b, size_t len);
int buf_append(struct buf *b, const void *data, size_t len);
/* Write `len` bytes at `off`, growing (zero-filled) as needed. */
int buf_pwrite(struct buf *b, const void *data, size_t len, size_t off);

#endif
