/* core/ns/ident.c: users, teams and admins from the account database. */
#include "core/ns/ident.h"
#include "core/util/log.h"

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct ident {
	pthread_rwlock_t lock;
	const struct config *cfg;
	struct ident_user *users;	/* sorted by name */
	size_t nusers, ausers;
	struct ident_team teams[CONFIG_MAX_LIST];	/* config order */
	size_t nteams;
	gid_t admin_gid;
	int has_admin;
	uint64_t generation;
	pthread_mutex_t check_lock;
	time_t checked;
	struct timespec passwd_mtime, group_mtime;
};

int ident_new(struct ident **out)
{
	struct ident *id = calloc(1, sizeof(*id));

	if (!id)
		return -ENOMEM;
	pthread_rwlock_init(&id->lock, NULL);
	pthread_mutex_init(&id->check_lock, NULL);
	*out = id;
	return 0;
}

void ident_free(struct ident *id)
{
	if (!id)
		return;
	pthread_rwlock_destroy(&id->lock);
	pthread_mutex_destroy(&id->check_lock);
	free(id->users);
	free(id);
}

static int copy_name(char *dst, const char *src)
{
	size_t n = strlen(src);

	if (n == 0 || n >= IDENT_NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(dst, src, n + 1);
	return 0;
}

/* Callers hold the write lock. */
static int add_user_locked(struct ident *id, const char *name, uid_t uid,
			   gid_t gid, uint64_t teams)
{
	size_t lo = 0, hi = id->nusers;
	struct ident_user u;

	if (copy_name(u.name, name))
		return -ENAMETOOLONG;
	u.uid = uid;
	u.gid = gid;
	u.teams = teams;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(id->users[mid].name, name);

		if (c == 0) {
			id->users[mid] = u;
			return 0;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (id->nusers == id->ausers) {
		size_t n = id->ausers ? id->ausers * 2 : 16;
		struct ident_user *p = realloc(id->users, n * sizeof(*p));

		if (!p)
			return -ENOMEM;
		id->users = p;
		id->ausers = n;
	}
	memmove(id->users + lo + 1, id->users + lo,
		(id->nusers - lo) * sizeof(*id->users));
	id->users[lo] = u;
	id->nusers++;
	return 0;
}

int ident_add_user(struct ident *id, const char *name, uid_t uid, gid_t gid,
		   uint64_t teams)
{
	int rc;

	pthread_rwlock_wrlock(&id->lock);
	rc = add_user_locked(id, name, uid, gid, teams);
	id->generation++;
	pthread_rwlock_unlock(&id->lock);
	return rc;
}

int ident_add_team(struct ident *id, const char *name, gid_t gid)
{
	int rc = 0;

	pthread_rwlock_wrlock(&id->lock);
	if (id->nteams == CONFIG_MAX_LIST)
		rc = -ENOSPC;
	else if (copy_name(id->teams[id->nteams].name, name))
		rc = -ENAMETOOLONG;
	else
		id->teams[id->nteams++].gid = gid;
	id->generation++;
	pthread_rwlock_unlock(&id->lock);
	return rc;
}

void ident_set_admin_gid(struct ident *id, gid_t gid)
{
	pthread_rwlock_wrlock(&id->lock);
	id->admin_gid = gid;
	id->has_admin = 1;
	id->generation++;
	pthread_rwlock_unlock(&id->lock);
}

/* UID_MIN and UID_MAX from /etc/login.defs, with Debian's defaults. */
static void login_uid_range(uid_t *lo, uid_t *hi)
{
	char line[512];
	FILE *f = fopen("/etc/login.defs", "re");

	*lo = 1000;
	*hi = 60000;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char key[64];
		unsigned long v;

		if (sscanf(line, " %63s %lu", key, &v) != 2)
			continue;
		if (strcmp(key, "UID_MIN") == 0)
			*lo = (uid_t)v;
		else if (strcmp(key, "UID_MAX") == 0)
			*hi = (uid_t)v;
	}
	fclose(f);
}

/* Callers hold the lock, or are load_locked. */
static uint64_t teams_of_locked(struct ident *id, const gid_t *groups,
				size_t n)
{
	uint64_t mask = 0;

	for (size_t t = 0; t < id->nteams; t++)
		for (size_t i = 0; i < n; i++)
			if (groups[i] == id->teams[t].gid)
				mask |= (uint64_t)1 << t;
	return mask;
}

static uint64_t teams_of_account(struct ident *id, const char *name,
				 gid_t gid)
{
	gid_t groups[256];
	int n = 256;

	if (getgrouplist(name, gid, groups, &n) < 0)
		n = 256;	/* more groups than we look at: use the first */
	return teams_of_locked(id, groups, (size_t)n);
}

/* Rebuild the tables; called with id->lock held for writing. */
static int load_locked(struct ident *id)
{
	const struct config *cfg = id->cfg;
	struct passwd pw, *res;
	char pwbuf[4096];
	uid_t lo, hi;
	int rc = 0;

	id->nusers = 0;
	id->nteams = 0;
	id->has_admin = 0;
	for (size_t i = 0; i < cfg->nteams; i++) {
		struct group *g = getgrnam(cfg->teams[i]);

		if (!g) {
			log_warn("team '%s': no such group", cfg->teams[i]);
			continue;
		}
		copy_name(id->teams[id->nteams].name, cfg->teams[i]);
		id->teams[id->nteams++].gid = g->gr_gid;
	}
	if (cfg->admin_group) {
		struct group *g = getgrnam(cfg->admin_group);

		if (g) {
			id->admin_gid = g->gr_gid;
			id->has_admin = 1;
		}
	}
	login_uid_range(&lo, &hi);
	setpwent();
	while (getpwent_r(&pw, pwbuf, sizeof(pwbuf), &res) == 0 && res) {
		int named = 0;

		for (size_t i = 0; i < cfg->nusers; i++)
			if (strcmp(cfg->users[i], pw.pw_name) == 0)
				named = 1;
		if (!named && (pw.pw_uid < lo || pw.pw_uid > hi))
			continue;
		rc = add_user_locked(id, pw.pw_name, pw.pw_uid, pw.pw_gid, 0);
		if (rc == -ENAMETOOLONG) {
			rc = 0;	/* such a name cannot be a volume */
			continue;
		}
		if (rc)
			break;
	}
	endpwent();
	/* getgrouplist walks the group database: not under setpwent. */
	for (size_t i = 0; i < id->nusers; i++)
		id->users[i].teams = teams_of_account(id, id->users[i].name,
						      id->users[i].gid);
	id->generation++;
	return rc;
}

static void file_mtime(const char *path, struct timespec *ts)
{
	struct stat st;

	if (stat(path, &st) == 0)
		*ts = st.st_mtim;
	else
		ts->tv_sec = ts->tv_nsec = 0;
}

int ident_load(struct ident *id, const struct config *cfg)
{
	int rc;

	id->cfg = cfg;
	file_mtime("/etc/passwd", &id->passwd_mtime);
	file_mtime("/etc/group", &id->group_mtime);
	id->checked = time(NULL);
	pthread_rwlock_wrlock(&id->lock);
	rc = load_locked(id);
	pthread_rwlock_unlock(&id->lock);
	return rc;
}

static int ts_eq(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

int ident_refresh(struct ident *id)
{
	struct timespec pw, gr;
	time_t now = time(NULL);
	int changed = 0;

	if (!id->cfg)
		return 0;
	pthread_mutex_lock(&id->check_lock);
	if (now == id->checked)
		goto out;
	id->checked = now;
	file_mtime("/etc/passwd", &pw);
	file_mtime("/etc/group", &gr);
	if (ts_eq(&pw, &id->passwd_mtime) && ts_eq(&gr, &id->group_mtime))
		goto out;
	id->passwd_mtime = pw;
	id->group_mtime = gr;
	pthread_rwlock_wrlock(&id->lock);
	if (load_locked(id))
		log_warn("reloading the account database failed");
	pthread_rwlock_unlock(&id->lock);
	changed = 1;
out:
	pthread_mutex_unlock(&id->check_lock);
	return changed;
}

uint64_t ident_generation(struct ident *id)
{
	uint64_t g;

	pthread_rwlock_rdlock(&id->lock);
	g = id->generation;
	pthread_rwlock_unlock(&id->lock);
	return g;
}

int ident_user(struct ident *id, const char *name, struct ident_user *out)
{
	size_t lo = 0, hi;
	int rc = -ENOENT;

	pthread_rwlock_rdlock(&id->lock);
	hi = id->nusers;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(id->users[mid].name, name);

		if (c == 0) {
			*out = id->users[mid];
			rc = 0;
			break;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	pthread_rwlock_unlock(&id->lock);
	return rc;
}

int ident_user_by_uid(struct ident *id, uid_t uid, struct ident_user *out)
{
	int rc = -ENOENT;

	pthread_rwlock_rdlock(&id->lock);
	for (size_t i = 0; i < id->nusers; i++) {
		if (id->users[i].uid == uid) {
			*out = id->users[i];
			rc = 0;
			break;
		}
	}
	pthread_rwlock_unlock(&id->lock);
	return rc;
}

int ident_team(struct ident *id, const char *name, int *index,
	       struct ident_team *out)
{
	int rc = -ENOENT;

	pthread_rwlock_rdlock(&id->lock);
	for (size_t i = 0; i < id->nteams; i++) {
		if (strcmp(id->teams[i].name, name) == 0) {
			if (out)
				*out = id->teams[i];
			if (index)
				*index = (int)i;
			rc = 0;
			break;
		}
	}
	pthread_rwlock_unlock(&id->lock);
	return rc;
}

int ident_user_at(struct ident *id, size_t i, struct ident_user *out)
{
	int rc = -ENOENT;

	pthread_rwlock_rdlock(&id->lock);
	if (i < id->nusers) {
		*out = id->users[i];
		rc = 0;
	}
	pthread_rwlock_unlock(&id->lock);
	return rc;
}

int ident_team_at(struct ident *id, size_t i, struct ident_team *out)
{
	int rc = -ENOENT;

	pthread_rwlock_rdlock(&id->lock);
	if (i < id->nteams) {
		*out = id->teams[i];
		rc = 0;
	}
	pthread_rwlock_unlock(&id->lock);
	return rc;
}

uint64_t ident_teams_of(struct ident *id, const gid_t *groups, size_t n)
{
	uint64_t mask;

	pthread_rwlock_rdlock(&id->lock);
	mask = teams_of_locked(id, groups, n);
	pthread_rwlock_unlock(&id->lock);
	return mask;
}

int ident_is_admin_group(struct ident *id, const gid_t *groups, size_t n)
{
	int yes = 0;

	pthread_rwlock_rdlock(&id->lock);
	if (id->has_admin)
		for (size_t i = 0; i < n; i++)
			if (groups[i] == id->admin_gid)
				yes = 1;
	pthread_rwlock_unlock(&id->lock);
	return yes;
}
