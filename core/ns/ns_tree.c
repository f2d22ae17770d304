/* core/ns/ns_tree.c: nodes, the name table, rights and attributes; lookup,
 * forget, getattr, access, listings and statfs. */
#include "core/util/log.h"
#include "core/util/name.h"
#include "core/ns/ns_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void ns_now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

/* --- the (parent, name) -> node table ---------------------------------- */

static size_t slot_of(const struct ns *ns, const struct node *parent,
		      const char *name)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)(uintptr_t)parent;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	h ^= h >> 29;
	return (size_t)h & (ns->table_size - 1);
}

static void table_grow(struct ns *ns)
{
	size_t size = ns->table_size * 2;
	struct node **t = calloc(size, sizeof(*t));
	struct node **old = ns->table;
	size_t old_size = ns->table_size;

	if (!t)
		return;	/* longer chains, still correct */
	ns->table = t;
	ns->table_size = size;
	for (size_t i = 0; i < old_size; i++) {
		struct node *n = old[i], *next;

		for (; n; n = next) {
			size_t s = slot_of(ns, n->parent, n->name);

			next = n->hnext;
			n->hnext = t[s];
			t[s] = n;
		}
	}
	free(old);
}

static void table_add(struct ns *ns, struct node *n)
{
	size_t s;

	if (ns->count >= ns->table_size)
		table_grow(ns);
	s = slot_of(ns, n->parent, n->name);
	n->hnext = ns->table[s];
	ns->table[s] = n;
	ns->count++;
}

static void table_del(struct ns *ns, struct node *n)
{
	struct node **pp = &ns->table[slot_of(ns, n->parent, n->name)];

	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == n) {
			*pp = n->hnext;
			n->hnext = NULL;
			ns->count--;
			return;
		}
	}
}

struct node *node_child(struct ns *ns, struct node *parent, const char *name)
{
	struct node *n = ns->table[slot_of(ns, parent, name)];

	for (; n; n = n->hnext)
		if (n->parent == parent && strcmp(n->name, name) == 0)
			return n;
	return NULL;
}

/* --- nodes --------------------------------------------------------------- */

static void link_child(struct node *parent, struct node *n)
{
	n->prev = NULL;
	n->next = parent->child;
	if (parent->child)
		parent->child->prev = n;
	parent->child = n;
	parent->nchildren++;
}

static void unlink_child(struct node *parent, struct node *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else
		parent->child = n->next;
	if (n->next)
		n->next->prev = n->prev;
	n->prev = n->next = NULL;
	parent->nchildren--;
}

void node_attach(struct ns *ns, struct node *n, struct node *parent,
		 const char *name_owned)
{
	n->parent = parent;
	if (name_owned) {
		free(n->name);
		n->name = (char *)name_owned;
	}
	n->detached = 0;
	link_child(parent, n);
	table_add(ns, n);
}

struct node *node_new(struct ns *ns, struct node *parent, const char *name,
		      enum node_kind kind, mode_t mode)
{
	struct node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->name = strdup(name);
	if (!n->name) {
		free(n);
		return NULL;
	}
	n->kind = kind;
	n->mode = mode;
	n->ino = ns->next_ino++;
	n->vol = parent ? parent->vol : NULL;
	pthread_mutex_init(&n->mu, NULL);
	buf_init(&n->data, (size_t)ns->cfg->max_file_size);
	ns_now(&n->mtime);
	n->ctime = n->mtime;
	n->xattrs_loaded = 1;
	if (parent)
		node_attach(ns, n, parent, NULL);
	return n;
}

static void node_destroy(struct node *n)
{
	pthread_mutex_destroy(&n->mu);
	buf_release(&n->data);
	blob_xattrs_release(&n->xattrs);
	blob_xattrs_release(&n->skill_x);
	free(n->skill_name);
	free(n->writer);
	if (n->kind == NK_VOLUME)
		free(n->vol);
	free(n->name);
	free(n);
}

void node_detach(struct ns *ns, struct node *n)
{
	table_del(ns, n);
	unlink_child(n->parent, n);
	n->detached = 1;
	/* Still known to the kernel or open: waits in limbo, a list through
	 * the sibling links. */
	n->next = ns->limbo;
	if (ns->limbo)
		ns->limbo->prev = n;
	ns->limbo = n;
	node_maybe_free(ns, n);
}

void node_maybe_free(struct ns *ns, struct node *n)
{
	if (!n->detached || __atomic_load_n(&n->nlookup, __ATOMIC_SEQ_CST) ||
	    __atomic_load_n(&n->pins, __ATOMIC_SEQ_CST))
		return;
	if (n->prev)
		n->prev->next = n->next;
	else
		ns->limbo = n->next;
	if (n->next)
		n->next->prev = n->prev;
	node_destroy(n);
}

static void free_subtree(struct node *n)
{
	while (n->child) {
		struct node *c = n->child;

		n->child = c->next;
		free_subtree(c);
	}
	node_destroy(n);
}

int node_is_data(const struct node *n)
{
	return n->kind == NK_AREA || n->kind == NK_DIR || n->kind == NK_FILE;
}

/* "volumes/user/alice/skills/a/b.md" for a node inside an area. */
int node_key(const struct node *n, char *out, size_t cap)
{
	const struct node *p;
	size_t len = 0, pre;

	if (!node_is_data(n) || !n->vol)
		return -EINVAL;
	for (p = n; p->kind != NK_VOLUME; p = p->parent)
		len += strlen(p->name) + 1;
	if (len - 1 > PATH_MAX_BYTES)
		return -ENAMETOOLONG;
	pre = strlen(n->vol->prefix);
	if (pre + len + 1 > cap)
		return -ENAMETOOLONG;
	memcpy(out, n->vol->prefix, pre);
	out[pre + len] = '\0';
	for (p = n; p->kind != NK_VOLUME; p = p->parent) {
		size_t k = strlen(p->name);

		len -= k + 1;
		out[pre + len] = '/';
		memcpy(out + pre + len + 1, p->name, k);
	}
	return 0;
}

/* A folder's mtime is the namespace's: write it to the store after each
 * change of its entries (the store's own folder times follow its own
 * renames). Callers hold the tree for writing, or the folder's mu. */
void dir_store_meta(struct ns *ns, struct node *dir)
{
	struct blob_meta m;
	char key[PATH_MAX];
	int rc;

	if (dir->kind != NK_AREA && dir->kind != NK_DIR)
		return;
	if (node_key(dir, key, sizeof(key)))
		return;
	node_meta(dir, &m);
	rc = ns->blob->ops->setmeta(ns->blob, key, &m);
	if (rc && rc != -ENOENT) {
		char esc[128];

		log_warn("could not store the times of '%s': %s",
			 log_escape(esc, sizeof(esc), dir->name), strerror(-rc));
	}
}

void node_meta(const struct node *n, struct blob_meta *m)
{
	m->mode = n->mode;
	m->uid = n->uid;
	m->gid = n->gid;
	m->mtime = n->mtime;
	m->size = n->size;
}

unsigned node_rights(struct ns *ns, struct caller *c, const struct node *n)
{
	if (!n->vol)
		return acl_rights(ns->id, c, ACL_TOP, NULL, ACL_SHARED);
	return acl_rights(ns->id, c, n->vol->cls, n->vol->owner,
			  run_kind(n) ? ACL_PRIVATE : ACL_SHARED);
}

static size_t count_subdirs(const struct node *n)
{
	size_t k = 0;

	for (const struct node *c = n->child; c; c = c->next)
		if (S_ISDIR(c->mode))
			k++;
	return k;
}

/* Callers hold the tree lock; takes n->mu. */
void node_stat(struct ns *ns, struct caller *c, struct node *n,
	       struct stat *st)
{
	unsigned r = node_rights(ns, c, n);

	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&n->mu);
	st->st_ino = n->ino;
	st->st_mode = n->mode & (r & ACL_W ? (S_IFMT | 0777) :
				 (S_IFMT | 0555));
	st->st_uid = n->uid;
	st->st_gid = n->gid;
	if (n->kind == NK_CATALOG)
		ns_now(&n->mtime);	/* made anew at each open */
	st->st_mtim = n->mtime;
	st->st_atim = n->mtime;
	st->st_ctim = n->kind == NK_CATALOG ? n->mtime : n->ctime;
	st->st_blksize = 4096;
	if (S_ISDIR(n->mode)) {
		st->st_nlink = 2 + count_subdirs(n);
		st->st_size = 4096;
	} else {
		st->st_nlink = n->detached ? 0 : 1;
		st->st_size = (off_t)n->size;
	}
	st->st_blocks = (st->st_size + 511) / 512;
	if (run_kind(n))
		run_stat(ns, n, st);
	pthread_mutex_unlock(&n->mu);
}

void node_lookup_ref(struct ns *ns, struct caller *c, struct node *n,
		     struct stat *st)
{
	__atomic_add_fetch(&n->nlookup, 1, __ATOMIC_SEQ_CST);
	node_stat(ns, c, n, st);
}

/* --- volumes ------------------------------------------------------------ */

static struct node *add_volume(struct ns *ns, struct node *parent,
			       const char *name, enum acl_class cls,
			       uid_t uid, gid_t gid)
{
	struct volume *v = calloc(1, sizeof(*v));
	struct node *n;

	if (!v)
		return NULL;
	v->cls = cls;
	if (cls != ACL_SYSTEM)
		snprintf(v->owner, sizeof(v->owner), "%s", name);
	if (cls == ACL_SYSTEM)
		snprintf(v->prefix, sizeof(v->prefix), "volumes/system");
	else
		snprintf(v->prefix, sizeof(v->prefix), "volumes/%s/%s",
			 cls == ACL_TEAM ? "team" : "user", name);
	n = node_new(ns, parent, name, NK_VOLUME, S_IFDIR | 0755);
	if (!n) {
		free(v);
		return NULL;
	}
	n->vol = v;
	n->uid = uid;
	n->gid = gid;
	if (!node_new(ns, n, "catalog.json", NK_CATALOG, S_IFREG | 0444))
		return NULL;
	for (int i = 0; i < 2; i++) {
		struct node *a = node_new(ns, n, i ? "workflows" : "skills",
					  NK_AREA, S_IFDIR | 0755);

		if (!a)
			return NULL;
		a->uid = uid;
		a->gid = gid;
	}
	if (cls == ACL_USER) {
		struct node *r = node_new(ns, n, "run", NK_RUNS,
					  S_IFDIR | 0755);

		if (!r)
			return NULL;
		r->uid = uid;
		r->gid = gid;
	}
	return n;
}

/* Add volumes for users that appeared since the last look. Called with no
 * lock held. */
void ns_refresh_users(struct ns *ns)
{
	struct ident_user u;
	uint64_t gen;

	ident_refresh(ns->id);
	gen = ident_generation(ns->id);
	if (__atomic_load_n(&ns->ident_gen, __ATOMIC_SEQ_CST) == gen)
		return;
	pthread_rwlock_wrlock(&ns->tree);
	ns->ident_gen = gen;
	for (size_t i = 0; ident_user_at(ns->id, i, &u) == 0; i++) {
		struct node *v;

		if (node_child(ns, ns->user, u.name))
			continue;
		v = add_volume(ns, ns->user, u.name, ACL_USER, u.uid, u.gid);
		if (!v)
			log_err("no memory for the volume of user '%s'", u.name);
		else if (ns_volume_load(ns, v))
			log_err("loading the volume of user '%s' failed; it "
				"shows what could be read", u.name);
	}
	pthread_rwlock_unlock(&ns->tree);
}

int ns_new(struct ns **out, const struct config *cfg, struct ident *id,
	   struct blob *blob)
{
	pthread_rwlockattr_t attr;
	struct ident_team t;
	struct ident_user u;
	struct ns *ns = calloc(1, sizeof(*ns));
	int rc = -ENOMEM;

	if (!ns)
		return -ENOMEM;
	ns->cfg = cfg;
	ns->id = id;
	ns->blob = blob;
	ns->next_ino = 1;
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
			PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&ns->tree, &attr);
	pthread_rwlockattr_destroy(&attr);
	pthread_mutex_init(&ns->stale_mu, NULL);
	ns->table_size = 1024;
	ns->table = calloc(ns->table_size, sizeof(*ns->table));
	if (!ns->table)
		goto out_free;
	ns->root = node_new(ns, NULL, "", NK_ROOT, S_IFDIR | 0755);
	if (!ns->root || !add_volume(ns, ns->root, "system", ACL_SYSTEM, 0, 0))
		goto out_free;
	if (!node_new(ns, ns->root, "catalog.json", NK_CATALOG,
		      S_IFREG | 0444))
		goto out_free;
	ns->team = node_new(ns, ns->root, "team", NK_CLASS, S_IFDIR | 0755);
	ns->user = node_new(ns, ns->root, "user", NK_CLASS, S_IFDIR | 0755);
	if (!ns->team || !ns->user)
		goto out_free;
	for (size_t i = 0; ident_team_at(id, i, &t) == 0; i++)
		if (!add_volume(ns, ns->team, t.name, ACL_TEAM, 0, t.gid))
			goto out_free;
	for (size_t i = 0; ident_user_at(id, i, &u) == 0; i++)
		if (!add_volume(ns, ns->user, u.name, ACL_USER, u.uid, u.gid))
			goto out_free;
	ns->ident_gen = ident_generation(id);
	rc = ns_load(ns);
	if (rc)
		goto out_free;
	*out = ns;
	return 0;
out_free:
	ns_free(ns);
	return rc;
}

static void flush_subtree(struct ns *ns, struct node *n)
{
	for (struct node *c = n->child; c; c = c->next)
		flush_subtree(ns, c);
	if (n->kind == NK_FILE && n->dirty && file_store(ns, n, BLOB_SYNC)) {
		char esc[128];

		log_err("could not store '%s' at exit",
			log_escape(esc, sizeof(esc), n->name));
	}
}

void ns_free(struct ns *ns)
{
	if (!ns)
		return;
	if (ns->root) {
		flush_subtree(ns, ns->root);
		free_subtree(ns->root);
	}
	while (ns->limbo) {
		struct node *n = ns->limbo;

		ns->limbo = n->next;
		node_destroy(n);
	}
	pthread_rwlock_destroy(&ns->tree);
	pthread_mutex_destroy(&ns->stale_mu);
	free(ns->table);
	free(ns);
}

struct node *ns_root(struct ns *ns)
{
	return ns->root;
}

/* --- stale names ---------------------------------------------------------- */

/* How long a stale name marks the nodes looked up under it. The kernel's
 * retry follows its ESTALE at once; this only bounds what marking costs
 * (a content read when such a node is removed while the kernel knows it). */
#define STALE_TTL_S 60

static time_t mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec;
}

static uint64_t name_hash(const char *name)
{
	uint64_t h = 1469598103934665603ULL;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h;
}

int stale_note(struct ns *ns, const struct node *n)
{
	time_t until = mono_s() + STALE_TTL_S;
	struct stale_name *s;

	pthread_mutex_lock(&ns->stale_mu);
	s = &ns->stale[ns->stale_next++ % STALE_NAMES];
	s->parent = n->parent;
	s->hash = name_hash(n->name);
	s->until = until;
	__atomic_store_n(&ns->stale_until, until, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&ns->stale_mu);
	return -ESTALE;
}

/* Whether an open of (parent, name) was answered ESTALE lately. */
static int stale_noted(struct ns *ns, const struct node *parent,
		       const char *name)
{
	time_t now = mono_s();
	uint64_t h;
	int found = 0;

	if (__atomic_load_n(&ns->stale_until, __ATOMIC_SEQ_CST) < now)
		return 0;	/* none for a while: the usual case */
	h = name_hash(name);
	pthread_mutex_lock(&ns->stale_mu);
	for (size_t i = 0; i < STALE_NAMES && !found; i++)
		found = ns->stale[i].parent == parent &&
			ns->stale[i].hash == h && ns->stale[i].until >= now;
	pthread_mutex_unlock(&ns->stale_mu);
	return found;
}

/* --- lookups ------------------------------------------------------------- */

/* A node the caller may not read is not there for the caller. */
static int visible(struct ns *ns, struct caller *c, struct node *n)
{
	return (node_rights(ns, c, n) & ACL_R) != 0;
}

int ns_lookup(struct ns *ns, struct caller *c, struct node *parent,
	      const char *name, struct node **out, struct stat *st)
{
	struct node *n;
	int rc = 0;

	if (strlen(name) > NAME_MAX_BYTES)
		return -ENAMETOOLONG;
	if (run_kind(parent))
		return run_lookup(ns, c, parent, name, out, st);
	if (parent == ns->user)
		ns_refresh_users(ns);
	pthread_rwlock_rdlock(&ns->tree);
	if (!S_ISDIR(parent->mode)) {
		rc = -ENOTDIR;
		goto out;
	}
	if (!visible(ns, c, parent)) {
		rc = -ENOENT;
		goto out;
	}
	n = node_child(ns, parent, name);
	if (!n || !visible(ns, c, n)) {
		rc = -ENOENT;
		goto out;
	}
	node_lookup_ref(ns, c, n, st);
	if (stale_noted(ns, parent, name)) {
		pthread_mutex_lock(&n->mu);
		n->keep_late = 1;
		pthread_mutex_unlock(&n->mu);
	}
	*out = n;
out:
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

void ns_forget(struct ns *ns, struct node *n, uint64_t nlookup)
{
	if (n == ns->root)
		return;
	pthread_rwlock_wrlock(&ns->tree);
	if (n->nlookup < nlookup)
		n->nlookup = 0;
	else
		n->nlookup -= nlookup;
	node_maybe_free(ns, n);
	pthread_rwlock_unlock(&ns->tree);
}

int ns_name_cacheable(struct ns *ns, const struct node *n)
{
	(void)ns;
	if (run_kind(n))
		return 0;	/* runs come and go under the same names */
	return !(n->kind == NK_VOLUME && n->vol->cls == ACL_USER);
}

int ns_getattr(struct ns *ns, struct caller *c, struct node *n,
	       struct stat *st)
{
	int rc = 0;

	pthread_rwlock_rdlock(&ns->tree);
	if (visible(ns, c, n))
		node_stat(ns, c, n, st);
	else
		rc = -ENOENT;
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

int ns_access(struct ns *ns, struct caller *c, struct node *n, int mask)
{
	unsigned r;
	int rc = 0;

	pthread_rwlock_rdlock(&ns->tree);
	r = node_rights(ns, c, n);
	if (!(r & ACL_R))
		rc = -ENOENT;
	else if ((mask & W_OK) && !(r & ACL_W))
		rc = -EACCES;
	else if ((mask & X_OK) && !S_ISDIR(n->mode) && !(n->mode & 0111))
		rc = -EACCES;
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

/* --- listings ------------------------------------------------------------ */

static int dir_add(struct ns_dir *d, size_t *alloc, const char *name,
		   struct node *n)
{
	struct ns_dirent *e;

	if (d->n == *alloc) {
		size_t k = *alloc ? *alloc * 2 : 16;

		e = realloc(d->e, k * sizeof(*e));
		if (!e)
			return -ENOMEM;
		d->e = e;
		*alloc = k;
	}
	e = &d->e[d->n];
	e->name = strdup(name);
	if (!e->name)
		return -ENOMEM;
	e->node = n;
	e->type = n->mode & S_IFMT;
	e->ino = n->ino;
	__atomic_add_fetch(&n->pins, 1, __ATOMIC_SEQ_CST);
	d->n++;
	return 0;
}

int ns_opendir(struct ns *ns, struct caller *c, struct node *n,
	       struct ns_dir **out)
{
	struct ns_dir *d;
	size_t alloc = 0;
	int rc = 0;

	if (n == ns->user)
		ns_refresh_users(ns);
	if (run_kind(n)) {
		int rc = run_sync(ns, c, n);

		if (rc)
			return rc;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	pthread_rwlock_rdlock(&ns->tree);
	if (!visible(ns, c, n)) {
		rc = -ENOENT;
		goto out;
	}
	if (!S_ISDIR(n->mode)) {
		rc = -ENOTDIR;
		goto out;
	}
	d->dir = n;
	rc = dir_add(d, &alloc, ".", n);
	if (!rc)
		rc = dir_add(d, &alloc, "..", n->parent ? n->parent : n);
	for (struct node *ch = n->child; ch && !rc; ch = ch->next)
		if ((ch->kind != NK_VOLUME && ch->kind != NK_RUNS) ||
		    visible(ns, c, ch))
			rc = dir_add(d, &alloc, ch->name, ch);
out:
	pthread_rwlock_unlock(&ns->tree);
	if (rc) {
		ns_releasedir(ns, d);
		return rc;
	}
	*out = d;
	return 0;
}

int ns_dirent_lookup(struct ns *ns, struct caller *c, struct ns_dir *d,
		     struct ns_dirent *e, struct stat *st)
{
	int rc = 0;

	pthread_rwlock_rdlock(&ns->tree);
	if (e->node->detached || e->node->parent != d->dir ||
	    strcmp(e->node->name, e->name) != 0) {
		rc = -ENOENT;
	} else {
		node_lookup_ref(ns, c, e->node, st);
	}
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

void ns_releasedir(struct ns *ns, struct ns_dir *d)
{
	pthread_rwlock_wrlock(&ns->tree);
	for (size_t i = 0; i < d->n; i++) {
		__atomic_sub_fetch(&d->e[i].node->pins, 1, __ATOMIC_SEQ_CST);
		node_maybe_free(ns, d->e[i].node);
		free(d->e[i].name);
	}
	pthread_rwlock_unlock(&ns->tree);
	free(d->e);
	free(d);
}

int ns_statfs(struct ns *ns, struct statvfs *out)
{
	int rc = ns->blob->ops->statfs(ns->blob, out);

	out->f_namemax = NAME_MAX_BYTES;
	return rc;
}

/* Move an attached node under `parent` as `name_owned`. */
void node_move(struct ns *ns, struct node *n, struct node *parent,
	       char *name_owned)
{
	table_del(ns, n);
	unlink_child(n->parent, n);
	node_attach(ns, n, parent, name_owned);
}
