/* core/prov/session.c: user/<u>/sessions, the tree (session.h).
 *
 * sessions/ lists the user's sessions as the store has them (the set
 * user:<u>:sessions, read at each listing and at the lookup of a name not
 * known yet), so sessions another writer makes (LLMos-Lite) appear. A
 * session's folder holds fixed names; messages/ and artifacts/ are made
 * from its messages, at a listing or the lookup of a new name. Like run/,
 * the folder is private (PROV_PRIVATE) and its names are never cached by
 * the kernel (PROV_NOCACHE).
 *
 * Removing a file or folder inside a session stops its answer and changes
 * nothing else (so rm -r works, and ends with the rmdir of the session,
 * which deletes it), except in artifacts/, where it hides the artifact (mv
 * of an artifact into skills/ copies it, then removes it).
 */
#include "core/prov/session.h"
#include "core/skill/skill_xattr.h"
#include "core/util/log.h"
#include "core/util/name.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct fixed_name {
	const char *name;
	enum sess_sub sub;
	mode_t mode;
} fixed_names[] = {
	{ "prompt", SESS_PROMPT, S_IFREG | 0644 },
	{ "reply", SESS_REPLY, S_IFREG | 0444 },
	{ "session.json", SESS_JSON, S_IFREG | 0444 },
	{ "transcript.md", SESS_TRANSCRIPT, S_IFREG | 0444 },
	{ "usage.json", SESS_USAGE, S_IFREG | 0444 },
	{ "error", SESS_ERROR, S_IFREG | 0444 },
	{ "ctl", SESS_CTL, S_IFREG | 0644 },
	{ "messages", SESS_MSGS, S_IFDIR | 0755 },
	{ "artifacts", SESS_ARTS, S_IFDIR | 0755 },
};

#define NFIXED (sizeof(fixed_names) / sizeof(*fixed_names))

struct node *sess_node_new(struct ns *ns, struct node *dir, const char *name,
			   enum sess_sub sub, mode_t mode)
{
	struct node *n = node_new(ns, dir, name, &session_prov, sub, mode);

	if (n) {
		n->uid = dir->uid;
		n->gid = dir->gid;
		ns_now(&n->mtime);
		n->ctime = n->atime = n->mtime;
	}
	return n;
}

struct node *sess_dir_of(struct node *n)
{
	while (n && n->ops == &session_prov && n->sub != SESS_DIR)
		n = n->parent;
	return n && n->ops == &session_prov ? n : NULL;
}

/* --- the names a folder should have ------------------------------------- */

struct kid {
	char *name;
	enum sess_sub sub;
	mode_t mode;
};

struct kids {
	struct kid *v;
	size_t n, alloc;
};

static int kid_add(struct kids *k, const char *name, enum sess_sub sub,
		   mode_t mode)
{
	if (k->n == k->alloc) {
		size_t a = k->alloc ? 2 * k->alloc : 16;
		struct kid *v = realloc(k->v, a * sizeof(*v));

		if (!v)
			return -ENOMEM;
		k->v = v;
		k->alloc = a;
	}
	k->v[k->n].name = strdup(name);
	if (!k->v[k->n].name)
		return -ENOMEM;
	k->v[k->n].sub = sub;
	k->v[k->n++].mode = mode;
	return 0;
}

static void kids_release(struct kids *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->v[i].name);
	free(k->v);
}

static const struct kid *kid_find(const struct kids *k, const char *name)
{
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->v[i].name, name) == 0)
			return &k->v[i];
	return NULL;
}

static int add_folder(void *arg, const char *folder)
{
	return kid_add(arg, folder, SESS_DIR, S_IFDIR | 0755);
}

/* messages/ and artifacts/ of `s` (s->mu held). */
static int kids_of_sess(struct sess *s, enum sess_sub sub, struct kids *k)
{
	char name[80];
	int rc = 0;

	if (sub == SESS_MSGS) {
		for (size_t i = 0; i < s->nmsgs && !rc; i++) {
			sess_msg_name(name, sizeof(name), s, i);
			rc = kid_add(k, name, SESS_MSG, S_IFREG | 0444);
			if (!rc && sess_turn_of(s, i)) {
				memcpy(name + strlen(name) - 3, ".json", 6);
				rc = kid_add(k, name, SESS_TURN,
					     S_IFREG | 0444);
			}
		}
	} else {
		const struct chat_artifacts *a = sess_artifacts(s);

		for (size_t i = 0; i < a->n && !rc; i++)
			if (!sess_artifact_hidden(s, a->v[i].name) &&
			    !name_check(a->v[i].name))
				rc = kid_add(k, a->v[i].name, SESS_ART,
					     S_IFREG | 0444);
	}
	return rc;
}

/* What `dir` should hold, from memory and (when `fresh`) from the store
 * first. No lock held; `owner` and `folder` were read under the tree. */
static int kids_of(struct sessions *all, enum sess_sub sub,
		   const char *owner, const char *folder, int fresh,
		   struct kids *k)
{
	struct sess *s;
	int rc = 0;

	if (sub == SESS_TOP) {
		if (fresh)
			rc = sess_sync_user(all, owner);
		return rc ? rc : sess_folders(all, owner, add_folder, k);
	}
	s = sess_find(all, owner, folder);
	if (!s)
		return -ENOENT;
	if (sub == SESS_DIR) {
		for (size_t i = 0; i < NFIXED && !rc; i++)
			rc = kid_add(k, fixed_names[i].name, fixed_names[i].sub,
				     fixed_names[i].mode);
	} else {
		if (fresh)
			rc = sess_refresh(s);
		if (!rc) {
			pthread_mutex_lock(&s->mu);
			rc = kids_of_sess(s, sub, k);
			pthread_mutex_unlock(&s->mu);
		}
	}
	sess_put(s);
	return rc;
}

/* Make the children of `dir` what `k` says (the tree held for
 * writing). */
static int apply(struct ns *ns, struct node *dir, const struct kids *k)
{
	struct node *ch, *next;

	for (ch = dir->child; ch; ch = next) {
		const struct kid *want = kid_find(k, ch->name);

		next = ch->next;
		if (!want || want->sub != (enum sess_sub)ch->sub)
			node_detach_subtree(ns, ch);
	}
	for (size_t i = 0; i < k->n; i++)
		if (!node_child(ns, dir, k->v[i].name) &&
		    !sess_node_new(ns, dir, k->v[i].name, k->v[i].sub,
				   k->v[i].mode))
			return -ENOMEM;
	return 0;
}

/* Where a folder node is: its owner and session folder (the tree held). */
static int where(struct node *dir, char *owner, size_t ocap, char *folder,
		 size_t fcap)
{
	struct node *d = sess_dir_of(dir);

	snprintf(owner, ocap, "%s", dir->vol->owner);
	folder[0] = '\0';
	if (dir->sub == SESS_TOP)
		return 0;
	if (!d || d->detached)
		return -ENOENT;
	if (strlen(d->name) >= fcap)
		return -ENAMETOOLONG;
	snprintf(folder, fcap, "%s", d->name);
	return 0;
}

static int sess_sync(struct ns *ns, struct caller *c, struct node *dir)
{
	struct sessions *all = ns->sessions;
	char owner[IDENT_NAME_MAX], folder[NAME_MAX_BYTES + 1];
	struct kids k = { 0 };
	int rc;

	pthread_rwlock_rdlock(&ns->tree);
	if (!node_visible(ns, c, dir))
		rc = -ENOENT;
	else if (!all || dir->detached)
		rc = -EIO;
	else
		rc = where(dir, owner, sizeof(owner), folder, sizeof(folder));
	pthread_rwlock_unlock(&ns->tree);
	if (rc)
		return rc == -EIO && all ? 0 : rc;
	rc = kids_of(all, dir->sub, owner, folder, 1, &k);
	if (rc == -ENOENT)
		kids_release(&k), memset(&k, 0, sizeof(k)), rc = 0;
	if (!rc) {
		pthread_rwlock_wrlock(&ns->tree);
		if (!dir->detached)
			rc = apply(ns, dir, &k);
		pthread_rwlock_unlock(&ns->tree);
	}
	kids_release(&k);
	return rc;
}

/* The quick lookup: a node known and still meant (no store call).
 * -EAGAIN when the slow way is needed. */
static int lookup_known(struct ns *ns, struct caller *c, struct node *dir,
			const char *name, struct node **out, struct stat *st,
			char *owner, size_t ocap, char *folder, size_t fcap)
{
	struct sessions *all = ns->sessions;
	struct node *n;
	struct kids k = { 0 };
	int rc;

	pthread_rwlock_rdlock(&ns->tree);
	if (!node_visible(ns, c, dir))
		rc = -ENOENT;
	else if (!S_ISDIR(dir->mode))
		rc = -ENOTDIR;
	else if (!all || dir->detached)
		rc = -ENOENT;
	else
		rc = where(dir, owner, ocap, folder, fcap);
	if (rc)
		goto out;
	n = node_child(ns, dir, name);
	rc = -EAGAIN;
	if (n && dir->sub != SESS_TOP && dir->sub != SESS_DIR) {
		/* messages/, artifacts/: as memory has them now */
		if (kids_of(all, dir->sub, owner, folder, 0, &k) == 0 &&
		    kid_find(&k, name))
			rc = 0;
	} else if (n) {
		struct sess *s = sess_find(all, owner, dir->sub == SESS_TOP ?
					   name : folder);

		rc = s ? 0 : -EAGAIN;
		sess_put(s);
	}
	if (!rc) {
		node_lookup_ref(ns, c, n, st);
		*out = n;
	}
out:
	pthread_rwlock_unlock(&ns->tree);
	kids_release(&k);
	return rc;
}

static int sess_lookup(struct ns *ns, struct caller *c, struct node *dir,
		       const char *name, struct node **out, struct stat *st)
{
	char owner[IDENT_NAME_MAX], folder[NAME_MAX_BYTES + 1];
	struct kids k = { 0 };
	const struct kid *want;
	struct node *n;
	int rc;

	rc = lookup_known(ns, c, dir, name, out, st, owner, sizeof(owner),
			  folder, sizeof(folder));
	if (rc != -EAGAIN)
		return rc;
	rc = kids_of(ns->sessions, dir->sub, owner, folder, 1, &k);
	if (rc)
		goto out;
	want = kid_find(&k, name);
	pthread_rwlock_wrlock(&ns->tree);
	if (!node_visible(ns, c, dir) || dir->detached) {
		rc = -ENOENT;
	} else {
		n = node_child(ns, dir, name);
		if (n && (!want || want->sub != (enum sess_sub)n->sub)) {
			node_detach_subtree(ns, n);
			n = NULL;
		}
		if (!n && want)
			n = sess_node_new(ns, dir, name, want->sub, want->mode);
		if (!want)
			rc = -ENOENT;
		else if (!n)
			rc = -ENOMEM;
		else {
			node_lookup_ref(ns, c, n, st);
			*out = n;
		}
	}
	pthread_rwlock_unlock(&ns->tree);
out:
	kids_release(&k);
	return rc;
}

/* --- changes ---------------------------------------------------------------- */

/* Rights to change `dir` (read-locked tree): 0, -ENOENT, -EACCES. */
static int may_write(struct ns *ns, struct caller *c, struct node *dir)
{
	unsigned r = node_rights(ns, c, dir);

	if (!(r & ACL_R))
		return -ENOENT;
	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	if (!(r & ACL_W))
		return -EACCES;
	return ns->sessions ? 0 : -EIO;
}

static int sess_mkdir(struct ns *ns, struct caller *c, struct node *dir,
		      const char *name, mode_t mode, struct node **out,
		      struct stat *st)
{
	char owner[IDENT_NAME_MAX], esc[96];
	struct node *n;
	int rc;

	(void)mode;
	pthread_rwlock_rdlock(&ns->tree);
	rc = may_write(ns, c, dir);
	if (!rc && dir->sub != SESS_TOP)
		rc = -EPERM;	/* a session's folders are its own */
	if (!rc)
		snprintf(owner, sizeof(owner), "%s", dir->vol->owner);
	pthread_rwlock_unlock(&ns->tree);
	if (rc)
		return rc;
	if (strlen(name) > NAME_MAX_BYTES)
		return -ENAMETOOLONG;
	rc = sess_sync_user(ns->sessions, owner);
	if (!rc)
		rc = sess_create(ns->sessions, owner, name);
	if (rc) {
		if (rc != -EEXIST && rc != -EINVAL)
			log_warn("session '%s' of %s: %s%s%s",
				 log_escape(esc, sizeof(esc), name), owner,
				 strerror(-rc), kv_error()[0] ? ": " : "",
				 kv_error());
		return rc == -EAGAIN ? -EIO : rc;
	}
	pthread_rwlock_wrlock(&ns->tree);
	n = node_child(ns, dir, name);
	if (!n)
		n = sess_node_new(ns, dir, name, SESS_DIR, S_IFDIR | 0755);
	if (n) {
		ns_now(&dir->mtime);
		node_lookup_ref(ns, c, n, st);
		*out = n;
	}
	pthread_rwlock_unlock(&ns->tree);
	return n ? 0 : -ENOMEM;
}

/* rmdir and unlink. */
static int sess_remove_name(struct ns *ns, struct caller *c,
			    struct node *dir, const char *name, int isdir)
{
	struct sessions *all = ns->sessions;
	struct sess *s = NULL;
	struct node *n;
	int rc, sub = -1;

	pthread_rwlock_rdlock(&ns->tree);
	rc = may_write(ns, c, dir);
	n = rc ? NULL : node_child(ns, dir, name);
	if (!rc && !n)
		rc = -ENOENT;
	if (!rc) {
		sub = n->sub;
		if (isdir != !!S_ISDIR(n->mode))
			rc = isdir ? -ENOTDIR : -EISDIR;
		else
			s = sess_of_node(all, n);
		if (!rc && !s)
			rc = -ENOENT;
	}
	pthread_rwlock_unlock(&ns->tree);
	if (rc)
		return rc;
	if (sub == SESS_DIR)
		rc = sess_remove(all, s);
	else if (sub == SESS_ART)
		rc = sess_artifact_hide(s, name);
	else
		sess_cancel(s);
	sess_put(s);
	if (rc)
		return rc == -EAGAIN ? -EIO : rc;
	if (sub == SESS_DIR || sub == SESS_ART) {
		pthread_rwlock_wrlock(&ns->tree);
		n = node_child(ns, dir, name);
		if (n && n->sub == sub)
			node_detach_subtree(ns, n);
		ns_now(&dir->mtime);
		pthread_rwlock_unlock(&ns->tree);
	}
	return 0;
}

static int sess_unlink(struct ns *ns, struct caller *c, struct node *dir,
		       const char *name)
{
	return sess_remove_name(ns, c, dir, name, 0);
}

static int sess_rmdir(struct ns *ns, struct caller *c, struct node *dir,
		      const char *name)
{
	return sess_remove_name(ns, c, dir, name, 1);
}

/* mv sessions/a sessions/b: the session is named b. */
static int sess_mv(struct ns *ns, struct caller *c, struct node *dir,
		   const char *name, struct node *newdir, const char *newname,
		   unsigned flags)
{
	struct sess *s = NULL;
	struct node *n;
	int rc;

	(void)flags;
	pthread_rwlock_rdlock(&ns->tree);
	rc = may_write(ns, c, dir);
	if (!rc)
		rc = may_write(ns, c, newdir);
	if (!rc && (dir->sub != SESS_TOP || newdir != dir))
		rc = -EPERM;
	n = rc ? NULL : node_child(ns, dir, name);
	if (!rc && !n)
		rc = -ENOENT;
	if (!rc && !(s = sess_of_node(ns->sessions, n)))
		rc = -ENOENT;
	pthread_rwlock_unlock(&ns->tree);
	if (!rc && strcmp(name, newname) != 0)
		rc = sess_rename(ns->sessions, s, newname);
	sess_put(s);
	if (rc)
		return rc;
	pthread_rwlock_wrlock(&ns->tree);
	n = node_child(ns, dir, name);
	if (n && strcmp(name, newname) != 0)
		node_detach_subtree(ns, n);
	ns_now(&dir->mtime);
	pthread_rwlock_unlock(&ns->tree);
	return 0;
}

static int sess_setattr(struct ns *ns, struct caller *c, struct node *n,
			struct ns_file *f, const struct stat *want,
			unsigned what, struct stat *st)
{
	unsigned r;
	int rc = 0;

	(void)f;
	(void)want;
	pthread_rwlock_rdlock(&ns->tree);
	r = node_rights(ns, c, n);
	if (!(r & ACL_R))
		rc = -ENOENT;
	else if (!(r & ACL_W))
		rc = -EACCES;
	else if ((n->sub != SESS_PROMPT && n->sub != SESS_CTL) ||
		 (what & ~(NS_SET_SIZE | NS_SET_MTIME | NS_SET_MTIME_NOW |
			   NS_SET_ATIME | NS_SET_ATIME_NOW)))
		rc = -EPERM;
	/* Truncating the prompt or ctl, or touching them: nothing to do. */
	if (!rc)
		node_stat(ns, c, n, st);
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

/* Generated files report the size a read gives now. */
static void sess_stat(struct ns *ns, struct caller *c, struct node *n,
		      struct stat *st)
{
	struct sess *s;
	struct buf b;

	(void)c;
	if (S_ISDIR(n->mode) || !ns->sessions)
		return;
	s = sess_of_node(ns->sessions, n);
	if (!s)
		return;
	buf_init(&b, 0);
	pthread_mutex_lock(&s->mu);
	if (sess_text(s, n, &b) == 0)
		st->st_size = (off_t)b.len;
	pthread_mutex_unlock(&s->mu);
	buf_release(&b);
	sess_put(s);
	st->st_blocks = (st->st_size + 511) / 512;
}

/* --- artifacts' skill fields ---------------------------------------------- */

static int artifact_xattrs(struct ns *ns, struct caller *c, struct node *n,
			   struct blob_xattrs *x)
{
	char file[NAME_MAX_BYTES + 16];
	struct sess *s = NULL;
	struct buf b;
	int rc = 0;

	memset(x, 0, sizeof(*x));
	pthread_rwlock_rdlock(&ns->tree);
	if (!node_visible(ns, c, n))
		rc = -ENOENT;
	else if (n->sub == SESS_ART && ns->sessions)
		s = sess_of_node(ns->sessions, n);
	snprintf(file, sizeof(file), "artifacts/%s", n->name);
	pthread_rwlock_unlock(&ns->tree);
	if (rc || !s) {
		sess_put(s);
		return rc;
	}
	buf_init(&b, 0);
	pthread_mutex_lock(&s->mu);
	rc = sess_text(s, n, &b);
	pthread_mutex_unlock(&s->mu);
	sess_put(s);
	if (!rc && strlen(file) > 3 && !strcmp(file + strlen(file) - 3, ".md"))
		rc = skill_xattrs_build(x, file, b.data ? b.data : "", b.len);
	buf_release(&b);
	return rc == -ENOENT ? 0 : rc;
}

static ssize_t sess_getxattr(struct ns *ns, struct caller *c, struct node *n,
			     const char *name, char *value, size_t size)
{
	struct blob_xattrs x;
	ssize_t rc = artifact_xattrs(ns, c, n, &x);

	if (rc)
		return rc;
	rc = -ENODATA;
	for (size_t i = 0; i < x.n; i++) {
		if (strcmp(x.v[i].name, name) != 0)
			continue;
		rc = (ssize_t)x.v[i].len;
		if (size && x.v[i].len > size)
			rc = -ERANGE;
		else if (size)
			memcpy(value, x.v[i].value, x.v[i].len);
	}
	blob_xattrs_release(&x);
	return rc;
}

static ssize_t sess_listxattr(struct ns *ns, struct caller *c,
			      struct node *n, char *list, size_t size)
{
	struct blob_xattrs x;
	ssize_t rc = artifact_xattrs(ns, c, n, &x);
	size_t need = 0;

	if (rc)
		return rc;
	for (size_t i = 0; i < x.n; i++)
		need += strlen(x.v[i].name) + 1;
	if (size && need > size) {
		rc = -ERANGE;
	} else {
		rc = (ssize_t)need;
		for (size_t i = 0, k = 0; size && i < x.n; i++) {
			size_t l = strlen(x.v[i].name) + 1;

			memcpy(list + k, x.v[i].name, l);
			k += l;
		}
	}
	blob_xattrs_release(&x);
	return rc;
}

const struct prov_ops session_prov = {
	.name = "session",
	.flags = PROV_PRIVATE | PROV_NOCACHE,
	.lookup = sess_lookup,
	.sync = sess_sync,
	.mkdir = sess_mkdir,
	.unlink = sess_unlink,
	.rmdir = sess_rmdir,
	.rename = sess_mv,
	.stat = sess_stat,
	.setattr = sess_setattr,
	.getxattr = sess_getxattr,
	.listxattr = sess_listxattr,
	.open = sess_open,
	.direct_io = sess_direct_io,
	.read = sess_read,
	.write = sess_write,
	.flush = sess_flush,
	.release = sess_release,
};

/* --- start and stop ---------------------------------------------------------- */

int session_start(struct ns *ns, struct kv *kv, struct llm *llm,
		  void (*notify)(void *arg), void *arg)
{
	struct sessions *all = calloc(1, sizeof(*all));

	if (!all)
		return -ENOMEM;
	all->ns = ns;
	all->kv = kv;
	all->llm = llm;
	all->notify = notify;
	all->notify_arg = arg;
	pthread_mutex_init(&all->mu, NULL);
	pthread_cond_init(&all->idle, NULL);
	pthread_rwlock_wrlock(&ns->tree);
	ns->sessions = all;
	pthread_rwlock_unlock(&ns->tree);
	return 0;
}

void sessions_free(struct sessions *all)
{
	sess_index_free(all->index);
	pthread_cond_destroy(&all->idle);
	pthread_mutex_destroy(&all->mu);
	free(all->v);
	free(all);
}

void session_stop(struct ns *ns)
{
	struct sessions *all;
	struct sess **v;
	size_t n;
	int last;

	pthread_rwlock_wrlock(&ns->tree);
	all = ns->sessions;
	ns->sessions = NULL;
	pthread_rwlock_unlock(&ns->tree);
	if (!all)
		return;
	pthread_mutex_lock(&all->mu);
	all->stopping = 1;
	for (size_t i = 0; i < all->n; i++)
		sess_cancel(all->v[i]);
	while (all->turns)
		pthread_cond_wait(&all->idle, &all->mu);
	v = all->v;
	n = all->n;
	all->v = NULL;
	all->n = 0;
	pthread_mutex_unlock(&all->mu);
	for (size_t i = 0; i < n; i++)
		sess_put(v[i]);
	free(v);
	/* Open files may still hold sessions: then the last one freed
	 * frees `all`. */
	pthread_mutex_lock(&all->mu);
	all->stopped = 1;
	last = all->live == 0;
	pthread_mutex_unlock(&all->mu);
	if (last)
		sessions_free(all);
}
