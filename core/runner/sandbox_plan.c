/* core/runner/sandbox_plan.c: what the child will do (struct sb_child in
 * sandbox_int.h), computed in the daemon before fork, where allocating
 * and reading files is allowed: the fds it keeps, its ids and groups, its
 * rlimits, the files it binds and the FUSE mounts it detaches. */
#include "core/runner/sandbox_int.h"
#include "core/runner/mountinfo.h"

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define SB_MAX_GROUPS 65536

/* The user's supplementary groups (the primary one at least). */
static int user_groups(const struct sandbox_spec *sp, gid_t **out,
		       size_t *n)
{
	int cap = 64, got;
	gid_t *g = NULL;

	for (;;) {
		gid_t *ng = realloc(g, (size_t)cap * sizeof(*g));

		if (!ng) {
			free(g);
			return -ENOMEM;
		}
		g = ng;
		got = cap;
		if (!sp->user || !*sp->user) {
			g[0] = sp->gid;
			got = 1;
			break;
		}
		if (getgrouplist(sp->user, sp->gid, g, &got) >= 0)
			break;
		if (got <= cap || cap >= SB_MAX_GROUPS) {
			/* Unknown user or silly numbers: the gid alone. */
			g[0] = sp->gid;
			got = 1;
			break;
		}
		cap = got > SB_MAX_GROUPS ? SB_MAX_GROUPS : got;
	}
	*out = g;
	*n = (size_t)got;
	return 0;
}

/* memory_mb is RLIMIT_AS unless the node's cgroup caps its memory; procs
 * is RLIMIT_NPROC only when neither the node's cgroup nor SB_PRLIMIT in
 * the sandbox does (then it counts all of the user's processes). */
static void set_rlimits(const struct runner_limits *lim,
			const struct sb_caps *caps, struct sb_child *x)
{
	static const int res[SB_NRLIM] = {
		RLIMIT_AS, RLIMIT_CPU, RLIMIT_NPROC, RLIMIT_FSIZE, RLIMIT_CORE,
	};
	double cpu = lim->cpu_s;
	rlim_t want[SB_NRLIM][2];

	if (!(cpu >= 1))	/* also NaN */
		cpu = 1;
	if (cpu > 1e9)
		cpu = 1e9;
	if (cpu > (double)(rlim_t)cpu)	/* round up, without libm */
		cpu = (double)((rlim_t)cpu + 1);
	want[0][0] = want[0][1] = lim->memory_mb && !caps->mem_cg ?
					  sb_mib(lim->memory_mb) :
					  RLIM_INFINITY;
	want[1][0] = (rlim_t)cpu;
	want[1][1] = (rlim_t)cpu + 1;
	want[2][0] = want[2][1] = lim->procs && !caps->pids_cg &&
					  !caps->nproc ?
					  lim->procs :
					  RLIM_INFINITY;
	want[3][0] = want[3][1] = sb_mib(lim->file_mb);
	want[4][0] = want[4][1] = 0;
	for (int i = 0; i < SB_NRLIM; i++) {
		struct rlimit cur;

		x->rlres[i] = res[i];
		x->rl[i].rlim_cur = want[i][0];
		x->rl[i].rlim_max = want[i][1];
		/* Never above the daemon's own hard limit (raising it
		 * would fail once the uid is dropped). */
		if (getrlimit(res[i], &cur) == 0 &&
		    cur.rlim_max != RLIM_INFINITY) {
			if (x->rl[i].rlim_max > cur.rlim_max)
				x->rl[i].rlim_max = cur.rlim_max;
			if (x->rl[i].rlim_cur > x->rl[i].rlim_max)
				x->rl[i].rlim_cur = x->rl[i].rlim_max;
		}
	}
}

/* The mount points of every FUSE filesystem (this daemon's mount among
 * them), from /proc/self/mountinfo. */
static int fuse_mounts(struct sandbox_strv *out)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;

	if (!f)
		return 0;	/* no /proc: nothing we can do here */
	while (!rc && getline(&line, &cap, f) > 0) {
		struct mountinfo mi;

		if (mountinfo_parse(line, &mi))
			continue;
		if (!strcmp(mi.fstype, "fuse") ||
		    !strncmp(mi.fstype, "fuse.", 5))
			rc = sandbox_strv_add(out, mi.point);
	}
	free(line);
	fclose(f);
	return rc;
}

/* The fds that become 0, 1, 2, and those bwrap is given (kept open). */
static void child_fds(const struct sb_fds *f, struct sb_child *x)
{
	struct rlimit nofile;

	x->in_fd = f->in;
	x->out_fd = f->out[1];
	x->err_fd = f->err[1];
	x->errpipe = f->errp[1];
	x->keep[0] = f->info[1];
	x->keep[1] = f->passwd;
	x->keep[2] = f->group;
	x->keep[3] = f->errp[1];
	x->nkeep = 4;
	for (int i = 0; i < x->nkeep; i++)	/* sort, four items */
		for (int j = i + 1; j < x->nkeep; j++)
			if (x->keep[j] < x->keep[i]) {
				int t = x->keep[i];

				x->keep[i] = x->keep[j];
				x->keep[j] = t;
			}
	x->maxfd = 65535;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 &&
	    nofile.rlim_cur < 65536)
		x->maxfd = (int)nofile.rlim_cur;
}

int sb_prepare_child(const struct sandbox_spec *sp, int root,
		     const struct sb_caps *caps, struct sb_fds *f,
		     struct sb_child *x, struct sandbox_strv *mnt)
{
	int rc = 0;

	child_fds(f, x);
	x->root = root;
	x->uid = sp->uid;
	x->gid = sp->gid;
	x->parent = getpid();
	x->work = sp->work;
	memset(&x->dfl, 0, sizeof(x->dfl));
	x->dfl.sa_handler = SIG_DFL;
	sigemptyset(&x->empty);
	x->cg = caps->cg.made ? &caps->cg : NULL;
	set_rlimits(sp->lim, caps, x);
	if (root && (rc = user_groups(sp, &x->groups, &x->ngroups)))
		return rc;
	/* The sources (checked to be files by open_fds()), room for their
	 * /proc/self/fd/N, and the mount points in the work folder. */
	for (size_t i = 0; root && i < sp->nfiles; i++) {
		if ((rc = sandbox_strv_add(&mnt[0], sp->files[i].src)) ||
		    (rc = sandbox_strv_add(&mnt[1],
					   "/proc/self/fd/0123456789ab")) ||
		    (rc = sandbox_strv_addf(&mnt[2], "%s/%s", sp->work,
					    sp->files[i].rel)))
			return rc;
	}
	x->mnt_src = mnt[0].v;
	x->mnt_buf = mnt[1].v;
	x->mnt_dst = mnt[2].v;
	x->nmnt = mnt[0].n;
	if (root && (rc = fuse_mounts(&mnt[3])))
		return rc;
	x->hide = mnt[3].v;
	x->nhide = mnt[3].n;
	return 0;
}
