/* core/util/log.h: the one logging module.
 *
 * Messages go to stderr until log_to_syslog() is called (the daemon does so
 * when it goes to the background). The level is checked before formatting.
 * Thread-safe. Names and paths from users must go through log_escape()
 * before they are logged; secrets are never logged.
 */
#ifndef LLMUNIX_LOG_H
#define LLMUNIX_LOG_H

#include <stddef.h>

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

extern enum log_level log_threshold;

void log_set_level(enum log_level level);
void log_to_syslog(const char *ident);
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Copy `s` into `out` (size `cap`), escaping control characters and
 * non-ASCII bytes as \xNN; truncates with "..." when it does not fit.
 * Returns `out`. */
const char *log_escape(char *out, size_t cap, const char *s);

/* Copy the text `s` into `out` (size `cap`, NUL-terminated, cut at a
 * character boundary) so that it cannot forge lines or drive a terminal
 * when a person reads it (a run's `log`): valid UTF-8 and tabs are kept,
 * a newline becomes a newline and four spaces (a continuation line, never
 * at column 0), and every other control character (C0, DEL, C1) and any
 * byte that is not valid UTF-8 becomes \xNN. Returns the length. */
size_t log_text_escape(char *out, size_t cap, const char *s);

#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)                                     \
	do {                                              \
		if (log_threshold >= LOG_LVL_INFO)        \
			log_msg(LOG_LVL_INFO, __VA_ARGS__); \
	} while (0)
#define log_debug(...)                                     \
	do {                                               \
		if (log_threshold >= LOG_LVL_DEBUG)        \
			log_msg(LOG_LVL_DEBUG, __VA_ARGS__); \
	} while (0)

#endif
