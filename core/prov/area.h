/* core/prov/area.h: the area provider: skills/ and workflows/ of every
 * volume and everything in them (DESIGN.md section 3): regular files and
 * folders on the blob store, with the semantics real tools need.
 *
 * Content is in memory while a file is open (node->data) and written back
 * to the store at flush (close) and fsync, as a new object that replaces
 * the old one; folders and attributes are written when they change.
 *
 *   area_file.c   open, read, write, flush, fsync, release, create
 *   area_ops.c    mkdir, unlink, rmdir, rename, setattr
 *   area_xattr.c  user.* xattrs, and the user.skill.* fields of skills
 *   area_load.c   the tree of a volume from the store; seeding system
 */
#ifndef LLMUNIX_AREA_H
#define LLMUNIX_AREA_H

#include "core/history/history.h"
#include "core/ns/prov.h"

enum area_sub {
	AREA_TOP,	/* <volume>/skills, <volume>/workflows */
	AREA_DIR,	/* a folder inside */
	AREA_FILE,	/* a file inside */
	AREA_LINK,	/* a symbolic link inside (never followed here) */
};

/* Copy the system skills (cfg->system_skills) into the store on the very
 * first mount (when the store has no system volume yet). */
int area_seed(struct ns *ns);

/* For the other providers. */

/* Whether `n` is a skill: a Markdown file under a skills/ folder. */
int area_skill_is(const struct node *n);
/* Parse the skill `n` into n->skill_x (user.skill.*) unless that is
 * current. n->mu held. */
int area_skill_cache(struct ns *ns, struct node *n);
/* The content the caller `c` would read at `path` (from the mount,
 * "team/eng/skills/x.md"), appended to `out` (whose cap bounds it).
 * -ENOENT when there is no such file or `c` may not read it. Takes the
 * tree lock. */
int area_file_content(struct ns *ns, struct caller *c, const char *path,
		      struct buf *out);
/* The same for the node `n` (the tree is held; takes n->mu). */
int area_node_content(struct ns *ns, struct caller *c, struct node *n,
		      struct buf *out);

/* Inside the provider (area_*.c). */

/* area_history.c: tell the history (ns->history, if any) of a change,
 * made as `uid`. The path of `n` relative to its volume ("skills/x.md")
 * and the volume's name ("user/alice"). */
int area_relpath(const struct node *n, char *out, size_t cap, char *vol,
		 size_t vcap);
void area_note(struct ns *ns, const char *vol, uid_t uid,
	       const struct history_change *ch);
/* A change of `n` itself: its content with it for a write or create
 * (n->mu held, or the tree for writing). */
void area_note_node(struct ns *ns, const struct node *n, enum history_op op,
		    uid_t uid);

/* Load the content of `n` (n->mu held, or the tree for writing), charged
 * to `uid` (node_charge: -EDQUOT past user_memory_mb unless `force`). */
int area_load_content(struct ns *ns, struct node *n, uid_t uid, int force);
/* Write content, attributes and xattrs of `n` to the store (n->mu held,
 * or the tree for writing). */
int area_store(struct ns *ns, struct node *n, unsigned flags);
int area_xattrs_load(struct ns *ns, struct node *n);
/* A folder's mtime is the namespace's: write it after each change of its
 * entries (the tree held for writing, or the folder's mu). */
void area_dir_store_meta(struct ns *ns, struct node *dir);
/* Checks shared by everything that adds or removes a name in `parent`
 * (the tree held): 0 when the caller may change the folder. */
int area_check_dir_write(struct ns *ns, struct caller *c,
			 struct node *parent);
/* A new name in `parent`: valid, and its key not too long. */
int area_check_new_name(struct node *parent, const char *name);
/* The areas of the volume `vol` from the store (volume_load). */
int area_volume_load(struct ns *ns, struct node *vol);

int area_open(struct ns *ns, struct caller *c, struct node *n, int flags,
	      struct ns_file **out, int *keep_cache);
int area_symlink(struct ns *ns, struct caller *c, struct node *parent,
		 const char *name, const char *target, struct node **out,
		 struct stat *st);
ssize_t area_readlink(struct ns *ns, struct caller *c, struct node *n,
		      char *buf, size_t size);
int area_create(struct ns *ns, struct caller *c, struct node *parent,
		const char *name, mode_t mode, int flags, struct node **out,
		struct stat *st, struct ns_file **fout);
ssize_t area_read(struct ns *ns, struct ns_file *f, char *dst, size_t size,
		  off_t off);
ssize_t area_write(struct ns *ns, struct ns_file *f, const char *src,
		   size_t size, off_t off);
int area_flush(struct ns *ns, struct ns_file *f);
int area_fsync(struct ns *ns, struct ns_file *f);
void area_release(struct ns *ns, struct ns_file *f);
void area_unmount(struct ns *ns, struct node *n);

int area_mkdir(struct ns *ns, struct caller *c, struct node *parent,
	       const char *name, mode_t mode, struct node **out,
	       struct stat *st);
int area_unlink(struct ns *ns, struct caller *c, struct node *parent,
		const char *name);
int area_rmdir(struct ns *ns, struct caller *c, struct node *parent,
	       const char *name);
int area_rename(struct ns *ns, struct caller *c, struct node *parent,
		const char *name, struct node *newparent,
		const char *newname, unsigned flags);
int area_setattr(struct ns *ns, struct caller *c, struct node *n,
		 struct ns_file *f, const struct stat *want, unsigned what,
		 struct stat *st);

int area_setxattr(struct ns *ns, struct caller *c, struct node *n,
		  const char *name, const char *value, size_t size, int flags);
ssize_t area_getxattr(struct ns *ns, struct caller *c, struct node *n,
		      const char *name, char *value, size_t size);
ssize_t area_listxattr(struct ns *ns, struct caller *c, struct node *n,
		       char *list, size_t size);
int area_removexattr(struct ns *ns, struct caller *c, struct node *n,
		     const char *name);

#endif
