/* core/llm/sse.h: an incremental parser of server-sent events (the
 * text/event-stream format of the WHATWG HTML standard), as the LLM
 * providers stream their answers.
 *
 * Bytes are fed as they arrive, split anywhere: in the middle of a line,
 * of a CRLF pair, of a UTF-8 character. Lines end in CRLF, LF or CR; a
 * line starting with ':' is a comment (keep-alives); "field: value" sets
 * a field (one space after the colon is dropped); `data` lines are joined
 * with "\n"; a blank line dispatches the event, named by its last
 * `event` field ("message" when none). An event still open when the
 * stream ends is not dispatched, as the standard says. `id` and `retry`
 * are ignored (nothing here reconnects). A line or an event's data longer
 * than the cap stops the parse with -EFBIG.
 *
 * Not thread-safe: one parser per stream.
 */
#ifndef LLMUNIX_SSE_H
#define LLMUNIX_SSE_H

#include <stddef.h>

#include "core/util/buf.h"

/* One event: its name and data (NUL-terminated, `len` bytes). A non-zero
 * return stops the parse and is returned by sse_feed(). */
typedef int (*sse_event_cb)(void *arg, const char *event, const char *data,
			    size_t len);

struct sse {
	struct buf line;	/* the line being read */
	struct buf data;	/* the event's data so far */
	char event[64];		/* its name, "" for "message" */
	int has_data;		/* a data field was seen */
	int after_cr;		/* the last byte was CR: skip an LF */
	int started;		/* past a leading byte order mark */
	sse_event_cb cb;
	void *arg;
};

/* `max`: bytes of a line, and of an event's data. */
void sse_init(struct sse *s, size_t max, sse_event_cb cb, void *arg);
void sse_release(struct sse *s);
/* Returns 0, -EFBIG, -ENOMEM, or what the callback returned. */
int sse_feed(struct sse *s, const char *p, size_t n);

#endif
