/* core/history/history_index.c: the commit list of a volume, so that
 * HEAD~N, a date and a page of the log cost a read at a known offset and
 * never a walk of the history.
 *
 * <repo>/llmunix-commits: a 32-byte header, then one 32-byte record per
 * commit, oldest first: the id (20 bytes), the committer's offset from
 * UTC in minutes (int32) and the committer time (int64), both in this
 * machine's byte order (the file is derived and never leaves it). It is
 * checked against HEAD when first used: a crash between a commit and its
 * record is caught up by walking back from HEAD to the last record, and a
 * list that matches nothing is rebuilt from the whole history. Reads go
 * through a read-only mapping of the file (remapped as it grows), so the
 * binary searches of dates and days cost no system call per probe; every
 * access is under v->imu, which also covers a rebuild's truncation.
 */
#include "core/history/history_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util/log.h"

#define REC_SIZE 32
#define HDR_SIZE 32
static const char magic[16] = "llmunix-commits1";

static void rec_pack(unsigned char *p, const struct hist_rec *r)
{
	memset(p, 0, REC_SIZE);
	memcpy(p, r->id.id, GIT_OID_RAWSZ);
	memcpy(p + 20, &r->tz, sizeof(r->tz));
	memcpy(p + 24, &r->time, sizeof(r->time));
}

static void rec_unpack(const unsigned char *p, struct hist_rec *r)
{
	git_oid_fromraw(&r->id, p);
	memcpy(&r->tz, p + 20, sizeof(r->tz));
	memcpy(&r->time, p + 24, sizeof(r->time));
}

static int write_full(int fd, const void *data, size_t len, off_t off)
{
	const char *p = data;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static void unmap(struct hist_vol *v)
{
	if (v->imap)
		munmap(v->imap, v->imaplen);
	v->imap = NULL;
	v->imaplen = 0;
}

/* Map at least the records there are, with room to grow; NULL when the
 * mapping fails (out of address space). */
static const unsigned char *mapped(struct hist_vol *v)
{
	size_t need = HDR_SIZE + (size_t)v->icount * REC_SIZE, len;
	void *p;

	if (v->imap && v->imaplen >= need)
		return v->imap;
	unmap(v);
	len = (need + (1u << 20)) & ~(size_t)((1u << 20) - 1);
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, v->ifd, 0);
	if (p == MAP_FAILED)
		return NULL;
	v->imap = p;
	v->imaplen = len;
	return v->imap;
}

static int reset(struct hist_vol *v)
{
	unsigned char hdr[HDR_SIZE] = { 0 };

	memcpy(hdr, magic, sizeof(magic));
	v->icount = 0;
	unmap(v);
	if (ftruncate(v->ifd, 0) < 0)
		return -errno;
	return write_full(v->ifd, hdr, sizeof(hdr), 0);
}

int hist_index_get(struct hist_vol *v, uint64_t i, struct hist_rec *out)
{
	const unsigned char *map;

	if (i >= v->icount)
		return -ENOENT;
	map = mapped(v);
	if (!map)
		return -ENOMEM;
	rec_unpack(map + HDR_SIZE + i * REC_SIZE, out);
	return 0;
}

static int append_many(struct hist_vol *v, const struct hist_rec *r,
		       size_t n)
{
	unsigned char buf[256 * REC_SIZE];
	int rc;

	while (n) {
		size_t k = n < 256 ? n : 256;

		for (size_t i = 0; i < k; i++)
			rec_pack(buf + i * REC_SIZE, &r[i]);
		rc = write_full(v->ifd, buf, k * REC_SIZE,
				(off_t)(HDR_SIZE + v->icount * REC_SIZE));
		if (rc)
			return rc;
		v->icount += k;
		r += k;
		n -= k;
	}
	return 0;
}

int hist_index_append(struct hist_vol *v, const struct hist_rec *r)
{
	int rc = append_many(v, r, 1);

	if (rc)
		v->iok = 0;	/* caught up from HEAD next time */
	return rc;
}

struct recs {
	struct hist_rec *r;
	size_t n, alloc;
};

static int recs_add(struct recs *s, const git_commit *c)
{
	if (s->n == s->alloc) {
		size_t want = s->alloc ? 2 * s->alloc : 1024;
		struct hist_rec *p = realloc(s->r, want * sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->r = p;
		s->alloc = want;
	}
	git_oid_cpy(&s->r[s->n].id, git_commit_id(c));
	s->r[s->n].time = git_commit_time(c);
	s->r[s->n].tz = git_commit_time_offset(c);
	s->n++;
	return 0;
}

/* Walk first parents back from `head` until `stop` (NULL: the root);
 * *met says whether `stop` was met. The records come newest first. */
static int walk_back(git_repository *repo, const git_oid *head,
		     const git_oid *stop, struct recs *s, int *met,
		     char *msg, size_t cap)
{
	git_oid cur;
	int rc;

	*met = 0;
	git_oid_cpy(&cur, head);
	for (;;) {
		git_commit *c;

		if (stop && git_oid_equal(&cur, stop)) {
			*met = 1;
			return 0;
		}
		rc = git_commit_lookup(&c, repo, &cur);
		if (rc < 0)
			return hist_git_err(rc, msg, cap);
		rc = recs_add(s, c);
		if (!rc && git_commit_parentcount(c) > 0)
			git_oid_cpy(&cur, git_commit_parent_id(c, 0));
		else if (!rc)
			rc = 1;	/* the root */
		git_commit_free(c);
		if (rc)
			return rc < 0 ? rc : 0;
	}
}

static int open_file(struct hist_vol *v)
{
	char path[4096];
	unsigned char hdr[HDR_SIZE];
	struct stat st;

	if (v->ifd >= 0)
		return 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/llmunix-commits",
			     v->gitdir) >= sizeof(path))
		return -ENAMETOOLONG;
	v->ifd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (v->ifd < 0)
		return -errno;
	if (fstat(v->ifd, &st) < 0)
		return -errno;
	if (st.st_size < HDR_SIZE ||
	    pread(v->ifd, hdr, sizeof(hdr), 0) != HDR_SIZE ||
	    memcmp(hdr, magic, sizeof(magic)) != 0)
		return reset(v);
	v->icount = (uint64_t)(st.st_size - HDR_SIZE) / REC_SIZE;
	/* A record cut short by a crash. */
	if ((st.st_size - HDR_SIZE) % REC_SIZE &&
	    ftruncate(v->ifd, (off_t)(HDR_SIZE + v->icount * REC_SIZE)) < 0)
		return -errno;
	return 0;
}

int hist_index_load(struct hist_vol *v, git_repository *repo, char *msg,
		    size_t cap)
{
	struct recs s = { 0 };
	struct hist_rec last;
	git_oid head;
	int rc, met = 0;

	if (v->iok)
		return 0;
	rc = open_file(v);
	if (rc) {
		snprintf(msg, cap, "cannot open the commit list of '%s': %s",
			 v->name, strerror(-rc));
		return rc;
	}
	rc = git_reference_name_to_id(&head, repo, "HEAD");
	if (rc == GIT_ENOTFOUND || rc == GIT_EUNBORNBRANCH) {
		git_error_clear();
		rc = v->icount ? reset(v) : 0;
		goto out;
	}
	if (rc < 0) {
		rc = hist_git_err(rc, msg, cap);
		goto out;
	}
	if (v->icount) {
		rc = hist_index_get(v, v->icount - 1, &last);
		if (rc)
			goto out;
		if (git_oid_equal(&last.id, &head))
			goto out;
	}
	rc = walk_back(repo, &head, v->icount ? &last.id : NULL, &s, &met,
		       msg, cap);
	if (rc)
		goto out;
	if (!met && v->icount) {
		log_warn("history of '%s': the commit list does not match "
			 "HEAD; rebuilt from the repository", v->name);
		rc = reset(v);
		if (rc)
			goto out;
	}
	/* Oldest first. */
	for (size_t i = 0; i < s.n / 2; i++) {
		struct hist_rec t = s.r[i];

		s.r[i] = s.r[s.n - 1 - i];
		s.r[s.n - 1 - i] = t;
	}
	rc = append_many(v, s.r, s.n);
out:
	free(s.r);
	if (rc == 0)
		v->iok = 1;
	else if (msg && !*msg)
		snprintf(msg, cap, "cannot update the commit list of '%s': %s",
			 v->name, strerror(-rc));
	return rc;
}

void hist_index_close(struct hist_vol *v)
{
	unmap(v);
	if (v->ifd >= 0)
		close(v->ifd);
	v->ifd = -1;
	v->icount = 0;
	v->iok = 0;
}

int hist_index_find_prefix(struct hist_vol *v, const git_oid *prefix,
			   size_t len, git_oid *out, int *count)
{
	const unsigned char *map = mapped(v);

	*count = 0;
	if (!map)
		return -ENOMEM;
	for (uint64_t i = 0; i < v->icount; i++) {
		const unsigned char *rec = map + HDR_SIZE + i * REC_SIZE;
		git_oid id;

		/* Whole bytes first: most records differ there. */
		if (memcmp(rec, prefix->id, len / 2) != 0)
			continue;
		git_oid_fromraw(&id, rec);
		if (git_oid_ncmp(&id, prefix, len) != 0)
			continue;
		if (++*count == 1)
			git_oid_cpy(out, &id);
		else
			return 0;
	}
	return 0;
}

static int64_t time_at(struct hist_vol *v, uint64_t i, int *rc)
{
	struct hist_rec r;

	*rc = hist_index_get(v, i, &r);
	return *rc ? 0 : r.time;
}

int hist_index_at(struct hist_vol *v, int64_t t, uint64_t *pos)
{
	uint64_t lo = 0, hi = v->icount;
	int rc;

	/* The first record later than t is at lo. */
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		int64_t mt = time_at(v, mid, &rc);

		if (rc)
			return rc;
		if (mt <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return -ENOENT;
	*pos = lo - 1;
	return 0;
}

uint64_t hist_index_first_from(struct hist_vol *v, int64_t t, uint64_t lo,
			       uint64_t hi)
{
	uint64_t end = hi + 1;
	int rc;

	while (lo < end) {
		uint64_t mid = lo + (end - lo) / 2;
		int64_t mt = time_at(v, mid, &rc);

		if (rc)
			return hi + 1;
		if (mt < t)
			lo = mid + 1;
		else
			end = mid;
	}
	return lo;
}
