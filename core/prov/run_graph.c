/* core/prov/run_graph.c: graph files in run/ (run.h): run/<name>.json,
 * in memory while it is written by one identity, submitted as its opener
 * when it is closed (run_submit.c). */
#include "core/prov/run.h"
#include "core/run/engine.h"
#include "core/util/name.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

/* "x.json" -> "x"; 0, or -EINVAL for a name that cannot be a run's. */
static int graph_base(const char *name, char *base, size_t cap)
{
	size_t n = strlen(name);

	if (n <= 5 || strcmp(name + n - 5, ".json") != 0 || name[0] == '.' ||
	    n - 5 > RUN_NAME_MAX || n - 5 >= cap)
		return -EINVAL;
	/* A run's name goes into its log and into `ls`: no control
	 * characters (a newline or an escape sequence). */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return -EINVAL;
	memcpy(base, name, n - 5);
	base[n - 5] = '\0';
	return 0;
}

/* Whether `c` may write the graph `n` being written (n->mu held): its
 * first writer is kept, and any other identity gets -EBUSY. */
int run_graph_writer(struct node *n, struct caller *c)
{
	struct caller *w;

	if (n->writer) {
		acl_load_groups(c);
		return acl_caller_same(n->writer, c) ? 0 : -EBUSY;
	}
	w = malloc(sizeof(*w));
	if (!w)
		return -ENOMEM;
	acl_caller_keep(w, c);
	n->writer = w;
	return 0;
}

int run_graph_create(struct ns *ns, struct caller *c, struct node *parent,
		     const char *name, mode_t mode, int flags,
		     struct node **out, struct stat *st,
		     struct ns_file **fout)
{
	char base[RUN_NAME_MAX + 1];
	unsigned r;
	struct node *n;
	int rc = 0;

	(void)mode;
	pthread_rwlock_wrlock(&ns->tree);
	r = node_rights(ns, c, parent);
	if (!(r & ACL_R))
		rc = -ENOENT;
	else if (!S_ISDIR(parent->mode))
		rc = -ENOTDIR;
	else if (parent->sub != RUN_TOP)
		rc = r & ACL_W ? -EPERM : -EACCES;	/* a run's record */
	else if (!(r & ACL_W))
		rc = -EACCES;
	else if (strlen(name) > NAME_MAX_BYTES)
		rc = -ENAMETOOLONG;
	else if (name_check(name) || graph_base(name, base, sizeof(base)))
		rc = -EINVAL;
	else if (!ns->engine)
		rc = -EIO;
	if (rc)
		goto out;
	if (engine_has(ns->engine, parent->vol->owner, base) == 2) {
		rc = -EEXIST;
		goto out;
	}
	n = node_child(ns, parent, name);
	if (n && (flags & O_EXCL)) {
		rc = -EEXIST;
		goto out;
	}
	if (!n) {
		n = run_node_new(ns, parent, name, RUN_GRAPH, S_IFREG | 0644);
		if (!n) {
			rc = -ENOMEM;
			goto out;
		}
		n->loaded = 1;
		n->dirty = 1;
	}
	pthread_mutex_lock(&n->mu);
	rc = run_graph_writer(n, c);
	if (!rc && (flags & O_TRUNC)) {
		rc = buf_resize(&n->data, 0);
		n->size = n->data.len;
		n->dirty = 1;
	}
	if (!rc)
		rc = file_handle_new(n, c, flags, fout);
	pthread_mutex_unlock(&n->mu);
	if (rc)
		goto out;
	node_lookup_ref(ns, c, n, st);
	*out = n;
out:
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

/* A graph being written, opened again (a second descriptor, an editor). */
int run_graph_open(struct ns *ns, struct caller *c, struct node *n,
		   int flags, struct ns_file **out)
{
	unsigned r;
	int rc = 0;

	pthread_rwlock_rdlock(&ns->tree);
	r = node_rights(ns, c, n);
	if (!(r & ACL_R))
		rc = -ENOENT;
	else if (n->detached)
		rc = -ESTALE;	/* submitted since the kernel looked it up:
				 * it walks the path again */
	else if (file_wants_write(flags) && !(r & ACL_W))
		rc = -EACCES;
	if (rc)
		goto out;
	pthread_mutex_lock(&n->mu);
	if (file_wants_write(flags))
		rc = run_graph_writer(n, c);
	if (!rc && (flags & O_TRUNC)) {
		rc = buf_resize(&n->data, 0);
		if (!rc) {
			n->dirty = 1;
			n->size = 0;
			ns_now(&n->mtime);
			n->ctime = n->mtime;
		}
	}
	if (!rc)
		rc = file_handle_new(n, c, flags, out);
	pthread_mutex_unlock(&n->mu);
out:
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

/* The graph is submitted as the opener of `f` (node.h: rights after
 * open), whoever sends the flush: every writer of `n` is that same
 * identity (graph_writer). */
int run_graph_flush(struct ns *ns, struct ns_file *f)
{
	struct node *n = f->node, *parent;
	char base[RUN_NAME_MAX + 1];
	char *json = NULL;
	size_t len = 0;
	int rc = 0;

	if (!f->opener)
		return 0;	/* opened for reading: submits nothing */
	pthread_rwlock_rdlock(&ns->tree);
	pthread_mutex_lock(&n->mu);
	parent = n->parent;
	/* Empty: a shell's `> run/x.json` flushes once before it writes
	 * (it closes the fd it dup2()ed); a graph is never empty. */
	if (n->dirty && !n->detached && n->data.len) {
		len = n->data.len;
		json = malloc(len + 1);
		if (json) {
			memcpy(json, n->data.data, len);
			json[len] = '\0';
			n->dirty = 0;
		} else {
			rc = -ENOMEM;
		}
	}
	pthread_mutex_unlock(&n->mu);
	pthread_rwlock_unlock(&ns->tree);
	if (rc || !json)
		return rc ? rc : f->result;
	if (graph_base(n->name, base, sizeof(base)) == 0)
		rc = run_submit(ns, f->opener, parent, base, json, len);
	else
		rc = -EINVAL;
	free(json);
	f->result = rc;

	pthread_rwlock_wrlock(&ns->tree);
	if (!n->detached)
		node_detach(ns, n);
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

