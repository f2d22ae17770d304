/* core/prov/session_file.c: open files of sessions/ (session.h).
 *
 * A generated file (session.json, transcript.md, a message, an artifact)
 * is made when it is opened, from the session as the store has it then,
 * and reads see that snapshot. `reply` is read live: a read past what has
 * streamed so far gives -EAGAIN while the answer runs (the FUSE layer
 * parks the request until the next notify; O_NONBLOCK gets EAGAIN), and
 * the end of the file once it is complete. A reader follows the answer
 * that was the latest when it opened the file, also after a new prompt.
 * `prompt` collects what is written and sends it when the file is closed,
 * as the process that opened it. */
#include "core/prov/session.h"
#include "core/util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sess_open {
	struct sess *s;
	unsigned turn;		/* reply: the answer it follows */
	struct buf data;	/* a snapshot, or the prompt written */
};

static struct sess_open *open_of(const struct ns_file *f)
{
	return f->priv;
}

int sess_direct_io(const struct ns_file *f)
{
	(void)f;
	return 1;
}

/* Checks at open (the tree read-locked): 0 or an error. */
static int may_open(struct ns *ns, struct caller *c, struct node *n,
		    int write)
{
	unsigned r = node_rights(ns, c, n);

	if (!(r & ACL_R))
		return -ENOENT;
	if (S_ISDIR(n->mode))
		return -EISDIR;
	if (write && !(r & ACL_W))
		return -EACCES;
	if (write && n->sub != SESS_PROMPT && n->sub != SESS_CTL)
		return -EACCES;
	return ns->sessions ? 0 : -EIO;
}

int sess_open(struct ns *ns, struct caller *c, struct node *n, int flags,
	      struct ns_file **out, int *keep_cache)
{
	int write = file_wants_write(flags);
	struct sess_open *o = calloc(1, sizeof(*o));
	struct sess *s = NULL;
	int rc;

	*keep_cache = 0;
	*out = NULL;
	if (!o)
		return -ENOMEM;
	buf_init(&o->data, write ? ns->cfg->max_prompt : 0);
	pthread_rwlock_rdlock(&ns->tree);
	rc = may_open(ns, c, n, write);
	if (!rc && !(s = sess_of_node(ns->sessions, n)))
		rc = -ENOENT;
	if (!rc) {
		pthread_mutex_lock(&n->mu);
		rc = file_handle_new(n, c, flags, out);
		pthread_mutex_unlock(&n->mu);
	}
	pthread_rwlock_unlock(&ns->tree);
	if (rc)
		goto fail;
	o->s = s;
	(*out)->priv = o;
	/* What another writer added; memory serves when the store is down,
	 * once it was read. */
	rc = sess_refresh(s);
	pthread_mutex_lock(&s->mu);
	if (rc && s->loaded)
		rc = 0;
	if (!rc && write && n->sub == SESS_PROMPT && s->busy)
		rc = -EBUSY;	/* wait for the answer, or cancel it */
	if (!rc && n->sub == SESS_REPLY)
		o->turn = s->turn;
	else if (!rc && !write)
		rc = sess_text(s, n, &o->data);
	pthread_mutex_unlock(&s->mu);
	if (rc) {
		ns_release(ns, *out);
		*out = NULL;
		return rc == -EAGAIN ? -EIO : rc;
	}
	return 0;
fail:
	sess_put(s);
	buf_release(&o->data);
	free(o);
	return rc;
}

static ssize_t copy_out(const struct buf *b, char *dst, size_t size,
			off_t off)
{
	if ((uint64_t)off >= b->len)
		return 0;
	if (size > b->len - (size_t)off)
		size = b->len - (size_t)off;
	memcpy(dst, b->data + off, size);
	return (ssize_t)size;
}

static ssize_t reply_read(struct sess_open *o, char *dst, size_t size,
			  off_t off)
{
	struct sess *s = o->s;
	const struct buf *b = NULL;
	ssize_t k;
	int live = 0;

	pthread_mutex_lock(&s->mu);
	if (o->turn == s->turn) {
		b = &s->reply;
		live = s->busy;
	} else if (o->turn + 1 == s->turn) {
		b = &s->prev_reply;
	}
	k = b ? copy_out(b, dst, size, off) : 0;
	if (k == 0 && live)
		k = -EAGAIN;	/* more to come */
	pthread_mutex_unlock(&s->mu);
	return k;
}

ssize_t sess_read(struct ns *ns, struct ns_file *f, char *dst, size_t size,
		  off_t off)
{
	struct sess_open *o = open_of(f);

	(void)ns;
	if (!o)
		return -EBADF;
	if (f->node->sub == SESS_REPLY)
		return reply_read(o, dst, size, off);
	return copy_out(&o->data, dst, size, off);
}

/* ctl takes one command: "cancel". */
static ssize_t ctl_write(struct sess_open *o, const char *src, size_t size)
{
	size_t a = 0, n = size;

	while (a < n && strchr(" \t\r\n", src[a]))
		a++;
	while (n > a && strchr(" \t\r\n", src[n - 1]))
		n--;
	if (n == a)
		return (ssize_t)size;
	if (n - a != 6 || memcmp(src + a, "cancel", 6) != 0)
		return -EINVAL;
	sess_cancel(o->s);
	return (ssize_t)size;
}

ssize_t sess_write(struct ns *ns, struct ns_file *f, const char *src,
		   size_t size, off_t off)
{
	struct sess_open *o = open_of(f);
	int rc;

	(void)ns;
	if (!o || !f->opener)
		return -EBADF;
	if (f->node->sub == SESS_CTL)
		return ctl_write(o, src, size);
	if (f->node->sub != SESS_PROMPT)
		return -EBADF;
	if (f->flags & O_APPEND)
		off = (off_t)o->data.len;
	rc = buf_pwrite(&o->data, src, size, (size_t)off);
	return rc ? rc : (ssize_t)size;
}

/* The prompt goes at close, as its opener. An empty one (a shell's
 * `> prompt` flushes once before it writes) sends nothing. */
int sess_flush(struct ns *ns, struct ns_file *f)
{
	struct sess_open *o = open_of(f);
	size_t n;
	int rc;

	if (!o || !f->opener || f->node->sub != SESS_PROMPT)
		return 0;
	n = o->data.len;
	while (n && strchr(" \t\r\n", o->data.data[n - 1]))
		n--;
	if (!n)
		return 0;
	(void)ns;
	rc = sess_prompt(o->s->all, o->s, f->opener, o->data.data, n);
	buf_resize(&o->data, 0);
	return rc;
}

void sess_release(struct ns *ns, struct ns_file *f)
{
	struct sess_open *o = open_of(f);

	(void)ns;
	if (!o)
		return;
	f->priv = NULL;
	sess_put(o->s);
	buf_release(&o->data);
	free(o);
}
