/* core/history/history_odb.c: a repository's objects in the blob store
 * (history.h, "Shared stores"), as a libgit2 ODB backend that owns the
 * repository's own pack and loose backends.
 *
 * Key layout: "history/<volume>/objects/<40 hex>", beside "volumes/" and
 * never under it, so no volume shows it. The object is git's canonical
 * form, "<type> <size>\0<content>", whose SHA-1 is its id: what is
 * fetched is checked against the id it was asked for before it is used.
 *
 * The local bare repository stays a complete cache (the git CLI works on
 * it on every host):
 *   write   the blob store first, then the local loose object; so an
 *           object that is here is in the blob store too, and freshen()
 *           (git_odb_write() skipping an object it has) may look here
 *           only.
 *   read    here (packs, then loose objects, then packs again after a
 *           pack the writer made); else from the blob store. A fetched
 *           blob is kept here; a tree or a commit only through
 *           hist_odb_sync(), which keeps an object only once everything
 *           it points to is here: a tree or commit that is here is
 *           complete, and a sync stops at the first one it finds.
 * Prefix lookups and listings are local only: readers find commits in
 * the commit list, which holds only commits that are here.
 *
 * Every remote call is the blob store's, with its timeout; an object read
 * is capped at history_config.max_file plus room for its header. Used by
 * the writer thread only.
 */
#include "core/history/history_int.h"

#include <git2/sys/odb_backend.h>
#include <git2/sys/repository.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/store/blob.h"
#include "core/util/log.h"

#define KEY_MAX 256
#define HEADER_MAX 32		/* "commit 18446744073709551615\0" */
#define SYNC_COMMITS_MAX 1000000	/* commits fetched in one sync */
#define TREE_DEPTH_MAX 512

struct odb {
	git_odb_backend parent;		/* first: libgit2 casts */
	git_odb_backend *pack, *loose;
	struct blob *blob;
	size_t cap;			/* largest object read */
	char prefix[KEY_MAX];		/* "history/<volume>/objects/" */
};

static struct odb *odb_of(git_odb_backend *b)
{
	return (struct odb *)b;
}

/* The prefix is at most "history/" + HIST_VOL_MAX + "/objects/". */
static void key_of(const struct odb *o, const git_oid *id, char *key,
		   size_t cap)
{
	size_t n = strlen(o->prefix);

	if (n + GIT_OID_HEXSZ + 1 > cap) {
		key[0] = '\0';
		return;
	}
	memcpy(key, o->prefix, n);
	git_oid_tostr(key + n, cap - n, id);
}

/* ---- local ---- */

static int local_read(struct odb *o, void **data, size_t *len,
		      git_object_t *type, const git_oid *id)
{
	int rc = o->pack->read(data, len, type, o->pack, id);

	if (rc != GIT_ENOTFOUND)
		return rc;
	rc = o->loose->read(data, len, type, o->loose, id);
	if (rc != GIT_ENOTFOUND)
		return rc;
	/* The writer may have packed the loose copy since the pack
	 * backend last looked. */
	if (o->pack->refresh(o->pack) < 0)
		return GIT_ENOTFOUND;
	return o->pack->read(data, len, type, o->pack, id);
}

static int local_exists(struct odb *o, const git_oid *id)
{
	if (o->pack->exists(o->pack, id) || o->loose->exists(o->loose, id))
		return 1;
	if (o->pack->refresh(o->pack) < 0)
		return 0;
	return o->pack->exists(o->pack, id);
}

/* ---- remote ---- */

/* The object `id` from the blob store into `b`: its type, and where its
 * content starts. GIT_ENOTFOUND when the store has none, GIT_ERROR with
 * a message otherwise. */
static int fetch(struct odb *o, const git_oid *id, struct buf *b,
		 git_object_t *type, size_t *off)
{
	char key[KEY_MAX], name[8], *nul, *sp, *end;
	unsigned long long size;
	git_oid check;
	int rc;

	key_of(o, id, key, sizeof(key));
	b->len = 0;
	rc = o->blob->ops->get(o->blob, key, b);
	if (rc == -ENOENT)
		return GIT_ENOTFOUND;
	if (rc) {
		git_error_set(GIT_ERROR_ODB, "cannot fetch '%s' from the blob "
			      "store: %s", key, strerror(-rc));
		return GIT_ERROR;
	}
	if (b->len == 0)
		goto bad;
	nul = memchr(b->data, '\0', b->len < HEADER_MAX ? b->len : HEADER_MAX);
	sp = nul ? memchr(b->data, ' ', (size_t)(nul - b->data)) : NULL;
	if (!sp || (size_t)(sp - b->data) >= sizeof(name))
		goto bad;
	memcpy(name, b->data, (size_t)(sp - b->data));
	name[sp - b->data] = '\0';
	*type = git_object_string2type(name);
	size = strtoull(sp + 1, &end, 10);
	*off = (size_t)(nul + 1 - b->data);
	if (end != nul || *type == GIT_OBJECT_INVALID ||
	    size != b->len - *off)
		goto bad;
	if (git_odb_hash(&check, b->data + *off, b->len - *off, *type) < 0 ||
	    !git_oid_equal(&check, id))
		goto bad;
	return 0;
bad:
	git_error_set(GIT_ERROR_ODB, "'%s' in the blob store is not the "
		      "object it names (damaged or foreign): not used", key);
	return GIT_ERROR;
}

static int put(struct odb *o, const git_oid *id, const void *data,
	       size_t len, git_object_t type)
{
	struct blob_meta m = { .mode = S_IFREG | 0444 };
	char key[KEY_MAX], head[HEADER_MAX];
	struct buf b;
	int n, rc;

	n = snprintf(head, sizeof(head), "%s %zu", git_object_type2string(type),
		     len);
	buf_init(&b, (size_t)n + 1 + len);
	rc = buf_append(&b, head, (size_t)n + 1);
	if (!rc && len)
		rc = buf_append(&b, data, len);
	if (!rc) {
		key_of(o, id, key, sizeof(key));
		m.size = b.len;
		rc = o->blob->ops->put(o->blob, key, b.data, b.len, &m, NULL,
				       0);
	}
	buf_release(&b);
	if (rc) {
		git_error_set(GIT_ERROR_ODB, "cannot store '%s' in the blob "
			      "store: %s", key, strerror(-rc));
		return GIT_ERROR;
	}
	return 0;
}

/* ---- the backend ---- */

static int odb_read(void **data, size_t *len, git_object_t *type,
		    git_odb_backend *be, const git_oid *id)
{
	struct odb *o = odb_of(be);
	struct buf b;
	size_t off;
	int rc = local_read(o, data, len, type, id);

	if (rc != GIT_ENOTFOUND)
		return rc;
	buf_init(&b, o->cap);
	rc = fetch(o, id, &b, type, &off);
	if (rc)
		goto out;
	*len = b.len - off;
	*data = git_odb_backend_data_alloc(be, *len ? *len : 1);
	if (!*data) {
		rc = GIT_ERROR;
		goto out;
	}
	memcpy(*data, b.data + off, *len);
	/* A blob points to nothing: keep it (see the head of the file). */
	if (*type == GIT_OBJECT_BLOB &&
	    o->loose->write(o->loose, id, *data, *len, *type) < 0)
		git_error_clear();
out:
	buf_release(&b);
	return rc;
}

static int odb_read_header(size_t *len, git_object_t *type,
			   git_odb_backend *be, const git_oid *id)
{
	struct odb *o = odb_of(be);
	void *data = NULL;
	int rc = o->pack->read_header(len, type, o->pack, id);

	if (rc == GIT_ENOTFOUND)
		rc = o->loose->read_header(len, type, o->loose, id);
	if (rc != GIT_ENOTFOUND)
		return rc;
	rc = odb_read(&data, len, type, be, id);
	git_odb_backend_data_free(be, data);
	return rc;
}

static int odb_read_prefix(git_oid *out, void **data, size_t *len,
			   git_object_t *type, git_odb_backend *be,
			   const git_oid *prefix, size_t n)
{
	struct odb *o = odb_of(be);
	git_oid other = { { 0 } };
	void *d2 = NULL;
	size_t l2;
	git_object_t t2;
	int rc = o->pack->read_prefix(out, data, len, type, o->pack, prefix,
				      n);
	int rc2 = o->loose->read_prefix(&other, &d2, &l2, &t2, o->loose,
					prefix, n);

	if (rc == GIT_ENOTFOUND) {
		*out = other;
		*data = d2;
		*len = l2;
		*type = t2;
		return rc2;
	}
	if (rc2 == 0) {
		git_odb_backend_data_free(be, d2);
		if (rc == 0 && !git_oid_equal(out, &other)) {
			git_odb_backend_data_free(be, *data);
			*data = NULL;
			git_error_set(GIT_ERROR_ODB, "ambiguous prefix");
			return GIT_EAMBIGUOUS;
		}
	}
	return rc;
}

static int odb_exists(git_odb_backend *be, const git_oid *id)
{
	struct odb *o = odb_of(be);
	git_object_t type;
	struct buf b;
	size_t off;
	int rc;

	if (local_exists(o, id))
		return 1;
	buf_init(&b, o->cap);
	rc = fetch(o, id, &b, &type, &off);
	buf_release(&b);
	if (rc == GIT_ENOTFOUND)
		return 0;
	return rc < 0 ? rc : 1;
}

static int odb_exists_prefix(git_oid *out, git_odb_backend *be,
			     const git_oid *prefix, size_t n)
{
	struct odb *o = odb_of(be);
	git_oid other = { { 0 } };
	int rc = o->pack->exists_prefix(out, o->pack, prefix, n);
	int rc2 = o->loose->exists_prefix(&other, o->loose, prefix, n);

	if (rc == GIT_ENOTFOUND) {
		*out = other;
		return rc2;
	}
	if (rc == 0 && rc2 == 0 && !git_oid_equal(out, &other)) {
		git_error_set(GIT_ERROR_ODB, "ambiguous prefix");
		return GIT_EAMBIGUOUS;
	}
	return rc;
}

static int odb_write(git_odb_backend *be, const git_oid *id,
		     const void *data, size_t len, git_object_t type)
{
	struct odb *o = odb_of(be);
	int rc = put(o, id, data, len, type);

	if (rc)
		return rc;
	return o->loose->write(o->loose, id, data, len, type);
}

static int odb_freshen(git_odb_backend *be, const git_oid *id)
{
	struct odb *o = odb_of(be);

	if (o->pack->freshen(o->pack, id) == 0 ||
	    o->loose->freshen(o->loose, id) == 0)
		return 0;
	return GIT_ENOTFOUND;
}

static int odb_refresh(git_odb_backend *be)
{
	struct odb *o = odb_of(be);

	return o->pack->refresh(o->pack);
}

static int odb_foreach(git_odb_backend *be, git_odb_foreach_cb cb,
		       void *payload)
{
	struct odb *o = odb_of(be);
	int rc = o->pack->foreach(o->pack, cb, payload);

	return rc ? rc : o->loose->foreach(o->loose, cb, payload);
}

static void odb_free(git_odb_backend *be)
{
	struct odb *o = odb_of(be);

	if (o->pack)
		o->pack->free(o->pack);
	if (o->loose)
		o->loose->free(o->loose);
	free(o);
}

int hist_odb_attach(struct history *h, struct hist_vol *v,
		    git_repository *repo, char *msg, size_t cap)
{
	char objects[4096];
	struct odb *o;
	git_odb *db = NULL;
	int rc;

	if ((size_t)snprintf(objects, sizeof(objects), "%sobjects",
			     git_repository_path(repo)) >= sizeof(objects))
		return -ENAMETOOLONG;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	git_odb_init_backend(&o->parent, GIT_ODB_BACKEND_VERSION);
	o->blob = h->cfg.blob;
	o->cap = h->cfg.max_file + HEADER_MAX;
	snprintf(o->prefix, sizeof(o->prefix), "history/%s/objects/", v->name);
	rc = git_odb_backend_pack(&o->pack, objects);
	if (rc == 0)
		rc = git_odb_backend_loose(&o->loose, objects, -1, 0, 0, 0);
	if (rc == 0)
		rc = git_odb_new(&db);
	if (rc < 0) {
		rc = hist_git_err(rc, msg, cap);
		odb_free(&o->parent);
		return rc;
	}
	o->parent.read = odb_read;
	o->parent.read_header = odb_read_header;
	o->parent.read_prefix = odb_read_prefix;
	o->parent.exists = odb_exists;
	o->parent.exists_prefix = odb_exists_prefix;
	o->parent.write = odb_write;
	o->parent.freshen = odb_freshen;
	o->parent.refresh = odb_refresh;
	o->parent.foreach = odb_foreach;
	o->parent.free = odb_free;
	rc = git_odb_add_backend(db, &o->parent, 1);
	if (rc < 0) {
		odb_free(&o->parent);
		goto out;
	}
	o->pack->odb = db;
	o->loose->odb = db;
	git_repository_set_odb(repo, db);
out:
	git_odb_free(db);
	return rc < 0 ? hist_git_err(rc, msg, cap) : 0;
}

/* ---- sync ---- */

static struct odb *odb_of_repo(git_repository *repo)
{
	git_odb_backend *be = NULL;
	git_odb *db = NULL;

	if (git_repository_odb(&db, repo) < 0)
		return NULL;
	if (git_odb_get_backend(&be, db, 0) < 0 || be->read != odb_read)
		be = NULL;
	git_odb_free(db);	/* the repository keeps it */
	return be ? odb_of(be) : NULL;
}

static int keep(struct odb *o, const git_oid *id, const struct buf *b,
		size_t off, git_object_t type)
{
	return o->loose->write(o->loose, id, b->data + off, b->len - off,
			       type);
}

/* Fetch `id` (a tree, or a blob) and everything below it that is not
 * here; keep the tree last. */
static int sync_object(struct odb *o, const git_oid *id, int depth)
{
	git_object_t type;
	struct buf b;
	size_t off;
	int rc;

	if (local_exists(o, id))
		return 0;
	if (depth > TREE_DEPTH_MAX) {
		git_error_set(GIT_ERROR_ODB, "trees nested too deep");
		return GIT_ERROR;
	}
	buf_init(&b, o->cap);
	rc = fetch(o, id, &b, &type, &off);
	if (rc)
		goto out;
	if (type == GIT_OBJECT_TREE) {
		/* Entries: "<octal mode> <name>\0<20 bytes>". */
		const char *p = b.data + off, *end = b.data + b.len;

		while (!rc && p < end) {
			const char *nul = memchr(p, '\0', (size_t)(end - p));
			git_oid child;

			if (!nul || end - nul - 1 < GIT_OID_RAWSZ) {
				git_error_set(GIT_ERROR_ODB, "a damaged tree");
				rc = GIT_ERROR;
				break;
			}
			git_oid_fromraw(&child, (const unsigned char *)nul + 1);
			/* 160000: a submodule's commit, never fetched. */
			if (strncmp(p, "160000 ", 7) != 0)
				rc = sync_object(o, &child, depth + 1);
			p = nul + 1 + GIT_OID_RAWSZ;
		}
	} else if (type != GIT_OBJECT_BLOB) {
		git_error_set(GIT_ERROR_ODB, "a tree entry names a %s",
			      git_object_type2string(type));
		rc = GIT_ERROR;
	}
	if (!rc)
		rc = keep(o, id, &b, off, type);
out:
	buf_release(&b);
	return rc;
}

/* The tree and the first parent of a commit's content. */
static int commit_parse(const char *p, size_t len, git_oid *tree,
			git_oid *parent, int *has_parent)
{
	*has_parent = 0;
	if (len < 46 || strncmp(p, "tree ", 5) != 0 ||
	    git_oid_fromstrn(tree, p + 5, GIT_OID_HEXSZ) < 0)
		return -1;
	if (len >= 46 + 48 && strncmp(p + 46, "parent ", 7) == 0) {
		if (git_oid_fromstrn(parent, p + 53, GIT_OID_HEXSZ) < 0)
			return -1;
		*has_parent = 1;
	}
	return 0;
}

struct pending {
	git_oid id;
	struct buf b;
	size_t off;
};

int hist_odb_sync(git_repository *repo, const git_oid *head, char *msg,
		  size_t cap)
{
	struct odb *o = odb_of_repo(repo);
	struct pending *p = NULL;
	size_t n = 0, alloc = 0;
	git_oid cur = *head;
	int rc = 0;

	if (!o)
		return -EINVAL;
	/* Back from the head to the first commit that is here. */
	while (!local_exists(o, &cur)) {
		git_object_t type;
		git_oid tree, parent;
		int more;

		if (n == alloc) {
			size_t want = alloc ? 2 * alloc : 16;
			struct pending *q;

			q = want > SYNC_COMMITS_MAX ? NULL :
			    realloc(p, want * sizeof(*q));
			if (!q) {
				rc = -ENOMEM;
				goto out;
			}
			p = q;
			alloc = want;
		}
		p[n].id = cur;
		buf_init(&p[n].b, o->cap);
		rc = fetch(o, &cur, &p[n].b, &type, &p[n].off);
		n++;
		if (rc)
			goto out_git;
		if (type != GIT_OBJECT_COMMIT ||
		    commit_parse(p[n - 1].b.data + p[n - 1].off,
				 p[n - 1].b.len - p[n - 1].off, &tree, &parent,
				 &more) < 0) {
			git_error_set(GIT_ERROR_ODB, "not a commit");
			rc = GIT_ERROR;
			goto out_git;
		}
		if (!more)
			break;
		cur = parent;
	}
	/* Oldest first, each commit after its tree. */
	while (n > 0) {
		struct pending *c = &p[n - 1];
		git_oid tree, parent;
		int more;

		commit_parse(c->b.data + c->off, c->b.len - c->off, &tree,
			     &parent, &more);
		rc = sync_object(o, &tree, 0);
		if (!rc)
			rc = keep(o, &c->id, &c->b, c->off, GIT_OBJECT_COMMIT);
		if (rc)
			goto out_git;
		buf_release(&c->b);
		n--;
	}
	goto out;
out_git:
	rc = hist_git_err(rc, msg, cap);
out:
	for (size_t i = 0; i < n; i++)
		buf_release(&p[i].b);
	free(p);
	return rc;
}

struct upload {
	struct odb *o;
	size_t n;
	int rc;
};

static int upload_one(const git_oid *id, void *arg)
{
	struct upload *u = arg;
	git_object_t type;
	void *data = NULL;
	size_t len;
	int rc = local_read(u->o, &data, &len, &type, id);

	if (rc == 0)
		rc = put(u->o, id, data, len, type);
	git_odb_backend_data_free(&u->o->parent, data);
	if (rc)
		u->rc = rc;
	u->n++;
	return rc;
}

int hist_odb_upload_all(git_repository *repo, char *msg, size_t cap)
{
	struct upload u = { odb_of_repo(repo), 0, 0 };
	int rc;

	if (!u.o)
		return -EINVAL;
	rc = odb_foreach(&u.o->parent, upload_one, &u);
	if (rc < 0)
		return hist_git_err(u.rc ? u.rc : rc, msg, cap);
	if (u.n)
		log_info("history: %zu objects of '%s' copied to the blob "
			 "store", u.n, git_repository_path(repo));
	return 0;
}
