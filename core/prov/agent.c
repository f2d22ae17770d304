/* core/prov/agent.c: MOUNT/agent-skills/ (DESIGN.md section 4): every
 * skill the caller may use, resolved as catalog.json resolves them, each
 * as a folder <name>/SKILL.md in the open Agent Skills format that Claude
 * Code and Codex read (skill_to_agent_md()), so that linking
 * ~/.claude/skills or ~/.agents/skills here gives those tools the whole
 * library with no copying. Read-only (EROFS), always current: the folders
 * a caller sees are resolved at each listing and lookup, and SKILL.md is
 * made at each open from the skill as it is.
 *
 * A folder's name is the skill's id when that is a valid Agent Skills
 * name; otherwise the id in lower case with every other character turned
 * into '-' (two ids that end up the same: the first in resolution order
 * shows, as in the catalog).
 */
#include "core/prov/area.h"
#include "core/prov/library.h"
#include "core/skill/skill.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum agent_sub { AGENT_TOP, AGENT_SKILL, AGENT_MD };

#define AGENT_NAME_MAX 64

/* The folder name of the skill `id`, or "" when none can be made. */
static void agent_name(const char *id, char out[AGENT_NAME_MAX + 1])
{
	size_t o = 0;

	if (skill_agent_name_ok(id) && strlen(id) <= AGENT_NAME_MAX) {
		memcpy(out, id, strlen(id) + 1);
		return;
	}
	for (const char *p = id; *p && o < AGENT_NAME_MAX; p++) {
		char ch = *p;

		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')))
			ch = '-';
		if (ch == '-' && (o == 0 || out[o - 1] == '-'))
			continue;
		out[o++] = ch;
	}
	while (o && out[o - 1] == '-')
		o--;
	out[o] = '\0';
	if (!skill_agent_name_ok(out))
		out[0] = '\0';
}

/* --- the caller's skills ---------------------------------------------------- */

struct want {
	const char *name;	/* looked for, or NULL: all */
	struct node *skill;	/* found: the skill's file */
	char id[256];
	/* for a listing */
	struct node *top;
	int (*add)(void *arg, struct node *child);
	void *arg;
	struct ns *ns;
	char **names;		/* the names seen, for duplicates */
	size_t nnames, anames;
};

static int name_seen(struct want *w, const char *name)
{
	for (size_t i = 0; i < w->nnames; i++)
		if (strcmp(w->names[i], name) == 0)
			return 1;
	if (w->nnames == w->anames) {
		size_t k = w->anames ? 2 * w->anames : 32;
		char **v = realloc(w->names, k * sizeof(*v));

		if (!v)
			return -ENOMEM;
		w->names = v;
		w->anames = k;
	}
	w->names[w->nnames] = strdup(name);
	if (!w->names[w->nnames])
		return -ENOMEM;
	w->nnames++;
	return 0;
}

static void want_release(struct want *w)
{
	for (size_t i = 0; i < w->nnames; i++)
		free(w->names[i]);
	free(w->names);
}

static int each_skill(void *arg, const char *id, struct node *n)
{
	struct want *w = arg;
	char name[AGENT_NAME_MAX + 1];
	struct node *child;
	int rc;

	agent_name(id, name);
	if (!*name)
		return 0;
	rc = name_seen(w, name);
	if (rc)
		return rc < 0 ? rc : 0;
	if (w->name) {
		if (strcmp(name, w->name))
			return 0;
		w->skill = n;
		snprintf(w->id, sizeof(w->id), "%s", name);
		return 1;
	}
	child = node_child(w->ns, w->top, name);
	return child && w->add ? w->add(w->arg, child) : 0;
}

/* The skill the caller sees as `name`; the tree is held. */
static struct node *find(struct ns *ns, struct caller *c, const char *name)
{
	struct want w = { .name = name, .ns = ns };
	int rc = library_each(ns, c, each_skill, &w);

	want_release(&w);
	return rc == 1 ? w.skill : NULL;
}

/* --- nodes -------------------------------------------------------------------------- */

static struct node *add_skill(struct ns *ns, struct node *top,
			      const char *name)
{
	struct node *d = node_new(ns, top, name, &agent_prov, AGENT_SKILL,
				  S_IFDIR | 0555);

	if (d && !node_new(ns, d, "SKILL.md", &agent_prov, AGENT_MD,
			   S_IFREG | 0444)) {
		node_detach(ns, d);
		return NULL;
	}
	return d;
}

static int agent_lookup(struct ns *ns, struct caller *c, struct node *dir,
			const char *name, struct node **out, struct stat *st)
{
	struct node *n = NULL;
	int rc = 0;

	if (dir->sub != AGENT_TOP)
		return ns_lookup_default(ns, c, dir, name, out, st);
	pthread_rwlock_rdlock(&ns->tree);
	if (!find(ns, c, name))
		rc = -ENOENT;
	else
		n = node_child(ns, dir, name);
	if (n) {
		node_lookup_ref(ns, c, n, st);
		*out = n;
	}
	pthread_rwlock_unlock(&ns->tree);
	if (rc || n)
		return rc;
	pthread_rwlock_wrlock(&ns->tree);
	n = node_child(ns, dir, name);
	if (!n)
		n = add_skill(ns, dir, name);
	if (n) {
		node_lookup_ref(ns, c, n, st);
		*out = n;
	} else {
		rc = -ENOMEM;
	}
	pthread_rwlock_unlock(&ns->tree);
	return rc;
}

/* Before a listing: a folder for every skill the caller sees. */
static int add_missing(void *arg, const char *id, struct node *n)
{
	struct want *w = arg;
	char name[AGENT_NAME_MAX + 1];

	(void)n;
	agent_name(id, name);
	if (*name && !node_child(w->ns, w->top, name) &&
	    !add_skill(w->ns, w->top, name))
		return -ENOMEM;
	return 0;
}

static int agent_sync(struct ns *ns, struct caller *c, struct node *dir)
{
	struct want w = { .top = dir, .ns = ns };
	int rc;

	if (dir->sub != AGENT_TOP)
		return 0;
	pthread_rwlock_wrlock(&ns->tree);
	rc = library_each(ns, c, add_missing, &w);
	pthread_rwlock_unlock(&ns->tree);
	want_release(&w);
	return rc;
}

/* The listing of agent-skills/ is the caller's own. */
static int agent_list(struct ns *ns, struct caller *c, struct node *dir,
		      int (*add)(void *arg, struct node *child), void *arg)
{
	struct want w = { .top = dir, .ns = ns, .add = add, .arg = arg };
	int rc;

	if (dir->sub != AGENT_TOP) {
		for (struct node *ch = dir->child; ch; ch = ch->next)
			if ((rc = add(arg, ch)))
				return rc;
		return 0;
	}
	rc = library_each(ns, c, each_skill, &w);
	want_release(&w);
	return rc;
}

/* SKILL.md of the skill `name` for the caller; the tree is held. */
static int render(struct ns *ns, struct caller *c, const char *name,
		  struct buf *out)
{
	struct node *n = find(ns, c, name);
	struct skill *sk = NULL;
	char key[PATH_MAX];
	struct buf src;
	int rc;

	if (!n)
		return -ENOENT;
	buf_init(&src, SKILL_MAX_FILE + 1);
	rc = area_node_content(ns, c, n, &src);
	if (!rc)
		rc = node_key(n, key, sizeof(key));
	if (!rc)
		rc = skill_parse(&sk, key + strlen(n->vol->prefix) + 1,
				 src.data ? src.data : "", src.len, NULL);
	if (!rc)
		rc = skill_to_agent_md(sk, name, out);
	skill_free(sk);
	buf_release(&src);
	return rc;
}

static int agent_open(struct ns *ns, struct caller *c, struct node *n,
		      int flags, struct ns_file **out, int *keep_cache)
{
	struct buf *b = NULL;
	int rc = 0;

	*keep_cache = 0;
	pthread_rwlock_rdlock(&ns->tree);
	if (S_ISDIR(n->mode))
		rc = -EISDIR;
	else if (file_wants_write(flags))
		rc = -EROFS;
	else if (!(b = malloc(sizeof(*b))))
		rc = -ENOMEM;
	if (!rc) {
		buf_init(b, (size_t)ns->cfg->max_file_size);
		rc = render(ns, c, n->parent->name, b);
	}
	if (!rc) {
		pthread_mutex_lock(&n->mu);
		rc = file_handle_new(n, c, flags, out);
		pthread_mutex_unlock(&n->mu);
	}
	pthread_rwlock_unlock(&ns->tree);
	if (rc) {
		if (b)
			buf_release(b);
		free(b);
		return rc;
	}
	ns_snap_set(*out, b);
	return 0;
}

/* SKILL.md's size is what the caller would read. */
static void agent_stat(struct ns *ns, struct caller *c, struct node *n,
		       struct stat *st)
{
	struct buf b;

	if (n->sub != AGENT_MD)
		return;
	buf_init(&b, (size_t)ns->cfg->max_file_size);
	if (render(ns, c, n->parent->name, &b) == 0) {
		st->st_size = (off_t)b.len;
		st->st_blocks = (st->st_size + 511) / 512;
	}
	buf_release(&b);
}

static int agent_direct_io(const struct ns_file *f)
{
	(void)f;
	return 1;
}

const struct prov_ops agent_prov = {
	.name = "agent",
	.flags = PROV_NOCACHE | PROV_RDONLY,
	.lookup = agent_lookup,
	.sync = agent_sync,
	.list = agent_list,
	.stat = agent_stat,
	.open = agent_open,
	.direct_io = agent_direct_io,
	.read = ns_snap_read,
};
