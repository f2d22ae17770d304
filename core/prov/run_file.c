/* core/prov/run_file.c: open files of run/ (run.h): record files read
 * anew at each read, `events` and `wait` that wait for the engine, `ctl`
 * that takes "cancel", and graph files being written. */
#include "core/prov/run.h"
#include "core/run/engine.h"
#include "core/util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int run_open(struct ns *ns, struct caller *c, struct node *n,
		    int flags, struct ns_file **out, int *keep_cache)
{
	int write = file_wants_write(flags);
	char path[PATH_MAX];
	unsigned r;
	int rc = 0;

	*keep_cache = 0;
	if (n->sub == RUN_GRAPH)
		return run_graph_open(ns, c, n, flags, out);
	*out = NULL;
	pthread_rwlock_rdlock(&ns->tree);
	r = node_rights(ns, c, n);
	if (!(r & ACL_R))
		rc = -ENOENT;
	else if (S_ISDIR(n->mode))
		rc = -EISDIR;
	else if (write && (n->sub != RUN_CTL || !(r & ACL_W)))
		rc = -EACCES;
	else if (n->sub == RUN_ENT || n->sub == RUN_EVENTS)
		rc = run_path(ns, n, path, sizeof(path));
	if (rc)
		goto out;
	pthread_mutex_lock(&n->mu);
	rc = file_handle_new(n, c, flags, out);
	pthread_mutex_unlock(&n->mu);
	if (!rc && (n->sub == RUN_ENT || n->sub == RUN_EVENTS)) {
		(*out)->path = strdup(path);
		if (!(*out)->path)
			rc = -ENOMEM;
	}
	if (!rc) {
		struct node *run = run_of(n);

		(*out)->run_name = strdup(run->name);
		if (!(*out)->run_name)
			rc = -ENOMEM;
	}
out:
	pthread_rwlock_unlock(&ns->tree);
	if (rc && *out) {
		ns_release(ns, *out);
		*out = NULL;
	}
	return rc;
}

int run_direct_io(const struct ns_file *f)
{
	return f->node->sub != RUN_GRAPH;
}

static ssize_t pread_path(const char *path, char *dst, size_t size,
			  off_t off)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t k;

	if (fd < 0)
		return -errno;
	do
		k = pread(fd, dst, size, off);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		k = -errno;
	close(fd);
	return k;
}

static ssize_t copy_text(const char *text, char *dst, size_t size, off_t off)
{
	size_t len = strlen(text);

	if ((uint64_t)off >= len)
		return 0;
	if (size > len - (size_t)off)
		size = len - (size_t)off;
	memcpy(dst, text + off, size);
	return (ssize_t)size;
}

ssize_t run_read(struct ns *ns, struct ns_file *f, char *dst,
			size_t size, off_t off)
{
	const char *user = f->node->vol->owner;
	struct run_state st;
	char text[64];
	ssize_t k;
	int rc;

	switch (f->node->sub) {
	case RUN_GRAPH:
		pthread_rwlock_rdlock(&ns->tree);
		pthread_mutex_lock(&f->node->mu);
		k = node_buf_read(f->node, dst, size, off);
		pthread_mutex_unlock(&f->node->mu);
		pthread_rwlock_unlock(&ns->tree);
		return k;
	case RUN_ENT:
		return pread_path(f->path, dst, size, off);
	case RUN_EVENTS:
		rc = engine_state(ns->engine, user, f->run_name, &st);
		if (rc)
			return rc;
		if ((uint64_t)off >= st.events_len)
			return st.finished ? 0 : -EAGAIN;
		if (size > st.events_len - (uint64_t)off)
			size = (size_t)(st.events_len - (uint64_t)off);
		return pread_path(f->path, dst, size, off);
	case RUN_WAIT:
		rc = engine_state(ns->engine, user, f->run_name, &st);
		if (rc)
			return rc;
		if (!st.finished)
			return -EAGAIN;
		snprintf(text, sizeof(text), "%s\n",
			 run_status_name(st.status));
		return copy_text(text, dst, size, off);
	case RUN_CTL:
		return copy_text("", dst, size, off);
	default:
		return -EBADF;
	}
}

/* ctl takes one command: "cancel". */
static ssize_t ctl_write(struct ns *ns, struct ns_file *f, const char *src,
			 size_t size)
{
	char cmd[32];
	size_t n = size, a = 0;
	int rc;

	while (a < n && (src[a] == ' ' || src[a] == '\t' || src[a] == '\n'))
		a++;
	while (n > a && (src[n - 1] == ' ' || src[n - 1] == '\t' ||
			 src[n - 1] == '\n' || src[n - 1] == '\r'))
		n--;
	if (n == a)
		return (ssize_t)size;	/* an empty line */
	if (n - a >= sizeof(cmd))
		return -EINVAL;
	memcpy(cmd, src + a, n - a);
	cmd[n - a] = '\0';
	if (strcmp(cmd, "cancel") != 0) {
		char esc[64];

		log_info("run '%s': unknown command '%s' (expected cancel)",
			 f->run_name, log_escape(esc, sizeof(esc), cmd));
		return -EINVAL;
	}
	rc = engine_cancel(ns->engine, f->node->vol->owner, f->run_name);
	return rc ? rc : (ssize_t)size;
}

ssize_t run_write(struct ns *ns, struct ns_file *f, const char *src,
			 size_t size, off_t off)
{
	ssize_t k;

	if (f->node->sub == RUN_CTL)
		return ctl_write(ns, f, src, size);
	if (f->node->sub != RUN_GRAPH)
		return -EBADF;
	pthread_rwlock_rdlock(&ns->tree);
	pthread_mutex_lock(&f->node->mu);
	k = node_buf_write(ns, f->node, src, size, off);
	pthread_mutex_unlock(&f->node->mu);
	pthread_rwlock_unlock(&ns->tree);
	return k;
}

int run_flush(struct ns *ns, struct ns_file *f)
{
	return f->node->sub == RUN_GRAPH ? run_graph_flush(ns, f) : 0;
}

/* A graph closed by everyone: submitted, or empty (not a graph). */
void run_release(struct ns *ns, struct ns_file *f)
{
	struct node *n = f->node;

	if (n->sub == RUN_GRAPH && n->opens == 0 && !n->detached)
		node_detach(ns, n);
}

