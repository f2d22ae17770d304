/* core/util/log.c: stderr or syslog, one line per message. */
#include "core/util/log.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

enum log_level log_threshold = LOG_LVL_INFO;
static int use_syslog;

void log_set_level(enum log_level level)
{
	log_threshold = level;
}

void log_to_syslog(const char *ident)
{
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	use_syslog = 1;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static const char *const word[] = { "error", "warning", "info", "debug" };
	char line[1024];
	va_list ap;

	if (level > log_threshold)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (use_syslog)
		syslog(prio[level], "%s", line);
	else
		fprintf(stderr, "llmunixfs: %s: %s\n", word[level], line);
}

const char *log_escape(char *out, size_t cap, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, total = 0;

	if (cap == 0)
		return out;
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;

		total += (c < 0x20 || c >= 0x7f || c == '\\') ? 4 : 1;
	}
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		size_t need = (c < 0x20 || c >= 0x7f || c == '\\') ? 4 : 1;

		if (total + 1 > cap && o + need + 4 > cap) {
			if (o + 4 <= cap) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (need == 1) {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}

/* The length of the valid UTF-8 sequence at `p` that is not a C1 control
 * (U+0080..U+009F), or 0. */
static size_t utf8_ok(const unsigned char *p)
{
	size_t n, i;
	uint32_t cp;

	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 0;
	n = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2;
	cp = p[0] & (0x7f >> n);
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 ||
						  cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
		return 0;
	return n;
}

size_t log_text_escape(char *out, size_t cap, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;

	if (cap == 0)
		return 0;
	while (*p) {
		size_t k = *p >= 0x80 ? utf8_ok(p) : 1;

		if (k > 1 || (*p >= 0x20 && *p < 0x7f) || *p == '\t') {
			if (o + k >= cap)
				break;
			memcpy(out + o, p, k);
			o += k;
			p += k;
		} else if (*p == '\n') {
			if (o + 5 >= cap)
				break;
			memcpy(out + o, "\n    ", 5);
			o += 5;
			p++;
		} else {
			if (o + 4 >= cap)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
			p++;
		}
	}
	out[o] = '\0';
	return o;
}
