/* core/store/store.c: see store.h. */
#include "core/store/store.h"
#include "core/store/blob_cache.h"
#include "core/store/blob_local.h"
#include "core/store/blob_s3.h"
#include "core/store/blob_vercel.h"
#include "core/util/log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

static int open_s3(struct blob **out, const struct config *cfg)
{
	char endpoint[256], dir[PATH_MAX];
	struct blob_s3_opts o = {
		.endpoint = cfg->s3_endpoint, .bucket = cfg->s3_bucket,
		.region = cfg->s3_region, .path_style = cfg->s3_path_style,
		.timeout = cfg->store_timeout,
		.connect_timeout = cfg->store_connect_timeout,
		.state_dir = cfg->state_dir,
	};
	struct blob *b;
	int rc;

	if (!cfg->s3_bucket) {
		log_err("storage = s3 needs s3_bucket in the configuration");
		return -EINVAL;
	}
	if (!o.endpoint) {
		snprintf(endpoint, sizeof(endpoint),
			 "https://s3.%s.amazonaws.com", cfg->s3_region);
		o.endpoint = endpoint;
	}
	rc = blob_s3_open(&b, &o);
	if (rc)
		return rc;
	if (snprintf(dir, sizeof(dir), "%s/s3/content", cfg->state_dir) >=
	    (int)sizeof(dir)) {
		b->ops->free(b);
		return -ENAMETOOLONG;
	}
	rc = blob_cache_open(out, b, dir, cfg->cache_size);
	if (!rc)
		log_info("storage: s3 bucket '%s' at '%s'", cfg->s3_bucket,
			 o.endpoint);
	return rc;
}

static int open_vercel(struct blob **out, const struct config *cfg)
{
	struct blob_vercel_opts o = {
		.base_url = cfg->vercel_base_url,
		.private_access = cfg->vercel_private,
		.timeout = cfg->store_timeout,
		.connect_timeout = cfg->store_connect_timeout,
		.state_dir = cfg->state_dir,
	};
	char dir[PATH_MAX];
	struct blob *b;
	int rc = blob_vercel_open(&b, &o);

	if (rc)
		return rc;
	if (snprintf(dir, sizeof(dir), "%s/vercel/content", cfg->state_dir) >=
	    (int)sizeof(dir)) {
		b->ops->free(b);
		return -ENAMETOOLONG;
	}
	rc = blob_cache_open(out, b, dir, cfg->cache_size);
	if (!rc)
		log_info("storage: vercel blob store (%s) at '%s'",
			 cfg->vercel_private ? "private" : "public",
			 cfg->vercel_base_url);
	return rc;
}

int store_open(struct blob **out, const struct config *cfg)
{
	if (strcmp(cfg->storage, "s3") == 0)
		return open_s3(out, cfg);
	if (strcmp(cfg->storage, "vercel") == 0)
		return open_vercel(out, cfg);
	return blob_local_open(out, cfg->state_dir);
}
