#!/usr/bin/env bash
# tests/t-memory.sh: one user cannot fill the daemon's memory (issue 10,
# part 4). Content of files being written is charged to the writer, at
# most user_memory_mb each (EDQUOT past it); large files are read from the
# store, never loaded whole; memory is given back after close. The
# daemon's resident size is read from /proc; this suite runs the release
# build, whose allocator gives memory back (the sanitizer's keeps freed
# memory in quarantine on purpose).
set -u
source "$(dirname "$0")/lib.sh"
lfs_require
command -v python3 >/dev/null || t_skip_all "no python3"
LLMUNIXFS=${LLMUNIXFS_RELEASE:-$T_TOP/llmunixfs}
[ -x "$LLMUNIXFS" ] || t_skip_all "no $LLMUNIXFS (make llmunixfs)"
t_begin
lfs_users
lfs_config "user_memory_mb = 256"
lfs_mount || { t_fail "mount"; t_done; exit 1; }

SK=$MNT/user/alice/skills
X=$T_TMP/x
mkdir -m 1777 "$X"
rss_mb() { awk '/^RssAnon/ { print int($2 / 1024) }' "/proc/$T_PID/status"; }
base=$(rss_mb)
echo "# daemon resident at start: $base MB"

# alice writes 60 MB into each of 20 files and holds them all open.
as alice python3 - "$SK" "$X/held" <<'EOF' &
import errno, os, sys, time
d, flag = sys.argv[1], sys.argv[2]
chunk = b"x" * (1 << 20)
fds, full, refused = [], 0, 0
for i in range(20):
    fd = os.open(os.path.join(d, "big%d.bin" % i), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    fds.append(fd)
    try:
        for k in range(60):
            os.write(fd, chunk)
        full += 1
    except OSError as e:
        refused += 1 if e.errno == errno.EDQUOT else 1000
with open(flag, "w") as f:
    f.write("%d %d\n" % (full, refused))
time.sleep(6)
for fd in fds:
    try:
        os.close(fd)
    except OSError:
        pass
EOF
holder=$!
for _ in $(seq 600); do [ -s "$X/held" ] && break; sleep 0.1; done
read -r full refused < "$X/held"
held=$(rss_mb)
echo "# with 20 files of 60 MB held open by alice: $held MB resident ($full written whole, $refused refused)"
t_eq "alice writes 4 files of 60 MB whole, then gets EDQUOT" "4 16" "$full $refused"
t_eq "the daemon holds at most her 256 MB more (+64 MB slack)" yes \
	"$([ $((held - base)) -le 320 ] && echo yes || echo "no: $((held - base)) MB")"
t_eq "bob writes his own file meanwhile" 10485760 \
	"$(as bob sh -c "head -c 10485760 /dev/zero > '$MNT/user/bob/skills/b.bin' && stat -c %s '$MNT/user/bob/skills/b.bin'" 2>&1)"
wait $holder
as alice sh -c "rm -f '$SK'/big*.bin"
sleep 3	# the history's quiet time and its commit, which reads the store
after=$(rss_mb)
echo "# after alice closed and removed them: $after MB resident"
t_eq "memory is given back after close (within 64 MB of the start)" yes \
	"$([ $((after - base)) -le 64 ] && echo yes || echo "no: $((after - base)) MB")"

# Large files read while held open: read from the store, not loaded.
for i in 0 1 2 3 4 5 6 7; do
	head -c 62914560 /dev/urandom > "$X/r$i.bin"
	cp "$X/r$i.bin" "$SK/r$i.bin"
done
sleep 5	# the history commits them (reading each from the store) first
before=$(rss_mb)
as alice python3 - "$SK" "$X" <<'EOF' &
import hashlib, os, sys, time
d, t = sys.argv[1], sys.argv[2]
fs = [open(os.path.join(d, "r%d.bin" % i), "rb") for i in range(8)]
ok = 0
for i, f in enumerate(fs):
    want = hashlib.sha256(open(os.path.join(t, "r%d.bin" % i), "rb").read())
    if hashlib.sha256(f.read()).digest() == want.digest():
        ok += 1
with open(os.path.join(t, "read"), "w") as f:
    f.write("%d\n" % ok)
time.sleep(4)
EOF
reader=$!
for _ in $(seq 600); do [ -s "$X/read" ] && break; sleep 0.1; done
reading=$(rss_mb)
out=$(cat "$X/read")
wait $reader
echo "# reading 8 files of 60 MB held open: $reading MB resident (before: $before MB)"
t_eq "eight 60 MB files read whole and right while all are open" 8 "$out"
t_eq "reading them does not load them (less than 64 MB more)" yes \
	"$([ $((reading - before)) -le 64 ] && echo yes || echo "no: $((reading - before)) MB")"
t_done
