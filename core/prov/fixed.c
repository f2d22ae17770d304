/* core/prov/fixed.c: the fixed tree (DESIGN.md section 1): MOUNT, team/,
 * user/ and every volume. Nothing here can be created, removed, renamed
 * or changed through the mount (the core's defaults refuse it); user/
 * grows a volume when an account appears.
 *
 * What a volume holds is the layout table below: one line per provider
 * that has a place in a volume. */
#include "core/ns/prov.h"
#include "core/prov/area.h"
#include "core/util/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum fixed_sub { FIXED_ROOT, FIXED_CLASS, FIXED_VOLUME };

#define IN_SYSTEM (1u << ACL_SYSTEM)
#define IN_TEAM (1u << ACL_TEAM)
#define IN_USER (1u << ACL_USER)
#define IN_ALL (IN_SYSTEM | IN_TEAM | IN_USER)

/* The places in a volume, in the order they are made. */
static const struct vol_place {
	const char *name;
	const struct prov_ops *ops;
	int sub;
	mode_t mode;
	unsigned classes;
} layout[] = {
	{ "catalog.json", &catalog_prov, 0, S_IFREG | 0444, IN_ALL },
	{ "skills", &area_prov, AREA_TOP, S_IFDIR | 0755, IN_ALL },
	{ "workflows", &area_prov, AREA_TOP, S_IFDIR | 0755, IN_ALL },
	{ "run", &run_prov, 0, S_IFDIR | 0755, IN_USER },
	{ "history", &history_prov, 0, S_IFDIR | 0555, IN_ALL },
	{ "sessions", &session_prov, 0, S_IFDIR | 0755, IN_USER },
};

/* A volume and its places; uid/gid own the places that keep files. */
static struct node *add_volume(struct ns *ns, struct node *parent,
			       const char *name, enum acl_class cls,
			       uid_t uid, gid_t gid)
{
	struct volume *v = calloc(1, sizeof(*v));
	struct node *n;

	if (!v)
		return NULL;
	v->cls = cls;
	if (cls != ACL_SYSTEM)
		snprintf(v->owner, sizeof(v->owner), "%s", name);
	if (cls == ACL_SYSTEM)
		snprintf(v->prefix, sizeof(v->prefix), "volumes/system");
	else
		snprintf(v->prefix, sizeof(v->prefix), "volumes/%s/%s",
			 cls == ACL_TEAM ? "team" : "user", name);
	n = node_new(ns, parent, name, &fixed_prov, FIXED_VOLUME,
		     S_IFDIR | 0755);
	if (!n) {
		free(v);
		return NULL;
	}
	n->vol = v;
	n->owns_vol = 1;
	n->uid = uid;
	n->gid = gid;
	for (size_t i = 0; i < sizeof(layout) / sizeof(layout[0]); i++) {
		const struct vol_place *p = &layout[i];
		struct node *c;

		if (!(p->classes & (1u << cls)))
			continue;
		c = node_new(ns, n, p->name, p->ops, p->sub, p->mode);
		if (!c)
			return NULL;
		if (S_ISDIR(p->mode)) {
			c->uid = uid;
			c->gid = gid;
		}
	}
	return n;
}

/* Fill the places of a volume: each provider once (the tree is held for
 * writing). */
static int load_volume(struct ns *ns, struct node *v)
{
	size_t n = sizeof(layout) / sizeof(layout[0]);
	int rc = 0;

	for (size_t i = 0; i < n && !rc; i++) {
		const struct prov_ops *ops = layout[i].ops;
		size_t j = 0;

		if (!(layout[i].classes & (1u << v->vol->cls)) ||
		    !ops->volume_load)
			continue;
		while (j < i && (layout[j].ops != ops ||
				 !(layout[j].classes & (1u << v->vol->cls))))
			j++;
		if (j == i)
			rc = ops->volume_load(ns, v);
	}
	return rc;
}

void fixed_refresh_users(struct ns *ns)
{
	struct ident_user u;
	uint64_t gen;

	ident_refresh(ns->id);
	gen = ident_generation(ns->id);
	if (__atomic_load_n(&ns->ident_gen, __ATOMIC_SEQ_CST) == gen)
		return;
	pthread_rwlock_wrlock(&ns->tree);
	ns->ident_gen = gen;
	for (size_t i = 0; ident_user_at(ns->id, i, &u) == 0; i++) {
		struct node *v;

		if (node_child(ns, ns->user, u.name))
			continue;
		v = add_volume(ns, ns->user, u.name, ACL_USER, u.uid, u.gid);
		if (!v)
			log_err("no memory for the volume of user '%s'", u.name);
		else if (load_volume(ns, v))
			log_err("loading the volume of user '%s' failed; it "
				"shows what could be read", u.name);
	}
	pthread_rwlock_unlock(&ns->tree);
}

int fixed_mount(struct ns *ns)
{
	struct ident_team t;
	struct ident_user u;
	struct node *v;
	int rc;

	rc = area_seed(ns);
	if (rc)
		return rc;
	ns->root = node_new(ns, NULL, "", &fixed_prov, FIXED_ROOT,
			    S_IFDIR | 0755);
	if (!ns->root)
		return -ENOMEM;
	v = add_volume(ns, ns->root, "system", ACL_SYSTEM, 0, 0);
	if (!v || !node_new(ns, ns->root, "catalog.json", &catalog_prov, 0,
			    S_IFREG | 0444) ||
	    !node_new(ns, ns->root, "agent-skills", &agent_prov, 0,
		      S_IFDIR | 0555))
		return -ENOMEM;
	rc = load_volume(ns, v);
	if (rc)
		return rc;
	ns->team = node_new(ns, ns->root, "team", &fixed_prov, FIXED_CLASS,
			    S_IFDIR | 0755);
	ns->user = node_new(ns, ns->root, "user", &fixed_prov, FIXED_CLASS,
			    S_IFDIR | 0755);
	if (!ns->team || !ns->user)
		return -ENOMEM;
	for (size_t i = 0; ident_team_at(ns->id, i, &t) == 0 && !rc; i++) {
		v = add_volume(ns, ns->team, t.name, ACL_TEAM, 0, t.gid);
		rc = v ? load_volume(ns, v) : -ENOMEM;
	}
	for (size_t i = 0; ident_user_at(ns->id, i, &u) == 0 && !rc; i++) {
		v = add_volume(ns, ns->user, u.name, ACL_USER, u.uid, u.gid);
		rc = v ? load_volume(ns, v) : -ENOMEM;
	}
	ns->ident_gen = ident_generation(ns->id);
	return rc;
}

/* user/ shows the accounts as they are now. */
static int fixed_lookup(struct ns *ns, struct caller *c, struct node *dir,
			const char *name, struct node **out, struct stat *st)
{
	if (dir == ns->user)
		fixed_refresh_users(ns);
	return ns_lookup_default(ns, c, dir, name, out, st);
}

static int fixed_sync(struct ns *ns, struct caller *c, struct node *dir)
{
	(void)c;
	if (dir == ns->user)
		fixed_refresh_users(ns);
	return 0;
}

/* Not the name user/<u>: a name cached for its owner would let the
 * others walk through it. */
static int fixed_cacheable(const struct node *n)
{
	return !(n->sub == FIXED_VOLUME && n->vol->cls == ACL_USER);
}

const struct prov_ops fixed_prov = {
	.name = "fixed",
	.lookup = fixed_lookup,
	.sync = fixed_sync,
	.cacheable = fixed_cacheable,
};
