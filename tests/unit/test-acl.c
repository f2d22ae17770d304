/* tests/unit/test-acl.c: the rights table of DESIGN.md section 2, through
 * acl_decide() on facts and acl_rights() on an ident built by hand. */
#include "core/ns/acl.h"
#include "core/ns/ident.h"
#include "unit.h"

#include <errno.h>
#include <string.h>

#define RW (ACL_R | ACL_W)
#define RO ACL_R
#define NO 0u

static const char *rights_str(unsigned r)
{
	switch (r) {
	case RW: return "rw";
	case RO: return "r";
	case NO: return "none";
	default: return "?w-only";
	}
}

static const char *class_str(enum acl_class c)
{
	switch (c) {
	case ACL_TOP: return "top";
	case ACL_SYSTEM: return "system";
	case ACL_TEAM: return "team";
	case ACL_USER: return "user";
	}
	return "?";
}

/* --- acl_decide: the table on facts -------------------------------------- */

enum role { R_ADMIN, R_OWNER, R_MEMBER, R_TEAMMATE, R_STRANGER, R_NR };

static const char *const role_str[R_NR] = {
	"admin", "owner", "member", "teammate", "stranger",
};

/* What DESIGN.md section 2 says, written out independently of core/ns/acl.c.
 * "owner" is the user of a user volume; "member" a member of a team
 * volume's team; "teammate" shares a team with a user volume's user. A
 * flag that does not apply to a class (owner of a team, member of a user
 * volume) gives nothing beyond what anyone else has. */
static unsigned expected(enum acl_class cls, enum role r, enum acl_area a)
{
	if (r == R_ADMIN)
		return RW;
	switch (cls) {
	case ACL_TOP:
	case ACL_SYSTEM:
		return RO;
	case ACL_TEAM:
		return r == R_MEMBER ? RW : RO;
	case ACL_USER:
		if (r == R_OWNER)
			return RW;
		if (r == R_TEAMMATE && a == ACL_SHARED)
			return RO;
		return NO;
	}
	return NO;
}

static void test_decide_table(void)
{
	static const enum acl_class classes[] = { ACL_TOP, ACL_SYSTEM,
						  ACL_TEAM, ACL_USER };
	static const enum acl_area areas[] = { ACL_SHARED, ACL_PRIVATE };

	for (size_t ci = 0; ci < 4; ci++) {
		for (int r = 0; r < R_NR; r++) {
			for (size_t ai = 0; ai < 2; ai++) {
				struct acl_facts f;
				unsigned want, got;

				memset(&f, 0, sizeof(f));
				f.cls = classes[ci];
				f.area = areas[ai];
				f.owner_known = 1;
				f.admin = r == R_ADMIN;
				f.owner = r == R_OWNER;
				f.member = r == R_MEMBER;
				f.teammate = r == R_TEAMMATE;
				want = expected(f.cls, (enum role)r, f.area);
				got = acl_decide(&f);
				CHECK(want == got, "decide: %s %s %s area: %s "
				      "(got %s)", class_str(f.cls),
				      role_str[r], ai ? "private" : "shared",
				      rights_str(want), rights_str(got));
			}
		}
	}
}

static void test_decide_edges(void)
{
	struct acl_facts f;

	/* A team or user that does not exist: nothing, except for admins. */
	memset(&f, 0, sizeof(f));
	f.cls = ACL_TEAM;
	f.member = 1;
	CHECK_INT_EQ(NO, acl_decide(&f),
		     "decide: unknown team gives a 'member' nothing");
	f.cls = ACL_USER;
	f.member = 0;
	f.owner = 1;
	f.teammate = 1;
	CHECK_INT_EQ(NO, acl_decide(&f),
		     "decide: unknown user gives an 'owner' nothing");
	f.admin = 1;
	CHECK_INT_EQ(RW, acl_decide(&f),
		     "decide: admin has rw on an unknown user volume");
	f.cls = ACL_TEAM;
	CHECK_INT_EQ(RW, acl_decide(&f),
		     "decide: admin has rw on an unknown team volume");

	/* Several facts at once: the strongest wins. */
	memset(&f, 0, sizeof(f));
	f.cls = ACL_USER;
	f.owner_known = 1;
	f.area = ACL_PRIVATE;
	f.owner = 1;
	f.teammate = 1;
	CHECK_INT_EQ(RW, acl_decide(&f),
		     "decide: owner who is also a teammate has rw in private");
	f.owner = 0;
	f.member = 1;
	CHECK_INT_EQ(NO, acl_decide(&f),
		     "decide: teammate+member flags give nothing in private");
}

/* --- acl_rights on a hand-built ident ------------------------------------ */

#define GID_ENG 2001
#define GID_RESEARCH 2002
#define GID_ADMIN 3000
#define GID_OTHER 4000

struct who {
	const char *name;
	uid_t uid;
	gid_t gid;
	gid_t groups[4];	/* supplementary, 0-terminated */
	int fail;		/* get_groups fails */
	int calls;		/* get_groups calls */
};

static int fake_get_groups(struct caller *c)
{
	struct who *w = c->ctx;
	int n = 0;

	w->calls++;
	if (w->fail)
		return -EIO;
	while (n < 4 && w->groups[n]) {
		c->groups[n] = w->groups[n];
		n++;
	}
	c->ngroups = n;
	return 0;
}

static void caller_of(struct caller *c, struct who *w)
{
	memset(c, 0, sizeof(*c));
	c->uid = w->uid;
	c->gid = w->gid;
	c->get_groups = fake_get_groups;
	c->ctx = w;
	w->calls = 0;
}

/* A fresh caller for each question so that every answer is computed from
 * scratch; returns the rights and leaves w->calls. */
static unsigned rights_of(struct ident *id, struct who *w,
			  enum acl_class cls, const char *owner,
			  enum acl_area area)
{
	struct caller c;

	caller_of(&c, w);
	return acl_rights(id, &c, cls, owner, area);
}

static struct ident *make_ident(void)
{
	struct ident *id;

	if (!CHECK_INT_EQ(0, ident_new(&id), "ident_new"))
		exit(1);
	CHECK_INT_EQ(0, ident_add_team(id, "eng", GID_ENG), "add team eng");
	CHECK_INT_EQ(0, ident_add_team(id, "research", GID_RESEARCH),
		     "add team research");
	ident_set_admin_gid(id, GID_ADMIN);
	/* Team bits follow the order of ident_add_team: eng 0, research 1. */
	CHECK_INT_EQ(0, ident_add_user(id, "alice", 1001, 1001, 1u << 0),
		     "add user alice");
	CHECK_INT_EQ(0, ident_add_user(id, "bob", 1002, 1002, 1u << 0),
		     "add user bob");
	CHECK_INT_EQ(0, ident_add_user(id, "carol", 1003, 1003, 1u << 1),
		     "add user carol");
	CHECK_INT_EQ(0, ident_add_user(id, "dave", 1004, 1004, 0),
		     "add user dave");
	CHECK_INT_EQ(0, ident_add_user(id, "eve", 1005, 1005, 0),
		     "add user eve");
	CHECK_INT_EQ(0, ident_add_user(id, "frank", 1006, 1006, 3),
		     "add user frank");
	return id;
}

static struct who W_ROOT = { "root", 0, 0, { 0 }, 0, 0 };
static struct who W_ALICE = { "alice", 1001, 1001, { GID_ENG }, 0, 0 };
static struct who W_BOB = { "bob", 1002, 1002, { GID_OTHER, GID_ENG }, 0, 0 };
static struct who W_CAROL = { "carol", 1003, 1003, { GID_RESEARCH }, 0, 0 };
static struct who W_DAVE = { "dave", 1004, 1004, { GID_ADMIN }, 0, 0 };
static struct who W_EVE = { "eve", 1005, 1005, { GID_OTHER }, 0, 0 };
static struct who W_FRANK = { "frank", 1006, 1006,
			      { GID_ENG, GID_RESEARCH }, 0, 0 };

struct row {
	struct who *w;
	enum acl_class cls;
	const char *owner;
	enum acl_area area;
	unsigned want;
};

static void test_rights_table(struct ident *id)
{
	const struct row rows[] = {
		/* the top of the tree */
		{ &W_ROOT, ACL_TOP, NULL, ACL_SHARED, RW },
		{ &W_DAVE, ACL_TOP, NULL, ACL_SHARED, RW },
		{ &W_ALICE, ACL_TOP, NULL, ACL_SHARED, RO },
		{ &W_EVE, ACL_TOP, NULL, ACL_SHARED, RO },
		/* everything under system/ */
		{ &W_ROOT, ACL_SYSTEM, NULL, ACL_SHARED, RW },
		{ &W_DAVE, ACL_SYSTEM, NULL, ACL_SHARED, RW },
		{ &W_ALICE, ACL_SYSTEM, NULL, ACL_SHARED, RO },
		{ &W_CAROL, ACL_SYSTEM, NULL, ACL_SHARED, RO },
		{ &W_EVE, ACL_SYSTEM, NULL, ACL_SHARED, RO },
		{ &W_EVE, ACL_SYSTEM, NULL, ACL_PRIVATE, RO },
		/* everything under team/eng/ */
		{ &W_ROOT, ACL_TEAM, "eng", ACL_SHARED, RW },
		{ &W_DAVE, ACL_TEAM, "eng", ACL_SHARED, RW },
		{ &W_ALICE, ACL_TEAM, "eng", ACL_SHARED, RW },
		{ &W_BOB, ACL_TEAM, "eng", ACL_SHARED, RW },
		{ &W_FRANK, ACL_TEAM, "eng", ACL_SHARED, RW },
		{ &W_CAROL, ACL_TEAM, "eng", ACL_SHARED, RO },
		{ &W_EVE, ACL_TEAM, "eng", ACL_SHARED, RO },
		/* everything under team/research/ */
		{ &W_CAROL, ACL_TEAM, "research", ACL_SHARED, RW },
		{ &W_FRANK, ACL_TEAM, "research", ACL_SHARED, RW },
		{ &W_ALICE, ACL_TEAM, "research", ACL_SHARED, RO },
		/* user/alice shared: skills, workflows, history */
		{ &W_ROOT, ACL_USER, "alice", ACL_SHARED, RW },
		{ &W_DAVE, ACL_USER, "alice", ACL_SHARED, RW },
		{ &W_ALICE, ACL_USER, "alice", ACL_SHARED, RW },
		{ &W_BOB, ACL_USER, "alice", ACL_SHARED, RO },
		{ &W_FRANK, ACL_USER, "alice", ACL_SHARED, RO },
		{ &W_CAROL, ACL_USER, "alice", ACL_SHARED, NO },
		{ &W_EVE, ACL_USER, "alice", ACL_SHARED, NO },
		/* user/alice private: sessions, run */
		{ &W_ROOT, ACL_USER, "alice", ACL_PRIVATE, RW },
		{ &W_DAVE, ACL_USER, "alice", ACL_PRIVATE, RW },
		{ &W_ALICE, ACL_USER, "alice", ACL_PRIVATE, RW },
		{ &W_BOB, ACL_USER, "alice", ACL_PRIVATE, NO },
		{ &W_CAROL, ACL_USER, "alice", ACL_PRIVATE, NO },
		{ &W_EVE, ACL_USER, "alice", ACL_PRIVATE, NO },
		/* user/carol: frank shares research with her, alice does not */
		{ &W_FRANK, ACL_USER, "carol", ACL_SHARED, RO },
		{ &W_ALICE, ACL_USER, "carol", ACL_SHARED, NO },
		{ &W_CAROL, ACL_USER, "carol", ACL_SHARED, RW },
		/* user/eve: in no team, so nobody is her teammate */
		{ &W_ALICE, ACL_USER, "eve", ACL_SHARED, NO },
		{ &W_EVE, ACL_USER, "eve", ACL_SHARED, RW },
		{ &W_DAVE, ACL_USER, "eve", ACL_SHARED, RW },
		/* volumes that do not exist */
		{ &W_ALICE, ACL_USER, "nosuch", ACL_SHARED, NO },
		{ &W_DAVE, ACL_USER, "nosuch", ACL_SHARED, RW },
		{ &W_ROOT, ACL_USER, "nosuch", ACL_SHARED, RW },
		{ &W_ALICE, ACL_TEAM, "nosuch", ACL_SHARED, NO },
		{ &W_DAVE, ACL_TEAM, "nosuch", ACL_SHARED, RW },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		unsigned got = rights_of(id, r->w, r->cls, r->owner, r->area);

		CHECK(got == r->want, "rights: %s on %s%s%s (%s): %s (got %s)",
		      r->w->name, class_str(r->cls), r->owner ? "/" : "",
		      r->owner ? r->owner : "",
		      r->area == ACL_SHARED ? "shared" : "private",
		      rights_str(r->want), rights_str(got));
		CHECK(r->w->calls <= 1, "rights: %s on %s: groups fetched at "
		      "most once (%d calls)", r->w->name, class_str(r->cls),
		      r->w->calls);
	}
}

static void test_groups_lazily(struct ident *id)
{
	static const enum acl_class classes[] = { ACL_TOP, ACL_SYSTEM,
						  ACL_TEAM, ACL_USER };
	struct caller c;
	int root_calls = 0;

	/* Root never needs its groups. */
	for (size_t i = 0; i < 4; i++) {
		for (int a = 0; a < 2; a++) {
			const char *owner = classes[i] == ACL_TEAM ? "eng" :
					    classes[i] == ACL_USER ? "alice" :
					    NULL;

			caller_of(&c, &W_ROOT);
			CHECK_INT_EQ(RW, acl_rights(id, &c, classes[i], owner,
						    (enum acl_area)a),
				     "root has rw on %s",
				     class_str(classes[i]));
			root_calls += W_ROOT.calls;
		}
	}
	CHECK_INT_EQ(0, root_calls, "root's groups are never fetched");

	/* The owner of a user volume does not need groups either. */
	caller_of(&c, &W_ALICE);
	CHECK_INT_EQ(RW, acl_rights(id, &c, ACL_USER, "alice", ACL_SHARED),
		     "alice has rw on user/alice");
	CHECK_INT_EQ(RW, acl_rights(id, &c, ACL_USER, "alice", ACL_PRIVATE),
		     "alice has rw on user/alice private");
	CHECK_INT_EQ(0, W_ALICE.calls,
		     "groups are not fetched for the owner of a user volume");
	CHECK(!c.groups_loaded, "the caller's groups stay unloaded");

	/* One caller asked many questions fetches its groups once. */
	caller_of(&c, &W_BOB);
	CHECK_INT_EQ(RO, acl_rights(id, &c, ACL_USER, "alice", ACL_SHARED),
		     "bob reads user/alice");
	CHECK_INT_EQ(RW, acl_rights(id, &c, ACL_TEAM, "eng", ACL_SHARED),
		     "bob writes team/eng");
	CHECK_INT_EQ(RO, acl_rights(id, &c, ACL_TEAM, "research", ACL_SHARED),
		     "bob reads team/research");
	CHECK_INT_EQ(RO, acl_rights(id, &c, ACL_SYSTEM, NULL, ACL_SHARED),
		     "bob reads system");
	CHECK_INT_EQ(1, W_BOB.calls,
		     "one caller's groups are fetched exactly once");

	/* Where the answer depends on groups, they are fetched. */
	caller_of(&c, &W_CAROL);
	CHECK_INT_EQ(RW, acl_rights(id, &c, ACL_TEAM, "research", ACL_SHARED),
		     "carol writes team/research");
	CHECK_INT_EQ(1, W_CAROL.calls,
		     "groups are fetched when membership decides");
}

static void test_groups_edge(struct ident *id)
{
	struct who primary = { "primary-eng", 1007, GID_ENG, { 0 }, 0, 0 };
	struct who primary_admin = { "primary-admin", 1008, GID_ADMIN,
				     { 0 }, 0, 0 };
	struct who failing = { "failing", 1002, GID_ENG, { GID_ADMIN }, 1,
			       0 };
	struct who failing2 = { "failing2", 1004, 1004, { GID_ADMIN }, 1, 0 };
	struct caller c;

	CHECK_INT_EQ(RW, rights_of(id, &primary, ACL_TEAM, "eng", ACL_SHARED),
		     "a primary gid of a team makes a member");
	CHECK_INT_EQ(RO, rights_of(id, &primary, ACL_USER, "alice",
				   ACL_SHARED),
		     "a primary gid of a team makes a teammate");
	CHECK_INT_EQ(RW, rights_of(id, &primary_admin, ACL_SYSTEM, NULL,
				   ACL_SHARED),
		     "a primary gid of the admin group makes an admin");

	/* get_groups failing: only the primary gid counts. */
	CHECK_INT_EQ(RW, rights_of(id, &failing, ACL_TEAM, "eng", ACL_SHARED),
		     "failing get_groups: the primary gid still counts");
	CHECK_INT_EQ(RO, rights_of(id, &failing, ACL_SYSTEM, NULL,
				   ACL_SHARED),
		     "failing get_groups: no admin from unfetched groups");
	CHECK_INT_EQ(NO, rights_of(id, &failing2, ACL_USER, "alice",
				   ACL_SHARED),
		     "failing get_groups: a stranger stays a stranger");

	/* No callback at all. */
	memset(&c, 0, sizeof(c));
	c.uid = 1002;
	c.gid = GID_ENG;
	CHECK_INT_EQ(RW, acl_rights(id, &c, ACL_TEAM, "eng", ACL_SHARED),
		     "NULL get_groups: the primary gid counts");
	memset(&c, 0, sizeof(c));
	c.uid = 1005;
	c.gid = 1005;
	CHECK_INT_EQ(NO, acl_rights(id, &c, ACL_USER, "alice", ACL_SHARED),
		     "NULL get_groups: a stranger sees nothing of user/alice");

	caller_of(&c, &W_DAVE);
	CHECK(acl_is_admin(id, &c), "acl_is_admin: dave (admin group)");
	caller_of(&c, &W_ROOT);
	CHECK(acl_is_admin(id, &c), "acl_is_admin: root");
	CHECK_INT_EQ(0, W_ROOT.calls, "acl_is_admin: root needs no groups");
	caller_of(&c, &W_ALICE);
	CHECK(!acl_is_admin(id, &c), "acl_is_admin: alice is not");
}

/* A kept caller (the opener of a file) decides later exactly as its
 * request would have: its groups fetched once, at keep time, and never
 * again; and a different identity is never taken for it. */
static void test_kept_caller(struct ident *id)
{
	struct caller c, kept, other;

	caller_of(&c, &W_BOB);
	acl_caller_keep(&kept, &c);
	CHECK_INT_EQ(1, W_BOB.calls, "keep: the groups are fetched at once");
	CHECK(kept.get_groups == NULL && kept.ctx == NULL,
	      "keep: the kept caller has no way to fetch again");
	CHECK_INT_EQ(RW, acl_rights(id, &kept, ACL_TEAM, "eng", ACL_SHARED),
		     "keep: bob as kept still writes team/eng");
	CHECK_INT_EQ(NO, acl_rights(id, &kept, ACL_USER, "carol",
				    ACL_SHARED),
		     "keep: and still sees nothing of user/carol");
	CHECK_INT_EQ(1, W_BOB.calls, "keep: no fetch after the keep");

	caller_of(&c, &W_BOB);
	acl_caller_keep(&other, &c);
	CHECK(acl_caller_same(&kept, &other), "same: bob twice is one identity");
	caller_of(&c, &W_ALICE);
	acl_caller_keep(&other, &c);
	CHECK(!acl_caller_same(&kept, &other), "same: bob is not alice");
	caller_of(&c, &W_BOB);
	acl_caller_keep(&other, &c);
	other.groups[0] = GID_ADMIN;
	CHECK(!acl_caller_same(&kept, &other),
	      "same: bob with another group is not bob");
	other = kept;
	other.gid = 0;
	CHECK(!acl_caller_same(&kept, &other),
	      "same: bob with another gid is not bob");
	caller_of(&c, &W_ROOT);
	acl_caller_keep(&other, &c);
	CHECK(!acl_caller_same(&kept, &other), "same: root is not bob");
}

static void test_no_admin_group(void)
{
	struct ident *id;
	struct who w = { "gid0", 1001, 0, { 0 }, 0, 0 };
	struct who root = { "root", 0, 0, { 0 }, 0, 0 };

	if (!CHECK_INT_EQ(0, ident_new(&id), "ident_new (no admin group)"))
		return;
	ident_add_user(id, "alice", 1001, 1001, 0);
	/* Without an admin group, gid 0 (the default admin_gid value) must
	 * not make anyone an admin. */
	CHECK_INT_EQ(RO, rights_of(id, &w, ACL_SYSTEM, NULL, ACL_SHARED),
		     "no admin group: a caller in group 0 is not an admin");
	CHECK_INT_EQ(RW, rights_of(id, &root, ACL_SYSTEM, NULL, ACL_SHARED),
		     "no admin group: root is still an admin");
	ident_free(id);
}

static void test_ident(struct ident *id)
{
	struct ident_user u;
	struct ident_team t;
	int idx = -1;
	gid_t g[] = { GID_OTHER, GID_RESEARCH, GID_ENG };

	CHECK_INT_EQ(0, ident_user(id, "carol", &u), "ident_user finds carol");
	CHECK_INT_EQ(1003, u.uid, "carol's uid");
	CHECK_INT_EQ(-ENOENT, ident_user(id, "zed", &u),
		     "ident_user of an unknown name is ENOENT");
	CHECK_INT_EQ(0, ident_team(id, "research", &idx, &t),
		     "ident_team finds research");
	CHECK_INT_EQ(1, idx, "research is team 1");
	CHECK_INT_EQ(GID_RESEARCH, t.gid, "research's gid");
	CHECK_INT_EQ(3, ident_teams_of(id, g, 3),
		     "ident_teams_of maps gids to team bits");
	CHECK_INT_EQ(0, ident_user_at(id, 0, &u), "ident_user_at 0");
	CHECK_STR_EQ("alice", u.name, "users are listed in name order");
	CHECK_INT_EQ(0, ident_user_at(id, 5, &u), "ident_user_at 5");
	CHECK_STR_EQ("frank", u.name, "the sixth user is frank");
	CHECK_INT_EQ(-ENOENT, ident_user_at(id, 6, &u),
		     "ident_user_at past the end is ENOENT");
	CHECK_INT_EQ(-ENAMETOOLONG,
		     ident_add_user(id, "a-name-that-is-far-too-long-for-unix",
				    1, 1, 0),
		     "a user name over 32 bytes is refused");
}

int main(void)
{
	struct ident *id;

	test_decide_table();
	test_decide_edges();
	id = make_ident();
	test_rights_table(id);
	test_groups_lazily(id);
	test_groups_edge(id);
	test_ident(id);
	test_kept_caller(id);
	ident_free(id);
	test_no_admin_group();
	return unit_done();
}
