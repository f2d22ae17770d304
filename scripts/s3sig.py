"""scripts/s3sig.py: AWS Signature Version 4 for S3, signing and checking,
for the benchmark's raw S3 calls (scripts/bench-s3) and the test proxy
that checks the daemon's signatures (tests/s3-fault-proxy.py); s3rver
itself checks only the key id. Written from AWS's description of SigV4
(canonical request, string to sign, derived key); standard library only.
"""
import datetime
import hashlib
import hmac
import http.client
import urllib.parse

EMPTY = hashlib.sha256(b"").hexdigest()


def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def _canon_query(raw):
    """The canonical form of a query string as it came (encoded)."""
    if not raw:
        return ""
    pairs = []
    for part in raw.split("&"):
        k, _, v = part.partition("=")
        k = urllib.parse.unquote(k)
        v = urllib.parse.unquote(v)
        pairs.append((urllib.parse.quote(k, safe="-_.~"),
                      urllib.parse.quote(v, safe="-_.~")))
    return "&".join("%s=%s" % kv for kv in sorted(pairs))


def signature(secret, region, date, amzdate, method, path, query, headers,
              signed, payload_hash, service="s3"):
    """The hex signature of a request; headers: lower-case name -> value."""
    canon = "\n".join([
        method, path, _canon_query(query),
        "".join("%s:%s\n" % (k, " ".join(headers[k].split()))
                for k in signed),
        ";".join(signed), payload_hash])
    scope = "%s/%s/%s/aws4_request" % (date, region, service)
    sts = "\n".join(["AWS4-HMAC-SHA256", amzdate, scope,
                     hashlib.sha256(canon.encode()).hexdigest()])
    k = _hmac(("AWS4" + secret).encode(), date)
    for part in (region, service, "aws4_request"):
        k = _hmac(k, part)
    return hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()


def sign(method, host, path, query, headers, body, key, secret,
         region="us-east-1"):
    """Headers (a dict) to send with the request, Authorization included.
    `path` and `query` are as they go on the wire (encoded)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    amzdate = now.strftime("%Y%m%dT%H%M%SZ")
    date = amzdate[:8]
    h = {k.lower(): str(v) for k, v in headers.items()}
    h["host"] = host
    h["x-amz-date"] = amzdate
    h["x-amz-content-sha256"] = hashlib.sha256(body or b"").hexdigest()
    signed = sorted(h)
    sig = signature(secret, region, date, amzdate, method, path, query, h,
                    signed, h["x-amz-content-sha256"])
    h["authorization"] = ("AWS4-HMAC-SHA256 Credential=%s/%s/%s/s3/"
                          "aws4_request, SignedHeaders=%s, Signature=%s" %
                          (key, date, region, ";".join(signed), sig))
    return h


def check(method, target, headers, body, secrets):
    """None if the request's SigV4 signature is right, else why not.
    `target` is the request line's target; `headers` a dict with
    lower-case names; `secrets` maps key ids to secrets."""
    auth = headers.get("authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return "not signed with SigV4"
    fields = dict(p.strip().split("=", 1)
                  for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
    cred = fields.get("Credential", "").split("/")
    if len(cred) != 5 or cred[0] not in secrets:
        return "unknown key id"
    signed = fields.get("SignedHeaders", "").split(";")
    if "host" not in signed:
        return "host is not signed"
    missing = [k for k in signed if k not in headers]
    if missing:
        return "signed headers missing: %s" % ",".join(missing)
    ph = headers.get("x-amz-content-sha256", "")
    if ph != "UNSIGNED-PAYLOAD" and ph != hashlib.sha256(body or b"").hexdigest():
        return "x-amz-content-sha256 is not the body's hash"
    path, _, query = target.partition("?")
    want = signature(secrets[cred[0]], cred[2], cred[1],
                     headers.get("x-amz-date", ""), method, path, query,
                     headers, signed, ph, cred[3])
    if not hmac.compare_digest(want, fields.get("Signature", "")):
        return "signature does not match"
    return None


class Client:
    """Plain S3 calls over one kept-alive connection (path style)."""

    def __init__(self, port, key="S3RVER", secret="S3RVER"):
        self.port, self.key, self.secret = port, key, secret
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method, path, query="", body=None, headers=None):
        host = "127.0.0.1:%d" % self.port
        path = urllib.parse.quote(path, safe="/-_.~")
        h = sign(method, host, path, query, headers or {}, body, self.key,
                 self.secret)
        target = path + ("?" + query if query else "")
        for attempt in range(2):
            try:
                self.conn.request(method, target, body=body, headers=h)
                r = self.conn.getresponse()
                return r.status, r.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1",
                                                       self.port, timeout=60)
                if attempt:
                    raise
        return None

    def list(self, bucket, prefix):
        """Every key under prefix (ListObjectsV2, page by page)."""
        keys, token = [], None
        while True:
            q = {"list-type": "2", "prefix": prefix}
            if token:
                q["continuation-token"] = token
            query = "&".join("%s=%s" % (k, urllib.parse.quote(v, safe=""))
                             for k, v in sorted(q.items()))
            status, data = self.call("GET", "/" + bucket, query)
            if status != 200:
                raise RuntimeError("list: HTTP %d" % status)
            text = data.decode()
            keys += [p.split("</Key>")[0] for p in text.split("<Key>")[1:]]
            if "<IsTruncated>true</IsTruncated>" not in text:
                return keys
            token = text.split("<NextContinuationToken>")[1].split("<")[0]
