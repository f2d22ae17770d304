/* fs/caller.c: the identity of a request, with the supplementary groups
 * of the calling process fetched only when a decision needs them and
 * cached for a second per process (reading /proc costs more than most
 * requests). */
#include "fs/fs.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#define GCACHE_SLOTS 64
#define GCACHE_GROUPS 64

struct gcache_entry {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	time_t when;
	int n;
	gid_t groups[GCACHE_GROUPS];
};

static struct gcache_entry gcache[GCACHE_SLOTS];
static pthread_mutex_t gcache_lock = PTHREAD_MUTEX_INITIALIZER;

static time_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static int get_groups(struct caller *c)
{
	fuse_req_t req = c->ctx;
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct gcache_entry *e = &gcache[(unsigned)ctx->pid % GCACHE_SLOTS];
	time_t now = now_s();
	int n;

	pthread_mutex_lock(&gcache_lock);
	if (e->pid == ctx->pid && e->uid == c->uid && e->gid == c->gid &&
	    now - e->when < 1 && e->n >= 0) {
		c->ngroups = e->n;
		memcpy(c->groups, e->groups, (size_t)e->n * sizeof(gid_t));
		pthread_mutex_unlock(&gcache_lock);
		return 0;
	}
	pthread_mutex_unlock(&gcache_lock);

	n = fuse_req_getgroups(req, CALLER_MAX_GROUPS - 1, c->groups);
	if (n < 0)
		return n;	/* the process is gone: primary gid only */
	if (n > CALLER_MAX_GROUPS - 1)
		n = CALLER_MAX_GROUPS - 1;
	c->ngroups = n;
	if (n <= GCACHE_GROUPS) {
		pthread_mutex_lock(&gcache_lock);
		e->pid = ctx->pid;
		e->uid = c->uid;
		e->gid = c->gid;
		e->when = now;
		e->n = n;
		memcpy(e->groups, c->groups, (size_t)n * sizeof(gid_t));
		pthread_mutex_unlock(&gcache_lock);
	}
	return 0;
}

void fs_caller(fuse_req_t req, struct caller *c)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	c->uid = ctx->uid;
	c->gid = ctx->gid;
	c->get_groups = get_groups;
	c->ctx = req;
	c->groups_loaded = 0;
	c->ngroups = 0;
}
