/* core/ns/node.c: nodes, the (parent, name) table, keys, rights and
 * attributes (node.h). */
#include "core/ns/prov.h"
#include "core/util/name.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
		      const struct prov_ops *ops, int sub, mode_t mode)
{
	struct node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->name = strdup(name);
	if (!n->name) {
		free(n);
		return NULL;
	}
	n->ops = ops;
	n->sub = sub;
	n->mode = mode;
	n->ino = ns->next_ino++;
	n->vol = parent ? parent->vol : NULL;
	pthread_mutex_init(&n->mu, NULL);
	buf_init(&n->data, (size_t)ns->cfg->max_file_size);
	ns_now(&n->mtime);
	n->ctime = n->mtime;
	n->atime = n->mtime;
	n->xattrs_loaded = 1;
	if (parent)
		node_attach(ns, n, parent, NULL);
	return n;
}

void node_destroy(struct ns *ns, struct node *n)
{
	node_data_release(ns, n);
	if (n->priv && n->ops->destroy)
		n->ops->destroy(n);
	pthread_mutex_destroy(&n->mu);
	blob_xattrs_release(&n->xattrs);
	blob_xattrs_release(&n->skill_x);
	free(n->skill_name);
	free(n->writer);
	if (n->owns_vol)
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

void node_detach_subtree(struct ns *ns, struct node *n)
{
	while (n->child)
		node_detach_subtree(ns, n->child);
	node_detach(ns, n);
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
	node_destroy(ns, n);
}

/* "volumes/user/alice/skills/a/b.md" for a node of a volume. */
int node_key(const struct node *n, char *out, size_t cap)
{
	const struct node *p;
	size_t len = 0, pre;

	if (!n->vol || n->owns_vol)
		return -EINVAL;
	for (p = n; !p->owns_vol; p = p->parent)
		len += strlen(p->name) + 1;
	if (len - 1 > PATH_MAX_BYTES)
		return -ENAMETOOLONG;
	pre = strlen(n->vol->prefix);
	if (pre + len + 1 > cap)
		return -ENAMETOOLONG;
	memcpy(out, n->vol->prefix, pre);
	out[pre + len] = '\0';
	for (p = n; !p->owns_vol; p = p->parent) {
		size_t k = strlen(p->name);

		len -= k + 1;
		out[pre + len] = '/';
		memcpy(out + pre + len + 1, p->name, k);
	}
	return 0;
}

void node_meta(const struct node *n, struct blob_meta *m)
{
	m->mode = n->mode;
	m->uid = n->uid;
	m->gid = n->gid;
	m->mtime = n->mtime;
	m->atime = n->atime;
	m->size = n->size;
}

unsigned node_rights(struct ns *ns, struct caller *c, const struct node *n)
{
	if (!n->vol)
		return acl_rights(ns->id, c, ACL_TOP, NULL, ACL_SHARED);
	return acl_rights(ns->id, c, n->vol->cls, n->vol->owner,
			  n->ops->flags & PROV_PRIVATE ? ACL_PRIVATE :
							 ACL_SHARED);
}

int node_visible(struct ns *ns, struct caller *c, const struct node *n)
{
	return (node_rights(ns, c, n) & ACL_R) != 0;
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
	st->st_mtim = n->mtime;
	st->st_atim = n->atime;
	st->st_ctim = n->ctime;
	st->st_blksize = 4096;
	if (S_ISDIR(n->mode)) {
		st->st_nlink = 2 + count_subdirs(n);
		st->st_size = 4096;
	} else {
		st->st_nlink = n->detached ? 0 : 1;
		st->st_size = (off_t)n->size;
	}
	st->st_blocks = (st->st_size + 511) / 512;
	if (n->ops->stat)
		n->ops->stat(ns, c, n, st);
	pthread_mutex_unlock(&n->mu);
}

void node_lookup_ref(struct ns *ns, struct caller *c, struct node *n,
		     struct stat *st)
{
	__atomic_add_fetch(&n->nlookup, 1, __ATOMIC_SEQ_CST);
	node_stat(ns, c, n, st);
}

/* Move an attached node under `parent` as `name_owned`. */
void node_move(struct ns *ns, struct node *n, struct node *parent,
	       char *name_owned)
{
	table_del(ns, n);
	unlink_child(n->parent, n);
	node_attach(ns, n, parent, name_owned);
}

/* --- the memory of file content ------------------------------------------ */

/* The entry of `uid` (ns->charge_mu held); NULL when out of memory. */
static struct ns_charge *charge_of(struct ns *ns, uid_t uid)
{
	struct ns_charge *v;

	for (size_t i = 0; i < ns->ncharges; i++)
		if (ns->charges[i].uid == uid)
			return &ns->charges[i];
	if (ns->ncharges == ns->acharges) {
		size_t k = ns->acharges ? 2 * ns->acharges : 16;

		v = realloc(ns->charges, k * sizeof(*v));
		if (!v)
			return NULL;
		ns->charges = v;
		ns->acharges = k;
	}
	v = &ns->charges[ns->ncharges++];
	v->uid = uid;
	v->bytes = 0;
	return v;
}

int node_charge(struct ns *ns, struct node *n, uid_t uid, size_t bytes,
		int force)
{
	uint64_t cap = ns->cfg->user_memory_mb << 20;
	struct ns_charge *to, *from = NULL;
	uint64_t have;
	int rc = 0;

	pthread_mutex_lock(&ns->charge_mu);
	to = charge_of(ns, uid);
	if (n->charged)
		from = charge_of(ns, n->charge_uid);
	if (!to || (n->charged && !from)) {
		rc = force ? 0 : -ENOMEM;
		goto out;
	}
	have = to->bytes - (from == to ? n->charged : 0);
	if (!force && uid != 0 && cap && bytes > n->charged &&
	    have + bytes > cap) {
		rc = -EDQUOT;
		goto out;
	}
	if (from)
		from->bytes -= n->charged;
	to->bytes += bytes;
	n->charged = bytes;
	n->charge_uid = uid;
out:
	pthread_mutex_unlock(&ns->charge_mu);
	return rc;
}

void node_data_release(struct ns *ns, struct node *n)
{
	buf_release(&n->data);
	if (n->charged)
		node_charge(ns, n, n->charge_uid, 0, 1);
}

uint64_t node_charged_to(struct ns *ns, uid_t uid)
{
	uint64_t b = 0;

	pthread_mutex_lock(&ns->charge_mu);
	for (size_t i = 0; i < ns->ncharges; i++)
		if (ns->charges[i].uid == uid)
			b = ns->charges[i].bytes;
	pthread_mutex_unlock(&ns->charge_mu);
	return b;
}
