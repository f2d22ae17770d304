/* core/store/kv.c: the key-value store the configuration names (kv.h). */
#include "core/store/kv.h"
#include "core/util/log.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static __thread char last_error[320];

const char *kv_error(void)
{
	return last_error;
}

void kv_set_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
}

int kv_open(struct kv **out, const struct config *cfg, char *err,
	    size_t errlen)
{
	const char *url = cfg->redis_url;
	char dir[PATH_MAX];
	int rc;

	if (!url || !*url)
		url = getenv("REDIS_URL");
	if (url && *url)
		return kv_redis_open(out, url, cfg->redis_timeout, err,
				     errlen);
	if ((size_t)snprintf(dir, sizeof(dir), "%s/kv", cfg->state_dir) >=
	    sizeof(dir)) {
		snprintf(err, errlen, "state folder '%s': path too long",
			 cfg->state_dir);
		return -ENAMETOOLONG;
	}
	rc = kv_local_open(out, dir);
	if (rc)
		snprintf(err, errlen, "'%s': %s", dir, strerror(-rc));
	return rc;
}
