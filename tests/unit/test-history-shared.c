/* tests/unit/test-history-shared.c: shared history (history.h, "Shared
 * stores") with two history engines, as two hosts, on one real local blob
 * store (the volumes' files and the objects) and one kv store: commits of
 * one seen by the other, a race of both, a head that moved by many
 * commits, objects checked by their id, a
 * damaged object and a head that names no commit refused with a message.
 * (The same over s3rver and redis-server, two mounts: t-history-shared.sh.)
 */
#include "core/history/history.h"
#include "core/store/blob_local.h"
#include "core/store/kv.h"
#include "core/util/log.h"
#include "unit.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define VOL "team/eng"
#define HEAD_KEY "history:team/eng:head"
#define MANY 300

static char top[256];
static struct blob *store;
static struct history_source *src;
static struct kv *kv;

struct host {
	char state[300];
	struct history *h;
	struct history_config cfg;
};

static void host_open(struct host *x, const char *name)
{
	memset(x, 0, sizeof(*x));
	snprintf(x->state, sizeof(x->state), "%s/%s", top, name);
	mkdir(x->state, 0700);
	x->cfg.state_dir = x->state;
	x->cfg.src = src;
	x->cfg.host = name;
	x->cfg.quiet_ms = 60000;
	x->cfg.pack_every = 50;	/* packs made under the shared objects */
	x->cfg.blob = store;
	x->cfg.kv = kv;
	if (!CHECK_INT_EQ(0, history_open(&x->h, &x->cfg), "host %s opens",
			  name))
		exit(1);
}

static int write_str(struct host *x, const char *user, const char *path,
		     const char *s)
{
	struct blob_meta m = { .mode = S_IFREG | 0644 };
	struct history_author a = { .uid = 1000, .user = user };
	struct history_change c = { .op = HISTORY_WRITE, .path = path,
				    .data = s, .len = strlen(s),
				    .mode = 0644 };
	char key[256];

	snprintf(key, sizeof(key), "volumes/%s/%s", VOL, path);
	store->ops->put(store, key, s, strlen(s), &m, NULL, 0);
	return history_note(x->h, VOL, &a, &c);
}

static uint64_t count(struct host *x)
{
	uint64_t n = 0;

	return history_count(x->h, VOL, &n) ? 0 : n;
}

static int read_head(struct host *x, const char *path, struct buf *out)
{
	struct history_id id;
	int rc = history_resolve(x->h, VOL, "HEAD", &id);

	out->len = 0;
	return rc ? rc : history_read(x->h, VOL, &id, path, out);
}

/* Readers catch up at most once a second per volume. */
static void next_second(void)
{
	usleep(1100 * 1000);
}

static void head_hex(char *out, size_t cap)
{
	struct buf b;

	buf_init(&b, 64);
	out[0] = '\0';
	if (kv_get(kv, HEAD_KEY, &b) == 0)
		snprintf(out, cap, "%.*s", (int)b.len, b.data);
	buf_release(&b);
}

static void *flush_one(void *arg)
{
	return (void *)(intptr_t)history_flush(((struct host *)arg)->h);
}

static void test_two_hosts(struct host *a, struct host *b)
{
	struct history_id id;
	char hex[HISTORY_HEX], head[64];
	pthread_t ta, tb;
	void *ra, *rb;
	struct buf out;

	buf_init(&out, 1 << 20);
	write_str(a, "alice", "skills/a.md", "from-a\n");
	CHECK_INT_EQ(0, history_flush(a->h), "host a commits");
	head_hex(head, sizeof(head));
	CHECK(history_resolve(a->h, VOL, "HEAD", &id) == 0 &&
	      strcmp(history_id_hex(&id, hex), head) == 0,
	      "the shared head is host a's commit: %s", head);
	CHECK_INT_EQ(1, count(b), "host b's history shows it");
	CHECK(read_head(b, "skills/a.md", &out) == 0 && out.len == 7 &&
	      memcmp(out.data, "from-a\n", 7) == 0,
	      "with its content, fetched from the store");
	write_str(b, "bob", "skills/b.md", "from-b\n");
	CHECK_INT_EQ(0, history_flush(b->h), "host b commits on it");
	next_second();
	CHECK_INT_EQ(2, count(a), "host a sees two commits");
	CHECK(read_head(a, "skills/b.md", &out) == 0 && out.len == 7,
	      "and host b's file at HEAD");

	/* Both at once: one wins the swap, the other builds again on it. */
	write_str(a, "alice", "skills/x.md", "x\n");
	write_str(b, "bob", "skills/y.md", "y\n");
	pthread_create(&ta, NULL, flush_one, a);
	pthread_create(&tb, NULL, flush_one, b);
	pthread_join(ta, &ra);
	pthread_join(tb, &rb);
	CHECK(ra == NULL && rb == NULL, "two hosts committing at once both "
	      "succeed (%d, %d)", (int)(intptr_t)ra, (int)(intptr_t)rb);
	next_second();
	CHECK_INT_EQ(4, count(a), "four commits in one line");
	CHECK(read_head(a, "skills/x.md", &out) == 0 &&
	      read_head(a, "skills/y.md", &out) == 0 &&
	      read_head(a, "skills/a.md", &out) == 0,
	      "the head has every file of both");
	CHECK_INT_EQ(4, count(b), "host b agrees");
	buf_release(&out);
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A head that moved by many commits: host b fetches them and its commit
 * list catches up by walking back to its last record. */
static void test_many(struct host *a, struct host *b)
{
	uint64_t before = count(a), n = 0;
	double t0;
	char path[64], data[32], packs[400];
	int tries = 0;

	for (int i = 0; i < MANY; i++) {
		snprintf(path, sizeof(path), "skills/many/%d.md", i % 50);
		snprintf(data, sizeof(data), "%d\n", i);
		write_str(a, "alice", path, data);
		if (history_flush(a->h))
			break;
	}
	CHECK(count(a) == before + MANY, "host a made %d commits, packing "
	      "every 50", MANY);
	snprintf(packs, sizeof(packs), "%s/history/%s.git/objects/pack",
		 a->state, VOL);
	CHECK(unit_count_entries(packs) >= 2, "host a's repository has packs");
	{
		struct buf out;

		buf_init(&out, 1 << 20);
		CHECK(read_head(a, "skills/many/49.md", &out) == 0 &&
		      out.len == 4 && memcmp(out.data, "299\n", 4) == 0,
		      "and reads from them");
		buf_release(&out);
	}
	next_second();
	t0 = mono();
	while ((n = count(b)) != before + MANY && tries++ < 30)
		next_second();
	CHECK(n == before + MANY, "host b catches up %d commits (%llu of "
	      "%llu) in %.1f s", MANY, (unsigned long long)n,
	      (unsigned long long)(before + MANY), mono() - t0);
}

/* A repository made before the history was shared becomes the shared
 * one: its objects are copied to the store, its head published. */
static void test_publish(struct host *b)
{
	struct blob_meta m = { .mode = S_IFREG | 0644 };
	struct history_author who = { .uid = 1000, .user = "carol" };
	struct history_change c = { .op = HISTORY_WRITE,
				    .path = "skills/old.md", .data = "old\n",
				    .len = 4, .mode = 0644 };
	struct host x;
	struct buf out, b2;
	uint64_t n = 0;

	buf_init(&out, 1 << 20);
	buf_init(&b2, 64);
	host_open(&x, "c");
	history_close(x.h);
	x.cfg.blob = NULL;
	x.cfg.kv = NULL;
	if (!CHECK_INT_EQ(0, history_open(&x.h, &x.cfg), "host c opens with "
			  "a history of its own"))
		return;
	store->ops->put(store, "volumes/user/carol/skills/old.md", "old\n", 4,
			&m, NULL, 0);
	history_note(x.h, "user/carol", &who, &c);
	CHECK_INT_EQ(0, history_flush(x.h), "and commits");
	CHECK_INT_EQ(-ENOENT, kv_get(kv, "history:user/carol:head", &b2),
		     "nothing shared yet");
	history_close(x.h);
	x.cfg.blob = store;
	x.cfg.kv = kv;
	CHECK_INT_EQ(0, history_open(&x.h, &x.cfg), "host c opens shared");
	history_count(x.h, "user/carol", &n);	/* asks the writer */
	CHECK(kv_get(kv, "history:user/carol:head", &b2) == 0 &&
	      b2.len == 40, "its head is published");
	n = 0;
	CHECK(history_count(b->h, "user/carol", &n) == 0 && n == 1,
	      "host b sees its commit");
	{
		struct history_id id;

		CHECK(history_resolve(b->h, "user/carol", "HEAD", &id) == 0 &&
		      history_read(b->h, "user/carol", &id, "skills/old.md",
				   &out) == 0 && out.len == 4,
		      "with its content, copied to the store");
	}
	history_close(x.h);
	buf_release(&out);
	buf_release(&b2);
}

static void test_damaged(struct host *a, struct host *b)
{
	struct blob_meta m = { .mode = S_IFREG | 0644 };
	char head[64], key[128], err[1024];
	static const char fake[] = "commit 3\0abc";
	struct buf out;
	uint64_t seen;

	buf_init(&out, 1 << 20);
	next_second();
	seen = count(b);
	write_str(a, "alice", "skills/c.md", "c\n");
	CHECK_INT_EQ(0, history_flush(a->h), "host a commits again");
	head_hex(head, sizeof(head));
	snprintf(key, sizeof(key), "history/%s/objects/%s", VOL, head);
	store->ops->put(store, key, fake, sizeof(fake) - 1, &m, NULL, 0);
	next_second();
	CHECK(count(b) == seen && seen > 0, "a damaged object in the store: "
	      "host b keeps its own view");
	history_error(b->h, VOL, err, sizeof(err));
	CHECK(strstr(err, "not the object it names") != NULL,
	      "and history_error says why: %s", err);
	write_str(b, "bob", "skills/d.md", "d\n");
	CHECK(history_flush(b->h) != 0, "host b does not commit on it");
	CHECK(read_head(b, "skills/c.md", &out) == -ENOENT,
	      "nor takes anything of it");

	kv_set(kv, HEAD_KEY, "nonsense", 8, 0);
	CHECK(history_flush(b->h) != 0, "a head that names no commit: no "
	      "commit either");
	history_error(b->h, VOL, err, sizeof(err));
	CHECK(strstr(err, "holds no commit id") != NULL, "said: %s", err);
	buf_release(&out);
}

int main(void)
{
	char dir[600];
	struct host a, b;

	log_set_level(LOG_LVL_ERR);
	unit_tmpdir(top, sizeof(top), "hist-shared");
	snprintf(dir, sizeof(dir), "%s/kv", top);
	if (blob_local_open(&store, top) ||
	    history_source_blob_new(&src, store) || kv_local_open(&kv, dir)) {
		printf("not ok - cannot open the stores\n");
		return 1;
	}
	host_open(&a, "a");
	host_open(&b, "b");
	test_two_hosts(&a, &b);
	test_many(&a, &b);
	test_publish(&b);
	test_damaged(&a, &b);
	history_close(a.h);
	history_close(b.h);
	kv_free(kv);
	src->ops->free(src);
	store->ops->free(store);
	unit_rm_rf(top);
	return unit_done();
}
