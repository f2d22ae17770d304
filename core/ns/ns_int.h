/* core/ns/ns_int.h: the namespace's internals, shared by core/ns*.c only.
 *
 * Locking: ns->tree is a reader-writer lock. Changes to the shape of the
 * tree (create, mkdir, unlink, rmdir, rename, freeing nodes, new volumes)
 * hold it for writing; everything else holds it for reading and then a
 * node's `mu` for its attributes and content. A node's `mu` is only ever
 * taken with `tree` held, so holding `tree` for writing excludes every
 * other user of every node. At most two `mu` are held at once, a file's
 * and then its folder's (file_store), never in the other order. Store calls for a node happen
 * under its `mu` (or the write lock), so two calls on one key never race.
 */
#ifndef LLMUNIX_NS_INT_H
#define LLMUNIX_NS_INT_H

#include <pthread.h>
#include <time.h>

#include "core/util/buf.h"
#include "core/ns/ns.h"

enum node_kind {
	NK_ROOT,	/* MOUNT */
	NK_CLASS,	/* MOUNT/team, MOUNT/user */
	NK_VOLUME,	/* system/, team/<t>/, user/<u>/ */
	NK_AREA,	/* <volume>/skills, <volume>/workflows */
	NK_DIR,		/* a folder inside an area */
	NK_FILE,	/* a file inside an area */
	NK_CATALOG,	/* MOUNT/catalog.json, <volume>/catalog.json */
	/* Everything from here on is under user/<u>/run (ns_run.c). */
	NK_RUNS,	/* user/<u>/run */
	NK_RUNGRAPH,	/* run/<name>.json while it is written */
	NK_RUN,		/* run/<name>/ */
	NK_RUNENT,	/* a file or folder of a run's record */
	NK_RUNEVENTS,	/* run/<name>/events: reads wait for lines */
	NK_RUNWAIT,	/* run/<name>/wait: reads wait for the end */
	NK_RUNCTL,	/* run/<name>/ctl: write "cancel" */
};

struct volume {
	enum acl_class cls;
	char owner[IDENT_NAME_MAX];	/* team or user; "" for system */
	char prefix[80];		/* store key, "volumes/user/alice" */
};

struct node {
	struct node *parent;
	char *name;
	enum node_kind kind;
	struct volume *vol;		/* NULL above the volumes */
	uint64_t ino;
	uint64_t nlookup;		/* kernel references (atomic) */
	uint32_t pins;			/* open files, listings (atomic) */
	int detached;			/* no longer in the tree */

	struct node *hnext;		/* hash chain */
	struct node *child, *prev, *next;	/* children, siblings */
	size_t nchildren;

	pthread_mutex_t mu;
	mode_t mode;			/* type and 0777 bits */
	uid_t uid;
	gid_t gid;
	struct timespec mtime, ctime;
	uint64_t size;

	/* Files: content while open, and what the store holds. */
	struct buf data;
	unsigned loaded:1, dirty:1, stored:1, cache_stale:1;
	unsigned xattrs_loaded:1;
	/* Looked up again after an open by its name was answered ESTALE
	 * (stale_note): if its name goes away too before the kernel's
	 * retry reaches it, its content and xattrs are kept for it. */
	unsigned keep_late:1;
	unsigned opens;
	struct blob_meta saved;		/* attributes as last stored */
	struct blob_xattrs xattrs;

	/* A skill's parsed fields (user.skill.*), for this size, mtime and
	 * name; rebuilt when any of them changes. */
	struct blob_xattrs skill_x;
	uint64_t skill_size;
	struct timespec skill_mtime;
	char *skill_name;

	/* A graph being written (NK_RUNGRAPH): the identity of its first
	 * writer; only that identity may open it for writing, so whoever
	 * closes it last, the content is that writer's alone. */
	struct caller *writer;
};

struct ns_file {
	struct node *node;
	int flags;
	/* Opened for writing: who opened it, kept (acl_caller_keep). Every
	 * decision taken after open (submitting a graph at flush, and later
	 * a prompt, a commit's author) is taken as this caller, never as the
	 * sender of the flush or release. */
	struct caller *opener;
	struct buf *snap;	/* a catalog's content, made at open */
	char *path;		/* a run's file: where its record keeps it */
	char *run_name;		/* ... and the run's name */
	int result;		/* a graph file: what submitting it gave */
};

/* A name whose node was removed or replaced, with its content, between
 * the kernel's lookup and its open (or xattr call): the kernel answered
 * ESTALE walks the path again, once, and the node it finds then must not
 * be lost the same way (node->keep_late). */
struct stale_name {
	const struct node *parent;	/* compared, never followed */
	uint64_t hash;			/* of the name */
	time_t until;			/* CLOCK_MONOTONIC seconds */
};

#define STALE_NAMES 64

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
	struct engine *engine;		/* runs; NULL until ns_set_engine() */
	pthread_mutex_t stale_mu;	/* guards the stale names */
	struct stale_name stale[STALE_NAMES];	/* a ring */
	unsigned stale_next;
	time_t stale_until;		/* the latest `until` (atomic) */
};

/* ns_tree.c */
struct node *node_new(struct ns *ns, struct node *parent, const char *name,
		      enum node_kind kind, mode_t mode);
struct node *node_child(struct ns *ns, struct node *parent,
			const char *name);
void node_detach(struct ns *ns, struct node *n);
void node_attach(struct ns *ns, struct node *n, struct node *parent,
		 const char *name_owned);
void node_maybe_free(struct ns *ns, struct node *n);
void node_move(struct ns *ns, struct node *n, struct node *parent,
	       char *name_owned);
int node_key(const struct node *n, char *out, size_t cap);
unsigned node_rights(struct ns *ns, struct caller *c, const struct node *n);
/* Count one more kernel lookup of `n` and fill `st`: what a lookup or
 * create answers. The tree is held. */
void node_lookup_ref(struct ns *ns, struct caller *c, struct node *n,
		     struct stat *st);
void node_stat(struct ns *ns, struct caller *c, struct node *n,
	       struct stat *st);
void node_meta(const struct node *n, struct blob_meta *m);
int node_is_data(const struct node *n);
void dir_store_meta(struct ns *ns, struct node *dir);
/* `n` was removed or replaced since the kernel looked it up, and what the
 * kernel asks of it is gone with its key: note its name, so that the node
 * the kernel's retry looks up under that name keeps what it has should it
 * go the same way, and return -ESTALE (the kernel then walks the path
 * again). The tree is held; takes ns->stale_mu. */
int stale_note(struct ns *ns, const struct node *n);
void ns_refresh_users(struct ns *ns);
void ns_now(struct timespec *ts);

/* ns_file.c */
/* Whether open flags ask for writing (O_WRONLY, O_RDWR or O_TRUNC). */
int file_wants_write(int flags);
/* A handle on `n` (n->mu held): counts an open and pins the node; when
 * `flags` ask for writing, keeps the caller `c` as its opener. */
int file_handle_new(struct node *n, struct caller *c, int flags,
		    struct ns_file **out);
int file_load(struct ns *ns, struct node *n);
int file_store(struct ns *ns, struct node *n, unsigned flags);
int xattrs_load(struct ns *ns, struct node *n);
int ns_check_dir_write(struct ns *ns, struct caller *c, struct node *parent);
int ns_check_new_name(struct node *parent, const char *name);

/* ns_catalog.c */
int catalog_build(struct ns *ns, struct caller *c, struct node *n,
		  struct buf *out);

/* ns_xattr.c */
int skill_is(const struct node *n);
int skill_cache(struct ns *ns, struct node *n);

/* ns_run.c: the run/ folders; each is called with no lock held, in place
 * of the general operation, when the node is of a run kind. */
static inline int run_kind(const struct node *n)
{
	return n->kind >= NK_RUNS;
}

int run_lookup(struct ns *ns, struct caller *c, struct node *parent,
	       const char *name, struct node **out, struct stat *st);
/* Bring the children of a run folder up to date (before a listing). */
int run_sync(struct ns *ns, struct caller *c, struct node *dir);
/* Size and times of a record file; the tree and n->mu are held. */
void run_stat(struct ns *ns, struct node *n, struct stat *st);
int run_open(struct ns *ns, struct caller *c, struct node *n, int flags,
	     struct ns_file **out);
int run_create(struct ns *ns, struct caller *c, struct node *parent,
	       const char *name, mode_t mode, int flags, struct node **out,
	       struct stat *st, struct ns_file **fout);
ssize_t run_read(struct ns *ns, struct ns_file *f, char *dst, size_t size,
		 off_t off);
ssize_t run_write(struct ns *ns, struct ns_file *f, const char *src,
		  size_t size, off_t off);
int run_flush(struct ns *ns, struct ns_file *f);
/* Whether `c` may write the graph `n` being written (n->mu held): its
 * first writer is kept, and any other identity gets -EBUSY. */
int run_graph_writer(struct node *n, struct caller *c);
int run_remove(struct ns *ns, struct caller *c, struct node *parent,
	       const char *name, int dir);
int run_setattr(struct ns *ns, struct caller *c, struct node *n,
		const struct stat *want, unsigned what, struct stat *st);

/* ns_submit.c: a graph file's content to a run (or a rejected record);
 * returns 0, -EINVAL (the record's error says why) or another -errno. */
int run_submit(struct ns *ns, struct caller *c, struct node *runs,
	       const char *name, const char *json, size_t len);

/* ns_load.c */
int ns_load(struct ns *ns);
int ns_volume_load(struct ns *ns, struct node *vol);

#endif
