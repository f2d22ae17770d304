/* core/store/xattr_path.c: user.* xattrs of a local file, see
 * xattr_path.h. */
#include "core/store/xattr_path.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/xattr.h>

#define NAMES_MAX 65536	/* the kernel's limit on a name list */

void blob_xattrs_release(struct blob_xattrs *x)
{
	for (size_t i = 0; i < x->n; i++) {
		free(x->v[i].name);
		free(x->v[i].value);
	}
	free(x->v);
	x->v = NULL;
	x->n = 0;
}

/* A name this module may touch: user.*, not the daemon's own. */
static int ours(const char *name)
{
	return strncmp(name, "user.", 5) == 0 &&
	       strncmp(name, BLOB_XATTR_RESERVED,
		       sizeof(BLOB_XATTR_RESERVED) - 1) != 0;
}

/* The names of `path`'s xattrs into `names` (NAMES_MAX bytes). */
static int list_names(const char *path, char *names, ssize_t *len)
{
	*len = llistxattr(path, names, NAMES_MAX);
	if (*len < 0)
		return errno == ENOTSUP ? (*len = 0, 0) : -errno;
	return 0;
}

/* Append `name` and its value to `out`; a name removed meanwhile is
 * skipped. */
static int get_one(const char *path, const char *name,
		   struct blob_xattrs *out)
{
	struct blob_xattr *v;
	ssize_t vlen = lgetxattr(path, name, NULL, 0);

	if (vlen < 0)
		return 0;
	v = realloc(out->v, (out->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	out->v = v;
	v = &out->v[out->n];
	v->name = strdup(name);
	v->value = malloc((size_t)vlen + 1);
	if (!v->name || !v->value)
		goto fail;
	vlen = lgetxattr(path, name, v->value, (size_t)vlen);
	if (vlen < 0) {
		free(v->name);
		free(v->value);
		return 0;
	}
	v->len = (size_t)vlen;
	out->n++;
	return 0;
fail:
	free(v->name);
	free(v->value);
	return -ENOMEM;
}

int xattr_path_get(const char *path, struct blob_xattrs *out)
{
	char *names = malloc(NAMES_MAX);
	ssize_t len;
	int rc;

	out->v = NULL;
	out->n = 0;
	if (!names)
		return -ENOMEM;
	rc = list_names(path, names, &len);
	for (char *n = names; !rc && n < names + len; n += strlen(n) + 1)
		if (ours(n))
			rc = get_one(path, n, out);
	free(names);
	if (rc)
		blob_xattrs_release(out);
	return rc;
}

int xattr_path_set(const char *path, const struct blob_xattrs *x)
{
	char *names = malloc(NAMES_MAX);
	ssize_t len;
	int rc;

	if (!names)
		return -ENOMEM;
	rc = list_names(path, names, &len);
	for (char *n = names; !rc && n < names + len; n += strlen(n) + 1) {
		int keep = 0;

		if (!ours(n))
			continue;
		for (size_t i = 0; i < x->n && !keep; i++)
			keep = strcmp(x->v[i].name, n) == 0;
		if (!keep && lremovexattr(path, n) < 0 && errno != ENODATA)
			rc = -errno;
	}
	for (size_t i = 0; !rc && i < x->n; i++)
		if (lsetxattr(path, x->v[i].name, x->v[i].value, x->v[i].len,
			      0) < 0)
			rc = -errno;
	free(names);
	return rc;
}
