/* tests/unit/test-runner.c: running skills (core/runner/runner.h) for real, in
 * bubblewrap, as an unprivileged test account: python, sh and spice
 * skills, their outputs and errors, and hostile code (loops, fork bombs,
 * memory and disk hogs, escapes, floods, cancels) that must be stopped
 * and reported, leaving no process behind. Runs as root (it makes the
 * test account); skips with a reason otherwise. */
#include "core/util/buf.h"
#include "core/util/log.h"
#include "core/runner/runner.h"
#include "core/skill/skill.h"
#include "unit.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TEST_USER "llmunix-t"

static char top[256];
static const char *base = top;	/* where run() makes its folders */
static int cgroup;		/* runner_setup(): the cgroup version */
static uid_t tuid;
static gid_t tgid;
static int seq;

struct run {
	struct skill *sk;
	struct runner_result res;
	char work[512], out[512], err[512];
	struct buf stdout_text, stderr_text;
	double secs;
	int rc;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct runner_limits limits(void)
{
	struct runner_limits l = { 20, 20, 512, 64, 64, 16 };

	return l;
}

static void slurp(const char *path, struct buf *b)
{
	char chunk[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	buf_init(b, (size_t)64 << 20);
	if (fd < 0)
		return;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_append(b, chunk, (size_t)n))
			break;
	close(fd);
	buf_append(b, "", 0);
}

/* Parse `md`, run it with `inputs` (JSON text) and `lim`, as the test
 * user; the work folder stays for the caller (done() removes it). */
static void run_files(const char *md, const char *inputs,
		      const struct runner_limits *lim, struct runner_ctl *ctl,
		      const struct runner_file *files, size_t nfiles,
		      int network, struct run *r)
{
	struct skill_errors errs;
	struct runner_job job;
	json_t *in;
	double t0;

	memset(r, 0, sizeof(*r));
	seq++;
	snprintf(r->work, sizeof(r->work), "%s/w%d", base, seq);
	snprintf(r->out, sizeof(r->out), "%s/o%d", base, seq);
	snprintf(r->err, sizeof(r->err), "%s/e%d", base, seq);
	mkdir(r->work, 0700);
	skill_errors_init(&errs);
	if (skill_parse(&r->sk, "skills/test.md", md, strlen(md), &errs))
		r->sk = NULL;
	for (size_t i = 0; i < errs.n; i++)
		unit_note("skill: %s", errs.v[i].msg);
	skill_errors_release(&errs);
	in = json_loads(inputs ? inputs : "{}", 0, NULL);
	memset(&job, 0, sizeof(job));
	job.sk = r->sk;
	job.skill_path = "skills/test.md";
	job.inputs = in;
	job.files = files;
	job.nfiles = nfiles;
	job.uid = tuid;
	job.gid = tgid;
	job.user = TEST_USER;
	job.work = r->work;
	job.stdout_path = r->out;
	job.stderr_path = r->err;
	job.lim = *lim;
	job.network = network;
	t0 = now_s();
	r->rc = runner_run(&job, ctl, &r->res);
	r->secs = now_s() - t0;
	json_decref(in);
	slurp(r->out, &r->stdout_text);
	slurp(r->err, &r->stderr_text);
	if (r->res.error)
		unit_note("error: %.300s", r->res.error);
}

static void run(const char *md, const char *inputs,
		const struct runner_limits *lim, struct run *r)
{
	run_files(md, inputs, lim, NULL, NULL, 0, 0, r);
}

static void done(struct run *r)
{
	CHECK_INT_EQ(0, runner_work_remove(r->work), "work folder removed");
	runner_result_release(&r->res);
	skill_free(r->sk);
	buf_release(&r->stdout_text);
	buf_release(&r->stderr_text);
	unlink(r->out);
	unlink(r->err);
}

static const char *outcome_name(enum runner_outcome o)
{
	static const char *const n[] = { "ok", "failed", "limit", "cancelled",
					 "setup" };

	return (unsigned)o < 5 ? n[o] : "?";
}

#define CHECK_OUTCOME(exp, r, what)                                     \
	CHECK_STR_EQ(outcome_name(exp), outcome_name((r)->res.outcome), \
		     "%s: outcome", what)

static int has(const char *hay, const char *needle)
{
	return hay && strstr(hay, needle);
}

static json_t *out(struct run *r, const char *name)
{
	return json_object_get(r->res.outputs, name);
}

/* The uid and parent of `pid` from /proc: 0, or -1 when it is gone. */
static int proc_ids(pid_t pid, uid_t *uid, pid_t *ppid)
{
	char path[64], line[256];
	int got = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (got != 3 && fgets(line, sizeof(line), f)) {
		unsigned long v;

		if (sscanf(line, "PPid: %lu", &v) == 1) {
			*ppid = (pid_t)v;
			got |= 1;
		} else if (sscanf(line, "Uid: %lu", &v) == 1) {
			*uid = (uid_t)v;
			got |= 2;
		}
	}
	fclose(f);
	return got == 3 ? 0 : -1;
}

/* When `pid` started, in clock ticks since boot; 0 when it is gone. */
static unsigned long long proc_start(pid_t pid)
{
	char path[64], data[1024], *p;
	unsigned long long t = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fgets(data, sizeof(data), f) && (p = strrchr(data, ')')) &&
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u "
		   "%*u %*d %*d %*d %*d %*d %*d %llu", &t) != 1)
		t = 0;
	fclose(f);
	return t;
}

/* Whether the test user's process `pid` is ours: the first of its
 * ancestors not run by the test user is this program, or init (an orphan,
 * whoever left it, as long as it started after this program). Other
 * checkouts' tests may run as that user too. */
static int ours(pid_t pid)
{
	pid_t p = pid, parent, grand;
	uid_t uid;

	for (int depth = 0; depth < 64; depth++, p = parent) {
		if (proc_ids(p, &uid, &parent))
			return 0;
		if (parent == getpid())
			return 1;
		if (parent <= 1)
			return proc_start(pid) >= proc_start(getpid());
		if (proc_ids(parent, &uid, &grand) || uid != tuid)
			return 0;
	}
	return 0;
}

/* How many processes of the test user are ours (see ours()). */
static int user_procs(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		pid_t ppid;
		uid_t uid;

		if (*end || pid <= 0 || proc_ids((pid_t)pid, &uid, &ppid) ||
		    uid != tuid)
			continue;
		n += ours((pid_t)pid);
	}
	if (d)
		closedir(d);
	return n;
}

/* No process of the test user is left. */
static void check_no_survivors(const char *what)
{
	int n = user_procs();

	CHECK(n == 0, "%s: no process of uid %u is left (%d are)", what,
	      (unsigned)tuid, n);
}

/* The line of `needle` in `text`, counting from 1. */
static unsigned line_of(const char *text, const char *needle)
{
	const char *at = strstr(text, needle);
	unsigned line = 1;

	for (const char *p = text; at && p < at; p++)
		if (*p == '\n')
			line++;
	return line;
}

/* --- python ------------------------------------------------------------ */

static const char md_add[] =
	"---\n"
	"name: Add\n"
	"description: Adds two numbers.\n"
	"type: python\n"
	"inputs:\n"
	"  - {name: a, type: number}\n"
	"  - {name: b, type: number}\n"
	"outputs:\n"
	"  - {name: sum, type: number}\n"
	"  - {name: uid, type: integer}\n"
	"---\n"
	"Adds a and b.\n"
	"\n"
	"```python\n"
	"import os\n"
	"def execute(inputs):\n"
	"    print('hello from the skill')\n"
	"    return {'sum': inputs['a'] + inputs['b'], 'uid': os.getuid(),\n"
	"            'euid': os.geteuid(), 'host': os.uname().nodename,\n"
	"            'cwd': os.getcwd()}\n"
	"```\n";

static void test_python_add(void)
{
	struct runner_limits l = limits();
	struct run r;

	run(md_add, "{\"a\": 2, \"b\": 3.5}", &l, &r);
	CHECK_INT_EQ(0, r.rc, "python add: runner_run returns 0");
	CHECK_OUTCOME(RUNNER_OK, &r, "python add");
	CHECK(json_number_value(out(&r, "sum")) == 5.5,
	      "python add: sum is 5.5");
	CHECK_INT_EQ(tuid, json_integer_value(out(&r, "uid")),
		     "python add: the code runs as the test user");
	CHECK(json_integer_value(out(&r, "euid")) != 0,
	      "python add: not as root (euid %lld)",
	      (long long)json_integer_value(out(&r, "euid")));
	CHECK_STR_EQ("sandbox", json_string_value(out(&r, "host")),
		     "python add: hostname is 'sandbox'");
	CHECK_STR_EQ("/work", json_string_value(out(&r, "cwd")),
		     "python add: cwd is /work");
	CHECK(has(r.stdout_text.data, "hello from the skill\n"),
	      "python add: print() is in the stdout file");
	CHECK_INT_EQ(0, r.res.exit_code, "python add: exit code 0");
	CHECK(r.res.max_rss_kb > 1000 && r.res.user_s + r.res.sys_s > 0,
	      "python add: rusage counted (%ld kB, %.3f s)", r.res.max_rss_kb,
	      r.res.user_s + r.res.sys_s);
	CHECK(r.res.end.tv_sec >= r.res.start.tv_sec &&
		      r.res.start.tv_sec > 1600000000,
	      "python add: start and end recorded");
	done(&r);
}

static const char md_raise[] =
	"---\n"
	"name: Raise\n"
	"description: Fails.\n"
	"type: python\n"
	"---\n"
	"It fails.\n"
	"\n"
	"```python\n"
	"def helper(x):\n"
	"    raise ValueError('bad input %r' % (x,))\n"
	"\n"
	"def execute(inputs):\n"
	"    return helper(inputs.get('x'))\n"
	"```\n";

static void test_python_exception(void)
{
	struct runner_limits l = limits();
	char want[128];
	struct run r;

	run(md_raise, "{\"x\": 7}", &l, &r);
	CHECK_OUTCOME(RUNNER_FAILED, &r, "python exception");
	snprintf(want, sizeof(want), "File \"skills/test.md\", line %u",
		 line_of(md_raise, "raise ValueError"));
	CHECK(has(r.res.error, want),
	      "python exception: the traceback names the .md line (%s)",
	      want);
	CHECK(has(r.res.error, "raise ValueError('bad input"),
	      "python exception: the traceback shows the source line");
	CHECK(has(r.res.error, "ValueError: bad input 7"),
	      "python exception: the traceback ends with the exception");
	CHECK(!has(r.res.error, "harness.py"),
	      "python exception: no harness frames in the traceback");
	done(&r);
}

static void test_python_requires(void)
{
	static const char md[] =
		"---\n"
		"name: Needs\n"
		"description: Needs a module that is not there.\n"
		"type: python\n"
		"requires: [numpy_not_there_zz]\n"
		"---\n"
		"```python\n"
		"def execute(inputs):\n"
		"    return {}\n"
		"```\n";
	static const char md_np[] =
		"---\n"
		"name: Numpy\n"
		"description: Returns numpy values.\n"
		"type: python\n"
		"requires: [numpy]\n"
		"outputs:\n"
		"  - {name: a, type: array}\n"
		"  - {name: m, type: number}\n"
		"  - {name: n, type: integer}\n"
		"---\n"
		"```python\n"
		"import numpy as np\n"
		"def execute(inputs):\n"
		"    a = np.arange(4) * 0.5\n"
		"    return {'a': a, 'm': a.mean(), 'n': np.int64(3)}\n"
		"```\n";
	struct runner_limits l = limits();
	struct run r;

	run(md, NULL, &l, &r);
	CHECK_OUTCOME(RUNNER_SETUP, &r, "python requires");
	CHECK_STR_EQ("module 'numpy_not_there_zz' is required by the skill "
		     "but python3 cannot import it", r.res.error,
		     "python requires: the message names the module");
	done(&r);

	l.memory_mb = 512;
	run(md_np, NULL, &l, &r);
	if (r.res.outcome == RUNNER_SETUP && has(r.res.error, "numpy")) {
		unit_note("skip numpy outputs: numpy is not installed");
	} else {
		CHECK_OUTCOME(RUNNER_OK, &r, "numpy outputs");
		CHECK(json_array_size(out(&r, "a")) == 4 &&
			      json_number_value(json_array_get(
				      out(&r, "a"), 3)) == 1.5,
		      "numpy outputs: an array becomes a list");
		CHECK(json_number_value(out(&r, "m")) == 0.75,
		      "numpy outputs: a numpy float becomes a number");
		CHECK_INT_EQ(3, json_integer_value(out(&r, "n")),
			     "numpy outputs: a numpy int becomes an integer");
	}
	done(&r);
}

/* An output not marked required may be left out. */
static void md_missing_optional(struct runner_limits *l)
{
	static const char md[] =
		"---\n"
		"name: Optional\n"
		"description: Leaves out an optional output.\n"
		"type: python\n"
		"outputs:\n"
		"  - {name: x, type: number}\n"
		"  - {name: y, type: number}\n"
		"---\n"
		"```python\n"
		"def execute(inputs):\n"
		"    return {'x': 4.0}\n"
		"```\n";
	struct run r;

	run(md, NULL, l, &r);
	CHECK_OUTCOME(RUNNER_OK, &r, "an optional output left out");
	CHECK(r.res.outputs && !json_object_get(r.res.outputs, "y"),
	      "optional output: it is absent from the outputs");
	done(&r);
}

static void test_python_outputs(void)
{
	static const char md_nan[] =
		"---\n"
		"name: Nan\n"
		"description: Returns NaN.\n"
		"type: python\n"
		"---\n"
		"```python\n"
		"def execute(inputs):\n"
		"    return {'x': [1.0, float('nan')]}\n"
		"```\n";
	static const char md_type[] =
		"---\n"
		"name: Types\n"
		"description: Returns the wrong type.\n"
		"type: python\n"
		"outputs:\n"
		"  - {name: n, type: integer}\n"
		"---\n"
		"```python\n"
		"def execute(inputs):\n"
		"    return {'n': 'seven', 'extra': 1}\n"
		"```\n";
	static const char md_missing[] =
		"---\n"
		"name: Missing\n"
		"description: Forgets an output.\n"
		"type: python\n"
		"outputs:\n"
		"  - {name: x, type: number}\n"
		"  - {name: y, type: number, required: true}\n"
		"  - {name: w, type: number}\n"
		"---\n"
		"```python\n"
		"def execute(inputs):\n"
		"    return {'x': 4.0, 'z': 1}\n"
		"```\n";
	struct runner_limits l = limits();
	struct run r;

	run(md_nan, NULL, &l, &r);
	CHECK_OUTCOME(RUNNER_FAILED, &r, "NaN output");
	CHECK(has(r.res.error, "output 'x'[1] is nan") &&
		      has(r.res.error, "JSON cannot hold"),
	      "NaN output: the error names the value");
	done(&r);

	run(md_type, NULL, &l, &r);
	CHECK_OUTCOME(RUNNER_FAILED, &r, "wrong type");
	CHECK_STR_EQ("output 'n': the skill declares an integer, the code "
		     "returned a string", r.res.error,
		     "wrong type: the message");
	done(&r);

	run(md_missing, NULL, &l, &r);
	CHECK_OUTCOME(RUNNER_FAILED, &r, "missing output");
	CHECK(has(r.res.error, "output 'y' missing (the code returned: x, z"),
	      "missing required output: the message names it and what came");
	done(&r);
	md_missing_optional(&l);
}

/* --- sh ---------------------------------------------------------------- */

static void test_sh(void)
{
	static const char md[] =
		"---\n"
		"name: Shell\n"
		"description: A shell skill.\n"
		"type: sh\n"
		"inputs:\n"
		"  - {name: x, type: string}\n"
		"  - {name: n, type: integer}\n"
		"outputs:\n"
		"  - {name: y, type: integer}\n"
		"  - {name: said, type: string}\n"
		"  - {name: report, type: file}\n"
		"---\n"
		"```sh\n"
		"read -r json\n"
		"echo \"stdin: $json\" >&2\n"
		"echo \"x is $INPUT_x, id $(id -u)\"\n"
		"printf 'the report' > out/report\n"
		"mkdir out/sub && echo deep > out/sub/d.txt\n"
		"ln -s /etc/passwd out/link\n"
		"mkfifo out/fifo\n"
		"echo \"{\\\"y\\\": $((INPUT_n + 1)), \\\"said\\\": "
		"\\\"$INPUT_x\\\"}\"\n"
		"```\n";
	static const char md_fail[] =
		"---\n"
		"name: Fails\n"
		"description: Exits 3.\n"
		"type: sh\n"
		"---\n"
		"```sh\n"
		"echo working\n"
		"echo 'something went wrong' >&2\n"
		"nosuchcommand_zz\n"
		"exit 3\n"
		"```\n";
	struct runner_limits l = limits();
	char dest[600], path[700], err[256], want[64];
	struct buf b;
	struct stat st;
	struct run r;

	run(md, "{\"x\": \"hi there\", \"n\": 41}", &l, &r);
	CHECK_OUTCOME(RUNNER_OK, &r, "sh");
	CHECK_INT_EQ(42, json_integer_value(out(&r, "y")),
		     "sh: INPUT_n and the last stdout line give y");
	CHECK_STR_EQ("hi there", json_string_value(out(&r, "said")),
		     "sh: a string input is raw in INPUT_x");
	CHECK_STR_EQ("report", json_string_value(out(&r, "report")),
		     "sh: the file output out/report is named");
	CHECK(has(r.stderr_text.data, "stdin: {\"x\":\"hi there\",\"n\":41}"),
	      "sh: the inputs are JSON on stdin");
	snprintf(want, sizeof(want), "id %u", (unsigned)tuid);
	CHECK(has(r.stdout_text.data, want), "sh: runs as the test user");
	snprintf(dest, sizeof(dest), "%s/copy%d", top, seq);
	CHECK_INT_EQ(0, runner_copy_out(r.work, dest, 100, 1 << 20, err,
					sizeof(err)),
		     "sh: runner_copy_out");
	snprintf(path, sizeof(path), "%s/report", dest);
	slurp(path, &b);
	CHECK_STR_EQ("the report", b.data, "sh: out/report was copied");
	buf_release(&b);
	snprintf(path, sizeof(path), "%s/sub/d.txt", dest);
	CHECK(stat(path, &st) == 0 && S_ISREG(st.st_mode),
	      "sh: out/sub/d.txt was copied");
	snprintf(path, sizeof(path), "%s/link", dest);
	CHECK(lstat(path, &st) && errno == ENOENT,
	      "sh: the symbolic link in out/ was not copied");
	snprintf(path, sizeof(path), "%s/fifo", dest);
	CHECK(lstat(path, &st) && errno == ENOENT,
	      "sh: the FIFO in out/ was not copied");
	CHECK_INT_EQ(-EFBIG, runner_copy_out(r.work, dest, 2, 1 << 20, err,
					     sizeof(err)),
		     "sh: runner_copy_out refuses past max_files");
	CHECK(has(err, "more than 2 files"), "sh: and says why (%s)", err);
	unit_rm_rf(dest);
	CHECK_INT_EQ(-EFBIG, runner_copy_out(r.work, dest, 100, 5, err,
					     sizeof(err)),
		     "sh: runner_copy_out refuses past max_bytes");
	CHECK(has(err, "more than 5 bytes"), "sh: and says why (%s)", err);
	unit_rm_rf(dest);
	done(&r);

	run(md_fail, NULL, &l, &r);
	CHECK_OUTCOME(RUNNER_FAILED, &r, "sh exit 3");
	CHECK(r.res.error && !strncmp(r.res.error, "exited with status 3", 20),
	      "sh exit 3: 'exited with status 3'");
	CHECK(has(r.res.error, "something went wrong"),
	      "sh exit 3: with the end of stderr");
	snprintf(want, sizeof(want), "skill.sh: %u: nosuchcommand_zz",
		 line_of(md_fail, "nosuchcommand_zz"));
	CHECK(has(r.res.error, want),
	      "sh exit 3: sh's line numbers are the .md's (%s)", want);
	CHECK_INT_EQ(3, r.res.exit_code, "sh exit 3: exit_code");
	done(&r);
}

/* --- spice ------------------------------------------------------------- */

static const char md_rc[] =
	"---\n"
	"name: RC\n"
	"description: An RC low-pass filter.\n"
	"type: spice\n"
	"inputs:\n"
	"  - {name: r, type: number}\n"
	"  - {name: c, type: number}\n"
	"outputs:\n"
	"  - {name: tran_time, type: array}\n"
	"  - {name: tran_out, type: array}\n"
	"  - {name: ac_frequency, type: array}\n"
	"  - {name: ac_out, type: array}\n"
	"---\n"
	"```spice\n"
	"RC low-pass\n"
	".param tau_unused=1\n"
	"V1 in 0 DC 0 AC 1 PWL(0 0 1n 1)\n"
	"R1 in out {r}\n"
	"C1 out 0 {c}\n"
	".tran 1u 5m 0 1u\n"
	".ac dec 100 1 100k\n"
	".end\n"
	"```\n";

/* The time at which v(out) reaches `level`, interpolated. */
static double crossing(json_t *t, json_t *v, double level)
{
	for (size_t i = 1; i < json_array_size(v); i++) {
		double v0 = json_number_value(json_array_get(v, i - 1));
		double v1 = json_number_value(json_array_get(v, i));

		if (v0 < level && v1 >= level) {
			double t0 = json_number_value(json_array_get(t, i - 1));
			double t1 = json_number_value(json_array_get(t, i));

			return t0 + (t1 - t0) * (level - v0) / (v1 - v0);
		}
	}
	return -1;
}

/* The frequency where |H|^2 falls through 1/2 (-3 dB), interpolated
 * (the points are 2.3% apart: linear is close enough). */
static double corner(json_t *f, json_t *h)
{
	double m0 = 0;

	for (size_t i = 0; i < json_array_size(h); i++) {
		json_t *p = json_array_get(h, i);
		double re = json_number_value(json_array_get(p, 0));
		double im = json_number_value(json_array_get(p, 1));
		double m = re * re + im * im;

		if (i && m0 > 0.5 && m <= 0.5) {
			double f0 = json_number_value(json_array_get(f, i - 1));
			double f1 = json_number_value(json_array_get(f, i));

			return f0 + (f1 - f0) * (m0 - 0.5) / (m0 - m);
		}
		m0 = m;
	}
	return -1;
}

static double absd(double x)
{
	return x < 0 ? -x : x;
}

static void test_spice(void)
{
	static const char md_bad[] =
		"---\n"
		"name: Bad\n"
		"description: A placeholder that is no input.\n"
		"type: spice\n"
		"inputs:\n"
		"  - {name: r, type: number}\n"
		"---\n"
		"```spice\n"
		"bad\n"
		"R1 in out {nope}\n"
		".end\n"
		"```\n";
	static const char md_err[] =
		"---\n"
		"name: Err\n"
		"description: ngspice fails.\n"
		"type: spice\n"
		"outputs:\n"
		"  - {name: out, type: array}\n"
		"---\n"
		"```spice\n"
		"broken\n"
		"X1 a b nosuchsubckt\n"
		".tran 1u 1m\n"
		".end\n"
		"```\n";
	static const char md_novec[] =
		"---\n"
		"name: Novec\n"
		"description: Asks for a vector that is not there.\n"
		"type: spice\n"
		"outputs:\n"
		"  - {name: nothere, type: array}\n"
		"---\n"
		"```spice\n"
		"divider\n"
		"V1 in 0 1\n"
		"R1 in out 1k\n"
		"R2 out 0 1k\n"
		".op\n"
		".end\n"
		"```\n";
	struct runner_limits l = limits();
	double tau = 1000 * 1e-6, t63, fc;
	double want_fc = 1 / (2 * 3.14159265358979324 * tau);
	double e_1 = 0.36787944117144233;	/* exp(-1) */
	struct run r;

	run(md_rc, "{\"r\": 1000, \"c\": 1e-6}", &l, &r);
	CHECK_OUTCOME(RUNNER_OK, &r, "spice RC");
	t63 = crossing(out(&r, "tran_time"), out(&r, "tran_out"),
		       1 - e_1);
	CHECK(absd(t63 - tau) < 0.01 * tau,
	      "spice RC: v(out) reaches 63.2%% at t = RC (%g s, want %g)",
	      t63, tau);
	fc = corner(out(&r, "ac_frequency"), out(&r, "ac_out"));
	CHECK(absd(fc - want_fc) < 0.01 * want_fc,
	      "spice RC: -3 dB at 1/(2 pi RC) (%g Hz, want %g)", fc,
	      want_fc);
	CHECK(json_is_number(json_array_get(out(&r, "ac_frequency"), 1)),
	      "spice RC: the AC frequency scale is real");
	done(&r);

	run(md_bad, "{\"r\": 1}", &l, &r);
	CHECK_OUTCOME(RUNNER_FAILED, &r, "spice placeholder");
	CHECK(has(r.res.error, "skills/test.md:10: placeholder '{nope}' is "
		  "not an input of the skill (inputs: r)"),
	      "spice placeholder: the message names it and its line");
	done(&r);

	run(md_err, NULL, &l, &r);
	CHECK_OUTCOME(RUNNER_FAILED, &r, "spice error");
	CHECK(has(r.res.error, "ngspice failed:") &&
		      has(r.res.error, "nosuchsubckt"),
	      "spice error: ngspice's error lines are reported");
	done(&r);

	run(md_novec, NULL, &l, &r);
	CHECK_OUTCOME(RUNNER_FAILED, &r, "spice missing vector");
	CHECK(has(r.res.error, "output 'nothere': no vector") &&
		      has(r.res.error, "v(out)"),
	      "spice missing vector: lists the vectors there are");
	done(&r);
}

/* --- hostile code ------------------------------------------------------ */

#define PY_HEAD(name)                     \
	"---\n"                           \
	"name: " name "\n"                \
	"description: Hostile code.\n"    \
	"type: python\n"                  \
	"---\n"                           \
	"```python\n"                     \
	"import os, sys, time, socket\n"

static void expect_limit(struct run *r, const char *what, const char *msg,
			 double max_s)
{
	CHECK_OUTCOME(RUNNER_LIMIT, r, what);
	CHECK(r->res.error && !strncmp(r->res.error, msg, strlen(msg)),
	      "%s: '%s'", what, msg);
	CHECK(r->secs < max_s, "%s: stopped promptly (%.1f s)", what,
	      r->secs);
	check_no_survivors(what);
}

static void test_loop_and_bombs(void)
{
	static const char md_loop[] = PY_HEAD("Loop")
		"def execute(inputs):\n"
		"    while True:\n"
		"        pass\n"
		"```\n";
	static const char md_bomb[] = PY_HEAD("Bomb")
		"def execute(inputs):\n"
		"    while True:\n"
		"        os.fork()\n"
		"```\n";
	static const char md_shbomb[] =
		"---\n"
		"name: Shbomb\n"
		"description: A shell fork bomb.\n"
		"type: sh\n"
		"---\n"
		"```sh\n"
		"f() { f & f; }\n"
		"f\n"
		"```\n";
	static const char md_daemon[] = PY_HEAD("Daemon")
		"import subprocess\n"
		"def execute(inputs):\n"
		"    subprocess.Popen(['sleep', '300'],\n"
		"                     start_new_session=True)\n"
		"    if os.fork() == 0:\n"
		"        os.setsid()\n"
		"        time.sleep(300)\n"
		"    return {'left': 'behind'}\n"
		"```\n";
	struct runner_limits l = limits();
	struct run r;

	l.timeout_s = 2;
	run(md_loop, NULL, &l, &r);
	expect_limit(&r, "infinite loop", "timeout after 2 s", 5);
	CHECK(r.res.signal == SIGKILL, "infinite loop: killed by SIGKILL");
	done(&r);

	l = limits();
	l.procs = 32;
	l.timeout_s = 10;
	run(md_bomb, NULL, &l, &r);
	expect_limit(&r, "python fork bomb", "process limit 32 reached", 10);
	done(&r);

	l.timeout_s = 3;
	run(md_shbomb, NULL, &l, &r);
	CHECK_OUTCOME(RUNNER_LIMIT, &r, "sh fork bomb");
	CHECK(has(r.res.error, "process limit 32 reached"),
	      "sh fork bomb: 'process limit 32 reached'");
	CHECK(r.secs < 6, "sh fork bomb: stopped promptly (%.1f s)", r.secs);
	check_no_survivors("sh fork bomb");
	done(&r);

	l = limits();
	run(md_daemon, NULL, &l, &r);
	CHECK_OUTCOME(RUNNER_OK, &r, "background processes");
	CHECK(r.secs < 5, "background processes: not waited for (%.1f s)",
	      r.secs);
	check_no_survivors("background processes");
	done(&r);
}

static void test_memory_and_files(void)
{
	static const char md_mem[] = PY_HEAD("Mem")
		"def execute(inputs):\n"
		"    x = bytearray(10 * 1024 ** 3)\n"
		"    return {'n': len(x)}\n"
		"```\n";
	static const char md_disk[] = PY_HEAD("Disk")
		"def execute(inputs):\n"
		"    chunk = b'x' * (1 << 20)\n"
		"    with open('/work/big', 'wb') as f:\n"
		"        for i in range(10 * 1024):\n"
		"            f.write(chunk)\n"
		"    return {}\n"
		"```\n";
	static const char md_tmp[] = PY_HEAD("Tmp")
		"def execute(inputs):\n"
		"    chunk = b'x' * (1 << 20)\n"
		"    n = 0\n"
		"    for i in range(100):\n"
		"        with open('/tmp/f%d' % i, 'wb') as f:\n"
		"            f.write(chunk * 8)\n"
		"    return {}\n"
		"```\n";
	struct runner_limits l = limits();
	struct run r;

	l.memory_mb = 256;
	run(md_mem, NULL, &l, &r);
	expect_limit(&r, "10 GB allocation", "memory limit 256 MB exceeded",
		     10);
	/* The cgroup's OOM killer leaves no traceback; RLIMIT_AS does. */
	if (!cgroup)
		CHECK(has(r.res.error, "MemoryError"),
		      "10 GB allocation: with the traceback");
	done(&r);

	l = limits();
	l.file_mb = 16;
	run(md_disk, NULL, &l, &r);
	expect_limit(&r, "10 GB file", "file size limit 16 MB exceeded", 10);
	done(&r);

	run(md_tmp, NULL, &l, &r);
	expect_limit(&r, "filling /tmp", "file size limit 16 MB exceeded", 10);
	done(&r);
}

static void test_escapes(void)
{
	static const char md_write[] = PY_HEAD("Write")
		"def execute(inputs):\n"
		"    res = {}\n"
		"    for p in inputs['paths']:\n"
		"        try:\n"
		"            with open(p, 'w') as f:\n"
		"                f.write('x')\n"
		"            res[p] = 'written'\n"
		"        except OSError as e:\n"
		"            res[p] = e.strerror\n"
		"    return {'res': res}\n"
		"```\n";
	static const char md_read[] = PY_HEAD("Read")
		"def execute(inputs):\n"
		"    res = {}\n"
		"    for p in inputs['paths']:\n"
		"        try:\n"
		"            with open(p) as f:\n"
		"                res[p] = 'read: ' + f.read()\n"
		"        except OSError as e:\n"
		"            res[p] = e.strerror\n"
		"    res['/'] = sorted(os.listdir('/'))\n"
		"    return {'res': res}\n"
		"```\n";
	static const char md_link[] = PY_HEAD("Link")
		"def execute(inputs):\n"
		"    os.symlink('/etc/shadow', '/work/.llmunix/result.json')\n"
		"    os._exit(0)\n"
		"```\n";
	static const char md_fifo[] = PY_HEAD("Fifo")
		"def execute(inputs):\n"
		"    os.mkfifo('/work/.llmunix/result.json')\n"
		"    os._exit(0)\n"
		"```\n";
	struct runner_limits l = limits();
	char secret_dir[] = "/var/tmp/llmunix-unit-secret.XXXXXX";
	char secret[128], inputs[512];
	const char *key;
	json_t *v, *res;
	int fd, all;
	struct run r;

	run(md_write, "{\"paths\": [\"/usr/x\", \"/etc/x\", \"/x\", "
		      "\"/proc/x\", \"/dev/x\", \"/work/ok\", \"/tmp/ok\"]}",
	    &l, &r);
	CHECK_OUTCOME(RUNNER_OK, &r, "writing outside /work");
	res = out(&r, "res");
	all = 1;
	json_object_foreach(res, key, v) {
		int in_work = !strcmp(key, "/work/ok") ||
			      !strcmp(key, "/tmp/ok");

		if (in_work != !strcmp(json_string_value(v), "written")) {
			unit_note("%s: %s", key, json_string_value(v));
			all = 0;
		}
	}
	CHECK(all && json_object_size(res) == 7,
	      "writing outside /work: fails for /usr, /etc, /, /proc, /dev; "
	      "works in /work and /tmp");
	check_no_survivors("writing outside /work");
	done(&r);

	if (!mkdtemp(secret_dir)) {
		CHECK(0, "mkdtemp %s: %s", secret_dir, strerror(errno));
		return;
	}
	snprintf(secret, sizeof(secret), "%s/secret", secret_dir);
	fd = open(secret, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, "TOPSECRET", 9) == 9,
	      "a root-owned 0600 secret under /var/tmp");
	if (fd >= 0)
		close(fd);
	snprintf(inputs, sizeof(inputs),
		 "{\"paths\": [\"/etc/shadow\", \"/etc/gshadow\", \"%s\", "
		 "\"/root/.bashrc\", \"/etc/passwd\"]}", secret);
	run(md_read, inputs, &l, &r);
	CHECK_OUTCOME(RUNNER_OK, &r, "reading secrets");
	res = out(&r, "res");
	CHECK(!has(json_string_value(json_object_get(res, "/etc/shadow")),
		   "read"),
	      "reading secrets: /etc/shadow is not there (%s)",
	      json_string_value(json_object_get(res, "/etc/shadow")));
	CHECK(!has(json_string_value(json_object_get(res, secret)), "read"),
	      "reading secrets: the file under /var/tmp is not there");
	CHECK(!has(json_string_value(json_object_get(res, "/root/.bashrc")),
		   "read"),
	      "reading secrets: /root is not there");
	CHECK(has(json_string_value(json_object_get(res, "/etc/passwd")),
		  TEST_USER) &&
		      !has(json_string_value(json_object_get(res,
							     "/etc/passwd")),
			   "root:"),
	      "reading secrets: /etc/passwd holds the user, not root");
	{
		char *all_text = json_dumps(res, 0);

		CHECK(all_text && !strstr(all_text, "TOPSECRET") &&
			      !strstr(all_text, "\"home\"") &&
			      !strstr(all_text, "\"var\"") &&
			      !strstr(all_text, "\"root\""),
		      "reading secrets: no secret, no /home, /var, /root "
		      "(%.200s)", all_text ? all_text : "");
		free(all_text);
	}
	check_no_survivors("reading secrets");
	done(&r);
	unlink(secret);
	rmdir(secret_dir);

	run(md_link, NULL, &l, &r);
	CHECK_OUTCOME(RUNNER_FAILED, &r, "result.json -> /etc/shadow");
	CHECK(has(r.res.error, "not a regular file") &&
		      !has(r.res.error, "root:"),
	      "result.json -> /etc/shadow: not followed, not read");
	check_no_survivors("result.json -> /etc/shadow");
	done(&r);

	run(md_fifo, NULL, &l, &r);
	CHECK_OUTCOME(RUNNER_FAILED, &r, "result.json as a FIFO");
	CHECK(r.secs < 5 && has(r.res.error, "not a regular file"),
	      "result.json as a FIFO: refused without blocking");
	check_no_survivors("result.json as a FIFO");
	done(&r);
}

/* A TCP listener on 127.0.0.1 (non-blocking), and the inputs {"port": N}
 * that name it; -1 when it cannot be made. */
static int listen_local(char *inputs, size_t cap)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(s, 8) || getsockname(s, (struct sockaddr *)&sa, &sl)) {
		CHECK(0, "a listening socket: %s", strerror(errno));
		if (s >= 0)
			close(s);
		return -1;
	}
	snprintf(inputs, cap, "{\"port\": %d}", ntohs(sa.sin_port));
	return s;
}

static void test_network(void)
{
	static const char md[] = PY_HEAD("Net")
		"def execute(inputs):\n"
		"    try:\n"
		"        s = socket.create_connection(('127.0.0.1', "
		"inputs['port']), timeout=3)\n"
		"        s.sendall(b'hello')\n"
		"        return {'r': 'connected'}\n"
		"    except OSError as e:\n"
		"        return {'r': str(e)}\n"
		"```\n";
	struct runner_limits l = limits();
	char inputs[64];
	int s, c;
	struct run r;

	if ((s = listen_local(inputs, sizeof(inputs))) < 0)
		return;
	run(md, inputs, &l, &r);
	CHECK_OUTCOME(RUNNER_OK, &r, "network");
	CHECK(json_string_value(out(&r, "r")) &&
		      strcmp(json_string_value(out(&r, "r")), "connected"),
	      "network: the connect to 127.0.0.1 fails (%s)",
	      json_string_value(out(&r, "r")));
	c = accept(s, NULL, NULL);
	CHECK(c < 0 && (errno == EAGAIN || errno == EWOULDBLOCK),
	      "network: the listener saw no connection");
	if (c >= 0)
		close(c);
	check_no_survivors("network");
	done(&r);

	/* A job with the network (the skill asked, the configuration
	 * allows): the same connect reaches the listener. */
	run_files(md, inputs, &l, NULL, NULL, 0, 1, &r);
	CHECK_OUTCOME(RUNNER_OK, &r, "network allowed");
	CHECK_STR_EQ("connected", json_string_value(out(&r, "r")),
		     "network allowed: the connect to 127.0.0.1 works");
	c = accept(s, NULL, NULL);
	CHECK(c >= 0, "network allowed: the listener saw the connection");
	if (c >= 0)
		close(c);
	check_no_survivors("network allowed");
	done(&r);
	close(s);
}

/* --- javascript ---------------------------------------------------------- */

#define JS_HEAD(name)                     \
	"---\n"                           \
	"name: " name "\n"                \
	"description: A javascript skill.\n" \
	"type: javascript\n"              \
	"---\n"                           \
	"Prose.\n"                        \
	"\n"                              \
	"```javascript\n"

static void test_js_contract(void)
{
	static const char md_add[] = JS_HEAD("Add")
		"const os = require('os');\n"
		"module.exports.execute = async function (inputs) {\n"
		"  console.log('hello from node');\n"
		"  await new Promise((r) => setTimeout(r, 10));\n"
		"  return {sum: inputs.a + inputs.b, uid: process.getuid(),\n"
		"          host: os.hostname(), cwd: process.cwd(),\n"
		"          typed: new Float64Array([1.5, 2]),\n"
		"          big: 12n, set: new Set(['x'])};\n"
		"};\n"
		"```\n";
	static const char md_top[] = JS_HEAD("Top")
		"export function execute(inputs) {\n"
		"  return {y: inputs.x * 2};\n"
		"}\n"
		"```\n";
	static const char md_none[] = JS_HEAD("None")
		"const x = 1;\n"
		"```\n";
	static const char md_nan[] = JS_HEAD("Nan")
		"function execute(inputs) { return {v: [1, 0 / 0]}; }\n"
		"```\n";
	struct runner_limits l = limits();
	struct run r;

	run(md_add, "{\"a\": 2, \"b\": 3.5}", &l, &r);
	CHECK_OUTCOME(RUNNER_OK, &r, "js add");
	CHECK(json_number_value(out(&r, "sum")) == 5.5, "js add: sum is 5.5");
	CHECK_INT_EQ(tuid, json_integer_value(out(&r, "uid")),
		     "js add: the code runs as the test user");
	CHECK_STR_EQ("sandbox", json_string_value(out(&r, "host")),
		     "js add: in the sandbox (hostname 'sandbox')");
	CHECK_STR_EQ("/work", json_string_value(out(&r, "cwd")),
		     "js add: cwd is /work");
	CHECK(json_array_size(out(&r, "typed")) == 2 &&
		      json_integer_value(out(&r, "big")) == 12 &&
		      json_array_size(out(&r, "set")) == 1,
	      "js add: typed arrays, BigInts and Sets become JSON");
	CHECK(has(r.stdout_text.data, "hello from node\n"),
	      "js add: console.log() is in the stdout file");
	done(&r);

	run(md_top, "{\"x\": 21}", &l, &r);
	CHECK_OUTCOME(RUNNER_OK, &r, "js export function execute");
	CHECK_INT_EQ(42, json_integer_value(out(&r, "y")),
		     "js export function execute: y is 42");
	done(&r);

	run(md_none, NULL, &l, &r);
	CHECK_OUTCOME(RUNNER_FAILED, &r, "js without execute");
	CHECK(has(r.res.error, "skills/test.md: the code defines no function "
			       "execute(inputs)"),
	      "js without execute: says so");
	done(&r);

	run(md_nan, NULL, &l, &r);
	CHECK_OUTCOME(RUNNER_FAILED, &r, "js NaN");
	CHECK(has(r.res.error, "output 'v'[1] is NaN, which JSON cannot hold"),
	      "js NaN: names the output");
	done(&r);
	check_no_survivors("js contract");
}

static void test_js_errors(void)
{
	static const char md_throw[] = JS_HEAD("Throw")
		"function helper(x) {\n"
		"  throw new RangeError('bad input ' + x);\n"
		"}\n"
		"function execute(inputs) {\n"
		"  return helper(inputs.x);\n"
		"}\n"
		"```\n";
	static const char md_syntax[] = JS_HEAD("Syntax")
		"function execute(inputs) {\n"
		"  return {x: };\n"
		"}\n"
		"```\n";
	static const char md_dom[] = JS_HEAD("Dom")
		"function execute(inputs) {\n"
		"  const c = document.createElement('canvas');\n"
		"  return {c: 1};\n"
		"}\n"
		"```\n";
	static const char md_req[] =
		"---\n"
		"name: Needs\n"
		"description: Needs a module that is not there.\n"
		"type: javascript\n"
		"requires: [left-pad-nowhere]\n"
		"---\n"
		"```js\n"
		"function execute(inputs) { return {}; }\n"
		"```\n";
	struct runner_limits l = limits();
	char want[128];
	struct run r;

	run(md_throw, "{\"x\": 7}", &l, &r);
	CHECK_OUTCOME(RUNNER_FAILED, &r, "js exception");
	snprintf(want, sizeof(want), "(skills/test.md:%u:",
		 line_of(md_throw, "throw new RangeError"));
	CHECK(has(r.res.error, want),
	      "js exception: the stack names the .md line (%s)", want);
	CHECK(has(r.res.error, "RangeError: bad input 7"),
	      "js exception: the message");
	CHECK(has(r.res.error, "| throw new RangeError('bad input ' + x);"),
	      "js exception: the source line is shown");
	CHECK(!has(r.res.error, "harness.js") &&
		      !has(r.res.error, "node:internal"),
	      "js exception: no harness or node frames");
	done(&r);

	run(md_syntax, NULL, &l, &r);
	CHECK_OUTCOME(RUNNER_FAILED, &r, "js syntax error");
	snprintf(want, sizeof(want), "skills/test.md:%u\n",
		 line_of(md_syntax, "return {x: }"));
	CHECK(has(r.res.error, want) && has(r.res.error, "SyntaxError"),
	      "js syntax error: at the .md line (%s)", want);
	done(&r);

	run(md_dom, NULL, &l, &r);
	CHECK_OUTCOME(RUNNER_FAILED, &r, "js needs a browser");
	CHECK(has(r.res.error, "this skill needs a browser: it uses "
			       "'document'"),
	      "js needs a browser: says so");
	done(&r);

	run(md_req, NULL, &l, &r);
	CHECK_OUTCOME(RUNNER_SETUP, &r, "js requires");
	CHECK(has(r.res.error, "module 'left-pad-nowhere' is required by the "
			       "skill but node cannot load it"),
	      "js requires: names the module");
	done(&r);
}

static void test_js_hostile(void)
{
	static const char md_loop[] = JS_HEAD("Loop")
		"function execute(inputs) { for (;;) {} }\n"
		"```\n";
	static const char md_heap[] = JS_HEAD("Heap")
		"function execute(inputs) {\n"
		"  const a = [];\n"
		"  for (;;) a.push(new Array(1e6).fill(Math.random()));\n"
		"}\n"
		"```\n";
	static const char md_buf[] = JS_HEAD("Buf")
		"function execute(inputs) {\n"
		"  return {n: Buffer.alloc(3 * 1024 ** 3).fill(7).length};\n"
		"}\n"
		"```\n";
	static const char md_shadow[] = JS_HEAD("Shadow")
		"const fs = require('fs');\n"
		"function execute(inputs) {\n"
		"  const r = {};\n"
		"  for (const p of ['/etc/shadow', '/root', '/home']) {\n"
		"    try { r[p] = String(fs.readFileSync(p)).length; }\n"
		"    catch (e) { r[p] = e.code; }\n"
		"  }\n"
		"  try { fs.writeFileSync('/usr/x', 'x'); r.usr = 'written'; }\n"
		"  catch (e) { r.usr = e.code; }\n"
		"  return r;\n"
		"}\n"
		"```\n";
	static const char md_net[] = JS_HEAD("Net")
		"const net = require('net');\n"
		"function execute(inputs) {\n"
		"  return new Promise((ok) => {\n"
		"    const s = net.connect(inputs.port, '127.0.0.1');\n"
		"    s.on('connect', () => { s.end(); ok({r: 'connected'}); });\n"
		"    s.on('error', (e) => ok({r: e.code}));\n"
		"  });\n"
		"}\n"
		"```\n";
	struct runner_limits l = limits();
	char inputs[64];
	const char *v;
	struct run r;
	int s, c;

	l.timeout_s = 2;
	run(md_loop, NULL, &l, &r);
	expect_limit(&r, "js infinite loop", "timeout after 2 s", 6);
	done(&r);

	l = limits();
	l.memory_mb = 256;
	run(md_heap, NULL, &l, &r);
	expect_limit(&r, "js heap growth", "memory limit 256 MB exceeded", 20);
	done(&r);

	run(md_buf, NULL, &l, &r);
	expect_limit(&r, "js 3 GB buffer", "memory limit 256 MB exceeded",
		     20);
	done(&r);

	l = limits();
	run(md_shadow, NULL, &l, &r);
	CHECK_OUTCOME(RUNNER_OK, &r, "js reads outside");
	v = json_string_value(out(&r, "/etc/shadow"));
	CHECK(v && (!strcmp(v, "ENOENT") || !strcmp(v, "EACCES")),
	      "js reads outside: /etc/shadow cannot be read (%s)",
	      v ? v : "read!");
	v = json_string_value(out(&r, "/root"));
	CHECK(v && (!strcmp(v, "ENOENT") || !strcmp(v, "EACCES")),
	      "js reads outside: /root is not there (%s)", v ? v : "read!");
	v = json_string_value(out(&r, "usr"));
	CHECK(v && strcmp(v, "written"), "js writes outside: /usr is "
					 "read-only (%s)", v ? v : "?");
	done(&r);

	if ((s = listen_local(inputs, sizeof(inputs))) < 0)
		return;
	run(md_net, inputs, &l, &r);
	CHECK_OUTCOME(RUNNER_OK, &r, "js network");
	v = json_string_value(out(&r, "r"));
	CHECK(v && strcmp(v, "connected"),
	      "js network: the connect to 127.0.0.1 fails (%s)", v ? v : "?");
	c = accept(s, NULL, NULL);
	CHECK(c < 0, "js network: the listener saw no connection");
	if (c >= 0)
		close(c);
	close(s);
	done(&r);
	check_no_survivors("js hostile");
}

static void test_javascript(void)
{
	char err[256];

	if (runner_available(SKILL_RUNNER_JS, err, sizeof(err))) {
		unit_note("skip javascript: %s", err);
		return;
	}
	test_js_contract();
	test_js_errors();
	test_js_hostile();
}

static void test_output_and_cpu(void)
{
	static const char md_flood[] = PY_HEAD("Flood")
		"def execute(inputs):\n"
		"    line = 'x' * 1023 + '\\n'\n"
		"    for i in range(100 * 1024):\n"
		"        sys.stdout.write(line)\n"
		"    return {}\n"
		"```\n";
	static const char md_spin[] = PY_HEAD("Spin")
		"def execute(inputs):\n"
		"    n = 0\n"
		"    while True:\n"
		"        n += 1\n"
		"```\n";
	static const char md_shspin[] =
		"---\n"
		"name: Shspin\n"
		"description: Spins in sh.\n"
		"type: sh\n"
		"---\n"
		"```sh\n"
		"while :; do :; done\n"
		"```\n";
	struct runner_limits l = limits();
	struct stat st;
	struct run r;

	l.output_mb = 4;
	run(md_flood, NULL, &l, &r);
	expect_limit(&r, "100 MB of stdout", "output limit 4 MB exceeded", 10);
	if (stat(r.out, &st))
		st.st_size = -1;
	CHECK(st.st_size <= (4 << 20) && st.st_size > (1 << 20),
	      "100 MB of stdout: the file keeps the first 4 MB (%lld)",
	      (long long)st.st_size);
	done(&r);

	l = limits();
	l.cpu_s = 1;
	run(md_spin, NULL, &l, &r);
	expect_limit(&r, "python cpu", "cpu limit 1 s exceeded", 6);
	done(&r);

	run(md_shspin, NULL, &l, &r);
	expect_limit(&r, "sh cpu", "cpu limit 1 s exceeded", 6);
	done(&r);
}

struct canceller {
	struct runner_ctl *ctl;
	double after;
	double grace;
};

static void *cancel_later(void *arg)
{
	struct canceller *c = arg;

	usleep((useconds_t)(c->after * 1e6));
	runner_cancel(c->ctl, c->grace);
	return NULL;
}

static const char md_sleep[] = PY_HEAD("Sleep")
	"def execute(inputs):\n"
	"    time.sleep(30)\n"
	"    return {}\n"
	"```\n";

static void test_cancel(void)
{
	static const char md_sh[] =
		"---\n"
		"name: Shsleep\n"
		"description: Sleeps in sh, ignoring TERM.\n"
		"type: sh\n"
		"---\n"
		"```sh\n"
		"trap '' TERM\n"
		"sleep 30; sleep 30\n"
		"```\n";
	struct runner_limits l = limits();
	struct canceller cc = { NULL, 1.0, 1.0 };
	pthread_t th;
	struct run r;

	CHECK_INT_EQ(0, runner_ctl_new(&cc.ctl), "runner_ctl_new");
	pthread_create(&th, NULL, cancel_later, &cc);
	run_files(md_sleep, NULL, &l, cc.ctl, NULL, 0, 0, &r);
	pthread_join(th, NULL);
	CHECK_OUTCOME(RUNNER_CANCELLED, &r, "cancel");
	CHECK_STR_EQ("cancelled", r.res.error, "cancel: the message");
	CHECK(r.secs < 4, "cancel: within a few seconds (%.1f s)", r.secs);
	check_no_survivors("cancel");
	done(&r);
	runner_ctl_free(cc.ctl);

	CHECK_INT_EQ(0, runner_ctl_new(&cc.ctl), "runner_ctl_new");
	pthread_create(&th, NULL, cancel_later, &cc);
	run_files(md_sh, NULL, &l, cc.ctl, NULL, 0, 0, &r);
	pthread_join(th, NULL);
	CHECK_OUTCOME(RUNNER_CANCELLED, &r, "cancel ignoring TERM");
	CHECK(r.secs > 1.8 && r.secs < 5,
	      "cancel ignoring TERM: killed after the grace (%.1f s)", r.secs);
	check_no_survivors("cancel ignoring TERM");
	done(&r);

	/* A cancel before the start means no start. */
	runner_cancel(cc.ctl, 1.0);
	run_files(md_sleep, NULL, &l, cc.ctl, NULL, 0, 0, &r);
	CHECK_OUTCOME(RUNNER_CANCELLED, &r, "cancel before start");
	CHECK(r.secs < 0.5, "cancel before start: nothing ran");
	done(&r);
	runner_ctl_free(cc.ctl);
}

/* Cancels at every moment of a sandbox's start (0 to 60 ms after
 * runner_run() begins, while bwrap forks, clones and sets up): each run
 * ends cancelled and leaves no process. The moment where bwrap has cloned
 * the command but not said its pid is tested without timing in
 * test-sandbox-mon.c; this is the same with the real bwrap. */
static void test_cancel_while_starting(void)
{
	struct runner_limits l = limits();
	int runs = 0, cancelled = 0, left = 0;
	double slowest = 0;

	for (int i = 0; i < 30; i++) {
		struct canceller cc = { NULL, i * 0.002, i % 2 ? 1.0 : 0 };
		pthread_t th;
		struct run r;

		if (runner_ctl_new(&cc.ctl))
			break;
		pthread_create(&th, NULL, cancel_later, &cc);
		run_files(md_sleep, NULL, &l, cc.ctl, NULL, 0, 0, &r);
		pthread_join(th, NULL);
		runs++;
		cancelled += r.res.outcome == RUNNER_CANCELLED;
		if (r.secs > slowest)
			slowest = r.secs;
		if (user_procs()) {
			left++;
			unit_note("cancel %.3f s after the start: a process "
				  "of the user is left", cc.after);
		}
		done(&r);
		runner_ctl_free(cc.ctl);
	}
	CHECK_INT_EQ(30, cancelled, "cancel while starting: all %d runs end "
		     "cancelled", runs);
	CHECK_INT_EQ(0, left, "cancel while starting: no run leaves a "
		     "process behind");
	CHECK(slowest < 5, "cancel while starting: each within seconds "
	      "(slowest %.1f s)", slowest);
	check_no_survivors("cancel while starting");
}

/* A file input from a folder of the daemon's (root's 0700 as root). */
static void test_file_inputs(const char *parent)
{
	static const char md[] =
		"---\n"
		"name: Files\n"
		"description: Reads a file input.\n"
		"type: python\n"
		"inputs:\n"
		"  - {name: data, type: file}\n"
		"---\n"
		"```python\n"
		"def execute(inputs):\n"
		"    p = inputs['data']\n"
		"    try:\n"
		"        open(p, 'a').write('more')\n"
		"        w = 'written'\n"
		"    except OSError as e:\n"
		"        w = e.strerror\n"
		"    return {'path': p, 'text': open(p).read(), 'w': w}\n"
		"```\n";
	struct runner_limits l = limits();
	char dir[600], src[700];
	struct runner_file f;
	struct run r;
	int fd;

	snprintf(dir, sizeof(dir), "%s/private", parent);
	mkdir(dir, 0700);
	snprintf(src, sizeof(src), "%s/data.csv", dir);
	fd = open(src, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, "a,b\n1,2\n", 8) == 8, "a file input");
	if (fd >= 0)
		close(fd);
	f.port = "data";
	f.path = src;
	f.name = "data.csv";
	run_files(md, NULL, &l, NULL, &f, 1, 0, &r);
	CHECK_OUTCOME(RUNNER_OK, &r, "file input");
	CHECK_STR_EQ("/work/in/data/data.csv",
		     json_string_value(out(&r, "path")),
		     "file input: its value is its path in the sandbox");
	CHECK_STR_EQ("a,b\n1,2\n", json_string_value(out(&r, "text")),
		     "file input: readable");
	CHECK(json_string_value(out(&r, "w")) &&
		      strcmp(json_string_value(out(&r, "w")), "written"),
	      "file input: read-only (%s)", json_string_value(out(&r, "w")));
	done(&r);
	unlink(src);
	rmdir(dir);
}

/* Four children of 60 MB each: the node as a whole is over its limit of
 * 128 MB, no process alone is (python and 60 MB fit in RLIMIT_AS). */
static void test_forking_hog(void)
{
	static const char md_hog[] = PY_HEAD("Forkhog")
		"def execute(inputs):\n"
		"    kids = []\n"
		"    for i in range(4):\n"
		"        pid = os.fork()\n"
		"        if pid == 0:\n"
		"            try:\n"
		"                b = bytearray(60 << 20)\n"
		"                time.sleep(5)\n"
		"            finally:\n"
		"                os._exit(0)\n"
		"        kids.append(pid)\n"
		"    for k in kids:\n"
		"        os.waitpid(k, 0)\n"
		"    return {'n': len(kids)}\n"
		"```\n";
	/* Address space is not memory: 4 GB reserved, never touched. */
	static const char md_reserve[] = PY_HEAD("Reserve")
		"import mmap\n"
		"def execute(inputs):\n"
		"    m = mmap.mmap(-1, 4 << 30)\n"
		"    m[0] = 1\n"
		"    return {'n': len(m)}\n"
		"```\n";
	struct runner_limits l = limits();
	struct run r;

	l.memory_mb = 128;
	run(md_hog, NULL, &l, &r);
	expect_limit(&r, "four children of 60 MB", "memory limit 128 MB "
		     "exceeded", 4);
	CHECK(r.res.mem_peak_kb > 64 << 10,
	      "four children of 60 MB: the node's peak is measured (%llu "
	      "kB)", (unsigned long long)r.res.mem_peak_kb);
	if (cgroup)
		CHECK(r.res.mem_peak_kb <= 128 << 10,
		      "four children of 60 MB: the cgroup held the node to "
		      "128 MB (peak %llu kB)",
		      (unsigned long long)r.res.mem_peak_kb);
	done(&r);

	run(md_reserve, NULL, &l, &r);
	if (cgroup) {
		CHECK_OUTCOME(RUNNER_OK, &r, "4 GB reserved, 128 MB limit");
	} else {
		CHECK_OUTCOME(RUNNER_LIMIT, &r, "4 GB reserved, 128 MB limit "
			      "(RLIMIT_AS)");
	}
	done(&r);
}

/* The user's processes outside the sandbox do not count against procs,
 * only the node's own: the cgroup's pids.max, or RLIMIT_NPROC counted in
 * the sandbox's user namespace. */
static void test_busy_user(void)
{
	static const char md_forks[] = PY_HEAD("Forks")
		"def execute(inputs):\n"
		"    kids = []\n"
		"    for i in range(inputs['n']):\n"
		"        pid = os.fork()\n"
		"        if pid == 0:\n"
		"            time.sleep(0.5)\n"
		"            os._exit(0)\n"
		"        kids.append(pid)\n"
		"    for k in kids:\n"
		"        os.waitpid(k, 0)\n"
		"    return {'n': len(kids)}\n"
		"```\n";
	char *argv[] = { "sleep", "30", NULL };
	char *envp[] = { NULL };
	struct runner_limits l = limits();
	pid_t kids[40];
	struct run r;

	fflush(stdout);
	for (int i = 0; i < 40; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			if (setgroups(0, NULL) || setgid(tgid) || setuid(tuid))
				_exit(126);
			execve("/usr/bin/sleep", argv, envp);
			_exit(127);
		}
	}
	l.procs = 8;
	run(md_forks, "{\"n\": 6}", &l, &r);
	CHECK_OUTCOME(RUNNER_OK, &r, "busy user (40 processes), procs 8, six "
		      "children");
	CHECK(json_integer_value(out(&r, "n")) == 6,
	      "busy user: the six children ran");
	done(&r);
	run(md_forks, "{\"n\": 20}", &l, &r);
	CHECK_OUTCOME(RUNNER_LIMIT, &r, "busy user, procs 8, twenty children");
	CHECK(has(r.res.error, "process limit 8 reached"),
	      "busy user, twenty children: 'process limit 8 reached'");
	done(&r);
	for (int i = 0; i < 40; i++) {
		if (kids[i] > 0) {
			kill(kids[i], SIGKILL);
			waitpid(kids[i], NULL, 0);
		}
	}
}

struct par {
	struct run r;
	char inputs[64];
};

static void *run_one(void *arg)
{
	struct par *p = arg;
	struct runner_limits l = limits();

	run(md_add, p->inputs, &l, &p->r);
	return NULL;
}

/* Several nodes at once, from several threads. */
static void test_parallel(void)
{
	struct par p[4];
	pthread_t th[4];
	int ok = 1;

	for (int i = 0; i < 4; i++) {
		snprintf(p[i].inputs, sizeof(p[i].inputs),
			 "{\"a\": %d, \"b\": 1}", i);
		pthread_create(&th[i], NULL, run_one, &p[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ok &= p[i].r.res.outcome == RUNNER_OK &&
		      json_number_value(out(&p[i].r, "sum")) == i + 1;
	}
	CHECK(ok, "four runs at once, from four threads, all right");
	for (int i = 0; i < 4; i++)
		done(&p[i].r);
}

/* Open file descriptors of this process. */
static int count_fds(void)
{
	return unit_count_entries("/proc/self/fd");
}

static void test_setup_errors(void)
{
	struct runner_limits l = limits();
	uid_t saved = tuid;
	char err[256];
	struct run r;

	tuid = 0;
	run(md_add, "{\"a\": 1, \"b\": 2}", &l, &r);
	CHECK_OUTCOME(RUNNER_SETUP, &r, "uid 0");
	CHECK(has(r.res.error, "root"), "uid 0: refused, saying why");
	done(&r);
	tuid = saved;

	CHECK_INT_EQ(0, runner_available(SKILL_RUNNER_PYTHON, err,
					 sizeof(err)),
		     "runner_available(python)");
	CHECK_INT_EQ(0, runner_available(SKILL_RUNNER_SH, err, sizeof(err)),
		     "runner_available(sh)");
	CHECK_INT_EQ(-ENOENT, runner_available(SKILL_RUNNER_NONE, err,
					       sizeof(err)),
		     "runner_available(none)");
}

/* As a daemon that is not root: code runs as the daemon's own user (no
 * tmpfs, bwrap binds the folder), and never as another user. */
static void as_user(void *arg)
{
	struct runner_limits l = limits();
	struct run r;

	base = arg;
	if (setgroups(0, NULL) || setgid(tgid) || setuid(tuid)) {
		CHECK(0, "drop to the test user: %s", strerror(errno));
		return;
	}
	run(md_add, "{\"a\": 1, \"b\": 2}", &l, &r);
	CHECK_OUTCOME(RUNNER_OK, &r, "non-root daemon");
	CHECK(json_number_value(out(&r, "sum")) == 3,
	      "non-root daemon: runs the code");
	done(&r);
	test_file_inputs(base);
	tuid = 12345;
	run(md_add, "{\"a\": 1, \"b\": 2}", &l, &r);
	CHECK_OUTCOME(RUNNER_SETUP, &r, "non-root daemon, other user");
	CHECK(has(r.res.error, "cannot run code as another user") &&
		      has(r.res.error, "as root"),
	      "non-root daemon, other user: says to mount as root");
	done(&r);
}

static void test_non_root(void)
{
	char sub[300];

	/* The user must reach its folder: top is root's 0700. */
	chmod(top, 0711);
	snprintf(sub, sizeof(sub), "%s/user", top);
	mkdir(sub, 0700);
	if (chown(sub, tuid, tgid)) {
		CHECK(0, "chown %s: %s", sub, strerror(errno));
		return;
	}
	unit_run_child(as_user, sub, "non-root daemon");
}

static int ensure_user(void)
{
	char *argv[] = { "useradd", "-M", "-N", "-s", "/usr/sbin/nologin",
			 TEST_USER, NULL };
	char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	struct passwd *pw = getpwnam(TEST_USER);
	int status;
	pid_t pid;

	if (!pw) {
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			execve("/usr/sbin/useradd", argv, envp);
			_exit(127);
		}
		if (pid > 0)
			waitpid(pid, &status, 0);
		pw = getpwnam(TEST_USER);
	}
	if (!pw) {
		unit_note("cannot make the account %s; using nobody",
			  TEST_USER);
		pw = getpwnam("nobody");
	}
	if (!pw || pw->pw_uid == 0)
		return -1;
	tuid = pw->pw_uid;
	tgid = pw->pw_gid;
	return 0;
}

/* What depends on how a node is capped, again without a cgroup: the
 * monitor and RLIMIT_NPROC in the sandbox. */
static void test_without_cgroup(void)
{
	char desc[4096];

	runner_teardown();
	cgroup = runner_setup(0, 0, desc, sizeof(desc));
	unit_note("%s", desc);
	CHECK_INT_EQ(0, cgroup, "node_cgroup = off: no cgroup");
	test_loop_and_bombs();
	test_memory_and_files();
	test_forking_hog();
	test_busy_user();
}

int main(void)
{
	char err[256], desc[4096];
	int fds;

	log_set_level(LOG_LVL_ERR);
	if (geteuid() != 0) {
		unit_note("skip: the runner tests need root (to make the test "
			  "account and run code as it)");
		return unit_done();
	}
	if (runner_available(SKILL_RUNNER_SH, err, sizeof(err))) {
		unit_note("skip: %s", err);
		return unit_done();
	}
	if (ensure_user()) {
		unit_note("skip: no unprivileged account to run code as");
		return unit_done();
	}
	unit_note("running code as uid %u gid %u", (unsigned)tuid,
		  (unsigned)tgid);
	unit_tmpdir(top, sizeof(top), "runner");
	cgroup = runner_setup(1, 0, desc, sizeof(desc));
	unit_note("%s", desc);
	fds = count_fds();
	test_python_add();
	test_python_exception();
	test_python_requires();
	test_python_outputs();
	test_sh();
	if (!runner_available(SKILL_RUNNER_SPICE, err, sizeof(err)))
		test_spice();
	else
		unit_note("skip spice: %s", err);
	test_loop_and_bombs();
	test_memory_and_files();
	test_javascript();
	test_escapes();
	test_network();
	test_output_and_cpu();
	test_cancel();
	test_cancel_while_starting();
	test_file_inputs(top);
	test_setup_errors();
	test_parallel();
	test_forking_hog();
	test_busy_user();
	CHECK_INT_EQ(fds, count_fds(), "no file descriptor leaked");
	if (cgroup > 0)
		test_without_cgroup();
	runner_teardown();
	test_non_root();
	unit_rm_rf(top);
	return unit_done();
}
