#!/usr/bin/env node
// tests/vercel-blob-server.js: a local Vercel Blob service for the tests
// (the real one cannot run here). It speaks the HTTP API as @vercel/blob
// 2.x (API version 12) calls it -- tests/vercel-blob-client.js drives it
// with that very client -- and refuses what the service refuses.
//
// Usage: VERCEL_BLOB_TEST_SECRET=S node vercel-blob-server.js --port-file F
//          [--control F] [--log F] [--access public|private]
//          [--max-size BYTES]
//
// API, under http://127.0.0.1:PORT/api/blob (what vercel_base_url names):
//   PUT  /?pathname=P            put (body; x-vercel-blob-access,
//                                x-content-type, x-add-random-suffix,
//                                x-allow-overwrite, x-if-match,
//                                x-cache-control-max-age)
//   PUT  ?pathname=P&fromUrl=F   copy          GET ?url=U   head
//   GET  ?limit&prefix&cursor&mode   list      POST /delete {"urls": [...]}
//   POST /rename?pathname=P&fromUrl=F
// Every call needs "authorization: Bearer vercel_blob_rw_<store>_<S>" (a
// store per <store>, made on first use, in memory; S comes from the
// environment, so that no process's arguments show it) and x-api-version 1 to
// 12. Errors are {"error": {"code", "message"}}: forbidden (403),
// not_found (404), bad_request (400; a pathname that exists without
// x-allow-overwrite: 1, a bad pathname, version, cursor or body),
// precondition_failed (412), file_too_large (413), store_suspended (403),
// rate_limited (429, retry-after), service_unavailable (503),
// internal_server_error (500).
//
// Blobs are downloaded at the url a reply gives,
// http://127.0.0.1:PORT/blobs/<store>/<pathname, each part encoded>
// (?download=1: as an attachment); in a private store with the token.
// ETags are "<hex>", a new one for each version (a copy has its own).
//
// The control file is read at each request: a line "RATE MODE[,MODE...]
// [STALL]" fails that share of requests (exactly: the n-th fails when
// floor(n * RATE) grows), taking the modes in turn: 500, 503, 429, reset
// (the connection is reset, half the time after the work is done), lost
// (reset always after the work: the client never hears of it), stall
// (no answer for STALL seconds, then the connection closes); a line
// "suspend STORE" suspends a store; a line "cdn stale" makes a public
// download without ?cache=0 get the version before the last overwrite, as
// the service's CDN may for a minute. The log gets a JSON line per
// request.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');

const API_VERSION_MAX = 12;
const PATHNAME_MAX = 950;
const LIST_LIMIT_MAX = 1000;
const MIN_MAX_AGE = 60;
const DEFAULT_MAX_AGE = 30 * 24 * 3600;

const args = {};
for (let i = 2; i < process.argv.length; i += 2)
  args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const SECRET = process.env.VERCEL_BLOB_TEST_SECRET;
if (!args['port-file'] || !SECRET) {
  process.stderr.write('usage: VERCEL_BLOB_TEST_SECRET=S ' +
                       'vercel-blob-server.js --port-file F [--control F] ' +
                       '[--log F] [--access A] [--max-size N]\n');
  process.exit(2);
}
const ACCESS = args.access || 'public';
const MAX_SIZE = Number(args['max-size'] || 512 * 1024 * 1024);

const stores = new Map();	// id -> Map(pathname -> blob)
let origin = '';
let counter = 0;
const faults = { requests: 0, made: 0 };

class ApiError extends Error {
  constructor(status, code, message, headers) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers || {};
  }
}
const forbidden = () => new ApiError(403, 'forbidden',
  'Access denied, please provide a valid token for this resource.');
const notFound = () => new ApiError(404, 'not_found',
  'The requested blob does not exist');
const badRequest = (m) => new ApiError(400, 'bad_request', m);

function control() {
  const out = { rate: 0, modes: [], stall: 5, suspended: new Set(),
                stale: false };
  if (!args.control)
    return out;
  let text;
  try {
    text = fs.readFileSync(args.control, 'utf8');
  } catch (e) {
    return out;
  }
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] === 'suspend' && f[1]) {
      out.suspended.add(f[1]);
    } else if (f[0] === 'cdn' && f[1] === 'stale') {
      out.stale = true;
    } else if (/^[0-9.]+$/.test(f[0] || '')) {
      out.rate = Number(f[0]);
      out.modes = (f[1] || '').split(',').filter((m) => m && m !== 'none');
      out.stall = Number(f[2] || 5);
    }
  }
  return out;
}

function note(entry) {
  if (args.log)
    fs.appendFileSync(args.log, JSON.stringify(entry) + '\n');
}

// --- stores, blobs and their URLs --------------------------------------------

function auth(req, ctl) {
  const h = req.headers.authorization || '';
  const m = /^Bearer (vercel_blob_rw_([A-Za-z0-9]+)_(.+))$/.exec(h);
  if (!m || m[3] !== SECRET)
    throw forbidden();
  const id = m[2];
  const hdr = req.headers['x-vercel-blob-store-id'];
  if (hdr !== undefined && hdr !== '' && hdr !== id)
    throw forbidden();
  if (ctl.suspended.has(id))
    throw new ApiError(403, 'store_suspended',
                       'This store has been suspended.');
  if (!stores.has(id))
    stores.set(id, new Map());
  return id;
}

function apiVersion(req) {
  const v = req.headers['x-api-version'];
  if (v === undefined)
    throw badRequest('Missing x-api-version header.');
  if (!/^[0-9]+$/.test(v) || Number(v) < 1 || Number(v) > API_VERSION_MAX)
    throw badRequest(`Unsupported API version ${JSON.stringify(v)}.`);
}

function blobUrl(id, pathname) {
  return `${origin}/blobs/${id}/` +
    pathname.split('/').map(encodeURIComponent).join('/');
}

function checkPathname(p) {
  if (!p)
    throw badRequest('pathname is required');
  if (Buffer.byteLength(p) > PATHNAME_MAX)
    throw badRequest(`pathname is too long, maximum length is ${PATHNAME_MAX}`);
  if (p.includes('//'))
    throw badRequest('pathname cannot contain "//", please encode it if needed');
  if (p.startsWith('/'))
    throw badRequest('pathname cannot start with "/"');
}

// A pathname, or the URL of one of this store's blobs.
function pathnameOf(id, urlOrPathname) {
  if (!/^https?:\/\//.test(urlOrPathname))
    return urlOrPathname;
  let u;
  try {
    u = new URL(urlOrPathname);
  } catch (e) {
    throw badRequest('Invalid URL');
  }
  const prefix = `/blobs/${id}/`;
  if (`${u.protocol}//${u.host}` !== origin || !u.pathname.startsWith(prefix))
    throw notFound();
  return u.pathname.slice(prefix.length).split('/')
    .map(decodeURIComponent).join('/');
}

function typeOf(pathname) {
  const ext = (/\.([A-Za-z0-9]+)$/.exec(pathname) || [])[1];
  return { md: 'text/markdown', json: 'application/json',
           txt: 'text/plain', png: 'image/png' }[ext] ||
         'application/octet-stream';
}

function newEtag(id, pathname, body) {
  counter++;
  return '"' + crypto.createHash('md5').update(`${id}\n${pathname}\n` +
    `${counter}\n`).update(body).digest('hex') + '"';
}

function describe(id, b, full) {
  const url = blobUrl(id, b.pathname);
  const d = {
    url,
    downloadUrl: url + '?download=1',
    pathname: b.pathname,
    contentType: b.contentType,
    contentDisposition: `attachment; filename="${b.pathname.split('/').pop()}"`,
    etag: b.etag,
  };
  if (full) {
    d.size = b.body.length;
    d.uploadedAt = b.uploadedAt.toISOString();
    d.cacheControl = `public, max-age=${b.maxAge}`;
  }
  return d;
}

const sameEtag = (a, b) => a.replace(/^W\//, '').replace(/"/g, '') ===
                           b.replace(/^W\//, '').replace(/"/g, '');

// The put options, as createPutHeaders() sends them.
function putOptions(req) {
  const h = req.headers;
  const access = h['x-vercel-blob-access'];
  if (access !== 'public' && access !== 'private')
    throw badRequest('access must be "private" or "public"');
  if (access !== ACCESS)
    throw badRequest(`Cannot use ${access} access on a ${ACCESS} store`);
  for (const name of ['x-add-random-suffix', 'x-allow-overwrite'])
    if (h[name] !== undefined && h[name] !== '0' && h[name] !== '1')
      throw badRequest(`${name} must be 0 or 1`);
  let maxAge = DEFAULT_MAX_AGE;
  if (h['x-cache-control-max-age'] !== undefined) {
    if (!/^[0-9]+$/.test(h['x-cache-control-max-age']))
      throw badRequest('cacheControlMaxAge must be a number of seconds');
    maxAge = Math.max(MIN_MAX_AGE, Number(h['x-cache-control-max-age']));
  }
  return {
    randomSuffix: h['x-add-random-suffix'] === '1',
    overwrite: h['x-allow-overwrite'] === '1',
    ifMatch: h['x-if-match'],
    contentType: h['x-content-type'],
    maxAge,
  };
}

function withSuffix(pathname) {
  const s = crypto.randomBytes(15).toString('hex').slice(0, 30);
  const m = /^(.*?)(\.[^./]*)?$/.exec(pathname);
  return `${m[1]}-${s}${m[2] || ''}`;
}

// Store `body` at `pathname` as the options allow.
function store(id, pathname, body, o, from) {
  const blobs = stores.get(id);
  if (o.randomSuffix)
    pathname = withSuffix(pathname);
  checkPathname(pathname);
  if (pathname.endsWith('/') && body.length)
    throw badRequest('a folder (a pathname ending in "/") has no content');
  const old = blobs.get(pathname);
  if (o.ifMatch !== undefined) {
    if (!old || !sameEtag(old.etag, o.ifMatch))
      throw new ApiError(412, 'precondition_failed',
                         'Precondition failed: ETag mismatch.');
  } else if (old && !o.overwrite) {
    throw badRequest('This blob already exists, use `allowOverwrite: true` ' +
      'if you want to overwrite it. Or `addRandomSuffix: true` to generate ' +
      'a unique filename.');
  }
  const b = {
    pathname,
    body,
    contentType: o.contentType || (from ? from.contentType : '') ||
                 typeOf(pathname),
    uploadedAt: new Date(),
    etag: newEtag(id, pathname, body),
    maxAge: o.maxAge,
    previous: old ? { body: old.body, etag: old.etag,
                      contentType: old.contentType } : null,
  };
  blobs.set(pathname, b);
  return b;
}

// --- the API -------------------------------------------------------------------

function put(id, q, req, body) {
  if (req.tooBig)
    throw new ApiError(413, 'file_too_large', 'File is too large, the file ' +
                       `length cannot be greater than ${MAX_SIZE} bytes`);
  return describe(id, store(id, q.get('pathname'), body, putOptions(req)));
}

function copy(id, q, req, remove) {
  const from = pathnameOf(id, q.get('fromUrl'));
  const src = stores.get(id).get(from);
  checkPathname(q.get('pathname'));
  if (!src)
    throw notFound();
  const b = store(id, q.get('pathname'), src.body, putOptions(req), src);
  if (remove && b.pathname !== from)
    stores.get(id).delete(from);
  return describe(id, b);
}

function head(id, q) {
  const b = stores.get(id).get(pathnameOf(id, q.get('url')));
  if (!b)
    throw notFound();
  return describe(id, b, true);
}

const cursorOf = (after) => Buffer.from(JSON.stringify({ after }))
  .toString('base64url');

function list(id, q) {
  const limit = q.has('limit') ? Number(q.get('limit')) : LIST_LIMIT_MAX;
  if (!Number.isInteger(limit) || limit < 1 || limit > LIST_LIMIT_MAX)
    throw badRequest(`limit must be a number from 1 to ${LIST_LIMIT_MAX}`);
  const prefix = q.get('prefix') || '';
  const mode = q.get('mode') || 'expanded';
  if (mode !== 'expanded' && mode !== 'folded')
    throw badRequest('mode must be "expanded" or "folded"');
  let after = '';
  if (q.get('cursor')) {
    try {
      after = JSON.parse(Buffer.from(q.get('cursor'), 'base64url')
        .toString()).after;
    } catch (e) {
      after = undefined;
    }
    if (typeof after !== 'string')
      throw badRequest('Invalid cursor');
  }
  const names = [...stores.get(id).keys()]
    .filter((p) => p.startsWith(prefix) &&
            (!after || Buffer.compare(Buffer.from(p), Buffer.from(after)) > 0))
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const blobs = [], folders = [];
  let last = '', i = 0;
  for (; i < names.length && blobs.length + folders.length < limit; i++) {
    const p = names[i];
    const slash = p.indexOf('/', prefix.length);
    if (mode === 'folded' && slash >= 0 && slash < p.length - 1) {
      const f = p.slice(0, slash + 1);
      if (folders[folders.length - 1] !== f)
        folders.push(f);
    } else {
      const b = stores.get(id).get(p);
      const d = describe(id, b, true);
      blobs.push({ url: d.url, downloadUrl: d.downloadUrl, pathname: p,
                   size: d.size, uploadedAt: d.uploadedAt, etag: d.etag });
    }
    last = p;
  }
  const hasMore = i < names.length;
  const out = { blobs, cursor: hasMore ? cursorOf(last) : undefined,
                hasMore };
  if (mode === 'folded')
    out.folders = folders;
  return out;
}

function del(id, body, req) {
  let urls;
  try {
    urls = JSON.parse(body.toString()).urls;
  } catch (e) {
    throw badRequest('Invalid request body: expected JSON');
  }
  if (!Array.isArray(urls) || urls.some((u) => typeof u !== 'string'))
    throw badRequest('Invalid request body: "urls" must be an array of ' +
                     'strings');
  const blobs = stores.get(id);
  const ifMatch = req.headers['x-if-match'];
  if (ifMatch !== undefined) {
    const b = urls.length === 1 && blobs.get(pathnameOf(id, urls[0]));
    if (urls.length !== 1 || !b || !sameEtag(b.etag, ifMatch))
      throw new ApiError(412, 'precondition_failed',
                         'Precondition failed: ETag mismatch.');
  }
  for (const u of urls)
    blobs.delete(pathnameOf(id, u));
  return {};
}

function api(req, sub, q, body, ctl) {
  const id = auth(req, ctl);
  apiVersion(req);
  if (req.method === 'PUT' && sub === '/' && q.has('pathname') &&
      !q.has('fromUrl'))
    return put(id, q, req, body);
  if (req.method === 'PUT' && sub === '' && q.has('fromUrl'))
    return copy(id, q, req, false);
  if (req.method === 'GET' && sub === '' && q.has('url'))
    return head(id, q);
  if (req.method === 'GET' && sub === '')
    return list(id, q);
  if (req.method === 'POST' && sub === '/delete')
    return del(id, body, req);
  if (req.method === 'POST' && sub === '/rename' && q.has('fromUrl'))
    return copy(id, q, req, true);
  throw badRequest(`Unknown endpoint: ${req.method} /api/blob${sub}`);
}

// --- downloads ---------------------------------------------------------------------

function download(req, res, path, q, ctl) {
  const m = /^\/blobs\/([A-Za-z0-9]+)\/(.+)$/.exec(path);
  const blobs = m && stores.get(m[1]);
  let pathname;
  try {
    pathname = m && m[2].split('/').map(decodeURIComponent).join('/');
  } catch (e) {
    pathname = null;
  }
  let b = blobs && pathname !== null && blobs.get(pathname);
  if (b && ACCESS === 'private') {
    try {
      if (auth(req, ctl) !== m[1])
        throw forbidden();
    } catch (e) {
      return reply(res, req, e.status, 'text/plain', 'Forbidden\n');
    }
  }
  if (!b)
    return reply(res, req, 404, 'text/plain',
                 'The page could not be found\n\nNOT_FOUND\n');
  // The CDN's copy of an overwritten blob, for a while.
  if (b.previous && ctl.stale && q.get('cache') !== '0')
    b = Object.assign({}, b, b.previous);
  const name = b.pathname.split('/').pop();
  res.setHeader('ETag', b.etag);
  res.setHeader('Last-Modified', b.uploadedAt.toUTCString());
  res.setHeader('Cache-Control', `public, max-age=${b.maxAge}`);
  res.setHeader('Content-Disposition', q.get('download') === '1' ?
                `attachment; filename="${name}"` : `inline; filename="${name}"`);
  return reply(res, req, 200, b.contentType, b.body);
}

function reply(res, req, status, type, body, headers) {
  const data = Buffer.isBuffer(body) ? body : Buffer.from(body);
  for (const [k, v] of Object.entries(headers || {}))
    res.setHeader(k, v);
  res.setHeader('Content-Type', type);
  res.setHeader('Content-Length', data.length);
  res.writeHead(status);
  res.end(req.method === 'HEAD' ? undefined : data);
  return status;
}

function replyError(res, req, e) {
  return reply(res, req, e.status, 'application/json',
               JSON.stringify({ error: { code: e.code, message: e.message } }),
               e.headers);
}

// --- faults and the server ------------------------------------------------------------

function pickFault(ctl) {
  const n = ++faults.requests;
  if (!ctl.modes.length || Math.floor(n * ctl.rate) <= Math.floor((n - 1) *
                                                                  ctl.rate))
    return null;
  return ctl.modes[faults.made++ % ctl.modes.length];
}

function handle(req, res, body) {
  const u = new URL(req.url, origin);
  const ctl = control();
  let fault = pickFault(ctl);
  const entry = { m: req.method, path: u.pathname, q: u.search,
                  ovw: req.headers['x-allow-overwrite'],
                  rnd: req.headers['x-add-random-suffix'],
                  ver: req.headers['x-api-version'], fault };
  const finish = (status) => {
    entry.status = status;
    note(entry);
  };
  if (fault === 'stall') {
    finish('stall');
    setTimeout(() => req.socket.destroy(), ctl.stall * 1000);
    return;
  }
  if (fault === '500' || fault === '503' || fault === '429') {
    const e = {
      500: new ApiError(500, 'internal_server_error', 'Internal error'),
      503: new ApiError(503, 'service_unavailable', 'The blob service is ' +
                        'currently not available.', { 'Retry-After': '1' }),
      429: new ApiError(429, 'rate_limited', 'Too many requests',
                        { 'Retry-After': '1' }),
    }[fault];
    return finish(replyError(res, req, e));
  }
  if (fault === 'lost')
    fault = 'reset after';
  else if (fault === 'reset' && Math.random() >= 0.5)
    fault = 'reset after';
  if (fault === 'reset') {
    finish('reset');
    return req.socket.resetAndDestroy();
  }
  let status;
  if (u.pathname === '/api/blob' || u.pathname.startsWith('/api/blob/')) {
    try {
      const out = api(req, u.pathname.slice('/api/blob'.length),
                      u.searchParams, body, ctl);
      status = 200;
      if (!fault)
        reply(res, req, 200, 'application/json', JSON.stringify(out));
    } catch (e) {
      if (!(e instanceof ApiError))
        throw e;
      status = e.status;
      if (!fault)
        replyError(res, req, e);
    }
  } else if (req.method === 'GET' || req.method === 'HEAD') {
    status = fault ? 'not sent' :
      download(req, res, u.pathname, u.searchParams, ctl);
  } else {
    status = reply(res, req, 405, 'text/plain', 'Method Not Allowed\n');
  }
  if (fault === 'reset after') {
    status = `${status}, reset after the work`;
    req.socket.resetAndDestroy();
  }
  finish(status);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size <= MAX_SIZE + 1)
      chunks.push(c);
  });
  req.on('end', () => {
    req.tooBig = size > MAX_SIZE;
    try {
      handle(req, res, Buffer.concat(chunks));
    } catch (e) {
      process.stderr.write(`vercel-blob-server: ${e.stack}\n`);
      replyError(res, req, new ApiError(500, 'internal_server_error',
                                        'Internal error'));
    }
  });
});
server.keepAliveTimeout = 30000;
server.listen(0, '127.0.0.1', () => {
  origin = `http://127.0.0.1:${server.address().port}`;
  fs.writeFileSync(args['port-file'] + '.tmp', `${server.address().port}\n`);
  fs.renameSync(args['port-file'] + '.tmp', args['port-file']);
});
process.on('SIGTERM', () => process.exit(0));
