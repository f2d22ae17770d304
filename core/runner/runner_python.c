/* core/runner/runner_python.c: the python runner. /usr/bin/python3 -I -S runs a
 * harness (below) that checks the skill's `requires`, compiles the code
 * block under the skill's path with its lines numbered as in the .md file,
 * calls execute(inputs) and writes /work/.llmunix/result.json:
 *
 *   {"ok": true, "outputs": {...}}
 *   {"ok": false, "kind": "exception|memory|procs|filesize|cpu|requires",
 *    "error": "traceback text"}
 *
 * print() goes to the captured stdout. numpy arrays and scalars become
 * lists and numbers; NaN and infinities are refused with the output's
 * name. The daemon reads the result without following links, capped.
 * job.json and the reading of result.json are shared with the javascript
 * runner (runner_int.h).
 */
#include "core/runner/runner_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char harness[] =
	"# llmunixfs python harness (core/runner/runner_python.c): checks the\n"
	"# skill's modules, runs its code block, calls execute(inputs) and\n"
	"# writes the outcome to /work/.llmunix/result.json.\n"
	"# Started with -S (site costs a third of python's start-up): the\n"
	"# system's module folders are added by hand. Modules only an error\n"
	"# needs (traceback, linecache) are imported when one happens.\n"
	"import errno\n"
	"import json\n"
	"import os\n"
	"import signal\n"
	"import sys\n"
	"\n"
	"V = '%d.%d' % sys.version_info[:2]\n"
	"for p in ('/usr/local/lib/python%s/dist-packages' % V,\n"
	"          '/usr/lib/python3/dist-packages',\n"
	"          '/usr/lib/python%s/dist-packages' % V):\n"
	"    if p not in sys.path and os.path.isdir(p):\n"
	"        sys.path.append(p)\n"
	"\n"
	"D = '/work/.llmunix'\n"
	"MAIN = os.getpid()\n"
	"CAP = 16384\n"
	"RESERVE = 65536\n"
	"MODULES = {'scikit-learn': 'sklearn', 'pillow': 'PIL',\n"
	"           'pyyaml': 'yaml', 'opencv-python': 'cv2',\n"
	"           'beautifulsoup4': 'bs4', 'python-dateutil': 'dateutil'}\n"
	"state = {'procs': False, 'name': None, 'src': ''}\n"
	"INF = float('inf')\n"
	"\n"
	"\n"
	"def reserve():\n"
	"    # Room for the result, taken before the code can fill the disk:\n"
	"    # put() writes over these blocks.\n"
	"    fl = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW\n"
	"    try:\n"
	"        fd = os.open(D + '/result.tmp', fl, 0o600)\n"
	"        try:\n"
	"            os.write(fd, b' ' * RESERVE)\n"
	"        finally:\n"
	"            os.close(fd)\n"
	"    except OSError:\n"
	"        pass\n"
	"\n"
	"\n"
	"def put(res):\n"
	"    if os.getpid() != MAIN:\n"
	"        return\n"
	"    data = memoryview(json.dumps(res, allow_nan=False).encode())\n"
	"    tmp = D + '/result.tmp'\n"
	"    fl = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW\n"
	"    fd = os.open(tmp, fl, 0o600)\n"
	"    try:\n"
	"        size = len(data)\n"
	"        while data:\n"
	"            data = data[os.write(fd, data):]\n"
	"        os.ftruncate(fd, size)\n"
	"    finally:\n"
	"        os.close(fd)\n"
	"    os.replace(tmp, D + '/result.json')\n"
	"\n"
	"\n"
	"def fail(kind, text):\n"
	"    if len(text) > CAP:\n"
	"        text = '...\\n' + text[-CAP:]\n"
	"    put({'ok': False, 'kind': kind, 'error': text})\n"
	"\n"
	"\n"
	"def tb_text(e):\n"
	"    try:\n"
	"        import linecache\n"
	"        import traceback\n"
	"        if state['name']:\n"
	"            src = state['src']\n"
	"            linecache.cache[state['name']] = (\n"
	"                len(src), None, src.splitlines(True), state['name'])\n"
	"        tb = e.__traceback__\n"
	"        while (tb is not None and\n"
	"               tb.tb_frame.f_code.co_filename == __file__):\n"
	"            tb = tb.tb_next\n"
	"        text = ''.join(traceback.format_exception(type(e), e, tb))\n"
	"    except BaseException:\n"
	"        return '%s: %s\\n' % (type(e).__name__, e)\n"
	"    # Drop the harness's own frames (its fork wrapper, say).\n"
	"    mine, out, skip = '  File \"%s\"' % __file__, [], False\n"
	"    for line in text.split('\\n'):\n"
	"        if line.startswith(mine):\n"
	"            skip = True\n"
	"        elif not (skip and line.startswith('    ')):\n"
	"            skip = False\n"
	"            out.append(line)\n"
	"    return '\\n'.join(out)\n"
	"\n"
	"\n"
	"def kind_of(e):\n"
	"    if isinstance(e, MemoryError):\n"
	"        return 'memory'\n"
	"    if isinstance(e, OSError):\n"
	"        if e.errno in (errno.EFBIG, errno.ENOSPC, errno.EDQUOT):\n"
	"            return 'filesize'\n"
	"        if e.errno == errno.ENOMEM:\n"
	"            return 'memory'\n"
	"        if e.errno == errno.EAGAIN and state['procs']:\n"
	"            return 'procs'\n"
	"    if isinstance(e, RuntimeError) and 'new thread' in str(e):\n"
	"        return 'procs'\n"
	"    return 'exception'\n"
	"\n"
	"\n"
	"def watch(mod, name):\n"
	"    real = getattr(mod, name, None)\n"
	"    if real is None:\n"
	"        return\n"
	"\n"
	"    def call(*a, **k):\n"
	"        try:\n"
	"            return real(*a, **k)\n"
	"        except BlockingIOError:\n"
	"            state['procs'] = True\n"
	"            raise\n"
	"    setattr(mod, name, call)\n"
	"\n"
	"\n"
	"def on_xcpu(sig, frame):\n"
	"    fail('cpu', '')\n"
	"    os._exit(128 + sig)\n"
	"\n"
	"\n"
	"def on_term(sig, frame):\n"
	"    os._exit(128 + sig)\n"
	"\n"
	"\n"
	"def module_of(req):\n"
	"    r = req.strip()\n"
	"    for i, ch in enumerate(r):\n"
	"        if ch in '<>=!~[; ':\n"
	"            r = r[:i]\n"
	"            break\n"
	"    return MODULES.get(r.lower(), r.replace('-', '_'))\n"
	"\n"
	"\n"
	"def missing(reqs):\n"
	"    import importlib.util\n"
	"    for req in reqs:\n"
	"        mod = module_of(str(req))\n"
	"        try:\n"
	"            spec = importlib.util.find_spec(mod) if mod else None\n"
	"        except (ImportError, ValueError):\n"
	"            spec = None\n"
	"        if spec is None:\n"
	"            return (\"module '%s' is required by the skill but \"\n"
	"                    \"python3 cannot import it\" % mod)\n"
	"    return None\n"
	"\n"
	"\n"
	"class Bad(Exception):\n"
	"    pass\n"
	"\n"
	"\n"
	"def where(path):\n"
	"    s = \"output '%s'\" % (path[0],)\n"
	"    for p in path[1:]:\n"
	"        s += '[%r]' % (p,)\n"
	"    return s\n"
	"\n"
	"\n"
	"def plain(v, path):\n"
	"    if v is None or isinstance(v, (bool, str, int)):\n"
	"        return v\n"
	"    if isinstance(v, float):\n"
	"        if v != v or v in (INF, -INF):\n"
	"            raise Bad('%s is %r, which JSON cannot hold (return '\n"
	"                      'None or a string)' % (where(path), v))\n"
	"        return v\n"
	"    if len(path) > 100:\n"
	"        raise Bad('%s is nested too deep' % where(path))\n"
	"    if isinstance(v, dict):\n"
	"        return {str(k): plain(x, path + (k,)) for k, x in v.items()}\n"
	"    if isinstance(v, (list, tuple)):\n"
	"        return [plain(x, path + (i,)) for i, x in enumerate(v)]\n"
	"    if isinstance(v, complex):\n"
	"        return [plain(v.real, path), plain(v.imag, path)]\n"
	"    conv = getattr(v, 'tolist', None) or getattr(v, 'item', None)\n"
	"    if callable(conv):\n"
	"        return plain(conv(), path)\n"
	"    if isinstance(v, (set, frozenset)):\n"
	"        return [plain(x, path + (i,)) for i, x in enumerate(v)]\n"
	"    if isinstance(v, (bytes, bytearray)):\n"
	"        try:\n"
	"            return bytes(v).decode('utf-8')\n"
	"        except UnicodeDecodeError:\n"
	"            raise Bad('%s is bytes, not UTF-8 text' % where(path))\n"
	"    raise Bad('%s is a %s, which is not JSON (return numbers, '\n"
	"              'strings, lists or dicts)'\n"
	"              % (where(path), type(v).__name__))\n"
	"\n"
	"\n"
	"def leave(code):\n"
	"    try:\n"
	"        sys.stdout.flush()\n"
	"        sys.stderr.flush()\n"
	"    finally:\n"
	"        os._exit(code)\n"
	"\n"
	"\n"
	"def run():\n"
	"    with open(D + '/job.json', encoding='utf-8') as f:\n"
	"        job = json.load(f)\n"
	"    msg = missing(job.get('requires') or [])\n"
	"    if msg:\n"
	"        fail('requires', msg)\n"
	"        return\n"
	"    name = job['filename']\n"
	"    with open(D + '/code.py', encoding='utf-8') as f:\n"
	"        src = '\\n' * (int(job['line']) - 1) + f.read()\n"
	"    state['name'], state['src'] = name, src\n"
	"    with open(D + '/inputs.json', encoding='utf-8') as f:\n"
	"        inputs = json.load(f)\n"
	"    g = {'__name__': '__skill__', '__file__': name,\n"
	"         '__builtins__': __builtins__}\n"
	"    try:\n"
	"        exec(compile(src, name, 'exec'), g)\n"
	"        fn = g.get('execute')\n"
	"        if not callable(fn):\n"
	"            fail('exception', '%s: the code defines no function '\n"
	"                 'execute(inputs)' % name)\n"
	"            return\n"
	"        out = fn(inputs)\n"
	"        if os.getpid() != MAIN:\n"
	"            leave(0)\n"
	"        if not isinstance(out, dict):\n"
	"            fail('exception', 'execute() returned %s; it must '\n"
	"                 'return a dict of outputs such as {\"x\": 1}'\n"
	"                 % type(out).__name__)\n"
	"            return\n"
	"        res = {'ok': True,\n"
	"               'outputs': {str(k): plain(v, (k,))\n"
	"                           for k, v in out.items()}}\n"
	"    except Bad as e:\n"
	"        fail('exception', str(e))\n"
	"        return\n"
	"    except BaseException as e:\n"
	"        if os.getpid() != MAIN:\n"
	"            sys.stderr.write(tb_text(e))\n"
	"            leave(1)\n"
	"        fail(kind_of(e), tb_text(e))\n"
	"        return\n"
	"    put(res)\n"
	"\n"
	"\n"
	"def main():\n"
	"    reserve()\n"
	"    signal.signal(signal.SIGXCPU, on_xcpu)\n"
	"    signal.signal(signal.SIGTERM, on_term)\n"
	"    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
	"    watch(os, 'fork')\n"
	"    watch(os, 'forkpty')\n"
	"    try:\n"
	"        import _posixsubprocess\n"
	"        watch(_posixsubprocess, 'fork_exec')\n"
	"    except ImportError:\n"
	"        pass\n"
	"    sys.argv = ['skill']\n"
	"    try:\n"
	"        run()\n"
	"    except BaseException as e:\n"
	"        try:\n"
	"            sys.stderr.write('llmunix harness: %s: %s\\n'\n"
	"                             % (type(e).__name__, e))\n"
	"        except BaseException:\n"
	"            pass\n"
	"        leave(3 if os.getpid() == MAIN else 1)\n"
	"    leave(0)\n"
	"\n"
	"\n"
	"main()\n";

static const struct runner_result_kind py_kinds[] = {
	{ "exception", RUNNER_KIND_EXCEPTION },
	{ "memory", RUNNER_KIND_MEMORY },
	{ "procs", RUNNER_KIND_PROCS },
	{ "filesize", RUNNER_KIND_FILESIZE },
	{ "cpu", RUNNER_KIND_CPU },
	{ "requires", RUNNER_KIND_SETUP },
};

int runner_write_job(struct runner_ctx *c)
{
	const struct skill *sk = c->job->sk;
	const char *name = c->job->skill_path;
	json_t *j, *req;
	char *text = NULL;
	int rc = -ENOMEM;

	if (!name || !*name)
		name = sk->skill_id ? sk->skill_id : "skill.md";
	req = json_array();
	if (!req)
		return -ENOMEM;
	for (size_t i = 0; i < sk->requires.n; i++) {
		json_t *s = json_string(sk->requires.v[i]);

		if (!s || json_array_append_new(req, s))
			goto out;	/* not silently dropped */
	}
	j = json_pack("{s:s?, s:I, s:o}", "filename", name, "line",
		      (json_int_t)(sk->code->line ? sk->code->line : 1),
		      "requires", req);
	req = NULL;
	if (!j)
		goto out;
	if (!json_is_string(json_object_get(j, "filename")))
		json_object_set_new(j, "filename", json_string("skill.md"));
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (text)
		rc = runner_write(c, "job.json", text, strlen(text));
out:
	json_decref(req);
	free(text);
	return rc;
}

static int py_prepare(struct runner_ctx *c)
{
	const struct skill_code *code = c->job->sk->code;
	int rc;

	if ((rc = runner_write(c, "harness.py", harness,
			       sizeof(harness) - 1)) ||
	    (rc = runner_write(c, "code.py", code->text, code->len)) ||
	    (rc = runner_write_job(c)))
		return rc;
	if ((rc = sandbox_strv_add(&c->argv, runner_python_ops.interp)) ||
	    (rc = sandbox_strv_add(&c->argv, "-I")) ||
	    (rc = sandbox_strv_add(&c->argv, "-S")) ||
	    (rc = sandbox_strv_add(&c->argv, "-B")) ||
	    (rc = sandbox_strv_add(&c->argv, "-u")) ||
	    (rc = sandbox_strv_add(&c->argv, RUNNER_SB_DIR "/harness.py")))
		return rc;
	c->hint = "execute(inputs) must return it in its dict";
	return 0;
}

static int result_failure(struct runner_ctx *c, json_t *root,
			  const struct runner_result_kind *kinds, size_t n)
{
	const char *kind = json_string_value(json_object_get(root, "kind"));
	const char *err = json_string_value(json_object_get(root, "error"));
	enum runner_kind k = RUNNER_KIND_EXCEPTION;

	for (size_t i = 0; kind && i < n; i++)
		if (!strcmp(kind, kinds[i].name))
			k = kinds[i].kind;
	return runner_fail(c, k, "%s", err ? err : "");
}

int runner_collect_result(struct runner_ctx *c, const char *interp,
			  const struct runner_result_kind *kinds, size_t n)
{
	char ended[96], what[160];
	json_error_t jerr;
	json_t *root, *out;
	struct buf b;
	int rc;

	buf_init(&b, RUNNER_MAX_RESULT);
	rc = sandbox_read_beneath(c->workfd, RUNNER_DIR "/result.json",
				  RUNNER_MAX_RESULT, &b);
	if (rc == -ENOENT) {
		snprintf(what, sizeof(what), "%s %s without a result",
			 interp, runner_ended(c, ended, sizeof(ended)));
		rc = runner_fail_stderr(c, what);
		goto out;
	}
	if (rc == -EFBIG) {
		rc = runner_fail(c, RUNNER_KIND_FAILED,
				 "the result is larger than %zu MB",
				 RUNNER_MAX_RESULT >> 20);
		goto out;
	}
	if (rc == -ELOOP || rc == -EINVAL || rc == -ENOTDIR) {
		rc = runner_fail(c, RUNNER_KIND_FAILED,
				 "the result file " RUNNER_SB_DIR
				 "/result.json is not a regular file (the "
				 "code replaced it); it was not read");
		goto out;
	}
	if (rc) {
		rc = runner_fail(c, RUNNER_KIND_FAILED,
				 "cannot read the result: %s", strerror(-rc));
		goto out;
	}
	root = json_loadb(b.data ? b.data : "", b.len, 0, &jerr);
	if (!json_is_object(root)) {
		rc = runner_fail(c, RUNNER_KIND_FAILED,
				 "the result is not a JSON object: %s",
				 root ? "wrong type" : jerr.text);
		json_decref(root);
		goto out;
	}
	out = json_object_get(root, "outputs");
	if (json_is_true(json_object_get(root, "ok")) && json_is_object(out)) {
		c->outputs = json_incref(out);
		c->kind = RUNNER_KIND_NONE;
		rc = 0;
	} else {
		rc = result_failure(c, root, kinds, n);
	}
	json_decref(root);
out:
	buf_release(&b);
	return rc;
}

static int py_collect(struct runner_ctx *c)
{
	return runner_collect_result(c, "python3", py_kinds,
				     sizeof(py_kinds) / sizeof(*py_kinds));
}

const struct runner_ops runner_python_ops = {
	.name = "python",
	.interp = "/usr/bin/python3",
	.missing = "python3 is not installed (/usr/bin/python3; on Debian: "
		   "apt-get install python3)",
	.prepare = py_prepare,
	.collect = py_collect,
};
