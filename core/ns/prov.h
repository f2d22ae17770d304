/* core/ns/prov.h: providers, one module per kind of place in the tree.
 *
 * A provider is a table of operations, as the Linux VFS's inode and file
 * operations are: every node belongs to one (node->ops), and the core
 * (core/ns/ns.c) dispatches each request to it. Operations on a name in a
 * folder (lookup, create, mkdir, unlink, rmdir, rename) go to the folder's
 * provider; operations on a node (getattr, setattr, open, xattrs) and on an
 * open file (read, write, flush, fsync, release) go to the node's.
 *
 * Every operation may be left NULL; the core then answers as DESIGN.md
 * says for a place that does not have it (ns.c, "defaults"): a lookup
 * finds the children already in the tree, a listing lists them, a stat
 * shows the node's attributes, a change is refused with EPERM (for those
 * who may write there) or EACCES (for the others), an open of a folder is
 * EISDIR, getxattr is ENODATA, listxattr is empty, flush and fsync do
 * nothing; a name that exists is EEXIST before any of that for what
 * makes names. Rights are the provider's to check in what it implements
 * (node_rights); the core checks them in what it answers itself.
 *
 * The providers (core/prov/):
 *   fixed    MOUNT, team/, user/ and the volumes (fixed.c)
 *   area     skills/ and workflows/, and everything in them (area_*.c)
 *   catalog  the catalog.json files (catalog.c)
 *   run      user/<u>/run and every run's record (run.c, run_submit.c)
 *   session  user/<u>/sessions, chat sessions (session*.c)
 *   history  <volume>/history/, the volume's past (history.c)
 *   agent    MOUNT/agent-skills/, the caller's skills as SKILL.md folders
 *            (agent.c)
 *
 * Adding a kind of directory is adding a provider module and one line in
 * the volume layout of fixed.c (or a child of the root there).
 */
#ifndef LLMUNIX_PROV_H
#define LLMUNIX_PROV_H

#include <sys/types.h>

#include "core/ns/node.h"

/* flags */
#define PROV_PRIVATE	(1u << 0)	/* the owner's only (sessions/, run/) */
#define PROV_NOCACHE	(1u << 1)	/* names come and go behind the
					 * kernel's back: never cached */
#define PROV_RDONLY	(1u << 2)	/* a read-only view: every change
					 * it leaves out is EROFS */

struct prov_ops {
	const char *name;
	unsigned flags;

	/* --- a folder of this provider, and a name in it ------------------ */
	int (*lookup)(struct ns *ns, struct caller *c, struct node *dir,
		      const char *name, struct node **out, struct stat *st);
	/* Bring the children of `dir` up to date before a listing. */
	int (*sync)(struct ns *ns, struct caller *c, struct node *dir);
	/* A listing that differs per caller: call `add` for each child
	 * `c` sees (the tree is held for reading). NULL: every child of
	 * `dir` the caller may see. */
	int (*list)(struct ns *ns, struct caller *c, struct node *dir,
		    int (*add)(void *arg, struct node *child), void *arg);
	int (*create)(struct ns *ns, struct caller *c, struct node *dir,
		      const char *name, mode_t mode, int flags,
		      struct node **out, struct stat *st,
		      struct ns_file **fout);
	int (*mkdir)(struct ns *ns, struct caller *c, struct node *dir,
		     const char *name, mode_t mode, struct node **out,
		     struct stat *st);
	int (*symlink)(struct ns *ns, struct caller *c, struct node *dir,
		       const char *name, const char *target,
		       struct node **out, struct stat *st);
	int (*unlink)(struct ns *ns, struct caller *c, struct node *dir,
		      const char *name);
	int (*rmdir)(struct ns *ns, struct caller *c, struct node *dir,
		     const char *name);
	/* Both folders are of this provider (across providers: EXDEV). */
	int (*rename)(struct ns *ns, struct caller *c, struct node *dir,
		      const char *name, struct node *newdir,
		      const char *newname, unsigned flags);

	/* --- a node of this provider -------------------------------------- */
	/* Adjust what node_stat() filled for `c` (the tree and n->mu are
	 * held). A file made at open reports the size it would have. */
	void (*stat)(struct ns *ns, struct caller *c, struct node *n,
		     struct stat *st);
	/* Whether the kernel may cache the name of `n` (NULL: the flags
	 * say). */
	int (*cacheable)(const struct node *n);
	/* A link's target; the number of bytes put in `buf`. */
	ssize_t (*readlink)(struct ns *ns, struct caller *c, struct node *n,
			    char *buf, size_t size);
	int (*setattr)(struct ns *ns, struct caller *c, struct node *n,
		       struct ns_file *f, const struct stat *want,
		       unsigned what, struct stat *st);
	int (*open)(struct ns *ns, struct caller *c, struct node *n,
		    int flags, struct ns_file **out, int *keep_cache);
	/* Extended attributes; the core has checked the name (user.*, not
	 * reserved for the store). */
	int (*setxattr)(struct ns *ns, struct caller *c, struct node *n,
			const char *name, const char *value, size_t size,
			int flags);
	ssize_t (*getxattr)(struct ns *ns, struct caller *c, struct node *n,
			    const char *name, char *value, size_t size);
	ssize_t (*listxattr)(struct ns *ns, struct caller *c, struct node *n,
			     char *list, size_t size);
	int (*removexattr)(struct ns *ns, struct caller *c, struct node *n,
			   const char *name);
	/* The volume `vol` was just made with this provider's places in it
	 * (at start-up, or when a user appears): fill them, e.g. from the
	 * store. Called once per volume; the tree is held for writing. */
	int (*volume_load)(struct ns *ns, struct node *vol);
	/* At unmount, for every node still in the tree: store what is
	 * pending (no request runs any more). */
	void (*unmount)(struct ns *ns, struct node *n);
	/* Free node->priv, when the node is freed. */
	void (*destroy)(struct node *n);

	/* --- an open file of one of this provider's nodes ------------------- */
	/* Whether reads go around the kernel's cache (content made for the
	 * reader, or changing under it). */
	int (*direct_io)(const struct ns_file *f);
	ssize_t (*read)(struct ns *ns, struct ns_file *f, char *dst,
			size_t size, off_t off);
	ssize_t (*write)(struct ns *ns, struct ns_file *f, const char *src,
			 size_t size, off_t off);
	/* No caller: see node.h, rights after open. */
	int (*flush)(struct ns *ns, struct ns_file *f);
	int (*fsync)(struct ns *ns, struct ns_file *f);
	/* The last part of a close, with the tree held for writing and
	 * f->node->opens already counted down; the core then unpins the
	 * node and frees the handle. */
	void (*release)(struct ns *ns, struct ns_file *f);
};

extern const struct prov_ops fixed_prov, area_prov, catalog_prov, run_prov,
	history_prov, agent_prov, session_prov;

/* fixed.c: build the tree (the fixed part, then every provider's part of
 * every volume) at start-up. */
int fixed_mount(struct ns *ns);
/* Add the volumes of users that appeared since the last look; called with
 * no lock held. */
void fixed_refresh_users(struct ns *ns);

#endif
