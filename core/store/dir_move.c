/* core/store/dir_move.c: a folder moved object by object, journalled,
 * see dir_move.h. */
#include "core/store/dir_move.h"
#include "core/store/journal.h"
#include "core/store/s3_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct move {
	void *be;
	const struct dir_move_ops *ops;
	const struct s3_objs *objs;
	const char *from, *to;	/* "a/b/" and "a/c/" */
	char *copied;		/* per object: its copy was made */
};

/* The key under `to` of a key under `from`. */
static int moved_key(char *out, size_t cap, const char *key,
		     const char *from, const char *to)
{
	int n = snprintf(out, cap, "%s%s", to, key + strlen(from));

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static int copy_one(void *ctx, size_t i)
{
	struct move *m = ctx;
	char to[PATH_MAX];
	int rc = moved_key(to, sizeof(to), m->objs->v[i].key, m->from, m->to);

	if (!rc)
		rc = m->ops->copy(m->be, m->objs->v[i].key, to);
	if (!rc)
		m->copied[i] = 1;
	return rc;
}

static int uncopy_one(void *ctx, size_t i)
{
	struct move *m = ctx;
	char to[PATH_MAX];
	int rc;

	if (!m->copied[i])
		return 0;
	rc = moved_key(to, sizeof(to), m->objs->v[i].key, m->from, m->to);
	return rc ? rc : m->ops->del(m->be, to);
}

static int delete_one(void *ctx, size_t i)
{
	struct move *m = ctx;

	return m->ops->del(m->be, m->objs->v[i].key);
}

static int delete_objs(void *be, const struct dir_move_ops *ops,
		       const struct s3_objs *objs)
{
	struct move m = { be, ops, objs, NULL, NULL, NULL };

	if (ops->del_objs)
		return ops->del_objs(be, objs);
	return s3_parallel(objs->n, delete_one, &m);
}

int dir_delete_all(void *be, const struct dir_move_ops *ops,
		   const char *prefix)
{
	struct s3_objs objs = { NULL, 0, 0 };
	int rc = ops->list(be, prefix, &objs);

	if (!rc && objs.n)
		rc = delete_objs(be, ops, &objs);
	s3_objs_release(&objs);
	return rc;
}

int dir_move(void *be, struct journal *j, const struct dir_move_ops *ops,
	     const char *from, const char *to)
{
	char f[PATH_MAX], t[PATH_MAX], id[JOURNAL_ID_MAX];
	const char *fields[JOURNAL_FIELDS] = { f, t, NULL, NULL };
	struct s3_objs objs = { NULL, 0, 0 };
	struct move m = { be, ops, &objs, f, t, NULL };
	int rc;

	if (snprintf(f, sizeof(f), "%s/", from) >= (int)sizeof(f) ||
	    snprintf(t, sizeof(t), "%s/", to) >= (int)sizeof(t))
		return -ENAMETOOLONG;
	rc = ops->list(be, f, &objs);
	if (rc || !objs.n)
		goto out;	/* only in the tree: nothing to move */
	m.copied = calloc(objs.n, 1);
	if (!m.copied) {
		rc = -ENOMEM;
		goto out;
	}
	rc = journal_add(j, id, 'C', fields);
	if (rc)
		goto out;
	rc = s3_parallel(objs.n, copy_one, &m);
	if (rc) {
		/* Undo: the folder stays where it was. */
		if (s3_parallel(objs.n, uncopy_one, &m) == 0)
			journal_done(j, id);
		goto out;
	}
	if (journal_set(j, id, 'X', fields) == 0 &&
	    delete_objs(be, ops, &objs) == 0)
		journal_done(j, id);
out:
	free(m.copied);
	s3_objs_release(&objs);
	return rc;
}
