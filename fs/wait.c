/* fs/wait.c: reads that wait (a run's `wait` and `events`) without holding
 * a worker thread: the request is parked here and answered when the
 * engine notifies a change (DESIGN.md section 5), or with EINTR when the
 * reader is interrupted (Ctrl-C).
 *
 * A parked read is in one of two states: ARMED (waiting for a
 * notification) or CLAIMED (a thread is trying it; it parks it again or
 * answers it). Whoever answers a request first removes it from the list
 * under `mu`, so each is answered exactly once. libfuse may call the
 * interrupt function after the request was answered, so it is given an
 * id, not a pointer, and looks the id up.
 */
#include "fs/fs.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

enum { ARMED, CLAIMED };

struct parked {
	struct parked *next, *prev;
	uint64_t id;
	int state;
	int interrupted;
	fuse_req_t req;
	struct fs *fs;
	struct ns_file *f;
	size_t size;
	off_t off;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct parked *list;
static uint64_t gen;		/* notifications so far */
static uint64_t next_id;

/* Every read asks: an atomic load, not the lock (gen only changes under
 * mu, so readers holding mu may read it plainly). */
uint64_t fs_wait_gen(void)
{
	return __atomic_load_n(&gen, __ATOMIC_SEQ_CST);
}

/* mu held. */
static void unlist(struct parked *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		list = p->next;
	if (p->next)
		p->next->prev = p->prev;
}

static struct parked *find(uint64_t id)
{
	for (struct parked *p = list; p; p = p->next)
		if (p->id == id)
			return p;
	return NULL;
}

/* Answer `p`, already out of the list, and free it. */
static void answer(struct parked *p, ssize_t n, const char *buf)
{
	if (n < 0)
		fuse_reply_err(p->req, (int)-n);
	else
		fuse_reply_buf(p->req, buf, (size_t)n);
	free(p);
}

/* `p` is CLAIMED by the caller; `seen` is the notification count of its
 * last attempt. Try again until it is answered, or arm it when nothing
 * changed since. */
static void settle(struct parked *p, uint64_t seen)
{
	char *buf = malloc(p->size ? p->size : 1);

	for (;;) {
		ssize_t n;

		pthread_mutex_lock(&mu);
		if (p->interrupted || !buf) {
			unlist(p);
			pthread_mutex_unlock(&mu);
			answer(p, buf ? -EINTR : -ENOMEM, NULL);
			break;
		}
		if (gen == seen) {
			p->state = ARMED;
			pthread_mutex_unlock(&mu);
			break;
		}
		seen = gen;
		pthread_mutex_unlock(&mu);
		n = ns_read(p->fs->ns, p->f, buf, p->size, p->off);
		if (n != -EAGAIN) {
			pthread_mutex_lock(&mu);
			unlist(p);
			pthread_mutex_unlock(&mu);
			answer(p, n, buf);
			break;
		}
	}
	free(buf);
}

static void on_interrupt(fuse_req_t req, void *data)
{
	uint64_t id = (uint64_t)(uintptr_t)data;
	struct parked *p;

	(void)req;
	pthread_mutex_lock(&mu);
	p = find(id);
	if (p && p->state == ARMED) {
		unlist(p);
		pthread_mutex_unlock(&mu);
		answer(p, -EINTR, NULL);
		return;
	}
	if (p)
		p->interrupted = 1;	/* its claimer answers */
	pthread_mutex_unlock(&mu);
}

void fs_wait_park(fuse_req_t req, struct fs *fs, struct ns_file *f,
		  size_t size, off_t off, uint64_t seen)
{
	struct parked *p = calloc(1, sizeof(*p));

	if (!p) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	p->req = req;
	p->fs = fs;
	p->f = f;
	p->size = size;
	p->off = off;
	p->state = CLAIMED;
	pthread_mutex_lock(&mu);
	p->id = ++next_id;
	p->next = list;
	if (list)
		list->prev = p;
	list = p;
	pthread_mutex_unlock(&mu);
	fuse_req_interrupt_func(req, on_interrupt, (void *)(uintptr_t)p->id);
	settle(p, seen);
}

void fs_wait_notify(void *arg)
{
	struct parked **claimed = NULL, *p;
	size_t n = 0, k = 0;
	uint64_t before;

	(void)arg;
	pthread_mutex_lock(&mu);
	before = __atomic_fetch_add(&gen, 1, __ATOMIC_SEQ_CST);
	for (p = list; p; p = p->next)
		if (p->state == ARMED)
			n++;
	if (n)
		claimed = malloc(n * sizeof(*claimed));
	for (p = list; p && claimed; p = p->next) {
		if (p->state == ARMED) {
			p->state = CLAIMED;
			claimed[k++] = p;
		}
	}
	pthread_mutex_unlock(&mu);
	/* Without memory for the list, the next notification retries. */
	for (size_t i = 0; i < k; i++)
		settle(claimed[i], before);
	free(claimed);
}

void fs_wait_stop(void)
{
	struct parked *p;

	for (;;) {
		pthread_mutex_lock(&mu);
		for (p = list; p && p->state != ARMED; p = p->next)
			;
		if (p)
			unlist(p);
		pthread_mutex_unlock(&mu);
		if (!p)
			break;
		answer(p, -EINTR, NULL);
	}
}
