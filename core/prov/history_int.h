/* core/prov/history_int.h: what the files of the history provider share
 * (history.c: the folders; history_files.c: the files). */
#ifndef LLMUNIX_PROV_HISTORY_INT_H
#define LLMUNIX_PROV_HISTORY_INT_H

#include <limits.h>

#include "core/history/history.h"
#include "core/ns/prov.h"

enum hist_sub {
	HIST_TOP,	/* history/ */
	HIST_LOG,	/* history/log */
	HIST_ERROR,	/* history/error */
	HIST_BYCOMMIT,	/* history/by-commit/ */
	HIST_BYDATE,	/* history/by-date/ */
	HIST_FILES,	/* history/file/ and its folders */
	HIST_FILELOG,	/* history/file/<path>: a file's log */
	HIST_ROOT,	/* a commit's tree: HEAD/, by-commit/<id>/, ... */
	HIST_DIR,	/* a folder in a commit's tree */
	HIST_FILE,	/* a file in a commit's tree */
};

#define LOG_MAX 1000		/* commits in `log` */
#define LIST_COMMITS 100	/* commits listed in by-commit/ */
#define FILE_LOG_MAX 1000	/* versions in file/<path> */
#define FILE_LOG_BUDGET 20000	/* commits looked at for them */

/* A commit's tree: which commit, and whether the name is resolved again
 * at each lookup (HEAD, HEAD~N, a day). */
struct hist_root {
	struct history_id id;
	int dynamic;
	int resolved;
};

/* log and file/<path>: made once per commit of HEAD (under n->mu). */
struct hist_cache {
	struct history_id head;
	int valid;
	struct buf text;
};

/* What a lookup or a listing needs to know of a folder, read under the
 * tree lock: the volume, the commit (for a tree) and the path. */
struct where {
	char vol[96];
	struct history_id id;
	char path[PATH_MAX];
	int sub;
};

/* Fill `w` for the node `dir` (the tree is held). */
int hist_where(struct node *dir, struct where *w);
/* The author time of a commit. */
int hist_commit_time(struct history *h, const char *vol,
		     const struct history_id *id, int64_t *when);

/* history_files.c */
int hist_open(struct ns *ns, struct caller *c, struct node *n, int flags,
	      struct ns_file **out, int *keep_cache);
void hist_stat(struct ns *ns, struct caller *c, struct node *n,
	       struct stat *st);
int hist_direct_io(const struct ns_file *f);

#endif
