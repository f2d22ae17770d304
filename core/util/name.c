/* core/util/name.c: name rules, see name.h. */
#include "core/util/name.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

int name_check(const char *name)
{
	size_t n = strnlen(name, NAME_MAX_BYTES + 1);

	if (n > NAME_MAX_BYTES)
		return -ENAMETOOLONG;
	if (n == 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    memchr(name, '/', n))
		return -EINVAL;
	return 0;
}

static int ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

int name_is_noise(const char *name)
{
	size_t n = strlen(name);

	if (strcmp(name, "4913") == 0 || (n > 0 && name[n - 1] == '~'))
		return 1;
	if (strncmp(name, ".#", 2) == 0)
		return 1;
	if (ends_with(name, n, ".swp") || ends_with(name, n, ".swx") ||
	    ends_with(name, n, ".swo"))
		return 1;
	if (n == 9 && strncmp(name, "sed", 3) == 0) {
		for (size_t i = 3; i < 9; i++)
			if (!isalnum((unsigned char)name[i]))
				return 0;
		return 1;
	}
	return 0;
}
