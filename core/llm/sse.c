/* core/llm/sse.c: server-sent events, incrementally (sse.h). */
#include "core/llm/sse.h"

#include <errno.h>
#include <string.h>

void sse_init(struct sse *s, size_t max, sse_event_cb cb, void *arg)
{
	memset(s, 0, sizeof(*s));
	buf_init(&s->line, max);
	buf_init(&s->data, max);
	s->cb = cb;
	s->arg = arg;
}

void sse_release(struct sse *s)
{
	buf_release(&s->line);
	buf_release(&s->data);
}

static int dispatch(struct sse *s)
{
	int rc = 0;

	if (s->has_data)
		rc = s->cb(s->arg, s->event[0] ? s->event : "message",
			   s->data.data ? s->data.data : "", s->data.len);
	buf_resize(&s->data, 0);
	s->event[0] = '\0';
	s->has_data = 0;
	return rc;
}

/* One whole line (without its end). */
static int line_done(struct sse *s)
{
	const char *l = s->line.data ? s->line.data : "";
	size_t n = s->line.len, k;
	const char *v;
	size_t vn;
	int rc = 0;

	if (n == 0)
		return dispatch(s);
	if (l[0] == ':')
		goto out;	/* a comment */
	k = strcspn(l, ":");
	if (k > n)
		k = n;
	v = k < n ? l + k + 1 : l + n;
	vn = k < n ? n - k - 1 : 0;
	if (vn && *v == ' ') {
		v++;
		vn--;
	}
	if (k == 4 && memcmp(l, "data", 4) == 0) {
		if (s->has_data)
			rc = buf_append(&s->data, "\n", 1);
		if (!rc)
			rc = buf_append(&s->data, v, vn);
		s->has_data = 1;
	} else if (k == 5 && memcmp(l, "event", 5) == 0) {
		if (vn >= sizeof(s->event))
			vn = sizeof(s->event) - 1;
		memcpy(s->event, v, vn);
		s->event[vn] = '\0';
	}
out:
	buf_resize(&s->line, 0);
	return rc;
}

int sse_feed(struct sse *s, const char *p, size_t n)
{
	size_t i = 0;
	int rc;

	if (!s->started) {
		/* A byte order mark at the start is not part of the
		 * stream (it may come in pieces too). */
		static const char bom[] = "\xEF\xBB\xBF";

		while (i < n && s->line.len + i < 3 &&
		       p[i] == bom[s->line.len + i])
			i++;
		if (s->line.len + i < 3 && i == n) {
			rc = buf_append(&s->line, p, n);
			return rc;
		}
		if (s->line.len + i == 3) {
			buf_resize(&s->line, 0);
		} else {
			/* Not a BOM: what was held is text. */
			i = 0;
		}
		s->started = 1;
	}
	while (i < n) {
		const char *end = p + n, *q = p + i;
		const char *eol = q;

		if (s->after_cr) {
			s->after_cr = 0;
			if (*q == '\n') {
				i++;
				continue;
			}
		}
		while (eol < end && *eol != '\n' && *eol != '\r')
			eol++;
		rc = buf_append(&s->line, q, (size_t)(eol - q));
		if (rc)
			return rc;
		if (eol == end)
			return 0;
		if (*eol == '\r')
			s->after_cr = 1;
		i = (size_t)(eol - p) + 1;
		rc = line_done(s);
		if (rc)
			return rc;
	}
	return 0;
}
