/* core/ns/node.h: the namespace's nodes, for the core (core/ns) and the
 * providers (core/prov), nobody else.
 *
 * Every node belongs to one provider (core/ns/prov.h), which gives it its
 * behaviour; `sub` is the provider's own kind of node, which nothing but
 * the provider looks at. The core keeps identity, rights, inode numbers,
 * reference counts and the locks.
 *
 * Locking: ns->tree is a reader-writer lock. Changes to the shape of the
 * tree (create, mkdir, unlink, rmdir, rename, freeing nodes, new volumes)
 * hold it for writing; everything else holds it for reading and then a
 * node's `mu` for its attributes and content. A node's `mu` is only ever
 * taken with `tree` held, so holding `tree` for writing excludes every
 * other user of every node. At most two `mu` are held at once, a file's
 * and then its folder's (area_store), never in the other order. Store
 * calls for a node happen under its `mu` (or the write lock), so two calls
 * on one key never race. Providers take the locks themselves, in these
 * rules; the core's dispatch takes none.
 *
 * Rights after open (DESIGN.md section 2): a decision taken after open
 * (at flush or release) uses the opener kept in the handle (struct
 * ns_file's `opener`), never the sender of the flush or release.
 */
#ifndef LLMUNIX_NODE_H
#define LLMUNIX_NODE_H

#include <pthread.h>
#include <time.h>

#include "core/ns/ns.h"
#include "core/util/buf.h"

struct prov_ops;

struct volume {
	enum acl_class cls;
	char owner[IDENT_NAME_MAX];	/* team or user; "" for system */
	char prefix[80];		/* store key, "volumes/user/alice" */
};

struct node {
	struct node *parent;
	char *name;
	const struct prov_ops *ops;	/* its provider */
	int sub;			/* the provider's kind of node */
	struct volume *vol;		/* NULL above the volumes */
	uint64_t ino;
	uint64_t nlookup;		/* kernel references (atomic) */
	uint32_t pins;			/* open files, listings (atomic) */
	unsigned detached:1;		/* no longer in the tree */
	unsigned owns_vol:1;		/* the volume's own node: frees vol */

	struct node *hnext;		/* hash chain */
	struct node *child, *prev, *next;	/* children, siblings */
	size_t nchildren;

	pthread_mutex_t mu;
	mode_t mode;			/* type and 0777 bits */
	uid_t uid;
	gid_t gid;
	struct timespec atime, mtime, ctime;
	uint64_t size;

	/* Content while open (files of skills/ and workflows/, a graph
	 * being written), and what the store holds. */
	struct buf data;
	unsigned loaded:1, dirty:1, stored:1, cache_stale:1;
	unsigned xattrs_loaded:1;
	/* Looked up again after an open by its name was answered ESTALE
	 * (stale_note): if its name goes away too before the kernel's
	 * retry reaches it, its content and xattrs are kept for it. */
	unsigned keep_late:1;
	unsigned atime_dirty:1;		/* moved by a read, not stored yet */
	unsigned opens;
	struct blob_meta saved;		/* attributes as last stored */
	struct blob_xattrs xattrs;
	/* What `data` holds in memory, charged to a user (node_charge). */
	uid_t charge_uid;
	size_t charged;

	/* A skill's parsed fields (user.skill.*), for this size, mtime and
	 * name; rebuilt when any of them changes. */
	struct blob_xattrs skill_x;
	uint64_t skill_size;
	struct timespec skill_mtime;
	char *skill_name;

	/* A graph being written: the identity of its first writer; only
	 * that identity may open it for writing, so whoever closes it last,
	 * the content is that writer's alone. */
	struct caller *writer;

	/* The provider's own data, freed by its destroy hook. */
	void *priv;
};

struct ns_file {
	struct node *node;
	int flags;
	uid_t uid;		/* the opener's uid (reads and writes charge
				 * the content they bring in to it) */
	/* Opened for writing: who opened it, kept (acl_caller_keep). Every
	 * decision taken after open (submitting a graph at flush, and later
	 * a prompt, a commit's author) is taken as this caller, never as the
	 * sender of the flush or release. */
	struct caller *opener;
	struct buf *snap;	/* a file made at open: its content */
	char *path;		/* a run's file: where its record keeps it */
	char *run_name;		/* ... and the run's name */
	int result;		/* a graph file: what submitting it gave */
	void *priv;		/* the provider's own; its release frees it */
};

struct ns {
	const struct config *cfg;
	struct ident *id;
	struct blob *blob;
	pthread_rwlock_t tree;
	struct node *root, *team, *user;
	struct node *limbo;		/* detached, not yet freed */
	struct node **table;		/* (parent, name) -> node */
	size_t table_size, count;
	uint64_t next_ino;
	uint64_t ident_gen;
	/* Names whose open was answered ESTALE lately (stale_note). */
	pthread_mutex_t stale_mu;
	struct stale_name {
		const struct node *parent;	/* compared, never followed */
		uint64_t hash;			/* of the name */
		time_t until;			/* CLOCK_MONOTONIC seconds */
	} stale[64];
	unsigned stale_next;
	time_t stale_until;		/* the latest `until` (atomic) */
	/* Bytes of file content each user holds in memory (node_charge). */
	pthread_mutex_t charge_mu;
	struct ns_charge {
		uid_t uid;
		uint64_t bytes;
	} *charges;
	size_t ncharges, acharges;
	struct engine *engine;		/* runs; NULL until ns_set_engine() */
	struct history *history;	/* NULL until ns_set_history() */
	struct sessions *sessions;	/* sessions/; NULL until
					 * session_start() */
};

/* --- node.c: nodes and the (parent, name) table --------------------------- */

/* A new node under `parent` (NULL for the root), of provider `ops`; it
 * shares its parent's volume. The tree is held for writing. */
struct node *node_new(struct ns *ns, struct node *parent, const char *name,
		      const struct prov_ops *ops, int sub, mode_t mode);
struct node *node_child(struct ns *ns, struct node *parent,
			const char *name);
void node_detach(struct ns *ns, struct node *n);
void node_attach(struct ns *ns, struct node *n, struct node *parent,
		 const char *name_owned);
void node_maybe_free(struct ns *ns, struct node *n);
void node_move(struct ns *ns, struct node *n, struct node *parent,
	       char *name_owned);
/* Detach `n` and everything below it. */
void node_detach_subtree(struct ns *ns, struct node *n);
/* The store key of a node of a volume: its volume's prefix and the path
 * from the volume ("volumes/user/alice/skills/a/b.md"). */
int node_key(const struct node *n, char *out, size_t cap);
unsigned node_rights(struct ns *ns, struct caller *c, const struct node *n);
/* Whether the caller may see `n` at all. */
int node_visible(struct ns *ns, struct caller *c, const struct node *n);
/* Count one more kernel lookup of `n` and fill `st`: what a lookup or
 * create answers. The tree is held. */
void node_lookup_ref(struct ns *ns, struct caller *c, struct node *n,
		     struct stat *st);
/* Attributes as `c` sees them; the tree is held, takes n->mu. */
void node_stat(struct ns *ns, struct caller *c, struct node *n,
	       struct stat *st);
void node_meta(const struct node *n, struct blob_meta *m);
void node_destroy(struct ns *ns, struct node *n);

/* The memory of file content (issue: one user may not fill the daemon).
 * Say that n->data now needs `bytes` of memory, charged to `uid`: the
 * node's earlier charge is taken back (from whoever it was charged to)
 * and `bytes` charged to `uid`. -EDQUOT, and nothing changes, when that
 * would take `uid` past cfg->user_memory_mb (root never is), unless
 * `force` (content that must be kept, such as an unlinked file's for its
 * readers). Any thread; takes ns->charge_mu only. */
int node_charge(struct ns *ns, struct node *n, uid_t uid, size_t bytes,
		int force);
/* Free n->data and take its charge back. */
void node_data_release(struct ns *ns, struct node *n);
/* What `uid` holds now (for tests and logs). */
uint64_t node_charged_to(struct ns *ns, uid_t uid);
void ns_now(struct timespec *ts);

/* --- ns.c: what every provider may use ------------------------------------ */

/* Whether open flags ask for writing (O_WRONLY, O_RDWR or O_TRUNC). */
int file_wants_write(int flags);
/* A handle on `n` (n->mu held): counts an open and pins the node; when
 * `flags` ask for writing, keeps the caller `c` as its opener. */
int file_handle_new(struct node *n, struct caller *c, int flags,
		    struct ns_file **out);
/* Read from, or write into, a node's content buffer (n->mu held): what
 * a file whose content is in memory answers. The write checks
 * max_file_size (-EFBIG), charges the growth to `uid` (-EDQUOT) and makes
 * the node dirty. */
ssize_t node_buf_read(struct node *n, char *dst, size_t size, off_t off);
/* Read from f->snap, the content a provider made for the handle at open
 * (a catalog, a log). */
ssize_t ns_snap_read(struct ns *ns, struct ns_file *f, char *dst,
		     size_t size, off_t off);
/* Give `f` the content `b` (taken: freed with the handle). */
void ns_snap_set(struct ns_file *f, struct buf *b);
ssize_t node_buf_write(struct ns *ns, struct node *n, uid_t uid,
		       const char *src, size_t size, off_t off);
/* The reply of a place that does not have an operation: -ENOENT when the
 * caller may not see `n`, -ENOTDIR where a folder is needed and `n` is
 * not one (`dir` set), then -EPERM for those who may write there and
 * -EACCES for the others (DESIGN.md section 2). Takes the tree lock. */
int ns_refuse(struct ns *ns, struct caller *c, struct node *n, int dir);
/* ns_refuse() for what would make the name `name` in `dir`: -EEXIST
 * first when the caller sees such a name there. */
int ns_refuse_new(struct ns *ns, struct caller *c, struct node *dir,
		  const char *name);
/* `n` was removed or replaced since the kernel looked it up, and what the
 * kernel asks of it is gone with its key: note its name, so that the node
 * the kernel's retry looks up under that name keeps what it has should it
 * go the same way (node->keep_late), and return -ESTALE (the kernel then
 * walks the path again, once). The tree is held; takes ns->stale_mu. */
int stale_note(struct ns *ns, const struct node *n);
/* The default lookup: a child already in the tree, when the caller may
 * see the folder and the child. Takes the tree lock. */
int ns_lookup_default(struct ns *ns, struct caller *c, struct node *dir,
		      const char *name, struct node **out, struct stat *st);

#endif
