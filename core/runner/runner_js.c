/* core/runner/runner_js.c: the javascript runner (javascript and threejs
 * skills), on Debian's /usr/bin/node, with the python runner's contract
 * (runner_python.c): a harness (below) checks the skill's `requires`,
 * compiles the code block under the skill's path with its lines numbered
 * as in the .md file, calls execute(inputs) (module.exports.execute,
 * exports.execute or a top-level function; a returned promise is
 * awaited) and writes /work/.llmunix/result.json:
 *
 *   {"ok": true, "outputs": {...}}
 *   {"ok": false, "kind": "exception|memory|procs|filesize|requires|
 *    browser", "error": "stack text"}
 *
 * console.log() goes to the captured stdout. Typed arrays, Maps, Sets and
 * Dates become JSON; NaN, infinities, functions and BigInts past 2^53 are
 * refused with the output's name. `export function execute` is read as a
 * plain function (the code runs as CommonJS); code that needs a browser
 * (window, document, THREE, ...) fails saying so.
 *
 * Memory: V8 reserves about 700 MB of address space for its compiler at
 * start-up, more than the default memory_mb when that is each process's
 * RLIMIT_AS. A small launcher (node.sh) reads the limit inside the
 * sandbox and then starts node with its compiler off (--jitless: slower,
 * and it fits) below 2 GiB of address space, as it is otherwise. The
 * heap is capped at half of memory_mb, so that a program that allocates
 * too much fails with V8's "heap out of memory" (the memory limit) before
 * the kernel refuses it anything else.
 */
#include "core/runner/runner_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char launcher[] =
	"# llmunixfs node launcher (core/runner/runner_js.c): node's compiler\n"
	"# reserves about 700 MB of address space; under a smaller cap node\n"
	"# runs without it.\n"
	"lim=$(ulimit -v)\n"
	"if [ \"$lim\" = unlimited ] || [ \"$lim\" -ge 2097152 ]; then\n"
	"\texec /usr/bin/node \"$@\"\n"
	"fi\n"
	"exec /usr/bin/node --jitless --no-expose-wasm \"$@\"\n";

static const char harness[] =
	"'use strict';\n"
	"// llmunixfs javascript harness (core/runner/runner_js.c): checks the\n"
	"// skill's modules, runs its code block, calls execute(inputs) and\n"
	"// writes the outcome to /work/.llmunix/result.json.\n"
	"const fs = require('fs');\n"
	"const vm = require('vm');\n"
	"const Module = require('module');\n"
	"\n"
	"const D = '/work/.llmunix';\n"
	"const CAP = 16384;\n"
	"const RESERVE = 65536;\n"
	"const C = fs.constants;\n"
	"const BROWSER = ['window', 'document', 'navigator', 'self',\n"
	"  'requestAnimationFrame', 'cancelAnimationFrame', 'localStorage',\n"
	"  'sessionStorage', 'location', 'alert', 'HTMLElement',\n"
	"  'HTMLCanvasElement', 'WebGLRenderingContext', 'Image', 'THREE'];\n"
	"for (const p of ['/usr/local/lib/node_modules', '/usr/share/nodejs',\n"
	"  '/usr/lib/nodejs', '/usr/lib/x86_64-linux-gnu/nodejs'])\n"
	"  if (!Module.globalPaths.includes(p)) Module.globalPaths.push(p);\n"
	"\n"
	"function reserve() {\n"
	"  // Room for the result, taken before the code can fill the disk.\n"
	"  try {\n"
	"    fs.writeFileSync(D + '/result.tmp', Buffer.alloc(RESERVE, 32),\n"
	"      {flag: C.O_WRONLY | C.O_CREAT | C.O_TRUNC | C.O_NOFOLLOW,\n"
	"       mode: 0o600});\n"
	"  } catch (e) { /* the result will say */ }\n"
	"}\n"
	"\n"
	"function put(res) {\n"
	"  const data = Buffer.from(JSON.stringify(res));\n"
	"  const tmp = D + '/result.tmp';\n"
	"  const fd = fs.openSync(tmp, C.O_WRONLY | C.O_CREAT | C.O_NOFOLLOW,\n"
	"                        0o600);\n"
	"  try {\n"
	"    let off = 0;\n"
	"    while (off < data.length)\n"
	"      off += fs.writeSync(fd, data, off, data.length - off);\n"
	"    fs.ftruncateSync(fd, data.length);\n"
	"  } finally {\n"
	"    fs.closeSync(fd);\n"
	"  }\n"
	"  fs.renameSync(tmp, D + '/result.json');\n"
	"}\n"
	"\n"
	"function fail(kind, text) {\n"
	"  if (text.length > CAP) text = '...\\n' + text.slice(-CAP);\n"
	"  put({ok: false, kind: kind, error: text});\n"
	"}\n"
	"\n"
	"const state = {name: null, lines: []};\n"
	"\n"
	"// The stack without the harness's and node's own frames, and the\n"
	"// skill's line where it failed.\n"
	"function stackText(e) {\n"
	"  if (!(e instanceof Error)) return 'thrown: ' + String(e) + '\\n';\n"
	"  const mine = ['node:internal', D + '/harness.js', 'node:vm'];\n"
	"  const out = String(e.stack || e).split('\\n')\n"
	"    .filter((l) => !mine.some((m) => l.includes(m)));\n"
	"  const at = out.find((l) => l.includes(state.name + ':'));\n"
	"  if (at && state.name) {\n"
	"    const m = at.slice(at.lastIndexOf(state.name + ':') +\n"
	"                       state.name.length + 1).match(/^(\\d+)/);\n"
	"    const n = m ? Number(m[1]) : 0;\n"
	"    if (n > 0 && n <= state.lines.length && /^    at /.test(at))\n"
	"      out.push('  ' + n + ' | ' + state.lines[n - 1].trim());\n"
	"  }\n"
	"  return out.join('\\n') + '\\n';\n"
	"}\n"
	"\n"
	"function kindOf(e) {\n"
	"  const code = e && e.code;\n"
	"  const msg = String(e && e.message);\n"
	"  if (code === 'EFBIG' || code === 'ENOSPC' || code === 'EDQUOT')\n"
	"    return 'filesize';\n"
	"  if (code === 'ENOMEM' || code === 'ERR_MEMORY_ALLOCATION_FAILED' ||\n"
	"      /allocation failed/i.test(msg))\n"
	"    return 'memory';\n"
	"  if (code === 'EAGAIN' && e.syscall && /spawn|fork/.test(e.syscall))\n"
	"    return 'procs';\n"
	"  return 'exception';\n"
	"}\n"
	"\n"
	"// A name a browser gives and node has not.\n"
	"function browserName(e) {\n"
	"  if (!(e instanceof ReferenceError)) return null;\n"
	"  const m = String(e.message).match(/^(\\S+) is not defined$/);\n"
	"  return m && BROWSER.includes(m[1]) ? m[1] : null;\n"
	"}\n"
	"\n"
	"class Bad extends Error {}\n"
	"\n"
	"function where(path) {\n"
	"  let s = \"output '\" + path[0] + \"'\";\n"
	"  for (const p of path.slice(1)) s += '[' + JSON.stringify(p) + ']';\n"
	"  return s;\n"
	"}\n"
	"\n"
	"function plain(v, path) {\n"
	"  if (v === null || v === undefined) return null;\n"
	"  const t = typeof v;\n"
	"  if (t === 'boolean' || t === 'string') return v;\n"
	"  if (t === 'number') {\n"
	"    if (!Number.isFinite(v))\n"
	"      throw new Bad(where(path) + ' is ' + v + ', which JSON cannot ' +\n"
	"                    'hold (return null or a string)');\n"
	"    return v;\n"
	"  }\n"
	"  if (t === 'bigint') {\n"
	"    if (v <= BigInt(Number.MAX_SAFE_INTEGER) &&\n"
	"        v >= BigInt(Number.MIN_SAFE_INTEGER)) return Number(v);\n"
	"    throw new Bad(where(path) + ' is a BigInt past 2^53 (return ' +\n"
	"                  'String(x))');\n"
	"  }\n"
	"  if (t === 'function' || t === 'symbol')\n"
	"    throw new Bad(where(path) + ' is a ' + t + ', which is not JSON ' +\n"
	"                  '(return numbers, strings, arrays or objects)');\n"
	"  if (path.length > 100) throw new Bad(where(path) + ' is nested ' +\n"
	"                                       'too deep');\n"
	"  if (Buffer.isBuffer(v)) {\n"
	"    try {\n"
	"      return new TextDecoder('utf-8', {fatal: true}).decode(v);\n"
	"    } catch (e) {\n"
	"      throw new Bad(where(path) + ' is a Buffer, not UTF-8 text');\n"
	"    }\n"
	"  }\n"
	"  if (Array.isArray(v) || (ArrayBuffer.isView(v) &&\n"
	"                           !(v instanceof DataView)))\n"
	"    return Array.from(v, (x, i) => plain(x, path.concat([i])));\n"
	"  if (v instanceof Set)\n"
	"    return Array.from(v, (x, i) => plain(x, path.concat([i])));\n"
	"  if (v instanceof Map) {\n"
	"    const o = {};\n"
	"    for (const [k, x] of v) o[String(k)] = plain(x, path.concat([k]));\n"
	"    return o;\n"
	"  }\n"
	"  if (v instanceof Date) return v.toISOString();\n"
	"  if (typeof v.toJSON === 'function')\n"
	"    return plain(v.toJSON(), path);\n"
	"  const o = {};\n"
	"  for (const k of Object.keys(v)) o[k] = plain(v[k], path.concat([k]));\n"
	"  return o;\n"
	"}\n"
	"\n"
	"function missing(reqs, req) {\n"
	"  for (const r of reqs) {\n"
	"    const mod = String(r).trim().split(/[<>=!~\\s@]/)[0] ||\n"
	"                String(r).trim();\n"
	"    try {\n"
	"      req.resolve(mod);\n"
	"    } catch (e) {\n"
	"      return \"module '\" + mod + \"' is required by the skill but \" +\n"
	"             'node cannot load it';\n"
	"    }\n"
	"  }\n"
	"  return null;\n"
	"}\n"
	"\n"
	"function failWith(e) {\n"
	"  const b = browserName(e);\n"
	"  if (b) {\n"
	"    fail('browser', \"this skill needs a browser: it uses '\" + b +\n"
	"         \"', which node does not have (code for a page or a canvas \" +\n"
	"         'runs in a browser, not here; to run as a node, compute the ' +\n"
	"         'data in execute(inputs) and return it)\\n' + stackText(e));\n"
	"    return;\n"
	"  }\n"
	"  if (e instanceof Bad) {\n"
	"    fail('exception', e.message);\n"
	"    return;\n"
	"  }\n"
	"  fail(kindOf(e), stackText(e));\n"
	"}\n"
	"\n"
	"// `export function f` and `export const x` as plain declarations, so\n"
	"// that a block written as an ES module runs as CommonJS, lines kept.\n"
	"function unexport(src) {\n"
	"  return src.replace(/^([ \\t]*)export[ \\t]+(default[ \\t]+)?(?=(async\\s+)?function\\b|const\\b|let\\b|var\\b|class\\b)/gm, '$1');\n"
	"}\n"
	"\n"
	"async function run() {\n"
	"  const job = JSON.parse(fs.readFileSync(D + '/job.json', 'utf8'));\n"
	"  const req = Module.createRequire('/work/skill.js');\n"
	"  const msg = missing(job.requires || [], req);\n"
	"  if (msg) {\n"
	"    fail('requires', msg);\n"
	"    return;\n"
	"  }\n"
	"  const name = String(job.filename);\n"
	"  const src = fs.readFileSync(D + '/code.js', 'utf8');\n"
	"  state.name = name;\n"
	"  state.lines = new Array(Number(job.line) - 1).fill('')\n"
	"    .concat(src.split('\\n'));\n"
	"  const inputs = JSON.parse(fs.readFileSync(D + '/inputs.json',\n"
	"                                            'utf8'));\n"
	"  let out;\n"
	"  try {\n"
	"    const fn = vm.compileFunction(unexport(src) + '\\n;return typeof ' +\n"
	"      'execute === \"function\" ? execute : undefined;',\n"
	"      ['exports', 'require', 'module', '__filename', '__dirname'],\n"
	"      {filename: name, lineOffset: Number(job.line) - 1});\n"
	"    const mod = {exports: {}};\n"
	"    const top = fn.call(mod.exports, mod.exports, req, mod, name, '/work');\n"
	"    const ex = mod.exports && typeof mod.exports.execute === 'function' ?\n"
	"      mod.exports.execute : top;\n"
	"    if (typeof ex !== 'function') {\n"
	"      fail('exception', name + ': the code defines no function ' +\n"
	"           'execute(inputs) (write function execute(inputs) { ... } ' +\n"
	"           'or module.exports.execute = ...)');\n"
	"      return;\n"
	"    }\n"
	"    out = await ex(inputs);\n"
	"    if (out === null || typeof out !== 'object' || Array.isArray(out)) {\n"
	"      fail('exception', 'execute() returned ' +\n"
	"           (Array.isArray(out) ? 'an array' : out === null ? 'null' :\n"
	"            typeof out) + '; it must return an object of outputs ' +\n"
	"           'such as {x: 1}');\n"
	"      return;\n"
	"    }\n"
	"    const res = {};\n"
	"    for (const k of Object.keys(out)) res[k] = plain(out[k], [k]);\n"
	"    put({ok: true, outputs: res});\n"
	"  } catch (e) {\n"
	"    failWith(e);\n"
	"  }\n"
	"}\n"
	"\n"
	"process.on('SIGTERM', () => process.exit(143));\n"
	"process.on('SIGXFSZ', () => {});\n"
	"process.on('uncaughtException', (e) => {\n"
	"  try { failWith(e); } finally { process.exit(1); }\n"
	"});\n"
	"process.on('unhandledRejection', (e) => {\n"
	"  try { failWith(e); } finally { process.exit(1); }\n"
	"});\n"
	"reserve();\n"
	"run().then(() => process.exit(0), (e) => {\n"
	"  try {\n"
	"    process.stderr.write('llmunix harness: ' + String(e) + '\\n');\n"
	"  } finally {\n"
	"    process.exit(3);\n"
	"  }\n"
	"});\n";

static const struct runner_result_kind js_kinds[] = {
	{ "exception", RUNNER_KIND_EXCEPTION },
	{ "browser", RUNNER_KIND_EXCEPTION },
	{ "memory", RUNNER_KIND_MEMORY },
	{ "procs", RUNNER_KIND_PROCS },
	{ "filesize", RUNNER_KIND_FILESIZE },
	{ "requires", RUNNER_KIND_SETUP },
};

static int js_prepare(struct runner_ctx *c)
{
	const struct skill_code *code = c->job->sk->code;
	uint64_t mb = c->job->lim.memory_mb;
	int rc;

	if ((rc = runner_write(c, "node.sh", launcher,
			       sizeof(launcher) - 1)) ||
	    (rc = runner_write(c, "harness.js", harness,
			       sizeof(harness) - 1)) ||
	    (rc = runner_write(c, "code.js", code->text, code->len)) ||
	    (rc = runner_write_job(c)))
		return rc;
	if ((rc = sandbox_strv_add(&c->argv, "/bin/sh")) ||
	    (rc = sandbox_strv_add(&c->argv, RUNNER_SB_DIR "/node.sh")) ||
	    (rc = sandbox_strv_add(&c->argv, "--v8-pool-size=2")))
		return rc;
	if (mb && (rc = sandbox_strv_addf(&c->argv, "--max-old-space-size=%llu",
					  (unsigned long long)(mb / 2 > 16 ?
							       mb / 2 : 16))))
		return rc;
	if ((rc = sandbox_strv_add(&c->argv, RUNNER_SB_DIR "/harness.js")) ||
	    (rc = sandbox_strv_add(&c->env, "UV_THREADPOOL_SIZE=2")) ||
	    (rc = sandbox_strv_add(&c->env, "NODE_OPTIONS=")))
		return rc;
	c->hint = "execute(inputs) must return it in its object";
	return 0;
}

static int js_collect(struct runner_ctx *c)
{
	return runner_collect_result(c, "node", js_kinds,
				     sizeof(js_kinds) / sizeof(*js_kinds));
}

const struct runner_ops runner_js_ops = {
	.name = "javascript",
	.interp = "/usr/bin/node",
	.missing = "node is not installed (/usr/bin/node; on Debian: "
		   "apt-get install nodejs)",
	.prepare = js_prepare,
	.collect = js_collect,
};
