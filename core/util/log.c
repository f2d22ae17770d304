/* core/util/log.c: stderr or syslog, one line per message. */
#include "core/util/log.h"

#include <stdarg.h>
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
