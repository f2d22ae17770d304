#!/usr/bin/env node
// tests/vercel-blob-client.js: the real @vercel/blob client (npm, under
// build/npm) against a Vercel Blob API, such as tests/vercel-blob-server.js:
// VERCEL_BLOB_API_URL names it, BLOB_READ_WRITE_TOKEN the store.
//
//   check CONTROL   put, head, list, copy, del, createFolder and their
//                   errors, as "ok - ..." lines: the fake speaks what the
//                   client speaks (CONTROL: the server's control file)
//   put PATHNAME FILE   a blob as LLMos-Lite writes one: no random suffix,
//                   replaced if there (allowOverwrite), plain content
//   get PATHNAME    head, then download from its url, to stdout
//   head PATHNAME   the head as JSON
//   list PREFIX     every pathname under PREFIX, one a line (all pages)
'use strict';
const fs = require('fs');
const path = require('path');

const blob = require(path.join(__dirname, '..', 'build', 'npm',
                               'node_modules', '@vercel', 'blob'));

let npass = 0, nfail = 0;
function ok(cond, desc, detail) {
  if (cond) {
    npass++;
    console.log(`ok - ${desc}`);
  } else {
    nfail++;
    console.log(`not ok - ${desc}`);
    if (detail !== undefined)
      console.log(`#   ${String(detail).split('\n').join('\n#   ')}`);
  }
  return cond;
}

// The error a call throws (null when it does not).
async function thrown(fn) {
  try {
    await fn();
    return null;
  } catch (e) {
    return e;
  }
}

async function text(url) {
  const r = await fetch(url);
  return { status: r.status, body: Buffer.from(await r.arrayBuffer()),
           type: r.headers.get('content-type'),
           disposition: r.headers.get('content-disposition'),
           etag: r.headers.get('etag') };
}

async function listAll(prefix, limit) {
  const out = [];
  let cursor, pages = 0, res;
  do {
    res = await blob.list({ prefix, cursor, limit });
    out.push(...res.blobs);
    cursor = res.cursor;
    pages++;
  } while (res.hasMore);
  return { blobs: out, pages };
}

function setControl(file, line) {
  fs.writeFileSync(file, line + '\n');
}

const P = 'volumes/user/alice/skills/';
const pub = { access: 'public', addRandomSuffix: false };

async function check(control) {
  setControl(control, '0 none');
  const md = '---\nname: hello\n---\nHello from the client.\n';
  const a = await blob.put(P + 'hello.md', md,
                           { ...pub, contentType: 'text/markdown' });
  ok(a.pathname === P + 'hello.md' && /^http:\/\/127\.0\.0\.1:\d+\//.test(a.url),
     'put: the reply names the pathname, with no random suffix, and its url',
     JSON.stringify(a));
  ok(a.downloadUrl === a.url + '?download=1' && /^"[0-9a-f]+"$/.test(a.etag) &&
     a.contentType === 'text/markdown',
     'put: downloadUrl, etag and contentType as the client maps them',
     JSON.stringify(a));
  let got = await text(a.url);
  ok(got.status === 200 && got.body.toString() === md &&
     got.etag === a.etag && /^text\/markdown/.test(got.type),
     'the content is downloaded from the url, with the same ETag',
     JSON.stringify({ status: got.status, etag: got.etag, type: got.type }));
  got = await text(a.downloadUrl);
  ok(/^attachment/.test(got.disposition || ''),
     'the downloadUrl serves it as an attachment', got.disposition);

  let e = await thrown(() => blob.put(P + 'hello.md', 'again', pub));
  ok(e instanceof blob.BlobError && /already exists/.test(e.message),
     'put over an existing pathname without allowOverwrite is refused',
     e && e.message);
  const b = await blob.put(P + 'hello.md', 'replaced',
                           { ...pub, allowOverwrite: true });
  ok(b.etag !== a.etag && (await text(b.url)).body.toString() === 'replaced',
     'put with allowOverwrite replaces it, with a new ETag');
  e = await thrown(() => blob.put(P + 'hello.md', 'x',
                                  { ...pub, ifMatch: a.etag }));
  ok(e instanceof blob.BlobPreconditionFailedError,
     'put with an ifMatch of an older version: precondition failed',
     e && e.constructor.name);
  ok(!(await thrown(() => blob.put(P + 'hello.md', 'y',
                                   { ...pub, ifMatch: b.etag }))),
     'put with the current ETag as ifMatch is taken');

  const h = await blob.head(P + 'hello.md');
  ok(h.size === 1 && h.pathname === P + 'hello.md' &&
     h.uploadedAt instanceof Date && !isNaN(h.uploadedAt) &&
     /^"[0-9a-f]+"$/.test(h.etag) && h.contentType === 'text/markdown' &&
     /max-age=/.test(h.cacheControl),
     'head: size, uploadedAt, etag, contentType, cacheControl',
     JSON.stringify(h));
  ok((await blob.head(h.url)).pathname === h.pathname,
     'head takes the url as well as the pathname');
  e = await thrown(() => blob.head(P + 'nope.md'));
  ok(e instanceof blob.BlobNotFoundError, 'head of a missing blob: not found',
     e && e.constructor.name);

  const bin = Buffer.from([0, 255, 1, 254, 10, 13]);
  await blob.put(P + 'bin/raw.bin', bin, pub);
  ok((await text((await blob.head(P + 'bin/raw.bin')).url)).body.equals(bin),
     'binary content round-trips');
  const odd = P + 'a b ü #?&%.md';
  await blob.put(odd, 'odd', pub);
  ok((await text((await blob.head(odd)).url)).body.toString() === 'odd',
     'a pathname with spaces, UTF-8, # ? & and %');

  for (let i = 0; i < 5; i++)
    await blob.put(`${P}page/s${i}.md`, `skill ${i}`, pub);
  const l = await listAll(P + 'page/', 2);
  ok(l.pages === 3 && l.blobs.map((x) => x.pathname).join(' ') ===
     [0, 1, 2, 3, 4].map((i) => `${P}page/s${i}.md`).join(' '),
     'list: 2 a page, followed by its cursor while hasMore, in order',
     `${l.pages} pages: ${l.blobs.map((x) => x.pathname).join(' ')}`);
  ok(l.blobs.every((x) => x.size === 7 && x.uploadedAt instanceof Date &&
                   x.etag && x.url && x.downloadUrl),
     'list: each blob with size, uploadedAt, etag, url, downloadUrl');
  const folded = await blob.list({ prefix: P, mode: 'folded' });
  ok(folded.folders.includes(P + 'page/') && folded.folders.includes(P + 'bin/')
     && folded.blobs.every((x) => !x.pathname.slice(P.length).includes('/')),
     'list in folded mode: folders and the blobs of the level',
     JSON.stringify(folded.folders));
  e = await thrown(() => blob.list({ prefix: P, cursor: 'garbage' }));
  ok(e instanceof blob.BlobError && /cursor/i.test(e.message),
     'list with a cursor it never gave: bad request', e && e.message);

  const c = await blob.copy(P + 'page/s1.md', P + 'copied.md', pub);
  ok(c.pathname === P + 'copied.md' &&
     (await text(c.url)).body.toString() === 'skill 1',
     'copy: the new pathname holds the content', JSON.stringify(c));
  e = await thrown(() => blob.copy(P + 'page/s2.md', P + 'copied.md', pub));
  ok(e && /already exists/.test(e.message),
     'copy onto an existing pathname without allowOverwrite is refused',
     e && e.message);
  await blob.copy(P + 'page/s2.md', P + 'copied.md',
                  { ...pub, allowOverwrite: true });
  ok((await text((await blob.head(P + 'copied.md')).url)).body.toString() ===
     'skill 2', 'copy with allowOverwrite replaces it');
  e = await thrown(() => blob.copy(P + 'nope.md', P + 'x.md', pub));
  ok(e instanceof blob.BlobNotFoundError, 'copy of a missing blob: not found',
     e && e.constructor.name);
  const r = await blob.rename(P + 'copied.md', P + 'renamed.md', pub);
  ok(r.pathname === P + 'renamed.md' &&
     (await thrown(() => blob.head(P + 'copied.md'))) instanceof
     blob.BlobNotFoundError, 'rename moves it');

  const s0 = await blob.head(P + 'page/s0.md');
  await blob.del([s0.url, P + 'page/s3.md', P + 'never-there.md']);
  const gone = await Promise.all([P + 'page/s0.md', P + 'page/s3.md'].map(
    (p) => thrown(() => blob.head(p))));
  ok(gone.every((x) => x instanceof blob.BlobNotFoundError) &&
     (await listAll(P + 'page/')).blobs.length === 3,
     'del of several at once (a url, pathnames, one missing)');
  ok((await text(s0.url)).status === 404, 'a deleted blob is not served');

  const f = await blob.createFolder(P + 'folder');
  const fl = await blob.list({ prefix: P + 'folder' });
  ok(f.pathname === P + 'folder/' && fl.blobs.length === 1 &&
     fl.blobs[0].size === 0, 'createFolder makes the marker "folder/"',
     JSON.stringify(fl.blobs));
  const rs = await blob.put(P + 'suffix.md', 'x',
                            { access: 'public', addRandomSuffix: true });
  ok(/^volumes\/user\/alice\/skills\/suffix-[A-Za-z0-9]+\.md$/.test(rs.pathname),
     'addRandomSuffix: the pathname gets a suffix', rs.pathname);

  const token = process.env.BLOB_READ_WRITE_TOKEN;
  const store = token.split('_')[3];
  e = await thrown(() => blob.put(P + 'w.md', 'x',
    { ...pub, token: `vercel_blob_rw_${store}_wrong` }));
  ok(e instanceof blob.BlobAccessError, 'a wrong token: access denied',
     e && e.constructor.name);
  e = await thrown(() => blob.list({ token: 'not-a-token' }));
  ok(e instanceof blob.BlobAccessError, 'a malformed token: access denied',
     e && e.constructor.name);
  const raw = await fetch(process.env.VERCEL_BLOB_API_URL + '?limit=1',
                          { headers: { 'x-api-version': '12' } });
  const rawBody = await raw.json();
  ok(raw.status === 403 && rawBody.error.code === 'forbidden',
     'no token at all: 403 {"error": {"code": "forbidden"}}',
     JSON.stringify(rawBody));
  e = await thrown(() => blob.put(P + 'big.md', Buffer.alloc(
    Number(process.env.VB_MAX_SIZE) + 1), pub));
  ok(e instanceof blob.BlobFileTooLargeError,
     'a body over the size limit: file too large', e && e.constructor.name);

  process.env.VERCEL_BLOB_API_VERSION_OVERRIDE = '99';
  e = await thrown(() => blob.head(P + 'hello.md'));
  ok(e instanceof blob.BlobError && /API version/.test(e.message),
     'an API version it does not know: bad request', e && e.message);
  delete process.env.VERCEL_BLOB_API_VERSION_OVERRIDE;

  setControl(control, '1 429');
  e = await thrown(() => blob.head(P + 'hello.md'));
  ok(e instanceof blob.BlobServiceRateLimited && e.retryAfter === 1,
     'rate limited: 429 with retry-after, which the client reads',
     e && `${e.constructor.name} ${e.retryAfter}`);
  setControl(control, '1 503');
  process.env.VERCEL_BLOB_RETRIES = '1';
  e = await thrown(() => blob.head(P + 'hello.md'));
  ok(e instanceof blob.BlobServiceNotAvailable,
     'service unavailable (503): retried by the client, then its error',
     e && e.constructor.name);
  setControl(control, `0 none\nsuspend ${store}`);
  e = await thrown(() => blob.head(P + 'hello.md'));
  ok(e instanceof blob.BlobStoreSuspendedError, 'a suspended store',
     e && e.constructor.name);
  setControl(control, '0 none');
  ok((await blob.head(P + 'hello.md')).size === 1,
     'and the store answers again');
}

async function main() {
  const [cmd, a1, a2] = process.argv.slice(2);
  if (cmd === 'check') {
    await check(a1);
    console.log(`# vercel-blob-client: ${npass} passed, ${nfail} failed`);
    process.exit(nfail ? 1 : 0);
  } else if (cmd === 'put') {
    const r = await blob.put(a1, fs.readFileSync(a2),
                             { ...pub, allowOverwrite: true,
                               contentType: 'text/markdown' });
    console.log(r.url);
  } else if (cmd === 'get') {
    const r = await text((await blob.head(a1)).url);
    if (r.status !== 200)
      throw new Error(`download: HTTP ${r.status}`);
    process.stdout.write(r.body);
  } else if (cmd === 'head') {
    console.log(JSON.stringify(await blob.head(a1)));
  } else if (cmd === 'list') {
    for (const b of (await listAll(a1)).blobs)
      console.log(b.pathname);
  } else {
    throw new Error('usage: vercel-blob-client.js check|put|get|head|list');
  }
}

main().catch((e) => {
  console.error(`vercel-blob-client: ${e.message}`);
  process.exit(1);
});
