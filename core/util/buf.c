/* core/util/buf.c: growable buffer, see buf.h. */
#include "core/util/buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t buf_cap(const struct buf *b)
{
	return b->cap ? b->cap : BUF_DEFAULT_CAP;
}

void buf_init(struct buf *b, size_t cap)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap;
}

void buf_release(struct buf *b)
{
	free(b->data);
	buf_init(b, b->cap);
}

int buf_reserve(struct buf *b, size_t len)
{
	size_t want;
	char *p;

	if (len > buf_cap(b))
		return -EFBIG;
	if (len < b->alloc)
		return 0;
	want = b->alloc ? b->alloc : 64;
	while (want <= len) {
		if (want > SIZE_MAX / 2)
			return -ENOMEM;
		want *= 2;
	}
	p = realloc(b->data, want);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->alloc = want;
	return 0;
}

int buf_resize(struct buf *b, size_t len)
{
	int rc = buf_reserve(b, len);

	if (rc)
		return rc;
	if (len > b->len)
		memset(b->data + b->len, 0, len - b->len);
	b->len = len;
	b->data[len] = '\0';
	return 0;
}

int buf_pwrite(struct buf *b, const void *data, size_t len, size_t off)
{
	size_t end;
	int rc;

	if (off > SIZE_MAX - len)
		return -EFBIG;
	end = off + len;
	if (end > b->len) {
		rc = buf_resize(b, end);
		if (rc)
			return rc;
	}
	if (len)
		memcpy(b->data + off, data, len);
	return 0;
}

int buf_append(struct buf *b, const void *data, size_t len)
{
	return buf_pwrite(b, data, len, b->len);
}
