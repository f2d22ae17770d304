#!/usr/bin/env bash
# tests/t-s3.sh: storage = s3 against a real s3rver on loopback: a bucket
# filled as LLMos-Lite fills it, the objects and headers the daemon
# writes, a lost state folder, the local copy of contents, a server that
# stops and comes back, wrong credentials, secrets, a rename a crash
# interrupted, and a proxy that checks SigV4 signatures and makes a share
# of the requests fail.
# (The general suites run on S3 too: t-s3-suites.sh.)
source "$(dirname "$0")/lib.sh"

t_begin
lfs_require
command -v python3 >/dev/null || t_skip_all "python3 is not installed"
command -v curl >/dev/null || t_skip_all "curl is not installed"
[ -x "$S3RVER" ] || t_skip_all "no s3rver at $S3RVER (make check installs it)"
lfs_users
LLMUNIX_STORAGE=s3
s3_start || { t_fail "s3rver starts"; t_done; exit 1; }
BUCKET=$(s3_bucket_of)
A=$MNT/user/alice/skills

put_plain() # KEY TEXT: an object as LLMos-Lite writes it, no metadata
{
	printf '%s' "$2" >"$T_TMP/obj"
	s3_req PUT "$BUCKET/$1" "$T_TMP/obj" "Content-Type: text/markdown"
}

# --- 1. a bucket filled by LLMos-Lite ----------------------------------------
skill() { printf -- '---\nname: %s\ndescription: %s from the web app\n---\nProse.\n' "$1" "$1"; }
put_plain volumes/system/skills/web-sys.md "$(skill web-sys)"
put_plain volumes/team/eng/skills/web-team.md "$(skill web-team)"
put_plain volumes/user/alice/skills/web-alice.md "$(skill web-alice)"
put_plain volumes/user/alice/skills/deep/er/nested.md "$(skill nested)"
put_plain volumes/user/alice/workflows/flow.json '{"nodes": []}'
lastmod=$(s3_req GET "$BUCKET?list-type=2&prefix=volumes/user/alice/skills/web" "" |
	sed -n 's:.*<LastModified>\([^<]*\)</LastModified>.*:\1:p')

lfs_config "store_timeout = 1"
if ! lfs_mount; then
	t_fail "mount on a bucket written by LLMos-Lite"
	t_done
	exit 1
fi
t_eq "every skill of the web app is there" "web-sys.md web-team.md web-alice.md nested.md flow.json" \
	"$(ls "$MNT/system/skills" | grep web) $(ls "$MNT/team/eng/skills") $(ls "$A" | grep web) $(ls "$A/deep/er") $(ls "$MNT/user/alice/workflows")"
t_eq "the system volume was not seeded over them" "web-sys.md" "$(ls "$MNT/system/skills")"
t_eq "an object without metadata: owner = the volume's, mode 0644" \
	"alice:alice 644 root:eng 644" \
	"$(stat -c '%U:%G %a' "$A/web-alice.md") $(stat -c '%U:%G %a' "$MNT/team/eng/skills/web-team.md")"
t_eq "... mtime = its Last-Modified" "$(date -d "$lastmod" +%s)" \
	"$(stat -c %Y "$A/web-alice.md")"
t_eq "a key that exists only as a prefix is a folder" "directory" \
	"$(stat -c %F "$A/deep/er")"
t_eq "the content is the object's" "$(skill web-alice)" "$(cat "$A/web-alice.md")"
t_eq "alice's catalog lists the web app's skills" "nested web-alice web-sys web-team" \
	"$(as alice jq -r '[.skills[].id] | sort | join(" ")' "$MNT/catalog.json" 2>&1)"

printf '%s' "$(skill saved)" >"$T_TMP/saved.md"
t_check "alice saves a skill through the mount" as alice cp "$T_TMP/saved.md" "$A/saved.md"
t_check "... it is plain Markdown at the web app's key" \
	cmp "$T_TMP/saved.md" <(s3_req GET "$BUCKET/volumes/user/alice/skills/saved.md" "")
t_eq "... with a Markdown content type and the attributes as headers" \
	"text/markdown|33188|$(id -u alice)" \
	"$(s3_req HEAD "$BUCKET/volumes/user/alice/skills/saved.md" "" 2>/dev/null | tr -d '\r' |
		awk -F': ' 'tolower($1)=="content-type"{t=$2} tolower($1)=="x-amz-meta-mode"{m=$2} tolower($1)=="x-amz-meta-uid"{u=$2} END{sub(/;.*/,"",t); print t "|" m "|" u}')"
t_check "alice edits the web app's skill with sed -i" as alice sed -i 's/Prose/Edited prose/' "$A/web-alice.md"
t_eq "... the web app reads the edit at the same key" "Edited prose." \
	"$(s3_req GET "$BUCKET/volumes/user/alice/skills/web-alice.md" "" | tail -n 1)"
t_check "mkdir of an empty folder" as alice mkdir "$A/empty"
t_check "... stored as a marker object" s3_req HEAD "$BUCKET/volumes/user/alice/skills/empty/" ""
as alice chmod 600 "$A/saved.md"
as alice setfattr -n user.note -v "kept in a header" "$A/saved.md"
touch -d "2001-02-03 04:05:06" "$A/saved.md"

# --- 2. a new state folder (another host, or a lost one) ------------------------
lfs_umount
STATE=$T_TMP/state2 S3_BUCKET=$BUCKET
export S3_BUCKET
if ! lfs_mount; then
	t_fail "mount the same bucket with a new state folder"
	t_done
	exit 1
fi
t_eq "a new state folder: mode, owner, mtime and xattrs come from the headers" \
	"600 alice $(date -d '2001-02-03 04:05:06' +%s) kept in a header" \
	"$(stat -c '%a %U %Y' "$A/saved.md") $(getfattr --absolute-names --only-values -n user.note "$A/saved.md" 2>&1)"
t_check "... the empty folder survived" test -d "$A/empty"
t_eq "... and the edit" "Edited prose." "$(tail -n 1 "$A/web-alice.md")"

# --- 3. the local copy; a server that stops and comes back --------------------
cat "$A/web-alice.md" >/dev/null
kill -STOP "$S3_PID"
t_eq "server stopped: a file read before is read from the local copy" "Edited prose." \
	"$(timeout 20 tail -n 1 "$A/web-alice.md" 2>&1)"
t_check "... listings and attributes still answer" timeout 20 ls -lR "$MNT/user/alice"
t0=$(date +%s.%N)
out=$(timeout 30 cat "$MNT/team/eng/skills/web-team.md" 2>&1)
t1=$(date +%s.%N)
t_eq "... a file never read fails with EIO" "Input/output error" "${out##*: }"
t_check "... after at most the timeout and one retry (store_timeout = 1), never a hang" \
	awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 8) }'
t_check_not "... a write cannot be stored: close() says so" \
	timeout 30 write_as alice "$A/saved.md" new
t_check_not "... and so does cp" timeout 30 as alice cp "$T_TMP/saved.md" "$A/cp.md"
kill -CONT "$S3_PID"
t_eq "server back: the previous content stayed" "$(skill saved)" "$(cat "$A/saved.md")"
t_check "... and the daemon carries on: a write is stored" \
	write_as alice "$A/after.md" after
t_eq "... at its key" "after" "$(s3_req GET "$BUCKET/volumes/user/alice/skills/after.md" "")"
lfs_umount

# --- 4. wrong credentials, missing bucket, secrets ------------------------------
try_mount() # KEY SECRET CONF: run the daemon, print its status and stderr
{
	AWS_ACCESS_KEY_ID=$1 AWS_SECRET_ACCESS_KEY=$2 timeout 30 "$LLMUNIXFS" -f \
		-o "config=$3,state=$T_TMP/state-bad" "$MNT" 2>&1
	echo "status $?"
}
# (s3rver checks the key id, not SigV4 signatures.)
secret=no-such-secret-Zq9x7
out=$(try_mount AKIANOSUCHKEY "$secret" "$T_TMP/llmunix-s3.conf")
t_eq "wrong credentials: exit status 2" "status 2" "$(echo "$out" | tail -n 1)"
t_check "... the message names the endpoint and the HTTP status" \
	grep -q "http://127.0.0.1:$S3_PORT.*HTTP 403" <<<"$out"
t_check_not "... and never the secret" grep -q "$secret" <<<"$out"
sed "s/^s3_bucket = .*/s3_bucket = no-such-bucket/" "$T_TMP/llmunix-s3.conf" >"$T_TMP/nobucket.conf"
out=$(try_mount S3RVER S3RVER "$T_TMP/nobucket.conf")
t_check "a missing bucket: exit status 2, saying so" \
	grep -q "no bucket 'no-such-bucket'" <<<"$out"
t_eq "... status" "status 2" "$(echo "$out" | tail -n 1)"
out=$(try_mount "" "" "$T_TMP/llmunix-s3.conf")
t_check "no credentials in the environment: exit 2, naming the variables" \
	grep -q "AWS_SECRET_ACCESS_KEY must be set.*" <<<"$out"

AWS_SECRET_ACCESS_KEY=S3RVER
lfs_mount
t_check_not "the secret is not in any process's arguments" \
	sh -c "ps -eo args | grep -v grep | grep -q -- '$S3_KEY:'"
t_check_not "... nor in the daemon's log or the state folder" \
	grep -rqs "$S3_KEY:$S3_KEY" "$T_TMP/daemon.log" "$STATE"
lfs_umount

# --- 4b. virtual-host style URLs ---------------------------------------------------
if S3_CONF_EXTRA=$'s3_endpoint = http://s3.localhost:'"$S3_PORT"$'\ns3_path_style = no' lfs_mount; then
	t_check "virtual-host URLs (BUCKET.s3.localhost): a write" \
		write_as alice "$A/vhost.md" "by bucket host"
	t_eq "... stored in the bucket" "by bucket host" \
		"$(s3_req GET "$BUCKET/volumes/user/alice/skills/vhost.md" "")"
	lfs_umount
	S3_CONF_EXTRA=$'s3_endpoint = http://s3.localhost:'"$S3_PORT"$'\ns3_path_style = no' lfs_mount
	t_eq "... and listed by the next mount" "by bucket host" "$(cat "$A/vhost.md" 2>&1)"
	lfs_umount
else
	t_fail "mount with s3_path_style = no"
fi

# --- 5. a rename a crash interrupted ---------------------------------------------
put_plain volumes/user/alice/skills/j-from.md same
put_plain volumes/user/alice/skills/j-to.md same
etag=$(s3_req HEAD "$BUCKET/volumes/user/alice/skills/j-from.md" "" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p')
put_plain volumes/user/alice/skills/half/a.md a
put_plain volumes/user/alice/skills/half-new/a.md a
mkdir -p "$STATE/s3/journal"
printf 'F\nvolumes/user/alice/skills/j-from.md\nvolumes/user/alice/skills/j-to.md\n%s\n' \
	"$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$etag")" \
	>"$STATE/s3/journal/1-1"
printf 'C\nvolumes/user/alice/skills/half/\nvolumes/user/alice/skills/half-new/\n\n' \
	>"$STATE/s3/journal/1-2"
lfs_mount
t_eq "a file renamed when the crash came: the new name only" "no yes" \
	"$([ -e "$A/j-from.md" ] && echo yes || echo no) $([ -e "$A/j-to.md" ] && echo yes || echo no)"
t_eq "a folder half copied: undone, the old name only" "yes no" \
	"$([ -e "$A/half/a.md" ] && echo yes || echo no) $([ -e "$A/half-new" ] && echo yes || echo no)"
t_eq "... the journal is empty" "" "$(ls "$STATE/s3/journal")"
mkdir -p "$A/mv-me"
for i in 1 2 3; do echo "$i" >"$A/mv-me/$i.md"; done
t_check "a folder rename" mv "$A/mv-me" "$A/moved"
keys() { s3_req GET "$BUCKET?list-type=2&prefix=volumes/user/alice/skills/$1/" "" |
	grep -o '<Key>[^<]*</Key>' | sed 's:.*/\([^/<]*\)</Key>:\1:' | xargs; }
t_eq "... moves every object in the bucket" "1.md 2.md 3.md|" "$(keys moved)|$(keys mv-me)"
lfs_umount

# --- 6. a listing of more than one page -----------------------------------------
lfs_mount
mkdir -p "$A/many"
python3 - "$A/many" <<'EOF'
import os, sys
for i in range(1100):
    with open(os.path.join(sys.argv[1], "s%04d.md" % i), "w") as f:
        f.write("skill %d\n" % i)
EOF
lfs_umount
STATE=$T_TMP/state3
lfs_mount
t_eq "1,100 objects (two pages of ListObjectsV2) are all listed" 1100 "$(ls "$A/many" | wc -l)"
t_eq "... and read" "skill 1099" "$(cat "$A/many/s1099.md")"
lfs_umount

# --- 7. a proxy that makes 10 % of the requests fail --------------------------------
CTL=$T_TMP/proxy.ctl FAULTS=$T_TMP/faults.log
: >"$FAULTS"
echo "0 none" >"$CTL"
python3 "$T_TOP/tests/s3-fault-proxy.py" "$S3_PORT" "$CTL" "$T_TMP/proxy.port" "$FAULTS" &
PROXY=$!
for i in $(seq 1 50); do [ -s "$T_TMP/proxy.port" ] && break; sleep 0.1; done
PPORT=$(cat "$T_TMP/proxy.port")
lfs_config "store_timeout = 1"
STATE=$T_TMP/state-proxy
# The daemon talks to the proxy.
S3_CONF_EXTRA="s3_endpoint = http://127.0.0.1:$PPORT" lfs_mount ||
	t_fail "mount through the proxy"
mkdir -p "$A/flaky"
cat >"$T_TMP/writer.py" <<'EOF'
import os, sys
root, rnd, n, log = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
with open(log, "a") as out:
    for i in range(n):
        data = ("file %d round %d\n" % (i, rnd)).encode() * (50 + i)
        try:
            fd = os.open(os.path.join(root, "f%02d.md" % i),
                         os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.write(fd, data)
            os.close(fd)
            out.write("ok %d %d\n" % (i, rnd))
        except OSError as e:
            out.write("failed %d %d %s\n" % (i, rnd, e.strerror))
EOF
python3 "$T_TMP/writer.py" "$A/flaky" 1 40 "$T_TMP/w1.log"
echo "0.1 500,503,reset,stall 3" >"$CTL"
python3 "$T_TMP/writer.py" "$A/flaky" 2 40 "$T_TMP/w2.log"
python3 "$T_TMP/writer.py" "$A/flaky" 3 40 "$T_TMP/w3.log"
# Retries hide 10 % (at most a few failures in a row): 90 % makes
# writes fail for good.
echo "0.9 500,reset 3" >"$CTL"
python3 "$T_TMP/writer.py" "$A/flaky" 4 40 "$T_TMP/w4.log"
echo "0 none" >"$CTL"
t_eq "the first round, with no faults, was stored whole" 40 "$(grep -c '^ok' "$T_TMP/w1.log")"
t_eq "every request carried a right SigV4 signature (checked by the proxy; s3rver does not)" \
	"0 yes" "$(grep -c '^badsig' "$FAULTS") $(grep -q '^signed PUT' "$FAULTS" && echo yes)"
t_check "faults were injected: 500, 503, reset and stall" \
	sh -c "grep -q '^500' '$FAULTS' && grep -q '^503' '$FAULTS' && grep -q '^reset' '$FAULTS' && grep -q '^stall' '$FAULTS'"
echo "# $(grep -vc '^signed' "$FAULTS") faults injected; at 10 %: $(cat "$T_TMP/w2.log" "$T_TMP/w3.log" | grep -c '^ok') writes acknowledged, $(cat "$T_TMP/w2.log" "$T_TMP/w3.log" | grep -c '^failed') reported failed; at 90 %: $(grep -c '^ok' "$T_TMP/w4.log") and $(grep -c '^failed' "$T_TMP/w4.log")"
t_check "at 90 %, writes fail, and close() says so (EIO)" \
	grep -q '^failed .*Input/output error' "$T_TMP/w4.log"
# What the bucket holds, read past the proxy and the daemon.
python3 - "$T_TMP" "$S3_PORT" "$BUCKET" "$STATE" <<'EOF' >"$T_TMP/verdict"
import os, subprocess, sys
tmp, port, bucket, state = sys.argv[1:]
def content(i, r):
    return ("file %d round %d\n" % (i, r)).encode() * (50 + i)
last_ok, tried = {}, {}
for log in ("w1.log", "w2.log", "w3.log", "w4.log"):
    for line in open(os.path.join(tmp, log)):
        f = line.split()
        i, r = int(f[1]), int(f[2])
        tried.setdefault(i, []).append(r)
        if f[0] == "ok":
            last_ok[i] = r
bad = []
for i in range(40):
    key = "volumes/user/alice/skills/flaky/f%02d.md" % i
    body = subprocess.run(
        ["curl", "-sf", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user",
         "S3RVER:S3RVER", "-H", "x-amz-content-sha256: e3b0c44298fc1c149afb"
         "f4c8996fb92427ae41e4649b934ca495991b7852b855",
         "http://127.0.0.1:%s/%s/%s" % (port, bucket, key)],
        capture_output=True).stdout
    versions = [r for r in tried[i] if content(i, r) == body]
    if not versions:
        bad.append("f%02d torn or empty (%d bytes)" % (i, len(body)))
    elif versions[-1] < last_ok[i]:
        bad.append("f%02d holds round %d, round %d was acknowledged" % (i, versions[-1], last_ok[i]))
print("\n".join(bad) or "all good")
EOF
t_eq "after 10 % (and 90 %) failing requests: every acknowledged write is in the bucket, no file torn" \
	"all good" "$(cat "$T_TMP/verdict")"
t_eq "... and the mount reads what was acknowledged last (or a newer, reported-failed one)" "" \
	"$(for i in $(seq 0 39); do f=$(printf 'f%02d' $i); r=$(cat "$T_TMP"/w[1-4].log | grep "^ok $i " | tail -n 1 | awk '{print $3}');
		head -n 1 "$A/flaky/$f.md" | grep -q "round [$r-4]\$" || echo "$f"; done)"
echo "1 stall 30" >"$CTL"
t0=$(date +%s.%N)
t_check_not "a stalled server: the write fails" write_as alice "$A/flaky/stalled.md" x
t1=$(date +%s.%N)
t_check "... within the timeout plus one retry (store_timeout = 1), not the 30 s stall" \
	awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 8) }'
echo "0 none" >"$CTL"
t_check "... and once it answers again, writes are stored" \
	write_as alice "$A/flaky/stalled.md" y
lfs_umount
kill "$PROXY" 2>/dev/null
wait "$PROXY" 2>/dev/null
t_done
