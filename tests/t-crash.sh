#!/usr/bin/env bash
# tests/t-crash.sh: crash safety. Two processes of alice keep writing and
# rewriting files
# (3 KB to 256 KB, three ways of writing) and logs "done I V SHA" only after
# close() returned; the daemon is killed with SIGKILL in the middle, then
# mounted again on the same state. Every file whose write was logged done
# must hold exactly that content; no file may be empty or torn (each must be
# one of the versions ever written to it, recomputed from I and V); no
# temporary file may be visible. Three rounds on the same state.
source "$(dirname "$0")/lib.sh"

t_begin
command -v python3 >/dev/null || t_skip_all "python3 is not installed"
command -v timeout >/dev/null || t_skip_all "timeout is not installed"
[ "$(id -u)" -eq 0 ] || t_skip_all "needs root (mounts, setpriv)"
[ -e /dev/fuse ] || t_skip_all "no /dev/fuse"
umask 022
lfs_users

# On s3, through the test proxy: a kill -9 cuts a PUT mid-body, and
# s3rver keeps what came (an empty or cut object) where S3 stores nothing.
S3_VIA_PROXY=1
NFILES=24
ROUNDS=3
LOG=$T_TMP/writes.log
A=$MNT/user/alice/skills
: >"$LOG"
chmod 0666 "$LOG"

# content(i, v): the deterministic content of version v of file i.
cat >"$T_TMP/crashlib.py" <<'EOF'
import hashlib


def content(i, v):
    h = hashlib.sha256(b"%d/%d" % (i, v)).digest()
    size = 3000 + int.from_bytes(h[:4], "big") % (256 * 1024 - 3000 + 1)
    head = b"file %d version %d\n" % (i, v)
    return head + hashlib.shake_256(h).digest(size - len(head))
EOF

# writer.py DIR LOG ROUND NFILES FIRST: rewrite fFIRST.. (NFILES files)
# forever, three ways:
# one write(); 16 KiB sequential writes; ftruncate(0) then 64 KiB pwrites
# from the end to the start (the file has holes until the last one).
cat >"$T_TMP/writer.py" <<'EOF'
import hashlib, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crashlib import content

root, log, rnd, nfiles = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
first = int(sys.argv[5])
lfd = os.open(log, os.O_WRONLY | os.O_APPEND)


def note(s):
    os.write(lfd, s.encode() + b"\n")


p = 0
while True:
    for i in range(first, first + nfiles):
        v = rnd * 10000 + p
        data = content(i, v)
        path = os.path.join(root, "f%03d" % i)
        note("start %d %d" % (i, v))
        method = (i + p) % 3
        if method == 0:
            with open(path, "wb") as f:
                f.write(data)
        elif method == 1:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            for off in range(0, len(data), 16384):
                os.write(fd, data[off:off + 16384])
            os.close(fd)
        else:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            os.ftruncate(fd, 0)
            for off in reversed(range(0, len(data), 65536)):
                os.pwrite(fd, data[off:off + 65536], off)
            os.close(fd)
        note("done %d %d %s" % (i, v, hashlib.sha256(data).hexdigest()))
    p += 1
EOF

# verify.py SKILLS LOG: one line per problem, "CATEGORY detail".
cat >"$T_TMP/verify.py" <<'EOF'
import hashlib, os, re, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crashlib import content

skills, log = sys.argv[1], sys.argv[2]
root = os.path.join(skills, "crash")
events = {}
shas = {}
for line in open(log):
    f = line.split()
    if len(f) < 3:
        continue
    i, v = int(f[1]), int(f[2])
    events.setdefault(i, []).append((f[0], v))
    if f[0] == "done":
        shas[i] = (v, f[3])
for i, (v, sha) in sorted(shas.items()):
    if hashlib.sha256(content(i, v)).hexdigest() != sha:
        print("log f%03d v%d: the writer's sha256 differs from the recomputed one" % (i, v))

for name in sorted(os.listdir(skills)):
    if name != "crash":
        print("stray %s in skills/" % name)
names = sorted(os.listdir(root))
for name in names:
    m = re.fullmatch(r"f(\d{3})", name)
    if not m or int(m.group(1)) not in events or not os.path.isfile(os.path.join(root, name)):
        print("stray crash/%s" % name)

ndone = npending = nold = 0
for i, ev in sorted(events.items()):
    last_done, after = None, []
    for kind, v in ev:
        if kind == "done":
            last_done, after = v, []
        else:
            after.append(v)
    name = "f%03d" % i
    path = os.path.join(root, name)
    if not os.path.exists(path):
        if last_done is not None:
            print("done %s: missing, version %d was reported written" % (name, last_done))
        continue
    with open(path, "rb") as fh:
        data = fh.read()
    if not data:
        print("empty %s (versions: done %s, pending %s)" % (name, last_done, after))
        continue
    cands = ([last_done] if last_done is not None else []) + after
    match = [v for v in cands if content(i, v) == data]
    if not after:
        ndone += 1
        if not match:
            print("done %s: content is not version %d that was reported written "
                  "(size %d, starts %r)" % (name, last_done, len(data), data[:24]))
    elif not match:
        print("torn %s: size %d, starts %r, is none of versions %s" %
              (name, len(data), data[:24], cands))
    else:
        npending += 1
        if match[0] == last_done:
            nold += 1
print("# files: %d settled, %d with a write cut by the kill (%d of them still old)"
      % (ndone, npending, nold))
EOF
chmod 0644 "$T_TMP"/*.py

# sh_as USER DIR SCRIPT [ARG...]: bash SCRIPT as USER in DIR, time-limited.
sh_as()
{
	local u=$1 d=$2 s=$3
	shift 3
	timeout -k 5 120 setpriv --reuid="$u" --regid="$u" --init-groups \
		--reset-env -- env "T_TMP=$T_TMP" "T_DIR=$d" \
		bash -c "cd \"\$T_DIR\" || exit 1; $s" bash "$@"
}

# ndone: how many writes the log reports done.
ndone() { grep -c '^done ' "$LOG"; }

if ! lfs_mount; then
	t_fail "the daemon mounts"
	t_done
	exit 1
fi
t_check "alice creates the crash folder" sh_as alice "$A" 'mkdir crash'

for r in $(seq 1 "$ROUNDS"); do
	base=$(ndone)
	wpids=
	for first in 0 100; do
		sh_as alice "$A/crash" 'exec python3 "$T_TMP/writer.py" . "$1" "$2" "$3" "$4"' \
			"$LOG" "$r" "$NFILES" "$first" >>"$T_TMP/writer.err" 2>&1 &
		wpids="$wpids $!"
	done
	# Let some writes finish (at least 20, or up to 30 s), then a little
	# more, so that the kill lands in the middle of the stream.
	for _ in $(seq 1 600); do
		[ $(($(ndone) - base)) -ge 20 ] && break
		kill -0 $wpids 2>/dev/null || break
		sleep 0.05
	done
	sleep "0.$((RANDOM % 8 + 2))"
	t_check "round $r: the writers are still writing when the daemon is killed" kill -0 $wpids
	lfs_kill9
	# The writers' next calls fail (ENOTCONN) once the daemon is gone.
	alive=yes
	for _ in $(seq 1 200); do
		alive=no
		for p in $wpids; do kill -0 "$p" 2>/dev/null && alive=yes; done
		[ $alive = no ] && break
		sleep 0.05
	done
	t_eq "round $r: the writers stop once the daemon is dead" no "$alive"
	for p in $wpids; do
		kill "$p" 2>/dev/null
		wait "$p"
	done
	t_check "round $r: writes completed before the kill" test $(($(ndone) - base)) -gt 0
	if ! lfs_mount; then
		t_fail "round $r: the daemon mounts again after kill -9"
		break
	fi
	t_pass "round $r: the daemon mounts again after kill -9"
	out=$(timeout 120 python3 "$T_TMP/verify.py" "$A" "$LOG" 2>&1)
	printf '%s\n' "$out" | grep '^#'
	t_eq "round $r: every file reported written has exactly that content" "" \
		"$(printf '%s\n' "$out" | grep -E '^(done|log|Traceback|  )')"
	t_eq "round $r: no file is empty" "" "$(printf '%s\n' "$out" | grep '^empty')"
	t_eq "round $r: no file is torn (each is one version written to it)" "" \
		"$(printf '%s\n' "$out" | grep '^torn')"
	t_eq "round $r: no stray temporary files in the mount" "" \
		"$(printf '%s\n' "$out" | grep '^stray')"
done

t_check "after the rounds, alice can still rewrite a file" \
	sh_as alice "$A/crash" 'printf "final\n" >f000 && [ "$(cat f000)" = final ]'
lfs_umount
t_eq "daemon exits 0 on unmount" 0 $?
t_done
