/* tests/unit/test-history.c: the history engine (core/history/history.h)
 * against real repositories on a temporary state folder, with the real
 * local blob store as the volumes' files and the real git CLI as the
 * reader that must agree: commits and their authors, grouping, editor
 * noise, trees and blobs byte for byte, names of commits, dates, per-file
 * logs, a crash (SIGKILL) before the commit, a full disk (a small tmpfs,
 * as root) and a corrupt repository. */
#include "core/history/history.h"
#include "core/store/blob_local.h"
#include "core/util/log.h"
#include "unit.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define HOST "test.host"

struct env {
	char state[256];
	struct blob *blob;
	struct history_source *src;
	struct history *h;
	struct history_config cfg;
};

/* ---- helpers ---- */

static void env_start(struct env *e)
{
	int rc = history_open(&e->h, &e->cfg);

	if (!CHECK_INT_EQ(0, rc, "history_open on %s", e->state))
		exit(1);
}

/* A store and a configuration from `tmpl` (its times and limits) on a
 * new state folder; the history is opened when `start`. */
static void env_open_with(struct env *e, const char *name,
			  const struct history_config *tmpl, int start)
{
	memset(e, 0, sizeof(*e));
	unit_tmpdir(e->state, sizeof(e->state), name);
	if (blob_local_open(&e->blob, e->state) ||
	    history_source_blob_new(&e->src, e->blob)) {
		printf("not ok - %s: cannot open the store\n", name);
		exit(1);
	}
	e->cfg = *tmpl;
	e->cfg.state_dir = e->state;
	e->cfg.src = e->src;
	e->cfg.host = HOST;
	if (start)
		env_start(e);
}

static void env_open(struct env *e, const char *name, unsigned quiet_ms)
{
	struct history_config c = { .quiet_ms = quiet_ms };

	env_open_with(e, name, &c, 1);
}

static void env_reopen(struct env *e)
{
	history_close(e->h);
	env_start(e);
}

static void env_close(struct env *e)
{
	history_close(e->h);
	e->src->ops->free(e->src);
	e->blob->ops->free(e->blob);
	unit_rm_rf(e->state);
}

static void gitdir(const struct env *e, const char *vol, char *out,
		   size_t cap)
{
	snprintf(out, cap, "%s/history/%s.git", e->state, vol);
}

static void key_of(char *out, size_t cap, const char *vol, const char *path)
{
	snprintf(out, cap, "volumes/%s/%s", vol, path);
}

static int store_put(struct env *e, const char *vol, const char *path,
		     const void *data, size_t len, mode_t mode)
{
	struct blob_meta m = { .mode = S_IFREG | mode };
	char key[1200];

	key_of(key, sizeof(key), vol, path);
	return e->blob->ops->put(e->blob, key, data, len, &m, NULL, 0);
}

static struct history_author who(const char *user)
{
	struct history_author a = { .uid = 1000, .user = user };

	return a;
}

/* Store a file and note it, as the namespace does at close. */
static int write_as(struct env *e, const char *vol, const char *user,
		    const char *path, const void *data, size_t len)
{
	struct history_author a = who(user);
	struct history_change c = { .op = HISTORY_WRITE, .path = path,
				    .data = data, .len = len,
				    .mode = 0644 };

	store_put(e, vol, path, data, len, 0644);
	return history_note(e->h, vol, &a, &c);
}

static int write_str(struct env *e, const char *vol, const char *user,
		     const char *path, const char *s)
{
	return write_as(e, vol, user, path, s, strlen(s));
}

static int unlink_as(struct env *e, const char *vol, const char *user,
		     const char *path)
{
	struct history_author a = who(user);
	struct history_change c = { .op = HISTORY_UNLINK, .path = path };
	char key[1200];

	key_of(key, sizeof(key), vol, path);
	e->blob->ops->del(e->blob, key);
	return history_note(e->h, vol, &a, &c);
}

static int rename_as(struct env *e, const char *vol, const char *user,
		     const char *from, const char *to)
{
	struct history_author a = who(user);
	struct history_change c = { .op = HISTORY_RENAME, .path = from,
				    .to = to };
	char k1[1200], k2[1200];

	key_of(k1, sizeof(k1), vol, from);
	key_of(k2, sizeof(k2), vol, to);
	e->blob->ops->rename(e->blob, k1, k2);
	return history_note(e->h, vol, &a, &c);
}

static uint64_t count(struct env *e, const char *vol)
{
	uint64_t n = 0;

	if (history_count(e->h, vol, &n))
		return 0;
	return n;
}

/* Run git --git-dir=DIR ARGS..., its output into `out`; the exit status,
 * or -1 when it could not run. */
static int git(struct buf *out, const char *dir, const char *const *args)
{
	static char *envp[] = { "PATH=/usr/bin:/bin", "HOME=/nonexistent",
				"GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C", NULL };
	char gd[600];
	const char *argv[24];
	int p[2], status;
	size_t n = 0;
	pid_t pid;

	snprintf(gd, sizeof(gd), "--git-dir=%s", dir);
	argv[n++] = "git";
	argv[n++] = gd;
	for (; *args && n < 23; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	if (out) {
		out->len = 0;
		if (out->data)
			out->data[0] = '\0';
	}
	if (pipe(p) < 0)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execve("/usr/bin/git", (char *const *)argv, envp);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		char chunk[4096];
		ssize_t k = read(p[0], chunk, sizeof(chunk));

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		if (out)
			buf_append(out, chunk, (size_t)k);
	}
	close(p[0]);
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	if (out && out->data == NULL)
		buf_append(out, "", 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define GIT(out, dir, ...) git(out, dir, (const char *const[]){ __VA_ARGS__, NULL })

/* The output of a git command, trailing newline removed. */
static const char *git_str(struct buf *out, const char *dir,
			   const char *const *args)
{
	if (git(out, dir, args) != 0)
		return "(git failed)";
	while (out->len && out->data[out->len - 1] == '\n')
		out->data[--out->len] = '\0';
	return out->data;
}

#define GIT_STR(out, dir, ...) \
	git_str(out, dir, (const char *const[]){ __VA_ARGS__, NULL })

static int count_char(const char *s, char c)
{
	int n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

static int resolve(struct env *e, const char *vol, const char *spec,
		   char hex[HISTORY_HEX])
{
	struct history_id id;
	int rc = history_resolve(e->h, vol, spec, &id);

	if (rc == 0)
		history_id_hex(&id, hex);
	else
		hex[0] = '\0';
	return rc;
}

static int read_at(struct env *e, const char *vol, const char *spec,
		   const char *path, struct buf *out)
{
	struct history_id id;
	int rc = history_resolve(e->h, vol, spec, &id);

	out->len = 0;
	return rc ? rc : history_read(e->h, vol, &id, path, out);
}

/* ---- commits ---- */

static void test_author_and_trailers(void)
{
	struct history_author a = { .uid = 0, .user = "root", .run = "vqe-h2",
				    .session = "research", .tool = "vim" };
	struct history_change c = { .op = HISTORY_WRITE,
				    .path = "skills/x.md",
				    .data = "hello\n", .len = 6 };
	struct passwd *pw = getpwnam("root");
	char dir[600], want[300], full[128];
	struct buf out;
	struct env e;

	buf_init(&out, 0);
	env_open(&e, "hist-author", 5000);
	store_put(&e, "user/alice", "skills/x.md", "hello\n", 6, 0644);
	CHECK_INT_EQ(0, history_note(e.h, "user/alice", &a, &c),
		     "note a write with trailers");
	CHECK_INT_EQ(0, history_flush(e.h), "flush commits it");
	CHECK_INT_EQ(1, count(&e, "user/alice"), "one commit");
	gitdir(&e, "user/alice", dir, sizeof(dir));
	snprintf(full, sizeof(full), "%.*s",
		 pw && pw->pw_gecos && *pw->pw_gecos ?
			 (int)strcspn(pw->pw_gecos, ",") : 4,
		 pw && pw->pw_gecos && *pw->pw_gecos ? pw->pw_gecos : "root");
	snprintf(want, sizeof(want), "%s|root@" HOST "|llmunixfs|llmunixfs@" HOST,
		 full);
	CHECK_STR_EQ(want, GIT_STR(&out, dir, "log", "-1",
				   "--format=%an|%ae|%cn|%ce"),
		     "git log: author is the account's name, committer the "
		     "daemon");
	CHECK_STR_EQ("add skills/x.md", GIT_STR(&out, dir, "log", "-1",
						"--format=%s"),
		     "git log: the subject says what changed");
	CHECK_STR_EQ("vqe-h2\n|research\n|vim",
		     GIT_STR(&out, dir, "log", "-1",
			     "--format=%(trailers:key=Run,valueonly)|"
			     "%(trailers:key=Session,valueonly)|"
			     "%(trailers:key=Tool,valueonly)"),
		     "git parses the Run:, Session: and Tool: trailers");
	CHECK_STR_EQ("hello", GIT_STR(&out, dir, "cat-file", "-p",
				      "HEAD:skills/x.md"),
		     "git cat-file shows the content");
	CHECK_STR_EQ("main", GIT_STR(&out, dir, "symbolic-ref", "--short",
				     "HEAD"),
		     "the branch is main");
	CHECK_INT_EQ(0, GIT(&out, dir, "fsck", "--full", "--strict"),
		     "git fsck --full --strict is clean");

	/* A user the account database does not know: the login. */
	CHECK_INT_EQ(0, write_str(&e, "user/alice", "nosuch-zz", "skills/y.md",
				  "y\n"), "note as an unknown account");
	history_flush(e.h);
	CHECK_STR_EQ("nosuch-zz|nosuch-zz@" HOST,
		     GIT_STR(&out, dir, "log", "-1", "--format=%an|%ae"),
		     "an unknown account: the login as name");
	CHECK_STR_EQ("add skills/y.md", GIT_STR(&out, dir, "log", "-1",
						"--format=%s"),
		     "a new file says add");
	CHECK_STR_EQ("", GIT_STR(&out, dir, "log", "-1", "--format=%b"),
		     "no trailers when none were given");
	env_close(&e);
	buf_release(&out);
}

static void test_grouping(void)
{
	char dir[600];
	struct buf out;
	struct env e;

	buf_init(&out, 0);
	env_open(&e, "hist-group", 60000);
	gitdir(&e, "team/eng", dir, sizeof(dir));
	write_str(&e, "team/eng", "alice", "skills/a.md", "a\n");
	write_str(&e, "team/eng", "alice", "skills/b.md", "b\n");
	write_str(&e, "team/eng", "alice", "workflows/w.json", "{}\n");
	write_str(&e, "team/eng", "alice", "skills/a.md", "a2\n");
	CHECK_INT_EQ(0, count(&e, "team/eng"),
		     "nothing is committed within the quiet time");
	CHECK_INT_EQ(0, history_flush(e.h), "flush");
	CHECK_INT_EQ(1, count(&e, "team/eng"),
		     "four changes by one author: one commit");
	CHECK_STR_EQ("add 3 files", GIT_STR(&out, dir, "log", "-1",
					    "--format=%s"),
		     "the subject counts the files");
	CHECK(strstr(GIT_STR(&out, dir, "log", "-1", "--format=%b"),
		     "A  skills/a.md\nA  skills/b.md\nA  workflows/w.json") !=
		      NULL,
	      "the body lists them");
	CHECK_STR_EQ("a2", GIT_STR(&out, dir, "cat-file", "-p",
				   "HEAD:skills/a.md"),
		     "the last write of a file in a group wins");

	/* Authors alternate: each run of one author is a commit, in order. */
	write_str(&e, "team/eng", "alice", "skills/a.md", "a3\n");
	write_str(&e, "team/eng", "bob", "skills/a.md", "b3\n");
	write_str(&e, "team/eng", "alice", "skills/b.md", "b4\n");
	history_flush(e.h);
	CHECK_INT_EQ(4, count(&e, "team/eng"), "alice, bob, alice: three "
		     "more commits");
	CHECK_STR_EQ("alice update skills/b.md\nbob update skills/a.md\n"
		     "alice update skills/a.md",
		     GIT_STR(&out, dir, "log", "-3", "--format=%an %s",
			     "--no-walk=unsorted", "HEAD", "HEAD~1", "HEAD~2"),
		     "each commit has its author and its change");
	CHECK_STR_EQ("b3", GIT_STR(&out, dir, "cat-file", "-p",
				   "HEAD:skills/a.md"),
		     "bob's later write is what HEAD has");

	/* Trailers split groups too. */
	{
		struct history_author a = { .uid = 1000, .user = "alice",
					    .run = "r1" };
		struct history_change c = { .op = HISTORY_WRITE,
					    .path = "skills/c.md",
					    .data = "c", .len = 1 };

		write_str(&e, "team/eng", "alice", "skills/d.md", "d");
		store_put(&e, "team/eng", "skills/c.md", "c", 1, 0644);
		history_note(e.h, "team/eng", &a, &c);
		history_flush(e.h);
		CHECK_INT_EQ(6, count(&e, "team/eng"),
			     "the same author from a run is another commit");
	}

	rename_as(&e, "team/eng", "alice", "skills/a.md", "skills/z.md");
	history_flush(e.h);
	CHECK_STR_EQ("rename skills/a.md to skills/z.md",
		     GIT_STR(&out, dir, "log", "-1", "--format=%s"),
		     "a rename says so");
	unlink_as(&e, "team/eng", "alice", "skills/z.md");
	history_flush(e.h);
	CHECK_STR_EQ("delete skills/z.md",
		     GIT_STR(&out, dir, "log", "-1", "--format=%s"),
		     "an unlink says delete");
	write_str(&e, "team/eng", "alice", "skills/n.md", "n");
	unlink_as(&e, "team/eng", "alice", "skills/d.md");
	write_str(&e, "team/eng", "alice", "skills/b.md", "b5");
	history_flush(e.h);
	CHECK_STR_EQ("change 3 files (1 added, 1 updated, 1 deleted)",
		     GIT_STR(&out, dir, "log", "-1", "--format=%s"),
		     "mixed changes are counted by kind");
	env_close(&e);
	buf_release(&out);
}

static void test_quiet_time(void)
{
	struct env e;
	int i;

	env_open(&e, "hist-quiet", 50);
	write_str(&e, "system", "root", "skills/q.md", "q");
	/* Committed by the background thread alone: wait up to 10 s. */
	for (i = 0; i < 1000 && count(&e, "system") == 0; i++)
		usleep(10000);
	CHECK_INT_EQ(1, count(&e, "system"),
		     "a change is committed after the quiet time, unflushed");
	env_close(&e);
}

static void test_max_delay(void)
{
	struct env e;
	uint64_t during;

	env_open_with(&e, "hist-delay",
		      &(struct history_config){ .quiet_ms = 1000,
						.max_delay_ms = 1000 }, 1);
	/* A change every 50 ms for 3 s never leaves a quiet second. */
	for (int i = 0; i < 60; i++) {
		char data[16];

		snprintf(data, sizeof(data), "%d", i);
		write_str(&e, "user/busy", "alice", "skills/tick.md", data);
		usleep(50000);
	}
	during = count(&e, "user/busy");
	CHECK(during >= 1, "changes that never stop are committed by "
	      "max_delay_ms (%llu commits while they came)",
	      (unsigned long long)during);
	env_close(&e);
}

/* Past max_queued_bytes a change keeps no copy: its content is read from
 * the volume when the commit is made. */
static void test_content_budget(void)
{
	char dir[600];
	struct buf out;
	struct env e;

	buf_init(&out, 0);
	env_open_with(&e, "hist-budget",
		      &(struct history_config){ .quiet_ms = 60000,
						.max_queued_bytes = 8 }, 1);
	gitdir(&e, "user/b", dir, sizeof(dir));
	write_str(&e, "user/b", "alice", "skills/small.md", "tiny");
	write_str(&e, "user/b", "alice", "skills/big.md", "this is past eight");
	store_put(&e, "user/b", "skills/small.md", "later", 5, 0644);
	store_put(&e, "user/b", "skills/big.md", "changed since", 13, 0644);
	history_flush(e.h);
	CHECK_STR_EQ("tiny", GIT_STR(&out, dir, "cat-file", "-p",
				     "HEAD:skills/small.md"),
		     "within the budget: the content as noted");
	CHECK_STR_EQ("changed since", GIT_STR(&out, dir, "cat-file", "-p",
					      "HEAD:skills/big.md"),
		     "past the budget: the content read from the volume");
	env_close(&e);
	buf_release(&out);
}

static void test_folders(void)
{
	struct history_author a = who("alice");
	struct history_change c = { 0 };
	const char *vol = "user/dirs";
	char dir[600];
	struct buf out;
	struct env e;

	buf_init(&out, 0);
	env_open(&e, "hist-dirs", 60000);
	gitdir(&e, vol, dir, sizeof(dir));
	c.op = HISTORY_MKDIR;
	c.path = "skills/pkg";
	history_note(e.h, vol, &a, &c);
	write_str(&e, vol, "alice", "skills/pkg/SKILL.md", "s");
	write_str(&e, vol, "alice", "skills/pkg/scripts/run.sh", "r");
	c.path = "skills/empty";
	history_note(e.h, vol, &a, &c);
	history_flush(e.h);
	CHECK_STR_EQ("skills/pkg/SKILL.md\nskills/pkg/scripts/run.sh",
		     GIT_STR(&out, dir, "ls-tree", "-r", "--name-only",
			     "HEAD"),
		     "folders with files are recorded, an empty one is not");
	rename_as(&e, vol, "alice", "skills/pkg", "skills/tool");
	history_flush(e.h);
	CHECK_STR_EQ("rename 2 files", GIT_STR(&out, dir, "log", "-1",
					       "--format=%s"),
		     "renaming a folder renames what it holds");
	CHECK_STR_EQ("skills/tool/SKILL.md\nskills/tool/scripts/run.sh",
		     GIT_STR(&out, dir, "ls-tree", "-r", "--name-only",
			     "HEAD"),
		     "under the new name");
	unlink_as(&e, vol, "alice", "skills/tool/scripts/run.sh");
	c.op = HISTORY_RMDIR;
	c.path = "skills/tool/scripts";
	history_note(e.h, vol, &a, &c);
	history_flush(e.h);
	CHECK_STR_EQ("skills/tool/SKILL.md",
		     GIT_STR(&out, dir, "ls-tree", "-r", "--name-only",
			     "HEAD"),
		     "unlink then rmdir removes the folder");
	/* A folder renamed from a name history never kept (noise). */
	store_put(&e, vol, "skills/x~/a.md", "a", 1, 0644);
	store_put(&e, vol, "skills/x~/b/c.md", "c", 1, 0644);
	rename_as(&e, vol, "alice", "skills/x~", "skills/x");
	history_flush(e.h);
	CHECK_STR_EQ("skills/tool/SKILL.md\nskills/x/a.md\nskills/x/b/c.md",
		     GIT_STR(&out, dir, "ls-tree", "-r", "--name-only",
			     "HEAD"),
		     "a folder renamed from noise is read from the volume");
	env_close(&e);
	buf_release(&out);
}

/* ---- threads ---- */

struct worker {
	struct env *e;
	int id, stop, errors;
};

static void *note_thread(void *arg)
{
	struct worker *w = arg;
	char user[16];

	snprintf(user, sizeof(user), "user%d", w->id);
	for (int i = 0; i < 300; i++) {
		char path[64], data[64];

		snprintf(path, sizeof(path), "skills/t%d/f%03d.md", w->id, i);
		snprintf(data, sizeof(data), "%d/%d\n", w->id, i);
		if (write_str(w->e, "team/threads", user, path, data))
			w->errors++;
	}
	return NULL;
}

static int count_only(void *arg, const struct history_commit *c)
{
	(void)c;
	++*(int *)arg;
	return 0;
}

static void *read_thread(void *arg)
{
	struct worker *w = arg;

	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		struct history_id id;
		uint64_t n, cursor = HISTORY_NEWEST;
		int k = 0, rc;

		rc = history_count(w->e->h, "team/threads", &n);
		if (rc && rc != -ENOENT)
			w->errors++;
		if (rc == 0 && n > 0) {
			if (history_log(w->e->h, "team/threads", 0, 5,
					HISTORY_FILES, count_only, &k) ||
			    history_resolve(w->e->h, "team/threads", "HEAD",
					    &id) ||
			    history_file_log(w->e->h, "team/threads", "skills",
					     &cursor, 3, 50, 0, count_only,
					     &k))
				w->errors++;
		}
		usleep(1000);
	}
	return NULL;
}

static void test_threads(void)
{
	struct worker w[5];
	pthread_t t[5];
	char dir[600];
	struct buf out;
	struct env e;

	buf_init(&out, 0);
	env_open(&e, "hist-threads", 5);
	gitdir(&e, "team/threads", dir, sizeof(dir));
	for (int i = 0; i < 5; i++) {
		w[i] = (struct worker){ .e = &e, .id = i };
		pthread_create(&t[i], NULL, i < 4 ? note_thread : read_thread,
			       &w[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CHECK_INT_EQ(0, history_flush(e.h), "four threads noted 1,200 "
		     "changes while the writer committed: flush");
	__atomic_store_n(&w[4].stop, 1, __ATOMIC_RELEASE);
	pthread_join(t[4], NULL);
	CHECK_INT_EQ(0, w[0].errors + w[1].errors + w[2].errors +
			w[3].errors + w[4].errors,
		     "no call failed, writing or reading");
	CHECK_INT_EQ(1200, count_char(GIT_STR(&out, dir, "ls-tree", "-r",
					      "--name-only", "HEAD"),
				      '\n') + 1,
		     "every file is in HEAD");
	CHECK_STR_EQ("3/299", GIT_STR(&out, dir, "cat-file", "-p",
				      "HEAD:skills/t3/f299.md"),
		     "with its content");
	CHECK_STR_EQ("", GIT_STR(&out, dir, "log", "--format=%an",
				 "--author=user1", "--", "skills/t2"),
		     "no commit of one author holds another's files");
	CHECK_INT_EQ(0, GIT(NULL, dir, "fsck", "--full", "--strict"),
		     "git fsck is clean");
	env_close(&e);
	buf_release(&out);
}

static void test_second_daemon(void)
{
	struct history *h2 = NULL;
	struct env e;

	env_open(&e, "hist-twice", 60000);
	CHECK_INT_EQ(-EBUSY, history_open(&h2, &e.cfg),
		     "a second history on the same folder is EBUSY");
	env_close(&e);
}

/* ---- noise and what is not versioned ---- */

static void test_noise(void)
{
	struct history_author a = who("alice");
	struct history_change c = { .op = HISTORY_CREATE };
	const char *vol = "user/alice";
	char dir[600];
	struct buf out;
	struct env e;

	buf_init(&out, 0);
	env_open(&e, "hist-noise", 60000);
	gitdir(&e, vol, dir, sizeof(dir));
	write_str(&e, vol, "alice", "skills/x.md", "v1\n");
	history_flush(e.h);

	/* vim's save: probe 4913, swap file, x.md -> x.md~, write, unlink. */
	write_str(&e, vol, "alice", "skills/4913", "");
	unlink_as(&e, vol, "alice", "skills/4913");
	write_str(&e, vol, "alice", "skills/.x.md.swp", "swap");
	rename_as(&e, vol, "alice", "skills/x.md", "skills/x.md~");
	write_str(&e, vol, "alice", "skills/x.md", "v2\n");
	unlink_as(&e, vol, "alice", "skills/x.md~");
	unlink_as(&e, vol, "alice", "skills/.x.md.swp");
	history_flush(e.h);
	CHECK_INT_EQ(2, count(&e, vol), "a vim save is one commit");
	CHECK_STR_EQ("update skills/x.md", GIT_STR(&out, dir, "log", "-1",
						   "--format=%s"),
		     "vim's save is an update of the file");
	CHECK_STR_EQ("skills/x.md", GIT_STR(&out, dir, "ls-tree", "-r",
					    "--name-only", "HEAD"),
		     "no 4913, swap or backup file in the tree");

	/* sed -i: a sedXXXXXX temporary renamed over the file. */
	write_str(&e, vol, "alice", "skills/sedAb12Z", "v3\n");
	rename_as(&e, vol, "alice", "skills/sedAb12Z", "skills/x.md");
	history_flush(e.h);
	CHECK_STR_EQ("v3", GIT_STR(&out, dir, "cat-file", "-p",
				   "HEAD:skills/x.md"),
		     "sed -i: the new content is recorded");
	CHECK_STR_EQ("update skills/x.md", GIT_STR(&out, dir, "log", "-1",
						   "--format=%s"),
		     "sed -i: one update");

	/* Emacs lock, a backup alone, run/, sessions/, a nested .git. */
	write_str(&e, vol, "alice", "skills/.#x.md", "lock");
	write_str(&e, vol, "alice", "skills/y.md~", "backup");
	write_str(&e, vol, "alice", "skills/proj/.git/HEAD", "ref");
	write_str(&e, vol, "alice", "skills/proj/.GIT/config", "x");
	CHECK_INT_EQ(0, write_str(&e, vol, "alice", "run/g.json", "{}"),
		     "a change in run/ is accepted and ignored");
	CHECK_INT_EQ(0, write_str(&e, vol, "alice", "sessions/s/prompt",
				  "hi"),
		     "a change in sessions/ is accepted and ignored");
	c.path = "skills/.z.swx";
	c.data = "";
	history_note(e.h, vol, &a, &c);
	history_flush(e.h);
	CHECK_INT_EQ(3, count(&e, vol), "noise alone makes no commit");

	/* A noise-named file renamed to a real name is recorded. */
	write_str(&e, vol, "alice", "skills/notes.txt~", "kept");
	rename_as(&e, vol, "alice", "skills/notes.txt~", "skills/notes.txt");
	history_flush(e.h);
	CHECK_STR_EQ("kept", GIT_STR(&out, dir, "cat-file", "-p",
				     "HEAD:skills/notes.txt"),
		     "noise renamed to a real name: the file is recorded");
	CHECK_STR_EQ("skills/notes.txt\nskills/x.md",
		     GIT_STR(&out, dir, "ls-tree", "-r", "--name-only",
			     "HEAD"),
		     "nothing from run/, sessions/ or .git in the repository");
	env_close(&e);
	buf_release(&out);
}

static void test_bad_input(void)
{
	struct history_author a = who("alice"), anon = who("");
	struct history_change c = { .op = HISTORY_WRITE, .path = "skills/x.md",
				    .data = "x", .len = 1 };
	char longpath[1100], run[300];
	struct history_id id;
	struct env e;

	env_open(&e, "hist-bad", 60000);
	CHECK_INT_EQ(-EINVAL, history_note(e.h, "users/alice", &a, &c),
		     "a bad volume class is EINVAL");
	CHECK_INT_EQ(-EINVAL, history_note(e.h, "user/a/b", &a, &c),
		     "a volume name with a slash is EINVAL");
	CHECK_INT_EQ(-EINVAL, history_note(e.h, "user/..", &a, &c),
		     "user/.. is EINVAL");
	CHECK_INT_EQ(-EINVAL, history_note(e.h, "user/alice", &anon, &c),
		     "an author without a name is EINVAL");
	c.path = "skills/../x.md";
	CHECK_INT_EQ(-EINVAL, history_note(e.h, "user/alice", &a, &c),
		     "a path with .. is EINVAL");
	c.path = "skills//x.md";
	CHECK_INT_EQ(-EINVAL, history_note(e.h, "user/alice", &a, &c),
		     "a path with an empty component is EINVAL");
	memset(longpath, 'a', sizeof(longpath));
	memcpy(longpath, "skills/", 7);
	longpath[1050] = '\0';
	c.path = longpath;
	CHECK_INT_EQ(-EINVAL, history_note(e.h, "user/alice", &a, &c),
		     "a path past 1000 bytes is EINVAL");
	c.path = "skills/x.md";
	c.op = HISTORY_RENAME;
	c.to = NULL;
	CHECK_INT_EQ(-EINVAL, history_note(e.h, "user/alice", &a, &c),
		     "a rename without a target is EINVAL");
	c.op = (enum history_op)42;
	CHECK_INT_EQ(-EINVAL, history_note(e.h, "user/alice", &a, &c),
		     "an unknown op is EINVAL");
	c.op = HISTORY_WRITE;
	memset(run, 'r', sizeof(run));
	run[299] = '\0';
	a.run = run;
	CHECK_INT_EQ(-EINVAL, history_note(e.h, "user/alice", &a, &c),
		     "a trailer past 255 bytes is EINVAL");
	CHECK_INT_EQ(0, history_flush(e.h), "flush with nothing queued");
	CHECK_INT_EQ(-ENOENT, history_resolve(e.h, "user/alice", "HEAD", &id),
		     "no repository yet: HEAD is ENOENT");
	CHECK_INT_EQ(-EINVAL, history_resolve(e.h, "nope", "HEAD", &id),
		     "reading a bad volume is EINVAL");
	env_close(&e);
}

/* ---- reading ---- */

/* What the callbacks saw, as text. */
struct listing {
	char text[2048];
};

static void listing_add(struct listing *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void listing_add(struct listing *l, const char *fmt, ...)
{
	size_t n = strlen(l->text);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->text + n, sizeof(l->text) - n, fmt, ap);
	va_end(ap);
}

static int list_cb(void *arg, const struct history_entry *en)
{
	listing_add(arg, "%s %o %llu;", en->name, (unsigned)en->mode,
		    (unsigned long long)en->size);
	return 0;
}

static void test_tree_and_blob(void)
{
	const char *vol = "user/alice";
	unsigned char bin[70000];
	struct history_change c = { .op = HISTORY_CHMOD,
				    .path = "skills/run.sh", .mode = 0755 };
	struct history_author a = who("alice");
	struct history_entry st;
	struct listing l = { "" };
	struct history_id id;
	char dir[600], hex[HISTORY_HEX];
	struct buf out;
	struct env e;

	buf_init(&out, 0);
	for (size_t i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)(i * 7 + i / 256);
	env_open(&e, "hist-tree", 60000);
	gitdir(&e, vol, dir, sizeof(dir));
	write_as(&e, vol, "alice", "skills/bin.dat", bin, sizeof(bin));
	write_str(&e, vol, "alice", "skills/run.sh", "#!/bin/sh\necho hi\n");
	write_str(&e, vol, "alice", "skills/sub/deep/n.md", "deep\n");
	write_as(&e, vol, "alice", "skills/empty.md", "", 0);
	history_flush(e.h);
	store_put(&e, vol, "skills/run.sh", "#!/bin/sh\necho hi\n", 18, 0755);
	history_note(e.h, vol, &a, &c);
	history_flush(e.h);
	CHECK_STR_EQ("100755", GIT_STR(&out, dir, "ls-tree", "--format="
				       "%(objectmode)", "HEAD",
				       "skills/run.sh"),
		     "chmod +x: git sees an executable");
	CHECK_STR_EQ("change the mode of skills/run.sh",
		     GIT_STR(&out, dir, "log", "-1", "--format=%s"),
		     "a mode change says so");

	CHECK_INT_EQ(0, read_at(&e, vol, "HEAD~1", "skills/bin.dat", &out),
		     "read a binary file at HEAD~1");
	CHECK_MEM_EQ((const char *)bin, sizeof(bin), out.data, out.len,
		     "the binary file is byte for byte what was written");
	CHECK_INT_EQ(0, read_at(&e, vol, "HEAD", "skills/empty.md", &out),
		     "read an empty file");
	CHECK_INT_EQ(0, (int)out.len, "the empty file is empty");
	CHECK_INT_EQ(-EISDIR, read_at(&e, vol, "HEAD", "skills/sub", &out),
		     "reading a folder is EISDIR");
	CHECK_INT_EQ(-ENOENT, read_at(&e, vol, "HEAD", "skills/nope", &out),
		     "reading a missing file is ENOENT");

	history_resolve(e.h, vol, "HEAD", &id);
	CHECK_INT_EQ(0, history_list(e.h, vol, &id, "skills", list_cb, &l),
		     "list skills/ at HEAD");
	CHECK_STR_EQ("bin.dat 100644 70000;empty.md 100644 0;"
		     "run.sh 100755 18;sub 40755 0;",
		     l.text, "names, types, modes and sizes");
	l.text[0] = '\0';
	CHECK_INT_EQ(0, history_list(e.h, vol, &id, "", list_cb, &l),
		     "list the root at HEAD");
	CHECK_STR_EQ("skills 40755 0;", l.text, "the root holds skills/");
	CHECK_INT_EQ(-ENOTDIR, history_list(e.h, vol, &id, "skills/run.sh",
					    list_cb, &l),
		     "listing a file is ENOTDIR");
	CHECK_INT_EQ(-ENOENT, history_list(e.h, vol, &id, "workflows",
					   list_cb, &l),
		     "listing a folder that is not there is ENOENT");
	CHECK_INT_EQ(0, history_stat(e.h, vol, &id, "skills/sub/deep/n.md",
				     &st), "stat a deep file");
	CHECK_INT_EQ(S_IFREG | 0644, st.mode, "its mode");
	CHECK_INT_EQ(5, (int)st.size, "its size");
	CHECK_INT_EQ(0, history_stat(e.h, vol, &id, "", &st),
		     "stat the root");
	CHECK(S_ISDIR(st.mode), "the root is a folder");
	CHECK_INT_EQ(-ENOENT, history_stat(e.h, vol, &id, "skills/x", &st),
		     "stat of a missing path is ENOENT");
	/* The same bytes through git. */
	history_id_hex(&id, hex);
	CHECK_STR_EQ(hex, GIT_STR(&out, dir, "rev-parse", "HEAD"),
		     "HEAD resolves as git resolves it");
	env_close(&e);
	buf_release(&out);
}

static int collect_log(void *arg, const struct history_commit *c)
{
	listing_add(arg, "%s;", c->summary);
	return 0;
}

static int collect_files(void *arg, const struct history_commit *c)
{
	for (size_t i = 0; i < c->nfiles; i++)
		listing_add(arg, "%c %s%s%s,", c->files[i].status,
			    c->files[i].from ? c->files[i].from : "",
			    c->files[i].from ? ">" : "", c->files[i].path);
	listing_add(arg, ";");
	return 0;
}

static void test_log_and_names(void)
{
	const char *vol = "system";
	char hex[HISTORY_HEX], hex2[HISTORY_HEX], want[64], dir[600];
	struct listing l = { "" };
	struct history_commit c;
	struct history_id id;
	struct buf out;
	struct env e;
	uint64_t cursor;

	buf_init(&out, 0);
	env_open(&e, "hist-names", 60000);
	gitdir(&e, vol, dir, sizeof(dir));
	for (int i = 1; i <= 5; i++) {
		char path[32], data[32];

		snprintf(path, sizeof(path), "skills/%s.md",
			 i % 2 ? "a" : "b");
		snprintf(data, sizeof(data), "version %d\n", i);
		write_str(&e, vol, "root", path, data);
		history_flush(e.h);
	}
	CHECK_INT_EQ(5, count(&e, vol), "five commits");
	CHECK_INT_EQ(0, history_log(e.h, vol, 0, 3, 0, collect_log, &l),
		     "the log's newest page");
	CHECK_STR_EQ("update skills/a.md;update skills/b.md;"
		     "update skills/a.md;", l.text, "newest first");
	l.text[0] = '\0';
	history_log(e.h, vol, 3, 10, 0, collect_log, &l);
	CHECK_STR_EQ("add skills/b.md;add skills/a.md;", l.text,
		     "the next page ends at the first commit");
	l.text[0] = '\0';
	history_log(e.h, vol, 7, 10, 0, collect_log, &l);
	CHECK_STR_EQ("", l.text, "a page past the end is empty");

	/* HEAD~N against git. */
	for (int n = 0; n < 5; n++) {
		char spec[32];

		snprintf(spec, sizeof(spec), "HEAD~%d", n);
		resolve(&e, vol, spec, hex);
		CHECK_STR_EQ(GIT_STR(&out, dir, "rev-parse", spec), hex,
			     "%s is what git says", spec);
	}
	CHECK_INT_EQ(-ENOENT, resolve(&e, vol, "HEAD~5", hex),
		     "HEAD~5 of five commits is ENOENT");
	resolve(&e, vol, "HEAD^", hex);
	resolve(&e, vol, "HEAD~1", hex2);
	CHECK_STR_EQ(hex2, hex, "HEAD^ is HEAD~1");
	CHECK_INT_EQ(-EINVAL, resolve(&e, vol, "HEAD~x", hex),
		     "HEAD~x is EINVAL");
	CHECK_INT_EQ(-EINVAL, resolve(&e, vol, "main", hex),
		     "a branch name is EINVAL (not a name history serves)");

	/* Prefixes. */
	resolve(&e, vol, "HEAD~2", hex);
	snprintf(want, sizeof(want), "%.7s", hex);
	CHECK_INT_EQ(0, resolve(&e, vol, want, hex2), "a 7-digit prefix");
	CHECK_STR_EQ(hex, hex2, "resolves to its commit");
	for (char *p = want; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	resolve(&e, vol, want, hex2);
	CHECK_STR_EQ(hex, hex2, "upper-case hex is accepted");
	CHECK_INT_EQ(0, resolve(&e, vol, hex, hex2), "the full id");
	snprintf(want, sizeof(want), "%.3s", hex);
	CHECK_INT_EQ(-EINVAL, resolve(&e, vol, want, hex2),
		     "a 3-digit prefix is too short: EINVAL");
	CHECK_INT_EQ(-EINVAL, resolve(&e, vol, "12345g", hex2),
		     "a prefix with a non-hex digit is EINVAL");
	snprintf(want, sizeof(want), "%s",
		 GIT_STR(&out, dir, "rev-parse", "HEAD:skills/a.md"));
	want[10] = '\0';
	CHECK_INT_EQ(-ENOENT, resolve(&e, vol, want, hex2),
		     "the prefix of a blob is not a commit: ENOENT");
	/* A prefix no object has: flip the first digit of HEAD until git
	 * knows nothing by it. */
	resolve(&e, vol, "HEAD", hex);
	snprintf(want, sizeof(want), "%.12s", hex);
	for (const char *d = "0123456789abcdef"; *d; d++) {
		want[0] = *d;
		if (GIT(NULL, dir, "rev-parse", "--quiet", "--verify",
			want) != 0)
			break;
	}
	CHECK_INT_EQ(-ENOENT, resolve(&e, vol, want, hex2),
		     "an unknown prefix is ENOENT");

	/* history_commit with the files. */
	history_resolve(e.h, vol, "HEAD", &id);
	CHECK_INT_EQ(0, history_commit(e.h, vol, &id, HISTORY_FILES, &c),
		     "history_commit");
	CHECK_STR_EQ("update skills/a.md", c.summary, "its summary");
	CHECK_STR_EQ("root", c.author[0] ? "root" : "", "an author");
	CHECK_INT_EQ(1, (int)c.nfiles, "one file changed");
	CHECK_STR_EQ("skills/a.md", c.nfiles ? c.files[0].path : "",
		     "which one");
	CHECK_INT_EQ(7, (int)strlen(c.short_hex), "a 7-digit short id");
	CHECK(strncmp(c.short_hex, c.hex, 7) == 0, "that starts the id");
	history_commit_release(&c);

	/* The per-file log. */
	l.text[0] = '\0';
	cursor = HISTORY_NEWEST;
	CHECK_INT_EQ(0, history_file_log(e.h, vol, "skills/a.md", &cursor, 10,
					 0, HISTORY_FILES, collect_files, &l),
		     "the log of skills/a.md");
	CHECK_STR_EQ("M skills/a.md,;M skills/a.md,;A skills/a.md,;", l.text,
		     "commits 5, 3 and 1 changed it");
	CHECK_INT_EQ(0, (int)cursor, "the walk reached the first commit");
	l.text[0] = '\0';
	cursor = HISTORY_NEWEST;
	history_file_log(e.h, vol, "skills/b.md", &cursor, 1, 0, 0,
			 collect_log, &l);
	CHECK_STR_EQ("update skills/b.md;", l.text, "one page of one");
	CHECK(cursor > 0, "a cursor to go on from");
	history_file_log(e.h, vol, "skills/b.md", &cursor, 1, 0, 0,
			 collect_log, &l);
	CHECK_STR_EQ("update skills/b.md;add skills/b.md;", l.text,
		     "the next page goes on where the first stopped");
	l.text[0] = '\0';
	cursor = HISTORY_NEWEST;
	history_file_log(e.h, vol, "skills/a.md", &cursor, 10, 2, 0,
			 collect_log, &l);
	CHECK_STR_EQ("update skills/a.md;", l.text,
		     "a budget of two commits looked at finds one");
	CHECK_INT_EQ(3, (int)cursor, "and says where to go on");
	l.text[0] = '\0';
	cursor = HISTORY_NEWEST;
	history_file_log(e.h, vol, "skills", &cursor, 10, 0, 0, collect_log,
			 &l);
	CHECK_INT_EQ(5, count_char(l.text, ';'),
		     "the log of a folder has every commit under it");
	l.text[0] = '\0';
	cursor = HISTORY_NEWEST;
	history_file_log(e.h, vol, "skills/none.md", &cursor, 10, 0, 0,
			 collect_log, &l);
	CHECK_STR_EQ("", l.text, "a path never there has no log");
	env_close(&e);
	buf_release(&out);
}

/* Make commits until two share their first four hex digits. */
static void test_ambiguous_prefix(void)
{
	const char *vol = "team/amb";
	char seen[65536 / 8] = { 0 }, hex[HISTORY_HEX], pre[8];
	struct history_id id;
	struct env e;
	int found = 0;

	env_open(&e, "hist-amb", 60000);
	for (int i = 0; i < 4000 && !found; i++) {
		char data[32];
		unsigned v;

		snprintf(data, sizeof(data), "%d\n", i);
		write_str(&e, vol, "root", "skills/n.md", data);
		history_flush(e.h);
		resolve(&e, vol, "HEAD", hex);
		snprintf(pre, sizeof(pre), "%.4s", hex);
		v = (unsigned)strtoul(pre, NULL, 16);
		if (seen[v / 8] & (1 << (v % 8)))
			found = 1;
		seen[v / 8] |= (char)(1 << (v % 8));
	}
	if (!CHECK(found, "two commits share a 4-digit prefix"))
		goto out;
	CHECK_INT_EQ(-ENOTUNIQ, history_resolve(e.h, vol, pre, &id),
		     "a prefix two commits share is ENOTUNIQ");
	snprintf(pre, sizeof(pre), "%.7s", hex);
	CHECK_INT_EQ(0, history_resolve(e.h, vol, pre, &id),
		     "a longer prefix of one of them is unique");
out:
	env_close(&e);
}

/* ---- dates, on a repository made by git fast-import ---- */

static int fast_import(const char *dir, const char *stream)
{
	static char *envp[] = { "PATH=/usr/bin:/bin", "HOME=/nonexistent",
				"GIT_CONFIG_NOSYSTEM=1", NULL };
	char gd[700];
	int p[2], status;
	pid_t pid;

	snprintf(gd, sizeof(gd), "--git-dir=%s", dir);
	if (GIT(NULL, dir, "init", "--quiet", "--bare",
		"--initial-branch=main", dir) != 0 || pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[0], 0);
		close(p[0]);
		close(p[1]);
		execve("/usr/bin/git",
		       (char *const[]){ "git", gd, "fast-import", "--quiet",
					NULL },
		       envp);
		_exit(127);
	}
	close(p[0]);
	if (write(p[1], stream, strlen(stream)) != (ssize_t)strlen(stream))
		status = -1;
	close(p[1]);
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int day_cb(void *arg, const struct history_day *d)
{
	listing_add(arg, "%s:%llu+%llu;", d->date,
		    (unsigned long long)d->ncommits,
		    (unsigned long long)d->skip);
	return 0;
}

static time_t local_time(int y, int mo, int d, int h, int mi)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
			 .tm_hour = h, .tm_min = mi, .tm_isdst = -1 };

	return mktime(&tm);
}

static void test_dates(void)
{
	/* Six commits over three days, local time. */
	static const int when[][5] = {
		{ 2026, 12, 1, 9, 0 },	 { 2026, 12, 1, 23, 59 },
		{ 2026, 12, 3, 0, 0 },	 { 2026, 12, 3, 12, 0 },
		{ 2026, 12, 3, 18, 30 }, { 2026, 12, 4, 8, 15 },
	};
	char stream[8192], dir[600], hex[HISTORY_HEX], head[HISTORY_HEX];
	struct listing d = { "" };
	struct history_id id;
	struct buf out;
	size_t o = 0;
	struct env e;

	buf_init(&out, 0);
	env_open(&e, "hist-dates", 60000);
	gitdir(&e, "team/dates", dir, sizeof(dir));
	for (size_t i = 0; i < 6; i++) {
		time_t t = local_time(when[i][0], when[i][1], when[i][2],
				      when[i][3], when[i][4]);

		o += (size_t)snprintf(stream + o, sizeof(stream) - o,
			"commit refs/heads/main\n"
			"committer T <t@x> %lld +0000\n"
			"data 2\nc%zu\n"
			"M 100644 inline skills/f.md\ndata 2\n%zu\n\n",
			(long long)t, i, i);
	}
	/* fast-import needs "from" only for a branch that exists: it
	 * chains commits on one branch by itself. */
	CHECK_INT_EQ(0, fast_import(dir, stream),
		     "git fast-import makes six commits over three days");
	CHECK_INT_EQ(6, count(&e, "team/dates"),
		     "history counts the commits of a repository it did not "
		     "make (the commit list is built from HEAD)");
	CHECK_INT_EQ(0, history_days(e.h, "team/dates", day_cb, &d),
		     "history_days");
	CHECK_STR_EQ("2026-12-04:1+0;2026-12-03:3+1;2026-12-01:2+4;", d.text,
		     "the days with commits, newest first, with their counts "
		     "and the commits newer than each");

	resolve(&e, "team/dates", "HEAD~1", head);
	history_at(e.h, "team/dates", local_time(2026, 12, 3, 23, 59), &id);
	CHECK_STR_EQ(head, history_id_hex(&id, hex),
		     "by-date 2026-12-03: the day's last commit");
	resolve(&e, "team/dates", "HEAD~4", head);
	history_at(e.h, "team/dates", local_time(2026, 12, 2, 12, 0), &id);
	CHECK_STR_EQ(head, history_id_hex(&id, hex),
		     "a day without commits: the last one before it");
	resolve(&e, "team/dates", "HEAD~3", head);
	history_at(e.h, "team/dates", local_time(2026, 12, 3, 0, 0), &id);
	CHECK_STR_EQ(head, history_id_hex(&id, hex),
		     "a commit at exactly that time counts");
	CHECK_INT_EQ(-ENOENT, history_at(e.h, "team/dates",
					 local_time(2026, 11, 30, 0, 0), &id),
		     "before the first commit: ENOENT");
	CHECK_INT_EQ(0, read_at(&e, "team/dates", "HEAD~5", "skills/f.md",
				&out), "read the first commit's file");
	CHECK_MEM_EQ("0\n", (size_t)2, out.data, out.len, "its content");
	env_close(&e);
	buf_release(&out);
}

/* ---- the commit list ---- */

static void test_commit_list(void)
{
	char path[700], hex[HISTORY_HEX], want[HISTORY_HEX];
	const char *vol = "user/idx";
	struct buf out;
	struct env e;
	int fd;

	buf_init(&out, 0);
	env_open(&e, "hist-index", 60000);
	for (int i = 0; i < 4; i++) {
		char data[16];

		snprintf(data, sizeof(data), "%d", i);
		write_str(&e, vol, "root", "skills/i.md", data);
		history_flush(e.h);
	}
	resolve(&e, vol, "HEAD~3", want);
	history_close(e.h);
	snprintf(path, sizeof(path), "%s/history/%s.git/llmunix-commits",
		 e.state, vol);
	unlink(path);
	env_start(&e);
	CHECK_INT_EQ(4, count(&e, vol), "a removed commit list is rebuilt");
	resolve(&e, vol, "HEAD~3", hex);
	CHECK_STR_EQ(want, hex, "and HEAD~3 is right again");

	history_close(e.h);
	fd = open(path, O_WRONLY);
	if (fd >= 0) {
		/* Cut the last record in half, as a crash would. */
		struct stat st;

		fstat(fd, &st);
		CHECK_INT_EQ(0, ftruncate(fd, st.st_size - 16),
			     "cut the commit list");
		close(fd);
	}
	env_start(&e);
	CHECK_INT_EQ(4, count(&e, vol), "a torn record is caught up");
	resolve(&e, vol, "HEAD", hex);
	CHECK_STR_EQ(GIT_STR(&out, (snprintf(path, sizeof(path),
					     "%s/history/%s.git", e.state,
					     vol),
				    path),
			     "rev-parse", "HEAD"),
		     hex, "HEAD is right");
	env_close(&e);
	buf_release(&out);
}

/* ---- a volume that had files before it had a repository ---- */

static void test_import(void)
{
	const char *vol = "team/old";
	char dir[600];
	struct buf out;
	struct env e;

	buf_init(&out, 0);
	env_open(&e, "hist-import", 60000);
	gitdir(&e, vol, dir, sizeof(dir));
	store_put(&e, vol, "skills/one.md", "1", 1, 0644);
	store_put(&e, vol, "skills/two.md", "2", 1, 0644);
	store_put(&e, vol, "workflows/w.json", "{}", 2, 0644);
	store_put(&e, vol, "skills/two.md~", "backup", 6, 0644);
	write_str(&e, vol, "alice", "skills/three.md", "3");
	history_flush(e.h);
	CHECK_INT_EQ(2, count(&e, vol),
		     "the first change of a volume with files: two commits");
	CHECK_STR_EQ("llmunixfs add 3 files\nalice add skills/three.md",
		     GIT_STR(&out, dir, "log", "--reverse", "--format=%an %s"),
		     "the files it had, as the daemon, then the change by "
		     "its author");
	env_close(&e);
	buf_release(&out);
}

/* ---- packing ---- */

static void test_pack(void)
{
	const char *vol = "user/pack";
	char dir[600], objects[700];
	struct buf out;
	struct env e;
	int loose = 0;

	buf_init(&out, 0);
	env_open_with(&e, "hist-pack",
		      &(struct history_config){ .quiet_ms = 60000,
						.pack_every = 5 }, 1);
	gitdir(&e, vol, dir, sizeof(dir));
	for (int i = 0; i < 5; i++) {
		char data[16];

		snprintf(data, sizeof(data), "%d", i);
		write_str(&e, vol, "root", "skills/p.md", data);
		history_flush(e.h);
		/* A reader that has the repository open before the pack. */
		if (i == 2)
			read_at(&e, vol, "HEAD~2", "skills/p.md", &out);
	}
	for (int fan = 0; fan < 256; fan++) {
		snprintf(objects, sizeof(objects), "%s/objects/%02x", dir, fan);
		loose += unit_count_entries(objects) > 0 ?
				 unit_count_entries(objects) : 0;
	}
	CHECK_INT_EQ(0, loose, "after pack_every commits no loose object is "
		     "left");
	CHECK_INT_EQ(0, GIT(&out, dir, "fsck", "--full", "--strict"),
		     "git fsck of the packed repository is clean");
	CHECK_STR_EQ("5", GIT_STR(&out, dir, "rev-list", "--count", "HEAD"),
		     "git sees the five commits");
	CHECK_INT_EQ(0, read_at(&e, vol, "HEAD~4", "skills/p.md", &out),
		     "a reader opened before the pack reads from it");
	CHECK_MEM_EQ("0", (size_t)1, out.data, out.len, "the first version");
	write_str(&e, vol, "root", "skills/p.md", "after");
	CHECK_INT_EQ(0, history_flush(e.h), "commits go on after a pack");
	CHECK_INT_EQ(6, count(&e, vol), "six commits");
	env_close(&e);
	buf_release(&out);
}

/* ---- a crash before the commit ---- */

static void crash_child(struct env *e)
{
	struct history_author a = { .uid = 1000, .user = "alice",
				    .session = "s1" };
	struct history_change c = { .op = HISTORY_WRITE };

	e->cfg.quiet_ms = 600000;
	e->cfg.max_delay_ms = 600000;
	if (history_open(&e->h, &e->cfg))
		_exit(2);
	write_str(e, "user/alice", "alice", "skills/kept.md", "committed\n");
	history_flush(e->h);
	/* Then a burst that is never committed. */
	for (int i = 0; i < 50; i++) {
		char path[64], data[64];

		snprintf(path, sizeof(path), "skills/burst/%02d.md", i);
		snprintf(data, sizeof(data), "burst %d\n", i);
		store_put(e, "user/alice", path, data, strlen(data), 0644);
		c.path = path;
		c.data = data;
		c.len = strlen(data);
		history_note(e->h, "user/alice", &a, &c);
	}
	rename_as(e, "user/alice", "alice", "skills/kept.md",
		  "skills/moved.md");
	write_str(e, "team/eng", "bob", "workflows/b.json", "{\"b\":1}\n");
	/* Stored but killed before it was noted. */
	store_put(e, "user/alice", "skills/unnoted.md", "x\n", 2, 0644);
	kill(getpid(), SIGKILL);
	_exit(3);
}

static void test_crash(void)
{
	char dir[600], tdir[600], hex[HISTORY_HEX];
	struct buf out;
	struct env e;
	int status;
	pid_t pid;

	buf_init(&out, 0);
	env_open_with(&e, "hist-crash",
		      &(struct history_config){ .quiet_ms = 60000 }, 0);
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		crash_child(&e);
	waitpid(pid, &status, 0);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	      "the child noted changes and was killed (SIGKILL)");
	gitdir(&e, "user/alice", dir, sizeof(dir));
	gitdir(&e, "team/eng", tdir, sizeof(tdir));
	CHECK_STR_EQ("1", GIT_STR(&out, dir, "rev-list", "--count", "HEAD"),
		     "before the restart: only the flushed commit");
	env_start(&e);
	CHECK_INT_EQ(0, history_flush(e.h), "reopen and flush");
	CHECK_STR_EQ("skills/burst/00.md", GIT_STR(&out, dir, "ls-tree", "-r",
						   "--name-only", "HEAD",
						   "skills/burst/00.md"),
		     "the burst is in history after the restart");
	CHECK_INT_EQ(50, count_char(GIT_STR(&out, dir, "ls-tree", "-r",
					    "--name-only", "HEAD",
					    "skills/burst/"), '\n') + 1,
		     "all fifty files");
	CHECK_STR_EQ("alice|s1", GIT_STR(&out, dir, "log",
					 "--format=%an|%(trailers:key=Session,"
					 "valueonly)",
					 "-1", "--", "skills/burst/07.md"),
		     "the journal kept the author and the trailer");
	CHECK_STR_EQ("", GIT_STR(&out, dir, "ls-tree", "--name-only", "HEAD",
				 "skills/kept.md"),
		     "the rename's source is gone");
	CHECK_STR_EQ("committed", GIT_STR(&out, dir, "cat-file", "-p",
					  "HEAD:skills/moved.md"),
		     "the rename's target is there");
	CHECK_STR_EQ("x", GIT_STR(&out, dir, "cat-file", "-p",
				  "HEAD:skills/unnoted.md"),
		     "a file stored but never noted is found by the scan");
	CHECK_STR_EQ("llmunixfs", GIT_STR(&out, dir, "log", "-1",
					  "--format=%an", "--",
					  "skills/unnoted.md"),
		     "and recorded as the daemon");
	CHECK_STR_EQ("bob", GIT_STR(&out, tdir, "log", "-1", "--format=%an"),
		     "another volume's pending change is there, by its author");
	CHECK_INT_EQ(0, GIT(&out, dir, "fsck", "--full", "--strict"),
		     "git fsck is clean after the crash");
	env_reopen(&e);
	CHECK_INT_EQ(0, history_flush(e.h), "a clean restart");
	resolve(&e, "user/alice", "HEAD", hex);
	CHECK_STR_EQ(GIT_STR(&out, dir, "rev-parse", "HEAD"), hex,
		     "a clean restart adds nothing");
	env_close(&e);
	buf_release(&out);
}

/* ---- faults ---- */

static void test_full_disk(void)
{
	char top[256], mnt[300], filler[400], err[600], dir[600];
	const char *vol = "user/full";
	static char big[400 * 1024];
	struct history_config cfg;
	struct history *h;
	struct env e;
	int fd, rc;
	uint64_t n = 0;

	if (geteuid() != 0) {
		unit_note("SKIP full-disk test: needs root to mount a tmpfs");
		return;
	}
	unit_tmpdir(top, sizeof(top), "hist-full");
	snprintf(mnt, sizeof(mnt), "%s/small", top);
	if (mkdir(mnt, 0700) < 0 ||
	    mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV,
		  "size=1m,mode=0700") < 0) {
		unit_note("SKIP full-disk test: cannot mount a tmpfs: %s",
			  strerror(errno));
		unit_rm_rf(top);
		return;
	}
	/* The files in a normal store; history's state on the tmpfs. */
	env_open(&e, "hist-full-store", 60000);
	cfg = e.cfg;
	cfg.state_dir = mnt;
	CHECK_INT_EQ(0, history_open(&h, &cfg), "open history on a 1 MiB "
		     "tmpfs");
	history_close(e.h);
	e.h = h;
	write_str(&e, vol, "root", "skills/small.md", "small\n");
	CHECK_INT_EQ(0, history_flush(h), "a small commit fits");
	/* Leave about 64 KiB free. */
	snprintf(filler, sizeof(filler), "%s/filler", mnt);
	fd = open(filler, O_WRONLY | O_CREAT, 0600);
	for (int i = 0; fd >= 0 && i < 1024; i++)
		if (write(fd, big, 1024) < 0)
			break;
	while (fd >= 0) {
		struct statvfs sv;

		if (fstatvfs(fd, &sv) < 0 ||
		    sv.f_bavail * sv.f_frsize <= 64 * 1024 ||
		    write(fd, big, 4096) <= 0)
			break;
	}
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(rand() & 0xff);	/* incompressible */
	rc = write_as(&e, vol, "root", "skills/big.bin", big, sizeof(big));
	CHECK(rc == 0 || rc == -ENOSPC, "noting on a full disk returns 0 or "
	      "ENOSPC, not a crash (%d)", rc);
	rc = history_flush(h);
	CHECK(rc == -ENOSPC || rc == -EIO, "the commit fails: %d", rc);
	history_error(h, vol, err, sizeof(err));
	CHECK(strstr(err, "No space left on device") != NULL,
	      "history_error says why: %s", err);
	CHECK_INT_EQ(0, history_count(h, vol, &n), "reading still works");
	CHECK_INT_EQ(1, (int)n, "the earlier commit is still there");
	/* Space again: the queued change is committed. */
	if (fd >= 0)
		close(fd);
	unlink(filler);
	CHECK_INT_EQ(0, history_flush(h), "with space again the flush "
		     "succeeds");
	history_count(h, vol, &n);
	CHECK_INT_EQ(2, (int)n, "the change that waited is committed");
	history_error(h, vol, err, sizeof(err));
	CHECK_STR_EQ("", err, "the error is cleared");
	snprintf(dir, sizeof(dir), "%s/history/%s.git", mnt, vol);
	CHECK_INT_EQ(0, GIT(NULL, dir, "fsck", "--full"),
		     "git fsck is clean after the full disk");
	history_close(h);
	e.h = NULL;
	e.src->ops->free(e.src);
	e.blob->ops->free(e.blob);
	unit_rm_rf(e.state);
	umount(mnt);
	unit_rm_rf(top);
}

static void test_corrupt(void)
{
	const char *vol = "user/bad";
	char dir[600], path[800], err[600], hex[HISTORY_HEX];
	struct history_id id;
	struct buf out;
	struct env e;
	uint64_t n;
	int fd, rc;

	buf_init(&out, 0);
	env_open(&e, "hist-corrupt", 60000);
	gitdir(&e, vol, dir, sizeof(dir));
	write_str(&e, vol, "root", "skills/a.md", "a\n");
	history_flush(e.h);
	resolve(&e, vol, "HEAD", hex);
	history_close(e.h);
	/* Replace HEAD's commit object with garbage. */
	snprintf(path, sizeof(path), "%s/objects/%.2s/%s", dir, hex, hex + 2);
	chmod(path, 0600);
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0 && write(fd, "garbage", 7) == 7, "corrupt the HEAD "
	      "commit object");
	if (fd >= 0)
		close(fd);
	env_start(&e);
	CHECK_INT_EQ(0, write_str(&e, vol, "root", "skills/b.md", "b\n"),
		     "noting into a corrupt repository is accepted");
	rc = history_flush(e.h);
	CHECK(rc < 0, "its commit fails (%d)", rc);
	history_error(e.h, vol, err, sizeof(err));
	CHECK(strstr(err, "cannot commit to") != NULL, "history_error says "
	      "so: %s", err);
	rc = history_resolve(e.h, vol, "HEAD", &id);
	CHECK(rc == 0 || rc == -EIO, "resolving HEAD gives an answer (%d)",
	      rc);
	out.len = 0;
	rc = rc ? rc : history_read(e.h, vol, &id, "skills/a.md", &out);
	CHECK_INT_EQ(-EIO, rc, "reading through the broken commit is EIO");
	CHECK_INT_EQ(0, history_count(e.h, "user/other", &n) == -ENOENT ? 0 :
			1, "another volume is not affected");
	CHECK_INT_EQ(0, write_str(&e, "user/other", "root", "skills/o.md",
				  "o"), "notes elsewhere go on");
	history_flush(e.h);
	CHECK_INT_EQ(1, count(&e, "user/other"), "and are committed");
	env_close(&e);
	buf_release(&out);
}

/* ---- the journal ---- */

static void test_journal_torn(void)
{
	static const char journal[] =
		"1 1700000000 W 1000 user/j carol skills/ok.md - - - -\n"
		"1 1700000000 W 1000 user/j carol skills/sp%20ace.md - "
		"run%2D1 - -\n"
		"garbage line\n"
		"1 1700000000 W 1000 user/j carol skills/tor";
	char path[600], dir[600];
	struct buf out;
	struct env e;
	int fd;

	buf_init(&out, 0);
	env_open(&e, "hist-journal", 60000);
	store_put(&e, "user/j", "skills/ok.md", "ok", 2, 0644);
	store_put(&e, "user/j", "skills/sp ace.md", "sp", 2, 0644);
	history_close(e.h);
	/* A journal as a crash leaves it: lines, then one cut short. */
	snprintf(path, sizeof(path), "%s/history/journal.7", e.state);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0 && write(fd, journal, strlen(journal)) > 0,
	      "write a journal with a torn last line");
	close(fd);
	env_start(&e);
	CHECK_INT_EQ(0, history_flush(e.h), "open replays it");
	gitdir(&e, "user/j", dir, sizeof(dir));
	CHECK_STR_EQ("carol add skills/sp ace.md\ncarol add skills/ok.md",
		     GIT_STR(&out, dir, "log", "--format=%an %s"),
		     "the readable lines are committed by their author (two "
		     "commits: one has a Run: trailer)");
	CHECK_STR_EQ("run-1", GIT_STR(&out, dir, "log", "-1", "--format="
				      "%(trailers:key=Run,valueonly)"),
		     "percent-encoded fields are decoded");
	history_close(e.h);
	CHECK_INT_EQ(-1, access(path, F_OK), "the journal is removed once "
		     "committed");
	env_start(&e);
	env_close(&e);
	buf_release(&out);
}

int main(void)
{
	log_set_level(LOG_LVL_ERR);
	/* Dates are checked in a fixed zone. */
	setenv("TZ", "Europe/Paris", 1);
	tzset();
	test_author_and_trailers();
	test_grouping();
	test_quiet_time();
	test_max_delay();
	test_content_budget();
	test_folders();
	test_second_daemon();
	test_threads();
	test_noise();
	test_bad_input();
	test_tree_and_blob();
	test_log_and_names();
	test_ambiguous_prefix();
	test_dates();
	test_commit_list();
	test_import();
	test_pack();
	test_crash();
	test_full_disk();
	test_corrupt();
	test_journal_torn();
	return unit_done();
}
