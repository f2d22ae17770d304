/* core/history/history_source.c: the volumes' files as the blob store
 * holds them, "volumes/<volume>/<path>" (DESIGN.md section 8). */
#include "core/history/history.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/store/blob.h"

struct source_blob {
	struct history_source base;	/* first */
	struct blob *b;
};

static struct blob *store(struct history_source *s)
{
	return ((struct source_blob *)s)->b;
}

static int key_of(char *out, size_t cap, const char *volume,
		  const char *path)
{
	if ((size_t)snprintf(out, cap, "volumes/%s/%s", volume, path) >= cap)
		return -ENAMETOOLONG;
	return 0;
}

static int blob_read(struct history_source *s, const char *volume,
		     const char *path, struct buf *out, mode_t *mode)
{
	struct blob *b = store(s);
	char key[2048];
	int rc = key_of(key, sizeof(key), volume, path);

	*mode = 0;	/* the store tells modes only when listing */
	if (rc)
		return rc;
	out->len = 0;
	rc = b->ops->get(b, key, out);
	return rc == -ENOTDIR ? -ENOENT : rc;
}

struct walk {
	size_t skip;		/* bytes of "volumes/<volume>/" */
	history_walk_cb cb;
	void *arg;
};

static int walk_cb(void *arg, const char *key, const struct blob_meta *m)
{
	struct walk *w = arg;

	if (!S_ISREG(m->mode) || strlen(key) <= w->skip)
		return 0;
	return w->cb(w->arg, key + w->skip, m->mode);
}

static int blob_walk(struct history_source *s, const char *volume,
		     const char *dir, history_walk_cb cb, void *arg)
{
	struct blob *b = store(s);
	char key[2048];
	struct walk w = { 0, cb, arg };
	int rc = key_of(key, sizeof(key), volume, dir);

	if (rc)
		return rc;
	w.skip = strlen("volumes/") + strlen(volume) + 1;
	rc = b->ops->list(b, key, walk_cb, &w);
	return rc == -ENOTDIR ? 0 : rc;
}

static void blob_free(struct history_source *s)
{
	free(s);
}

static const struct history_source_ops blob_source_ops = {
	.read = blob_read,
	.walk = blob_walk,
	.free = blob_free,
};

int history_source_blob_new(struct history_source **out, struct blob *b)
{
	struct source_blob *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->base.ops = &blob_source_ops;
	s->b = b;
	*out = &s->base;
	return 0;
}
