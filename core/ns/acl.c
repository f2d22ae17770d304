/* core/ns/acl.c: the rights table and the facts it needs. */
#include "core/ns/acl.h"

#include <string.h>

unsigned acl_decide(const struct acl_facts *f)
{
	if (f->admin)
		return ACL_R | ACL_W;
	switch (f->cls) {
	case ACL_TOP:
	case ACL_SYSTEM:
		return ACL_R;
	case ACL_TEAM:
		if (!f->owner_known)
			return 0;
		return f->member ? ACL_R | ACL_W : ACL_R;
	case ACL_USER:
		if (!f->owner_known)
			return 0;
		if (f->owner)
			return ACL_R | ACL_W;
		if (f->area == ACL_SHARED && f->teammate)
			return ACL_R;
		return 0;
	}
	return 0;
}

void acl_load_groups(struct caller *c)
{
	if (c->groups_loaded)
		return;
	c->groups_loaded = 1;
	c->ngroups = 0;
	if (c->get_groups && c->get_groups(c) < 0)
		c->ngroups = 0;
	if (c->ngroups < CALLER_MAX_GROUPS)
		c->groups[c->ngroups++] = c->gid;
}

int acl_is_admin(struct ident *id, struct caller *c)
{
	if (c->uid == 0)
		return 1;
	acl_load_groups(c);
	return ident_is_admin_group(id, c->groups, (size_t)c->ngroups);
}

unsigned acl_rights(struct ident *id, struct caller *c, enum acl_class cls,
		    const char *owner, enum acl_area area)
{
	struct acl_facts f;
	struct ident_user u;
	int team;

	memset(&f, 0, sizeof(f));
	f.cls = cls;
	f.area = area;
	if (c->uid == 0)
		return ACL_R | ACL_W;
	if (cls == ACL_USER) {
		if (ident_user(id, owner, &u) != 0)
			return acl_is_admin(id, c) ? ACL_R | ACL_W : 0;
		f.owner_known = 1;
		/* The owner has every right: no need for the groups. */
		if (u.uid == c->uid)
			return ACL_R | ACL_W;
		f.admin = acl_is_admin(id, c);
		if (!f.admin)
			f.teammate = (ident_teams_of(id, c->groups,
				      (size_t)c->ngroups) & u.teams) != 0;
		return acl_decide(&f);
	}
	f.admin = acl_is_admin(id, c);
	if (cls == ACL_TEAM) {
		f.owner_known = ident_team(id, owner, &team, NULL) == 0;
		f.member = f.owner_known &&
			   (ident_teams_of(id, c->groups, (size_t)c->ngroups) &
			    ((uint64_t)1 << team)) != 0;
	}
	return acl_decide(&f);
}

void acl_caller_keep(struct caller *dst, struct caller *src)
{
	acl_load_groups(src);
	dst->uid = src->uid;
	dst->gid = src->gid;
	dst->get_groups = NULL;
	dst->ctx = NULL;
	dst->groups_loaded = 1;
	dst->ngroups = src->ngroups;
	memcpy(dst->groups, src->groups,
	       (size_t)src->ngroups * sizeof(dst->groups[0]));
}

static int has_group(const struct caller *c, gid_t g)
{
	for (int i = 0; i < c->ngroups; i++)
		if (c->groups[i] == g)
			return 1;
	return 0;
}

int acl_caller_same(const struct caller *a, const struct caller *b)
{
	if (a->uid != b->uid || a->gid != b->gid || !a->groups_loaded ||
	    !b->groups_loaded)
		return 0;
	for (int i = 0; i < a->ngroups; i++)
		if (!has_group(b, a->groups[i]))
			return 0;
	for (int i = 0; i < b->ngroups; i++)
		if (!has_group(a, b->groups[i]))
			return 0;
	return 1;
}
