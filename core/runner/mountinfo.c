/* core/runner/mountinfo.c: see mountinfo.h. */
#include "core/runner/mountinfo.h"

#include <errno.h>
#include <string.h>

/* "\\040" and friends back to bytes, in place. */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 |
				      (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = '\0';
}

int mountinfo_parse(char *line, struct mountinfo *m)
{
	char *save = NULL, *tok;
	int field = 0, after_dash = 0;

	memset(m, 0, sizeof(*m));
	for (tok = strtok_r(line, " \n", &save); tok;
	     tok = strtok_r(NULL, " \n", &save), field++) {
		if (after_dash == 1)
			m->fstype = tok;
		else if (after_dash == 3)
			m->superopts = tok;
		if (after_dash) {
			after_dash++;
			continue;
		}
		if (field == 3)
			m->root = tok;
		else if (field == 4)
			m->point = tok;
		else if (field > 5 && !strcmp(tok, "-"))
			after_dash = 1;
	}
	if (!m->root || !m->point || !m->fstype)
		return -EINVAL;
	if (!m->superopts)
		m->superopts = "";
	unescape(m->root);
	unescape(m->point);
	return 0;
}

int mountinfo_has_word(const char *list, const char *word)
{
	size_t n = strlen(word);

	while (list && *list) {
		size_t len = strcspn(list, ",");

		if (len == n && !memcmp(list, word, n))
			return 1;
		list += len;
		if (*list == ',')
			list++;
	}
	return 0;
}
