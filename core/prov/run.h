/* core/prov/run.h: the run provider's parts (run.c, run_submit.c). */
#ifndef LLMUNIX_PROV_RUN_H
#define LLMUNIX_PROV_RUN_H

#include "core/ns/prov.h"

enum run_sub {
	RUN_TOP,	/* user/<u>/run */
	RUN_GRAPH,	/* run/<name>.json while it is written */
	RUN_RUN,	/* run/<name>/ */
	RUN_ENT,	/* a file or folder of a run's record */
	RUN_EVENTS,	/* run/<name>/events: reads wait for lines */
	RUN_WAIT,	/* run/<name>/wait: reads wait for the end */
	RUN_CTL,	/* run/<name>/ctl: write "cancel" */
};

/* run.c: a node of the run provider under `dir`, owned as `dir` is. The
 * tree is held for writing. */
struct node *run_node_new(struct ns *ns, struct node *dir, const char *name,
			  enum run_sub sub, mode_t mode);

/* The run (RUN_RUN) that `n` is in, or NULL. */
struct node *run_of(struct node *n);
/* Where the record keeps `n` (RUN_RUN or below), into `out`. The tree is
 * held. */
int run_path(struct ns *ns, const struct node *n, char *out, size_t cap);

/* run_file.c: the operations on open files. */
int run_open(struct ns *ns, struct caller *c, struct node *n, int flags,
	     struct ns_file **out, int *keep_cache);
int run_direct_io(const struct ns_file *f);
ssize_t run_read(struct ns *ns, struct ns_file *f, char *dst, size_t size,
		 off_t off);
ssize_t run_write(struct ns *ns, struct ns_file *f, const char *src,
		  size_t size, off_t off);
int run_flush(struct ns *ns, struct ns_file *f);
void run_release(struct ns *ns, struct ns_file *f);

/* run_graph.c: run/<name>.json. */
int run_graph_create(struct ns *ns, struct caller *c, struct node *parent,
		     const char *name, mode_t mode, int flags,
		     struct node **out, struct stat *st,
		     struct ns_file **fout);
int run_graph_open(struct ns *ns, struct caller *c, struct node *n,
		   int flags, struct ns_file **out);
/* Submit the graph as the opener of `f`, whoever sends the flush. */
int run_graph_flush(struct ns *ns, struct ns_file *f);
/* Whether `c` may write the graph `n` being written (n->mu held): its
 * first writer is kept, and any other identity gets -EBUSY. */
int run_graph_writer(struct node *n, struct caller *c);

/* run_submit.c: a graph file's content to a run (or a rejected record) as
 * the caller `c` (the graph's opener); returns 0, -EINVAL (the record's
 * error says why) or another -errno. */
int run_submit(struct ns *ns, struct caller *c, struct node *runs,
	       const char *name, const char *json, size_t len);

#endif
