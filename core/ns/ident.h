/* core/ns/ident.h: who the users, teams and admins are.
 *
 * Users are the login accounts (uid range from /etc/login.defs) plus the
 * accounts the configuration names; teams are the unix groups the
 * configuration names; admins are uid 0 and members of the admin group.
 * The tables are read from the account database at start-up and again
 * whenever /etc/passwd or /etc/group change (ident_refresh). All functions
 * are thread-safe; returned user and team records are copies.
 */
#ifndef LLMUNIX_IDENT_H
#define LLMUNIX_IDENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/util/config.h"

#define IDENT_NAME_MAX 33

struct ident;

struct ident_user {
	char name[IDENT_NAME_MAX];
	uid_t uid;
	gid_t gid;
	uint64_t teams;		/* bit i: member of team i */
};

struct ident_team {
	char name[IDENT_NAME_MAX];
	gid_t gid;
};

/* An ident with no users and no teams (unit tests fill it by hand). */
int ident_new(struct ident **out);
void ident_free(struct ident *id);

/* Fill from the account database according to `cfg` (borrowed; must
 * outlive `id`). */
int ident_load(struct ident *id, const struct config *cfg);
/* Reload when the account files changed since the last look (checked at
 * most once a second). Returns 1 when the tables changed, else 0. */
int ident_refresh(struct ident *id);
/* A number that changes whenever the tables change. */
uint64_t ident_generation(struct ident *id);

int ident_add_team(struct ident *id, const char *name, gid_t gid);
int ident_add_user(struct ident *id, const char *name, uid_t uid, gid_t gid,
		   uint64_t teams);
void ident_set_admin_gid(struct ident *id, gid_t gid);

/* Look up by name; 0 or -ENOENT. */
int ident_user(struct ident *id, const char *name, struct ident_user *out);
int ident_user_by_uid(struct ident *id, uid_t uid, struct ident_user *out);
int ident_team(struct ident *id, const char *name, int *index,
	       struct ident_team *out);
/* Copy the i-th user or team (in name order); -ENOENT past the end. */
int ident_user_at(struct ident *id, size_t i, struct ident_user *out);
int ident_team_at(struct ident *id, size_t i, struct ident_team *out);
/* Bit mask of the teams whose gid is in `groups`; whether `groups` holds
 * the admin group. */
uint64_t ident_teams_of(struct ident *id, const gid_t *groups, size_t n);
int ident_is_admin_group(struct ident *id, const gid_t *groups, size_t n);

#endif
