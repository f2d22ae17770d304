/* core/ns/ns.h: the namespace: the tree of DESIGN.md section 1, the rights of
 * section 2 and the file semantics of section 3, on top of a blob store.
 *
 * Nodes are the inodes the FUSE layer hands to the kernel. The whole tree
 * of names and attributes is kept in memory (loaded from the store at
 * start-up); file content is loaded when a file is first read or written
 * and written back to the store by ns_flush() and ns_fsync().
 *
 * Every operation takes the caller and returns 0 (or a byte count) or a
 * negative errno. Node pointers returned by ns_lookup(), ns_create() and
 * ns_mkdir() carry one kernel reference, dropped by ns_forget(). All
 * functions are thread-safe.
 */
#ifndef LLMUNIX_NS_H
#define LLMUNIX_NS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "core/ns/acl.h"
#include "core/store/blob.h"
#include "core/util/config.h"
#include "core/ns/ident.h"

struct ns;
struct node;
struct ns_file;

/* Borrowed: cfg, id and blob must outlive the namespace. Loads the tree
 * from the store, after seeding the system volume from
 * cfg->system_skills when the store has none yet. */
int ns_new(struct ns **out, const struct config *cfg, struct ident *id,
	   struct blob *blob);
struct engine;
/* Give the namespace its engine (borrowed), which serves user/<u>/run. */
void ns_set_engine(struct ns *ns, struct engine *e);
struct history;
/* Give the namespace its history (borrowed, core/history/history.h): from
 * then on every change under skills/ and workflows/ is noted there, and
 * <volume>/history/ shows it. NULL: no history. */
void ns_set_history(struct ns *ns, struct history *h);
/* Writes back any content still dirty, then frees everything. */
void ns_free(struct ns *ns);

struct node *ns_root(struct ns *ns);

int ns_lookup(struct ns *ns, struct caller *c, struct node *parent,
	      const char *name, struct node **out, struct stat *st);
void ns_forget(struct ns *ns, struct node *n, uint64_t nlookup);
int ns_getattr(struct ns *ns, struct caller *c, struct node *n,
	       struct stat *st);
/* Whether the kernel may keep the name of `n` cached: not for user
 * volumes, which only some callers may see (a cached name would let the
 * others walk through it). */
int ns_name_cacheable(struct ns *ns, const struct node *n);

/* What ns_setattr changes: any of the NS_SET_* bits. */
#define NS_SET_MODE	(1u << 0)
#define NS_SET_UID	(1u << 1)
#define NS_SET_GID	(1u << 2)
#define NS_SET_SIZE	(1u << 3)
#define NS_SET_MTIME	(1u << 4)	/* to st.st_mtim */
#define NS_SET_MTIME_NOW (1u << 5)
#define NS_SET_ATIME	(1u << 6)	/* to st.st_atim */
#define NS_SET_ATIME_NOW (1u << 7)

/* `f` is the open file for ftruncate and friends, or NULL. */
int ns_setattr(struct ns *ns, struct caller *c, struct node *n,
	       struct ns_file *f, const struct stat *want, unsigned what,
	       struct stat *st);
int ns_access(struct ns *ns, struct caller *c, struct node *n, int mask);

int ns_mkdir(struct ns *ns, struct caller *c, struct node *parent,
	     const char *name, mode_t mode, struct node **out,
	     struct stat *st);
int ns_unlink(struct ns *ns, struct caller *c, struct node *parent,
	      const char *name);
/* Symbolic links, where a provider keeps them (skills/, workflows/). */
int ns_symlink(struct ns *ns, struct caller *c, struct node *parent,
	       const char *name, const char *target, struct node **out,
	       struct stat *st);
/* The target of a link, at most `size` bytes, not NUL-terminated: the
 * number of bytes. -EINVAL for what is not a link. */
ssize_t ns_readlink(struct ns *ns, struct caller *c, struct node *n,
		    char *buf, size_t size);
/* mknod: regular files only (as create, stored at once); -EPERM for
 * FIFOs, sockets and devices, -EEXIST first when the name exists. The
 * node carries one kernel reference, as ns_mkdir's. */
int ns_mknod(struct ns *ns, struct caller *c, struct node *parent,
	     const char *name, mode_t mode, struct node **out,
	     struct stat *st);
/* Hard links are not made: -EEXIST when the name exists, else -EPERM
 * (-EACCES where the caller may not write). */
int ns_link(struct ns *ns, struct caller *c, struct node *n,
	    struct node *newparent, const char *newname);
int ns_rmdir(struct ns *ns, struct caller *c, struct node *parent,
	     const char *name);
/* flags: 0 or RENAME_NOREPLACE. */
int ns_rename(struct ns *ns, struct caller *c, struct node *parent,
	      const char *name, struct node *newparent, const char *newname,
	      unsigned flags);

/* Open files. `keep_cache` says whether the kernel may keep what it has
 * cached of the file. */
int ns_open(struct ns *ns, struct caller *c, struct node *n, int flags,
	    struct ns_file **out, int *keep_cache);
/* Whether `f` is a file the daemon makes (a catalog): read it with
 * direct I/O, its size is not known in advance. */
int ns_file_is_synthetic(const struct ns_file *f);
int ns_create(struct ns *ns, struct caller *c, struct node *parent,
	      const char *name, mode_t mode, int flags, struct node **out,
	      struct stat *st, struct ns_file **fout);
/* Returns the number of bytes read into `dst`; -EAGAIN from a file whose
 * reads wait (a run's `wait` and `events`): nothing to give yet. Read
 * again after the engine's next notification. */
ssize_t ns_read(struct ns *ns, struct ns_file *f, char *dst, size_t size,
		off_t off);
ssize_t ns_write(struct ns *ns, struct ns_file *f, const char *src,
		 size_t size, off_t off);
/* Store the content when it changed: what close() waits for.
 *
 * Rights after open (DESIGN.md section 2): flush and release take no
 * caller. The process that sends them may not be the one that opened
 * the file (a setuid program that inherited the descriptor closes it
 * last, as root): any decision they lead to uses the opener kept in the
 * handle at open or create, and never grants more than the opener had. */
int ns_flush(struct ns *ns, struct ns_file *f);
int ns_fsync(struct ns *ns, struct ns_file *f);
void ns_release(struct ns *ns, struct ns_file *f);

/* Directory listing, a snapshot taken at opendir. */
struct ns_dirent {
	char *name;
	struct node *node;
	mode_t type;		/* S_IFDIR or S_IFREG */
	uint64_t ino;
};

struct ns_dir {
	struct node *dir;
	size_t n;
	struct ns_dirent *e;
};

int ns_opendir(struct ns *ns, struct caller *c, struct node *n,
	       struct ns_dir **out);
/* Attributes of a listed entry as the caller sees them, taking a kernel
 * reference on it (for readdirplus); -ENOENT when the entry no longer
 * has that name in that folder (the kernel must not link it there). */
int ns_dirent_lookup(struct ns *ns, struct caller *c, struct ns_dir *d,
		     struct ns_dirent *e, struct stat *st);
void ns_releasedir(struct ns *ns, struct ns_dir *d);

int ns_statfs(struct ns *ns, struct statvfs *out);

/* Resolve a skill name for the caller (DESIGN.md section 4): a bare name
 * (a skill_id, or a file name without .md) is looked up in the caller's
 * own volume, then the caller's teams in name order, then system; a
 * qualified one ("system/x", "team/eng/x", "user/alice/x") in that volume
 * only. The first match wins; within a volume an id beats a file name.
 * Writes the skill's path from the mount ("team/eng/skills/a/x.md") into
 * `path`. Returns 0, -ENOENT when the caller can use no such skill, or
 * -ENAMETOOLONG. */
int ns_resolve_skill(struct ns *ns, struct caller *c, const char *name,
		     char *path, size_t cap);

/* Extended attributes: only the user.* namespace is stored. */
int ns_setxattr(struct ns *ns, struct caller *c, struct node *n,
		const char *name, const char *value, size_t size, int flags);
/* Returns the value's length; copies it when `size` is large enough
 * (-ERANGE when not; size 0 asks for the length only). */
ssize_t ns_getxattr(struct ns *ns, struct caller *c, struct node *n,
		    const char *name, char *value, size_t size);
ssize_t ns_listxattr(struct ns *ns, struct caller *c, struct node *n,
		     char *list, size_t size);
int ns_removexattr(struct ns *ns, struct caller *c, struct node *n,
		   const char *name);

#endif
