/* core/ns/acl.h: the access-control decision (DESIGN.md section 2).
 *
 * acl_decide() is the table itself, on facts already established;
 * acl_rights() establishes the facts for a caller, fetching the caller's
 * supplementary groups only when the answer depends on them.
 */
#ifndef LLMUNIX_ACL_H
#define LLMUNIX_ACL_H

#include <stdint.h>
#include <sys/types.h>

#include "core/ns/ident.h"

#define ACL_R 1u
#define ACL_W 2u

enum acl_class {
	ACL_TOP,	/* MOUNT, team/, user/ */
	ACL_SYSTEM,
	ACL_TEAM,
	ACL_USER,
};

/* Where in a volume: the shared parts, or the owner's private ones
 * (sessions/, run/). */
enum acl_area { ACL_SHARED, ACL_PRIVATE };

struct acl_facts {
	enum acl_class cls;
	enum acl_area area;
	int admin;		/* uid 0 or in the admin group */
	int owner;		/* ACL_USER: the caller is the user */
	int member;		/* ACL_TEAM: the caller is in the team */
	int teammate;		/* ACL_USER: the caller shares a team with it */
	int owner_known;	/* ACL_USER/TEAM: the user or team exists */
};

unsigned acl_decide(const struct acl_facts *f);

#define CALLER_MAX_GROUPS 256

/* The identity of one request. Fill uid and gid; `get_groups` (may be
 * NULL) is called at most once, when the groups are first needed, and
 * fills `groups`/`ngroups` (the primary gid need not be included). */
struct caller {
	uid_t uid;
	gid_t gid;
	int (*get_groups)(struct caller *c);
	void *ctx;		/* for get_groups */
	int groups_loaded;
	int ngroups;
	gid_t groups[CALLER_MAX_GROUPS];
};

/* Rights of `c` on a volume of class `cls` named `owner` (team or user
 * name; NULL for ACL_TOP and ACL_SYSTEM), in `area`. */
unsigned acl_rights(struct ident *id, struct caller *c, enum acl_class cls,
		    const char *owner, enum acl_area area);

/* Fetch the groups of `c` (once) into groups/ngroups, its gid included. */
void acl_load_groups(struct caller *c);

/* Whether `c` is an admin. */
int acl_is_admin(struct ident *id, struct caller *c);

/* Keep the identity of a request past the request: `dst` gets the uid,
 * gid and supplementary groups of `src`, the groups fetched now (while the
 * process that sent the request is known). A kept caller never fetches
 * anything again: decisions taken from it later (at flush or release)
 * have exactly the rights its request had. */
void acl_caller_keep(struct caller *dst, struct caller *src);
/* Whether two kept callers are one identity: same uid, gid and set of
 * groups. */
int acl_caller_same(const struct caller *a, const struct caller *b);

#endif
