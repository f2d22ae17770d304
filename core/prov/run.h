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

/* run_submit.c: a graph file's content to a run (or a rejected record) as
 * the caller `c` (the graph's opener); returns 0, -EINVAL (the record's
 * error says why) or another -errno. */
int run_submit(struct ns *ns, struct caller *c, struct node *runs,
	       const char *name, const char *json, size_t len);

#endif
