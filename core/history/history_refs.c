/* core/history/history_refs.c: a volume's branch head shared between
 * hosts (history.h, "Shared stores").
 *
 * The head of "main" is the kv key "history:<scope>:<volume>:head"
 * (kv.h; scope names the blob store, history_config), 40 hex digits.
 * The local branch of each host's repository follows it and is never
 * ahead of it: a commit is built on the shared head, its
 * objects stored in the blob store (history_odb.c), then the key swapped
 * from the parent to the commit (kv_cas); only then does the local
 * branch move. So the local branch is always a commit whose objects are
 * all here, and catching up is a fast-forward.
 *
 * Readers never call the network: hist_shared_poll() asks the writer
 * thread to catch up (at most once a second per volume) and waits a
 * bounded time for it; when that fails or takes longer, the reader shows
 * what this host has, and history/error says why.
 */
#include "core/history/history_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/store/kv.h"
#include "core/util/log.h"

#define HEAD_KEY_MAX (KV_KEY_MAX + 1)
#define POLL_EVERY_MS 1000
#define POLL_WAIT_MS 1500

int hist_shared(const struct history *h)
{
	return h->cfg.blob && h->cfg.kv;
}

static void head_key(const struct history *h, const struct hist_vol *v,
		     char *key, size_t cap)
{
	const char *s = h->cfg.scope;

	snprintf(key, cap, "history:%s%s%s:head", s ? s : "", s ? ":" : "",
		 v->name);
}

static int kv_failed(int rc, char *msg, size_t cap)
{
	snprintf(msg, cap, "%s (the shared head of the history)",
		 *kv_error() ? kv_error() : strerror(-rc));
	return rc;
}

/* The shared head: 0, -ENOENT when there is none yet, or -errno. */
static int head_get(struct history *h, struct hist_vol *v, git_oid *id,
		    char *msg, size_t cap)
{
	char key[HEAD_KEY_MAX];
	struct buf b;
	int rc;

	head_key(h, v, key, sizeof(key));
	buf_init(&b, 64);
	rc = kv_get(h->cfg.kv, key, &b);
	if (rc && rc != -ENOENT)
		rc = kv_failed(rc, msg, cap);
	if (!rc && (b.len != GIT_OID_HEXSZ ||
		    git_oid_fromstrn(id, b.data, GIT_OID_HEXSZ) < 0)) {
		git_error_clear();
		snprintf(msg, cap, "the key '%s' holds no commit id (%zu "
			 "bytes): delete it to publish this host's history",
			 key, b.len);
		rc = -EINVAL;
	}
	buf_release(&b);
	return rc;
}

int hist_head_cas(struct history *h, struct hist_vol *v, const git_oid *old,
		  const git_oid *id, char *msg, size_t cap)
{
	char key[HEAD_KEY_MAX], a[GIT_OID_HEXSZ + 1], b[GIT_OID_HEXSZ + 1];
	int rc;

	head_key(h, v, key, sizeof(key));
	if (old)
		git_oid_tostr(a, sizeof(a), old);
	git_oid_tostr(b, sizeof(b), id);
	rc = kv_cas(h->cfg.kv, key, old ? a : NULL, old ? GIT_OID_HEXSZ : 0,
		    b, GIT_OID_HEXSZ);
	if (rc && rc != -ESTALE)
		rc = kv_failed(rc, msg, cap);
	return rc;
}

/* Point the local branch at `id` (whose objects are all here). */
int hist_ref_set(git_repository *repo, const git_oid *id, char *msg,
		 size_t cap)
{
	git_reference *ref = NULL;
	int rc = git_reference_create(&ref, repo, "refs/heads/main", id, 1,
				      "llmunixfs: the shared head");

	git_reference_free(ref);
	return rc < 0 ? hist_git_err(rc, msg, cap) : 0;
}

int hist_wrepo_open(struct history *h, struct hist_vol *v, int create,
		    char *msg, size_t cap)
{
	int rc;

	if (v->wrepo)
		return 0;
	rc = hist_repo_open(h, v, create, &v->wrepo, msg, cap);
	if (rc || !hist_shared(h))
		return rc;
	rc = hist_odb_attach(h, v, v->wrepo, msg, cap);
	if (rc) {
		git_repository_free(v->wrepo);
		v->wrepo = NULL;
	}
	return rc;
}

static int local_head(git_repository *repo, git_oid *id, char *msg,
		      size_t cap)
{
	int rc = git_reference_name_to_id(id, repo, "HEAD");

	if (rc == GIT_ENOTFOUND || rc == GIT_EUNBORNBRANCH) {
		git_error_clear();
		return -ENOENT;
	}
	return rc < 0 ? hist_git_err(rc, msg, cap) : 0;
}

/* No shared head yet: this host's history, if it has one, becomes it
 * (a repository made before the history was shared). */
static int publish(struct history *h, struct hist_vol *v, char *msg,
		   size_t cap)
{
	git_oid mine;
	int rc = hist_wrepo_open(h, v, 0, msg, cap);

	if (rc == -ENOENT)
		return 0;
	if (!rc)
		rc = local_head(v->wrepo, &mine, msg, cap);
	if (rc == -ENOENT)
		return 0;
	if (!rc)
		rc = hist_odb_upload_all(v->wrepo, msg, cap);
	if (!rc)
		rc = hist_head_cas(h, v, NULL, &mine, msg, cap);
	return rc;
}

int hist_catch_up(struct history *h, struct hist_vol *v, char *msg,
		  size_t cap)
{
	git_oid shared, mine;
	int rc, tries = 0;

again:
	rc = head_get(h, v, &shared, msg, cap);
	if (rc == -ENOENT) {
		rc = publish(h, v, msg, cap);
		if (rc == -ESTALE && tries++ < 3)
			goto again;	/* another host published first */
		return rc;
	}
	if (rc)
		return rc;
	rc = hist_wrepo_open(h, v, 1, msg, cap);
	if (rc)
		return rc;
	rc = local_head(v->wrepo, &mine, msg, cap);
	if (rc == 0 && git_oid_equal(&mine, &shared))
		return 0;
	if (rc && rc != -ENOENT)
		return rc;
	rc = hist_odb_sync(v->wrepo, &shared, msg, cap);
	if (!rc)
		rc = hist_ref_set(v->wrepo, &shared, msg, cap);
	if (rc)
		return rc;
	/* The commit list catches up by walking back from the new head to
	 * its last record: a cost per new commit only. */
	pthread_mutex_lock(&v->imu);
	v->iok = 0;
	rc = hist_index_load(v, v->wrepo, msg, cap);
	pthread_mutex_unlock(&v->imu);
	return rc;
}

/* ---- readers ---- */

void hist_shared_poll(struct history *h, struct hist_vol *v)
{
	struct timespec ts;
	uint64_t ticket;
	int64_t now, due;

	if (!hist_shared(h))
		return;
	pthread_mutex_lock(&h->mu);
	now = hist_now_ms();
	/* An earlier look not answered yet: the writer is stuck on a slow
	 * store, and one reader waited for it already; the others show
	 * what this host has at once. */
	if (v->sync_done < v->sync_req ||
	    (v->polled_ms && now - v->polled_ms < POLL_EVERY_MS)) {
		pthread_mutex_unlock(&h->mu);
		return;
	}
	v->polled_ms = now;
	ticket = ++v->sync_req;
	pthread_cond_signal(&h->wake);
	/* The last look failed (history/error says why): look again in
	 * the background, but do not make this reader wait for it. */
	due = now + (v->sync_failing ? 0 : POLL_WAIT_MS);
	/* hist_now_ms() is CLOCK_MONOTONIC, as h->done's clock. */
	ts.tv_sec = due / 1000;
	ts.tv_nsec = (due % 1000) * 1000000;
	while (v->sync_done < ticket && !h->stop)
		if (pthread_cond_timedwait(&h->done, &h->mu, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&h->mu);
}

/* The writer's side (h->mu held; released meanwhile). */
void hist_shared_sync(struct history *h, struct hist_vol *v)
{
	char msg[HIST_ERR_MAX] = "";
	uint64_t ticket = v->sync_req;
	int rc;

	pthread_mutex_unlock(&h->mu);
	rc = hist_catch_up(h, v, msg, sizeof(msg));
	pthread_mutex_lock(&h->mu);
	if (rc) {
		hist_set_error_locked(h, v, "cannot read the shared history of "
				      "'%s': %s (history/ shows what this host "
				      "has)", v->name,
				      *msg ? msg : strerror(-rc));
		v->sync_failing = 1;
	} else {
		if (v->sync_failing && !v->failing)
			v->err[0] = '\0';
		v->sync_failing = 0;
		/* The shared stores answer again: commits waiting for them
		 * need not wait out their backoff. */
		if (v->failing)
			v->retry_at = 0;
	}
	v->sync_done = ticket;
	pthread_cond_broadcast(&h->done);
}
