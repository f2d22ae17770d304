/* core/history/history_stage.c: the tree of the next commit, as changes to
 * the last one's tree. Only the folders on the paths that change are read
 * and written again; every other subtree keeps its id. */
#include "core/history/history_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/util/name.h"

struct snode {
	char *name;
	unsigned mode;		/* git file mode */
	git_oid id;		/* a blob; a tree's when it is not loaded */
	unsigned loaded:1;	/* a tree whose entries are in kid[] */
	unsigned dirty:1;	/* a loaded tree that differs from id */
	struct snode **kid;	/* sorted by strcmp of name */
	size_t n, alloc;
};

struct hist_stage {
	git_repository *repo;
	struct snode root;
};

static int is_tree(const struct snode *n)
{
	return n->mode == GIT_FILEMODE_TREE;
}

static void snode_release(struct snode *n);

static void snode_free_kids(struct snode *n)
{
	for (size_t i = 0; i < n->n; i++) {
		snode_release(n->kid[i]);
		free(n->kid[i]);
	}
	free(n->kid);
	n->kid = NULL;
	n->n = n->alloc = 0;
}

static void snode_release(struct snode *n)
{
	snode_free_kids(n);
	free(n->name);
	n->name = NULL;
}

static void snode_free(struct snode *n)
{
	if (!n)
		return;
	snode_release(n);
	free(n);
}

static struct snode *snode_new(const char *name, unsigned mode)
{
	struct snode *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->name = strdup(name);
	if (!n->name) {
		free(n);
		return NULL;
	}
	n->mode = mode;
	return n;
}

static int kid_cmp(const void *a, const void *b)
{
	const struct snode *x = *(struct snode *const *)a;
	const struct snode *y = *(struct snode *const *)b;

	return strcmp(x->name, y->name);
}

/* Index of `name` in n->kid, or -(insertion point) - 1. */
static ssize_t kid_find(const struct snode *n, const char *name)
{
	size_t lo = 0, hi = n->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, n->kid[mid]->name);

		if (c == 0)
			return (ssize_t)mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -(ssize_t)lo - 1;
}

static int kid_insert(struct snode *n, size_t at, struct snode *k)
{
	if (n->n == n->alloc) {
		size_t want = n->alloc ? 2 * n->alloc : 8;
		struct snode **p;

		if (want > SIZE_MAX / sizeof(*p))
			return -ENOMEM;
		p = realloc(n->kid, want * sizeof(*p));
		if (!p)
			return -ENOMEM;
		n->kid = p;
		n->alloc = want;
	}
	memmove(n->kid + at + 1, n->kid + at, (n->n - at) * sizeof(*n->kid));
	n->kid[at] = k;
	n->n++;
	return 0;
}

static struct snode *kid_detach(struct snode *n, size_t at)
{
	struct snode *k = n->kid[at];

	memmove(n->kid + at, n->kid + at + 1,
		(n->n - at - 1) * sizeof(*n->kid));
	n->n--;
	return k;
}

/* Read the entries of a tree node from the repository. */
static int snode_load(struct hist_stage *s, struct snode *n)
{
	git_tree *t = NULL;
	size_t count;
	int rc;

	if (n->loaded)
		return 0;
	rc = git_tree_lookup(&t, s->repo, &n->id);
	if (rc < 0)
		return hist_git_err(rc, NULL, 0);
	count = git_tree_entrycount(t);
	n->kid = calloc(count ? count : 1, sizeof(*n->kid));
	if (!n->kid) {
		rc = -ENOMEM;
		goto out;
	}
	n->alloc = count ? count : 1;
	for (size_t i = 0; i < count; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(t, i);
		struct snode *k = snode_new(git_tree_entry_name(e),
					    git_tree_entry_filemode_raw(e));

		if (!k) {
			rc = -ENOMEM;
			goto out;
		}
		git_oid_cpy(&k->id, git_tree_entry_id(e));
		n->kid[n->n++] = k;
	}
	/* git sorts a folder as if its name ended in '/'; lookups here
	 * use plain strcmp. */
	qsort(n->kid, n->n, sizeof(*n->kid), kid_cmp);
	n->loaded = 1;
	rc = 0;
out:
	if (rc)
		snode_free_kids(n);
	git_tree_free(t);
	return rc;
}

int hist_stage_new(struct hist_stage **out, git_repository *repo,
		   const git_oid *base_tree)
{
	struct hist_stage *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->repo = repo;
	s->root.mode = GIT_FILEMODE_TREE;
	if (base_tree)
		git_oid_cpy(&s->root.id, base_tree);
	else
		s->root.loaded = s->root.dirty = 1;
	*out = s;
	return 0;
}

void hist_stage_free(struct hist_stage *s)
{
	if (!s)
		return;
	snode_release(&s->root);
	free(s);
}

/* The folder holding the last component of `path`, whose name goes to
 * `*leaf`. With `create`, missing folders are made and files in the way
 * replaced; with `mark`, every folder on the way is marked changed.
 * NULL with *rc == 0: a folder on the way is missing. */
static struct snode *walk(struct hist_stage *s, const char *path, int create,
			  int mark, const char **leaf, int *rc)
{
	struct snode *cur = &s->root;
	char comp[NAME_MAX_BYTES + 1];
	const char *p = path, *slash;

	*rc = 0;
	while ((slash = strchr(p, '/'))) {
		size_t len = (size_t)(slash - p);
		struct snode *k;
		ssize_t i;

		if (len == 0 || len > NAME_MAX_BYTES) {
			*rc = -EINVAL;
			return NULL;
		}
		memcpy(comp, p, len);
		comp[len] = '\0';
		*rc = snode_load(s, cur);
		if (*rc)
			return NULL;
		if (mark)
			cur->dirty = 1;
		i = kid_find(cur, comp);
		if (i >= 0 && !is_tree(cur->kid[i]) && create) {
			snode_free(kid_detach(cur, (size_t)i));
			i = kid_find(cur, comp);
		}
		if (i < 0) {
			if (!create)
				return NULL;
			k = snode_new(comp, GIT_FILEMODE_TREE);
			if (!k) {
				*rc = -ENOMEM;
				return NULL;
			}
			k->loaded = k->dirty = 1;
			*rc = kid_insert(cur, (size_t)(-i - 1), k);
			if (*rc) {
				snode_free(k);
				return NULL;
			}
		} else {
			k = cur->kid[i];
			if (!is_tree(k))
				return NULL;
		}
		cur = k;
		p = slash + 1;
	}
	*rc = snode_load(s, cur);
	if (*rc)
		return NULL;
	if (mark)
		cur->dirty = 1;
	*leaf = p;
	return cur;
}

/* Place `k` as the last component of `path`, replacing what is there. */
static int attach(struct hist_stage *s, const char *path, struct snode *k)
{
	const char *leaf;
	struct snode *dir;
	ssize_t i;
	char *name;
	int rc;

	dir = walk(s, path, 1, 1, &leaf, &rc);
	if (!dir)
		return rc ? rc : -ENOENT;
	name = strdup(leaf);
	if (!name)
		return -ENOMEM;
	free(k->name);
	k->name = name;
	i = kid_find(dir, leaf);
	if (i >= 0) {
		snode_free(dir->kid[i]);
		dir->kid[i] = k;
		return 0;
	}
	return kid_insert(dir, (size_t)(-i - 1), k);
}

static unsigned blob_mode(unsigned want, const struct snode *old)
{
	if (want)
		return want;
	if (old && !is_tree(old))
		return old->mode;
	return GIT_FILEMODE_BLOB;
}

int hist_stage_put(struct hist_stage *s, const char *path, const git_oid *id,
		   unsigned mode)
{
	const char *leaf;
	struct snode *dir, *k;
	ssize_t i;
	int rc;

	dir = walk(s, path, 1, 1, &leaf, &rc);
	if (!dir)
		return rc ? rc : -ENOENT;
	i = kid_find(dir, leaf);
	if (i >= 0 && !is_tree(dir->kid[i])) {
		k = dir->kid[i];
		k->mode = blob_mode(mode, k);
		git_oid_cpy(&k->id, id);
		return 0;
	}
	k = snode_new(leaf, blob_mode(mode, NULL));
	if (!k)
		return -ENOMEM;
	git_oid_cpy(&k->id, id);
	if (i >= 0) {
		snode_free(dir->kid[i]);
		dir->kid[i] = k;
		return 0;
	}
	rc = kid_insert(dir, (size_t)(-i - 1), k);
	if (rc)
		snode_free(k);
	return rc;
}

static struct snode *detach(struct hist_stage *s, const char *path, int *rc)
{
	const char *leaf;
	struct snode *dir;
	ssize_t i;

	dir = walk(s, path, 0, 1, &leaf, rc);
	if (!dir)
		return NULL;
	i = kid_find(dir, leaf);
	if (i < 0)
		return NULL;
	return kid_detach(dir, (size_t)i);
}

int hist_stage_remove(struct hist_stage *s, const char *path)
{
	int rc;

	snode_free(detach(s, path, &rc));
	return rc;
}

int hist_stage_move(struct hist_stage *s, const char *from, const char *to)
{
	struct snode *k;
	int rc;

	if (strcmp(from, to) == 0)
		return hist_stage_lookup(s, from, NULL) ? 0 : -ENOENT;
	k = detach(s, from, &rc);
	if (!k)
		return rc ? rc : -ENOENT;
	rc = attach(s, to, k);
	if (rc)
		snode_free(k);
	return rc;
}

/* The entry at `path`, or NULL (*rc set on an error). */
static struct snode *find(struct hist_stage *s, const char *path, int mark,
			  int *rc)
{
	const char *leaf;
	struct snode *dir = walk(s, path, 0, mark, &leaf, rc);
	ssize_t i;

	if (!dir)
		return NULL;
	i = kid_find(dir, leaf);
	return i < 0 ? NULL : dir->kid[i];
}

int hist_stage_lookup(struct hist_stage *s, const char *path, unsigned *mode)
{
	struct snode *k;
	int rc;

	k = find(s, path, 0, &rc);
	if (!k)
		return 0;
	if (mode)
		*mode = k->mode;
	return is_tree(k) ? 2 : 1;
}

int hist_stage_chmod(struct hist_stage *s, const char *path, unsigned mode)
{
	struct snode *k;
	int rc;

	k = find(s, path, 1, &rc);
	if (k && !is_tree(k))
		k->mode = mode;
	return rc;
}

/* Names that never enter a tree: editor noise, and a repository's own
 * folder (a `git init` inside skills/), which git refuses anyway. */
static int unversioned(const struct snode *k)
{
	if (strcasecmp(k->name, ".git") == 0)
		return 1;
	return !is_tree(k) && name_is_noise(k->name);
}

/* Write `n` if it changed; *empty when nothing is left in it. */
static int write_node(struct hist_stage *s, struct snode *n, git_oid *out,
		      int *empty)
{
	git_treebuilder *tb = NULL;
	int rc;

	*empty = 0;
	if (!n->loaded || !n->dirty) {
		git_oid_cpy(out, &n->id);
		return 0;
	}
	rc = git_treebuilder_new(&tb, s->repo, NULL);
	if (rc < 0)
		return hist_git_err(rc, NULL, 0);
	for (size_t i = 0; i < n->n; i++) {
		struct snode *k = n->kid[i];
		git_oid id;
		int kid_empty;

		if (unversioned(k))
			continue;
		rc = write_node(s, k, &id, &kid_empty);
		if (rc)
			goto out;
		if (kid_empty)
			continue;
		rc = git_treebuilder_insert(NULL, tb, k->name, &id,
					    (git_filemode_t)k->mode);
		if (rc < 0) {
			rc = hist_git_err(rc, NULL, 0);
			goto out;
		}
	}
	*empty = git_treebuilder_entrycount(tb) == 0;
	rc = git_treebuilder_write(out, tb);
	if (rc < 0) {
		rc = hist_git_err(rc, NULL, 0);
		goto out;
	}
	git_oid_cpy(&n->id, out);
	n->dirty = 0;
	rc = 0;
out:
	git_treebuilder_free(tb);
	return rc;
}

int hist_stage_write(struct hist_stage *s, git_oid *out)
{
	int empty;

	return write_node(s, &s->root, out, &empty);
}
