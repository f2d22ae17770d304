/* core/prov/history_files.c: the files of history/ (history_int.h): log,
 * error, file/<path> made from the repository, and a file as a commit has
 * it; read-only, with their size in stat. */
#include "core/prov/history_int.h"
#include "core/util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int putf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int putf(struct buf *b, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (k < 0)
		return -EINVAL;
	return buf_append(b, line, (size_t)k < sizeof(line) ? (size_t)k :
				   sizeof(line) - 1);
}

static void when_str(int64_t t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!localtime_r(&tt, &tm) || !strftime(out, cap, "%Y-%m-%d %H:%M:%S %z",
						  &tm))
		snprintf(out, cap, "@%lld", (long long)t);
}

static int log_commit(void *arg, const struct history_commit *c)
{
	struct buf *b = arg;
	char when[40];
	int rc;

	when_str(c->time, when, sizeof(when));
	rc = putf(b, "%s %s %s <%s>: %s\n", c->short_hex, when, c->author,
		  c->email, c->summary);
	for (size_t i = 0; !rc && i < c->nfiles; i++) {
		const struct history_file *f = &c->files[i];

		if (f->from)
			rc = putf(b, "    %c %s -> %s\n", f->status, f->from,
				  f->path);
		else
			rc = putf(b, "    %c %s\n", f->status, f->path);
	}
	return rc;
}

/* log: the newest LOG_MAX commits, and where the rest is. */
static int render_log(struct ns *ns, const char *vol, struct buf *b)
{
	uint64_t n = 0;
	int rc = history_count(ns->history, vol, &n);

	if (rc == -ENOENT || (!rc && n == 0))
		return putf(b, "no commits yet: every change under skills/ "
			    "and workflows/ becomes one\n");
	if (!rc)
		rc = history_log(ns->history, vol, 0, LOG_MAX, HISTORY_FILES,
				 log_commit, b);
	if (!rc && n > LOG_MAX)
		rc = putf(b, "(and %llu older commits: git --git-dir=%s/"
			  "history/%s.git log)\n",
			  (unsigned long long)(n - LOG_MAX),
			  ns->cfg->state_dir, vol);
	return rc;
}

static int file_commit(void *arg, const struct history_commit *c)
{
	struct buf *b = arg;
	char when[40];

	when_str(c->time, when, sizeof(when));
	return putf(b, "%s %s %s <%s>: %s\n", c->short_hex, when, c->author,
		    c->email, c->summary);
}

static int render_file_log(struct ns *ns, const char *vol, const char *path,
			   struct buf *b)
{
	uint64_t cursor = HISTORY_NEWEST;
	int rc = history_file_log(ns->history, vol, path, &cursor,
				  FILE_LOG_MAX, FILE_LOG_BUDGET, 0,
				  file_commit, b);

	if (!rc && cursor != 0 && cursor != HISTORY_NEWEST)
		rc = putf(b, "(older versions not looked at: git "
			  "--git-dir=%s/history/%s.git log -- %s)\n",
			  ns->cfg->state_dir, vol, path);
	return rc == -ENOENT ? 0 : rc;
}

static int render_error(struct ns *ns, const char *vol, struct buf *b)
{
	char msg[1024];
	size_t k = history_error(ns->history, vol, msg, sizeof(msg));
	int rc = 0;

	if (k)
		rc = putf(b, "%s\n", msg);
	k = history_error(ns->history, NULL, msg, sizeof(msg));
	if (!rc && k)
		rc = putf(b, "%s\n", msg);
	return rc;
}

/* The content of a generated file or of a file at a commit (no tree
 * lock held). */
static int render(struct ns *ns, int sub, const struct where *w,
		  struct buf *b)
{
	if (!ns->history)
		return putf(b, "history is off\n");
	switch (sub) {
	case HIST_LOG:
		return render_log(ns, w->vol, b);
	case HIST_ERROR:
		return render_error(ns, w->vol, b);
	case HIST_FILELOG:
		return render_file_log(ns, w->vol, w->path, b);
	case HIST_FILE:
		return history_read(ns->history, w->vol, &w->id, w->path, b);
	default:
		return -EISDIR;
	}
}

/* log and file/<path> are kept as made for the current HEAD: a stat and
 * the open that follows it make them once. n->mu held. */
static struct hist_cache *cached(struct ns *ns, struct node *n,
				 const struct where *w)
{
	struct hist_cache *hc = n->priv;
	struct history_id head;

	if (n->sub != HIST_LOG && n->sub != HIST_FILELOG)
		return NULL;
	if (!hc) {
		hc = calloc(1, sizeof(*hc));
		if (!hc)
			return NULL;
		buf_init(&hc->text, (size_t)ns->cfg->max_file_size);
		n->priv = hc;
	}
	if (!ns->history ||
	    history_resolve(ns->history, w->vol, "HEAD", &head))
		memset(&head, 0, sizeof(head));
	if (hc->valid && !memcmp(&head, &hc->head, sizeof(head)))
		return hc;
	buf_resize(&hc->text, 0);
	hc->valid = render(ns, n->sub, w, &hc->text) == 0;
	hc->head = head;
	return hc->valid ? hc : NULL;
}

int hist_open(struct ns *ns, struct caller *c, struct node *n,
		     int flags, struct ns_file **out, int *keep_cache)
{
	struct hist_cache *hc;
	struct buf *b;
	struct where w;
	int rc = 0;

	*keep_cache = n->sub == HIST_FILE;
	pthread_rwlock_rdlock(&ns->tree);
	if (!node_visible(ns, c, n))
		rc = -ENOENT;
	else if (S_ISDIR(n->mode))
		rc = -EISDIR;
	else if (file_wants_write(flags))
		rc = -EROFS;
	else
		rc = hist_where(n, &w);
	pthread_rwlock_unlock(&ns->tree);
	if (rc)
		return rc;
	b = malloc(sizeof(*b));
	if (!b)
		return -ENOMEM;
	buf_init(b, (size_t)ns->cfg->max_file_size);
	if (n->sub == HIST_LOG || n->sub == HIST_FILELOG) {
		pthread_rwlock_rdlock(&ns->tree);
		pthread_mutex_lock(&n->mu);
		hc = cached(ns, n, &w);
		rc = hc ? buf_append(b, hc->text.data ? hc->text.data : "",
				     hc->text.len) : -EIO;
		pthread_mutex_unlock(&n->mu);
		pthread_rwlock_unlock(&ns->tree);
	} else {
		rc = render(ns, n->sub, &w, b);	/* no lock: git work */
	}
	if (!rc) {
		pthread_rwlock_rdlock(&ns->tree);
		pthread_mutex_lock(&n->mu);
		rc = file_handle_new(n, c, flags, out);
		pthread_mutex_unlock(&n->mu);
		pthread_rwlock_unlock(&ns->tree);
	}
	if (rc) {
		buf_release(b);
		free(b);
		return rc;
	}
	ns_snap_set(*out, b);
	return 0;
}

/* Read-only: no write bits for anyone; generated files their size (the
 * tree and n->mu are held). */
void hist_stat(struct ns *ns, struct caller *c, struct node *n,
		      struct stat *st)
{
	struct hist_cache *hc;
	struct where w;
	struct buf b;

	(void)c;
	st->st_mode &= ~(mode_t)0222;
	if (n->sub == HIST_ERROR && hist_where(n, &w) == 0) {
		buf_init(&b, 0);
		if (render(ns, n->sub, &w, &b) == 0)
			st->st_size = (off_t)b.len;
		buf_release(&b);
	} else if ((n->sub == HIST_LOG || n->sub == HIST_FILELOG) &&
		   hist_where(n, &w) == 0 && (hc = cached(ns, n, &w))) {
		st->st_size = (off_t)hc->text.len;
	}
	st->st_blocks = (st->st_size + 511) / 512;
}

int hist_direct_io(const struct ns_file *f)
{
	return f->node->sub != HIST_FILE;
}

