#!/usr/bin/env bash
# tests/t-record.sh: a run record of 10,000 files (issue 10, part 5). A
# lookup of a name in a record, and a removal, must cost O(1) per name
# and not list the whole folder under the tree's write lock, where every
# other user's request waits. Counted, not timed: the daemon's getdents64
# calls (strace -c) while names are looked up and while the record is
# removed. Times are reported for reading, never tested.
set -u
source "$(dirname "$0")/lib.sh"
lfs_require
command -v bwrap >/dev/null || t_skip_all "no bwrap (apt-get install bubblewrap)"
command -v strace >/dev/null || t_skip_all "no strace (apt-get install strace)"
t_begin
lfs_users
lfs_config "jobs = 2"
lfs_mount || { t_fail "mount"; t_done; exit 1; }

N=9990
RUN=$MNT/user/alice/run
as alice sh -c "cat > '$MNT/user/alice/skills/many.md'" <<EOF
---
name: Many
description: Writes $N small files into its out/ folder.
type: python
outputs:
  - {name: n, type: integer}
---
Many files.

\`\`\`python
import os

def execute(inputs):
    for i in range($N):
        with open("out/f%d" % i, "w") as f:
            f.write("%d\\n" % i)
    return {"n": $N}
\`\`\`
EOF
as bob sh -c "echo 'bob small file' > '$MNT/user/bob/skills/small.txt'"
echo '{"nodes": [{"id": "m", "skill": "many", "inputs": {}}]}' |
	as alice sh -c "cat > '$RUN/big.json'"
t_eq "a node that writes $N files succeeds" succeeded \
	"$(as alice timeout 300 cat "$RUN/big/wait" 2>&1)"

# A fresh mount knows none of the record's names.
lfs_umount
lfs_mount || { t_fail "remount"; t_done; exit 1; }

# getdents_during CMD...: the daemon's getdents64 calls while CMD runs.
getdents_during()
{
	local out=$T_TMP/strace.$$ st pid
	strace -f -qq -c -e trace=getdents64 -o "$out" -p "$T_PID" 2>/dev/null &
	st=$!
	sleep 1		# attached to every thread
	"$@" >/dev/null 2>&1
	kill -INT $st 2>/dev/null
	wait $st 2>/dev/null
	awk '$NF == "getdents64" { print $4 }' "$out" | head -n 1 | grep . || echo 0
	rm -f "$out"
}

lookups()
{
	as alice python3 -c '
import os, sys
d = sys.argv[1]
for i in range(0, 10000, 10):
    try:
        os.stat(os.path.join(d, "f%d" % i))
    except FileNotFoundError:
        pass
' "$RUN/big/outputs/m"
}
n=$(getdents_during lookups)
echo "# getdents64 calls of the daemon during 1,000 lookups of unknown names: $n"
t_eq "1,000 lookups in a $N-file record list nothing (no getdents64)" yes \
	"$([ "$n" -lt 50 ] && echo yes || echo "no: $n")"
t_eq "a name found by lookup reads its content" 5000 \
	"$(as alice cat "$RUN/big/outputs/m/f5000" 2>&1)"
t_eq "a name not in the record is ENOENT" 1 \
	"$(as alice stat "$RUN/big/outputs/m/nosuch" 2>&1 | grep -c 'No such file')"

# A storm of failed lookups by alice while bob reads his own small file:
# bob's latency is reported (median and max of 200 reads).
STORM=
storm()
{
	local i
	for i in 1 2 3 4 5 6 7 8; do
		as alice python3 -c '
import os, sys, time
d, end = sys.argv[1], time.time() + 8
i = 0
while time.time() < end:
    try:
        os.stat(os.path.join(d, "miss%d" % i))
    except FileNotFoundError:
        pass
    i += 1
' "$RUN/big/outputs/m" &
		STORM="$STORM $!"
	done
}
storm
lat=$(as bob python3 -c '
import time, sys
t = []
for i in range(200):
    a = time.monotonic()
    open(sys.argv[1]).read()
    t.append(time.monotonic() - a)
    time.sleep(0.02)
t.sort()
print("%.1f %.1f" % (t[len(t) // 2] * 1000, t[-1] * 1000))
' "$MNT/user/bob/skills/small.txt")
# shellcheck disable=SC2086
wait $STORM
echo "# bob's cat of his own file during alice's lookup storm: median ${lat% *} ms, max ${lat#* } ms"
t_eq "bob reads his file throughout the storm" "bob small file" \
	"$(as bob cat "$MNT/user/bob/skills/small.txt" 2>&1)"

rmr()
{
	as alice rm -r "$RUN/big"
}
t0=$(date +%s%N)
n=$(getdents_during rmr)
t1=$(date +%s%N)
echo "# rm -r of the $N-file record: $(( (t1 - t0) / 1000000 )) ms (with strace attached), getdents64 calls: $n"
t_eq "rm -r of the record lists each folder once, not once per file" yes \
	"$([ "$n" -lt 2000 ] && echo yes || echo "no: $n")"
t_eq "the run is gone" "" "$(as alice ls "$RUN" 2>&1 | grep -x big)"
t_eq "its record is gone from the state folder" no \
	"$([ -e "$STATE/runs/alice/big" ] && echo yes || echo no)"
echo '{"nodes": [{"id": "m", "skill": "many", "inputs": {}}]}' |
	as alice sh -c "cat > '$RUN/big.json'"
t_eq "and its name can be used again" succeeded \
	"$(as alice timeout 300 cat "$RUN/big/wait" 2>&1)"

t_done
