/* core/run/run_cache.c: a node's result from the cache, and into it, see
 * exec_int.h. Runs on a worker with no lock held. */
#include "core/run/exec_int.h"
#include "core/util/log.h"
#include "core/runner/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int copy_file(const char *from, const char *to, uint64_t cap)
{
	int in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), out, rc = 0;
	char buf[65536];
	uint64_t total = 0;

	if (in < 0)
		return errno == ENOENT ? 0 : -errno;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		   0644);
	if (out < 0) {
		rc = -errno;
		close(in);
		return rc;
	}
	for (;;) {
		ssize_t k = read(in, buf, sizeof(buf));

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			rc = k < 0 ? -errno : 0;
			break;
		}
		total += (uint64_t)k;
		rc = total > cap ? -EFBIG : sandbox_write_all(out, buf, (size_t)k);
		if (rc)
			break;
	}
	close(in);
	if (close(out) && !rc)
		rc = -errno;
	return rc;
}

static void cache_dir_of(struct job_ctx *c, char *out, size_t cap)
{
	char hex[SHA256_HEX];

	snprintf(out, cap, "%s/%s/%s", c->e->cache_dir, c->r->user,
		 sha256_hex(c->r->nodes[c->i].key, hex));
}

/* The entry of this node's key in the index, pinned (eviction leaves it
 * alone) and made the most recently used. */
static struct centry *cache_pin(struct job_ctx *c)
{
	struct centry *ce;

	pthread_mutex_lock(&c->e->mu);
	ce = cache_find(c->e, c->r->qu, c->r->nodes[c->i].key);
	if (ce)
		ce->pins++;
	pthread_mutex_unlock(&c->e->mu);
	return ce;
}

/* What stdout and stderr under `dirfd` cost. */
static uint64_t captures_charge(int dirfd)
{
	uint64_t sum = 0;

	for (int k = 0; k < 2; k++) {
		struct stat st;

		sum += du_charge(fstatat(dirfd, k ? "stderr" : "stdout", &st,
					 0) ? 0 : (uint64_t)st.st_size);
	}
	return sum;
}

static void cache_unpin(struct job_ctx *c, struct centry *ce)
{
	pthread_mutex_lock(&c->e->mu);
	ce->pins--;
	pthread_mutex_unlock(&c->e->mu);
}

/* A cached result, copied into the record: 1 when there was one (the node
 * may still have failed: no room for it in the quota). */
int cache_fetch(struct job_ctx *c, struct exec_result *res)
{
	char dir[4300], from[4400], to[4400];
	struct du out = { 0, 0, 0 };
	json_t *outputs = NULL;
	char *text = NULL;
	uint64_t before = c->held;
	struct centry *ce;
	int fd, rc, hit = 0;

	ce = cache_pin(c);
	if (!ce)
		return 0;
	cache_dir_of(c, dir, sizeof(dir));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		goto out;	/* removed by hand: run again */
	rec_get(fd, "outputs.json", 64u << 20, &text);
	outputs = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	if (!json_is_object(outputs))
		goto out_fd;	/* damaged: run again */
	/* stdout and stderr are linked, but counted in both places */
	if (exec_reserve(c, captures_charge(fd), "the cached result", res)) {
		hit = 1;
		goto out_fd;
	}
	rc = exec_keep_outputs(c, dir, outputs, "the cached result", &out, res);
	if (rc) {
		hit = rc < 0;
		if (rc > 0) {	/* could not copy out/: run again */
			free(res->error);
			res->error = NULL;
		}
		goto out_fd;
	}
	for (int k = 0; k < 2; k++) {
		const char *f = k ? "stderr" : "stdout";

		snprintf(from, sizeof(from), "%s/%s", dir, f);
		snprintf(to, sizeof(to), "%s/%s/%s", c->dir, c->rel, f);
		/* Nobody writes either file again: they may share it. */
		if (linkat(AT_FDCWD, from, AT_FDCWD, to, 0) &&
		    (rc = copy_file(from, to, c->lim.output_mb << 20)))
			log_warn("run '%s': node '%s': cached %s not copied: %s",
				 c->r->name, c->id, f, strerror(-rc));
	}
	exec_putf(c, "exitcode", "0\n");
	/* its mtime is its last use: the order of eviction after a
	 * restart */
	futimens(fd, NULL);
	res->st = NODE_CACHED;
	res->outputs = outputs;
	outputs = NULL;
	hit = 1;
out_fd:
	close(fd);
out:
	cache_unpin(c, ce);
	json_decref(outputs);
	if (!hit)
		exec_unreserve(c, c->held - before);
	return hit;
}

/* What a cache entry of this node's result costs: its folder, out/ (as
 * measured in `out`, or an empty folder), outputs.json of `len` bytes,
 * stdout and stderr. */
static uint64_t cache_estimate(struct job_ctx *c, const struct du *out,
			       size_t len)
{
	uint64_t want = DU_BLOCK + (out->entries ? out->charge : DU_BLOCK) +
			du_charge(len);
	int fd = openat(c->r->dirfd, c->rel, O_RDONLY | O_DIRECTORY |
			O_CLOEXEC);

	if (fd >= 0) {
		want += captures_charge(fd);
		close(fd);
	} else {
		want += 2 * (uint64_t)(c->lim.output_mb << 20);
	}
	return want;
}

/* Keep the node's result in the cache, when there is room for it after
 * evicting older entries; without room the cache is skipped, not the
 * node. */
void cache_store(struct job_ctx *c, const char *work, json_t *outputs,
		 const struct du *out)
{
	char udir[4200], tmp[4300], dir[4300], from[4400], to[4400], err[1024];
	struct quser *qu = c->r->qu;
	uint64_t seq, want = 0, cap = c->lim.file_mb << 20;
	struct du du = { 0, 0, 0 };
	char *text;

	tmp[0] = '\0';
	text = json_dumps(outputs, JSON_COMPACT | JSON_REAL_PRECISION(17));
	if (!text)
		return;
	snprintf(udir, sizeof(udir), "%s/%s", c->e->cache_dir, c->r->user);
	if (mkdir(udir, 0700) && errno != EEXIST)
		goto out;
	pthread_mutex_lock(&c->e->mu);
	seq = ++c->e->seq;
	want = cache_estimate(c, out, strlen(text));
	if (quota_reserve(c->e, qu, want, "the cached result", err,
			  sizeof(err))) {
		want = 0;
		log_debug("run '%s': node '%s' not cached: %s", c->r->name,
			  c->id, err);
	}
	pthread_mutex_unlock(&c->e->mu);
	if (!want)
		goto out;
	snprintf(tmp, sizeof(tmp), "%s/.tmp-%llu", udir,
		 (unsigned long long)seq);
	if (mkdir(tmp, 0700)) {
		tmp[0] = '\0';
		goto out;
	}
	snprintf(to, sizeof(to), "%s/outputs.json", tmp);
	{
		int fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			      0600);
		int rc = fd < 0 ? -errno :
				  sandbox_write_all(fd, text, strlen(text));

		if (fd >= 0 && close(fd) && !rc)
			rc = -errno;
		if (rc)
			goto out;
	}
	snprintf(to, sizeof(to), "%s/out", tmp);
	if (out->bytes < cap)
		cap = out->bytes;	/* as measured and reserved */
	if (runner_copy_out(work, to, MAX_OUT_FILES, cap, err, sizeof(err)))
		goto out;
	for (int k = 0; k < 2; k++) {
		const char *f = k ? "stderr" : "stdout";

		snprintf(from, sizeof(from), "%s/%s/%s", c->dir, c->rel, f);
		snprintf(to, sizeof(to), "%s/%s", tmp, f);
		if (copy_file(from, to, c->lim.output_mb << 20))
			goto out;
	}
	du_tree(AT_FDCWD, tmp, SIZE_MAX, &du);
	cache_dir_of(c, dir, sizeof(dir));
	if (rename(tmp, dir))
		goto out;	/* another run stored it first */
	tmp[0] = '\0';
	pthread_mutex_lock(&c->e->mu);
	if (cache_put(c->e, qu, c->r->nodes[c->i].key, du.charge))
		runner_work_remove(dir);	/* cannot count it: drop it */
	pthread_mutex_unlock(&c->e->mu);
out:
	free(text);
	if (tmp[0])
		runner_work_remove(tmp);
	if (want) {
		pthread_mutex_lock(&c->e->mu);
		quota_unhold(qu, want);
		pthread_mutex_unlock(&c->e->mu);
	}
}
