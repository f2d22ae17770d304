#!/usr/bin/env bash
# tests/t-vercel.sh: storage = vercel against tests/vercel-blob-server.js
# on loopback: the real @vercel/blob client against that server; a store
# filled as LLMos-Lite fills it, and what the daemon writes, read by the
# real client; the requests it makes (no random suffix, overwrite only to
# replace, no download to list); the local copy; a server that stops and
# comes back; wrong, missing and suspended tokens, and secrets; a rename
# a stop interrupted; a share of failing requests, a stall, a CDN that
# still serves an older version, a body over the store's limit, a
# private store. (The general suites run on Vercel too:
# t-vercel-suites.sh.)
source "$(dirname "$0")/lib.sh"

t_begin
lfs_require
command -v node >/dev/null || t_skip_all "node is not installed"
command -v jq >/dev/null || t_skip_all "jq is not installed"
[ -f "$T_TOP/build/npm/node_modules/@vercel/blob/package.json" ] ||
	t_skip_all "no @vercel/blob under build/npm (make check installs it)"
lfs_users
LLMUNIX_STORAGE=vercel
MAX=2000000
vb_start --max-size "$MAX" ||
	{ t_fail "the test server starts"; t_done; exit 1; }
A=$MNT/user/alice/skills
CTL=$T_TMP/vb.ctl LOG=$T_TMP/vb.log

# since MARK: the server's log lines after line MARK; mark: the line now.
mark() { wc -l <"$LOG"; }
since() { tail -n +$(($1 + 1)) "$LOG"; }
# downloads MARK: how many blobs were downloaded since MARK.
downloads() { since "$1" | grep -c '"path":"/blobs/'; }

# --- 1. the real client against the test server --------------------------------
out=$(VB_STORE=client VB_MAX_SIZE=$MAX vb_client check "$CTL" 2>&1)
echo "$out" | grep -E '^(ok|not ok) ' | sed 's/^\(ok\|not ok\) - /&@vercel\/blob: /'
echo "$out" | grep '^#   '
t_eq "the real client agrees with the test server" 0 "$(echo "$out" | grep -c '^not ok')"
echo "0 none" >"$CTL"

# --- 2. a store filled as LLMos-Lite fills it -------------------------------------
export VB_STORE=web
skill() { printf -- '---\nname: %s\ndescription: %s from the web app\n---\nProse.\n' "$1" "$1"; }
put_web() # PATHNAME TEXT: as the web app writes a skill
{
	printf '%s' "$2" >"$T_TMP/obj"
	vb_client put "$1" "$T_TMP/obj" >/dev/null
}
put_web volumes/system/skills/web-sys.md "$(skill web-sys)"
put_web volumes/team/eng/skills/web-team.md "$(skill web-team)"
put_web volumes/user/alice/skills/web-alice.md "$(skill web-alice)"
put_web volumes/user/alice/skills/deep/er/nested.md "$(skill nested)"
put_web volumes/user/alice/workflows/flow.json '{"nodes": []}'
uploaded=$(vb_client head volumes/user/alice/skills/web-alice.md | jq -r .uploadedAt)

lfs_config "store_timeout = 1"
m0=$(mark)
if ! lfs_mount; then
	t_fail "mount on a store written by LLMos-Lite"
	t_done
	exit 1
fi
t_eq "every skill of the web app is there" "web-sys.md web-team.md web-alice.md nested.md flow.json" \
	"$(ls "$MNT/system/skills" | grep web) $(ls "$MNT/team/eng/skills") $(ls "$A" | grep web) $(ls "$A/deep/er") $(ls "$MNT/user/alice/workflows")"
t_eq "the system volume was not seeded over them" "web-sys.md" "$(ls "$MNT/system/skills")"
t_eq "a blob without our metadata: owner = the volume's, mode 0644" \
	"alice:alice 644 root:eng 644" \
	"$(stat -c '%U:%G %a' "$A/web-alice.md") $(stat -c '%U:%G %a' "$MNT/team/eng/skills/web-team.md")"
t_eq "... mtime = its uploadedAt" "$(date -d "$uploaded" +%s)" "$(stat -c %Y "$A/web-alice.md")"
t_eq "a pathname prefix is a folder" "directory" "$(stat -c %F "$A/deep/er")"
t_eq "the mount and ls -lR asked the store with list calls only: no head, no download" \
	"list" "$(ls -lR "$MNT/system/skills" "$MNT/team/eng/skills" "$A" >/dev/null; since "$m0" | jq -r 'if (.q | startswith("?limit=")) then "list" else .m + " " + .path + .q end' | sort -u)"
t_eq "the content is the blob's" "$(skill web-alice)" "$(cat "$A/web-alice.md")"
t_eq "alice's catalog lists the web app's skills" "nested web-alice web-sys web-team" \
	"$(as alice jq -r '[.skills[].id] | sort | join(" ")' "$MNT/catalog.json" 2>&1)"

printf '%s' "$(skill saved)" >"$T_TMP/saved.md"
m1=$(mark)
t_check "alice saves a skill through the mount" as alice cp "$T_TMP/saved.md" "$A/saved.md"
t_check "... the real client reads it, plain Markdown at the web app's pathname" \
	cmp "$T_TMP/saved.md" <(vb_client get volumes/user/alice/skills/saved.md)
t_eq "... with a Markdown content type" "text/markdown; charset=utf-8" \
	"$(vb_client head volumes/user/alice/skills/saved.md | jq -r .contentType)"
t_eq "... put without a random suffix, and without overwrite (a new pathname)" \
	'"0" "0"' "$(since "$m1" | grep '"m":"PUT"' | grep 'saved.md' | jq -r '[.rnd, .ovw] | map(tojson) | join(" ")' | sort -u)"
m1=$(mark)
t_check "alice writes it again" sh -c "echo again >>'$A/saved.md'"
t_eq "... a replace: x-allow-overwrite: 1" '"1"' \
	"$(since "$m1" | grep '"m":"PUT"' | grep 'saved.md' | jq -r '.ovw | tojson' | sort -u)"
t_check "alice edits the web app's skill with sed -i" as alice sed -i 's/Prose/Edited prose/' "$A/web-alice.md"
t_eq "... the web app reads the edit at the same pathname" "Edited prose." \
	"$(vb_client get volumes/user/alice/skills/web-alice.md | tail -n 1)"
t_eq "no request of the daemon ever asked for a random suffix" "" \
	"$(since "$m0" | jq -r 'select(.rnd != null and .rnd != "0") | .q')"
t_check "mkdir of an empty folder" as alice mkdir "$A/empty"
t_eq "... stored as the marker blob 'empty/'" "volumes/user/alice/skills/empty/" \
	"$(vb_client list volumes/user/alice/skills/empty)"
as alice chmod 600 "$A/saved.md"
as alice setfattr -n user.note -v "kept here" "$A/saved.md"
touch -d "2001-02-03 04:05:06" "$A/saved.md"
lfs_umount
# Files no catalog reads, for the local copy below.
put_web volumes/user/alice/skills/data/once.txt "read once"
put_web volumes/team/eng/skills/data/never.txt "never read"
lfs_mount
t_eq "after a remount: mode, mtime and xattrs (kept in the state folder)" \
	"600 $(date -d '2001-02-03 04:05:06' +%s) kept here" \
	"$(stat -c '%a %Y' "$A/saved.md") $(getfattr --absolute-names --only-values -n user.note "$A/saved.md" 2>&1)"

# --- 3. the local copy; a server that stops and comes back ------------------------
m2=$(mark)
cat "$A/data/once.txt" >/dev/null
cat "$A/data/once.txt" >/dev/null
t_eq "cat twice: one download" 1 "$(downloads "$m2")"
lfs_umount
m2=$(mark)
lfs_mount
t_eq "after a remount, an unchanged file is read from the local copy" "read once|0" \
	"$(cat "$A/data/once.txt")|$(downloads "$m2")"
kill -STOP "$VB_PID"
t_eq "server stopped: a file read before is read from the local copy" "read once" \
	"$(timeout 20 cat "$A/data/once.txt" 2>&1)"
t_check "... listings and attributes still answer" timeout 20 ls -lR "$MNT/user/alice"
t0=$(date +%s.%N)
out=$(timeout 30 cat "$MNT/team/eng/skills/data/never.txt" 2>&1)
t1=$(date +%s.%N)
t_eq "... a file never read fails with EIO" "Input/output error" "${out##*: }"
t_check "... after at most the timeout and one retry (store_timeout = 1), never a hang" \
	awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 8) }'
t_check_not "... a write cannot be stored: close() says so" \
	timeout 30 write_as alice "$A/saved.md" new
kill -CONT "$VB_PID"
t_check "server back: the previous content stayed" \
	cmp <(printf '%s' "$(skill saved)"; echo again) "$A/saved.md"
t_check "... and the daemon carries on: a write is stored" write_as alice "$A/after.md" after
t_eq "... at its pathname" after "$(vb_client get volumes/user/alice/skills/after.md)"
lfs_umount

# --- 4. tokens and secrets ------------------------------------------------------------
try_mount() # TOKEN: run the daemon, print its status and stderr
{
	BLOB_READ_WRITE_TOKEN=$1 timeout 30 "$LLMUNIXFS" -f \
		-o "config=$T_TMP/llmunix-vercel.conf,state=$T_TMP/state-bad" "$MNT" 2>&1
	echo "status $?"
}
secret=NoSuchSecret7Zq
out=$(try_mount "vercel_blob_rw_web_$secret")
t_eq "a wrong token: exit status 2" "status 2" "$(echo "$out" | tail -n 1)"
t_check "... the message names the base URL and the HTTP status" \
	grep -q "vercel blob at '$(vb_api)' refused the token (HTTP 403 forbidden)" <<<"$out"
t_check_not "... and never the token" grep -q "$secret" <<<"$out"
out=$(try_mount "")
t_check "no token in the environment: exit 2, naming the variable" \
	grep -q "BLOB_READ_WRITE_TOKEN must be set" <<<"$out"
t_eq "... status" "status 2" "$(echo "$out" | tail -n 1)"
echo "suspend web" >"$CTL"
out=$(try_mount "$(vb_token)")
t_check "a suspended store: exit 2, saying so" \
	grep -q "the store is suspended (HTTP 403 store_suspended)" <<<"$out"
echo "0 none" >"$CTL"
lfs_mount
t_check_not "the token is not in any process's arguments" \
	sh -c "ps -eo args | grep -v grep | grep -q -- '$VB_SECRET'"
t_check_not "... nor in the daemon's environment" grep -qa "$VB_SECRET" "/proc/$T_PID/environ"
t_check_not "... nor in its log or the state folder" \
	grep -rqs "$VB_SECRET" "$T_TMP/daemon.log" "$STATE"
lfs_umount

# --- 5. a rename a stop interrupted; renames ---------------------------------------------
put_web volumes/user/alice/skills/j-from.md same
put_web volumes/user/alice/skills/j-to.md older
from_etag=$(vb_client head volumes/user/alice/skills/j-from.md | jq -r .etag)
before=$(vb_client head volumes/user/alice/skills/j-to.md | jq -r .etag)
# The copy was made (j-to.md changed since), the delete not.
put_web volumes/user/alice/skills/j-to.md same
put_web volumes/user/alice/skills/half/a.md a
put_web volumes/user/alice/skills/half-new/a.md a
enc() { jq -rn --arg k "$1" '$k|@uri'; }
mkdir -p "$STATE/vercel/journal"
printf 'F\nvolumes/user/alice/skills/j-from.md\nvolumes/user/alice/skills/j-to.md\n%s\n%s\n' \
	"$(enc "$from_etag")" "$(enc "$before")" >"$STATE/vercel/journal/1-1"
printf 'C\nvolumes/user/alice/skills/half/\nvolumes/user/alice/skills/half-new/\n\n\n' \
	>"$STATE/vercel/journal/1-2"
lfs_mount
t_eq "a file renamed when the stop came: the new name only" "no same" \
	"$([ -e "$A/j-from.md" ] && echo yes || echo no) $(cat "$A/j-to.md" 2>&1)"
t_eq "a folder half copied: undone, the old name only" "yes no" \
	"$([ -e "$A/half/a.md" ] && echo yes || echo no) $([ -e "$A/half-new" ] && echo yes || echo no)"
t_eq "... the journal is empty" "" "$(ls "$STATE/vercel/journal")"
mkdir -p "$A/mv-me"
for i in 1 2 3; do echo "$i" >"$A/mv-me/$i.md"; done
t_check "a folder rename" mv "$A/mv-me" "$A/moved"
t_eq "... moves every blob in the store" "1.md 2.md 3.md|" \
	"$(vb_client list volumes/user/alice/skills/moved/ | sed 's:.*/::' | xargs)|$(vb_client list volumes/user/alice/skills/mv-me/ | xargs)"
t_check "a file renamed over another (the editors' way)" mv "$A/moved/1.md" "$A/moved/2.md"
t_eq "... the store holds the new content at the target, the source is gone" "1|" \
	"$(vb_client get volumes/user/alice/skills/moved/2.md)|$(vb_client list volumes/user/alice/skills/moved/1.md)"
lfs_umount

# --- 6. many skills: listed, never downloaded -----------------------------------------------
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
m3=$(mark)
lfs_mount
t_eq "1,100 skills (two pages of a list) are all listed" 1100 "$(ls "$A/many" | wc -l)"
ls -l "$A/many" >/dev/null
t_eq "... with a new state folder: a list call per page, not a request per file" "0 0" \
	"$(downloads "$m3") $(since "$m3" | grep -c '"q":"?url=')"
t_eq "... and read" "skill 1099" "$(cat "$A/many/s1099.md")"
lfs_umount

# --- 7. a CDN that still serves the older version ------------------------------------------
STATE=$T_TMP/state4
lfs_mount
lfs_umount
put_web volumes/user/alice/skills/cdn.md "version 1"
put_web volumes/user/alice/skills/cdn.md "version 2"
echo "cdn stale" >"$CTL"
lfs_mount
t_eq "a blob replaced seconds ago, the CDN still has the older one: EIO, never the old content" \
	"Input/output error" "$(cat "$A/cdn.md" 2>&1 | sed 's/.*: //')"
echo "0 none" >"$CTL"
t_eq "... once the CDN has the new one, it is read" "version 2" "$(cat "$A/cdn.md" 2>&1)"
# --- 8. a body over the store's limit --------------------------------------------------------
head -c $((MAX + 1)) /dev/zero >"$T_TMP/big"
out=$(as alice python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, open(sys.argv[2], "rb").read())
try:
    os.close(fd)
    print("OK")
except OSError as e:
    print(e.strerror)' "$A/big.bin" "$T_TMP/big" 2>&1)
t_eq "a file over the store's size limit: close says EFBIG" "File too large" "$out"
lfs_umount

# --- 9. a share of failing requests, a stall ----------------------------------------------------
STATE=$T_TMP/state-faults
lfs_mount
mkdir -p "$A/flaky"
W=$T_TOP/tests/write-loop.py
python3 "$W" write "$A/flaky" 1 40 "$T_TMP/w1.log"
m4=$(mark)
echo "0.1 500,503,429,reset,stall 3" >"$CTL"
python3 "$W" write "$A/flaky" 2 40 "$T_TMP/w2.log"
python3 "$W" write "$A/flaky" 3 40 "$T_TMP/w3.log"
echo "0.9 500,reset 3" >"$CTL"
python3 "$W" write "$A/flaky" 4 40 "$T_TMP/w4.log"
echo "0 none" >"$CTL"
t_eq "the first round, with no faults, was stored whole" 40 "$(grep -c '^ok' "$T_TMP/w1.log")"
t_eq "faults were injected: 500, 503, 429, reset and stall" "429 500 503 reset stall" \
	"$(since "$m4" | jq -r '.fault // empty' | sort -u | xargs)"
echo "# $(since "$m4" | grep -vc '"fault":null') faults injected; at 10 %: $(cat "$T_TMP/w2.log" "$T_TMP/w3.log" | grep -c '^ok') writes acknowledged, $(cat "$T_TMP/w2.log" "$T_TMP/w3.log" | grep -c '^failed') reported failed; at 90 %: $(grep -c '^ok' "$T_TMP/w4.log") and $(grep -c '^failed' "$T_TMP/w4.log")"
t_check "at 90 %, writes fail, and close() says so (EIO)" \
	grep -q '^failed .*Input/output error' "$T_TMP/w4.log"
mkdir -p "$T_TMP/held"
for i in $(seq 0 39); do
	f=$(printf 'f%02d.md' "$i")
	vb_get "volumes/user/alice/skills/flaky/$f" >"$T_TMP/held/$f"
done
t_eq "after 10 % (and 90 %) failing requests: every acknowledged write is in the store, no file torn" \
	"all good" "$(python3 "$W" verdict "$T_TMP/held" 40 "$T_TMP"/w[1-4].log)"
cp -r "$A/flaky" "$T_TMP/seen"
t_eq "... and the mount reads what was acknowledged last (or a newer, reported-failed one)" \
	"all good" "$(python3 "$W" verdict "$T_TMP/seen" 40 "$T_TMP"/w[1-4].log)"
# Creates whose answers are lost: the retry hears "already exists", and the
# daemon checks the blob holds what it sent.
m5=$(mark)
echo "0.2 lost" >"$CTL"
mkdir -p "$A/fresh"
python3 "$W" write "$A/fresh" 1 20 "$T_TMP/w5.log"
echo "0 none" >"$CTL"
t_eq "creates whose answers were lost (20 %): all acknowledged" 20 "$(grep -c '^ok' "$T_TMP/w5.log")"
t_eq "... after a retry that heard 'already exists' (no overwrite asked)" yes \
	"$(since "$m5" | jq -r 'select(.m == "PUT" and .ovw == "0" and .status == 400) | .path' | grep -q . && echo yes)"
mkdir -p "$T_TMP/fresh"
for i in $(seq 0 19); do
	f=$(printf 'f%02d.md' "$i")
	vb_get "volumes/user/alice/skills/fresh/$f" >"$T_TMP/fresh/$f"
done
t_eq "... and each holds what was written" "all good" \
	"$(python3 "$W" verdict "$T_TMP/fresh" 20 "$T_TMP/w5.log")"
echo "1 stall 30" >"$CTL"
t0=$(date +%s.%N)
t_check_not "a stalled server: the write fails" write_as alice "$A/flaky/stalled.md" x
t1=$(date +%s.%N)
t_check "... within the timeout plus one retry (store_timeout = 1), not the 30 s stall" \
	awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 8) }'
echo "0 none" >"$CTL"
t_check "... and once it answers again, writes are stored" write_as alice "$A/flaky/stalled.md" y
lfs_umount

# --- 10. a private store ---------------------------------------------------------------------------
vb_stop
vb_start --access private || t_fail "a private test server starts"
m6=$(mark)
STATE=$T_TMP/state-private
VB_CONF_EXTRA="vercel_access = private" lfs_mount || t_fail "mount a private store"
t_check "a private store: a write" write_as alice "$A/p.md" private
lfs_umount
STATE=$T_TMP/state-private2
VB_CONF_EXTRA="vercel_access = private" lfs_mount
t_eq "... read back with a new state folder, downloaded with the token" private "$(cat "$A/p.md" 2>&1)"
t_eq "... past the CDN (?cache=0)" '"?cache=0"' \
	"$(since "$m6" | grep '/blobs/' | jq '.q' | sort -u)"
lfs_umount
t_done
