#!/usr/bin/env bash
# tests/t-limits.sh: memory_mb and procs cap a node as a whole (DESIGN.md 5),
# through a real mount, as real users: a node that forks memory hogs fails
# with its memory limit while the host's memory stays bounded, with the
# node's cgroup and with the monitor (node_cgroup = off); a user's other
# processes do not count against a node's procs; a fork bomb still stops
# at procs; nothing of a node is left; the daemon serves other users
# throughout; the groups of dead daemons are removed at start-up.
set -u
source "$(dirname "$0")/lib.sh"
lfs_require
command -v bwrap >/dev/null || t_skip_all "no bwrap (apt-get install bubblewrap)"
command -v python3 >/dev/null || t_skip_all "no python3"
command -v flock >/dev/null || t_skip_all "no flock (util-linux)"
t_begin
lfs_users

# --- the test's own memory cgroup ----------------------------------------------------
# The daemon and everything it starts run in a cgroup of this test's, so
# that its peak is the memory the host gave them all (not a wall-clock
# guess). cgroup v1 here (memory.max_usage_in_bytes, which 0 resets).
MEMCG=
MEMCG_PARENT=
self=$(sed -n 's/^[0-9]*:\([^:]*,\)\{0,1\}memory\(,[^:]*\)\{0,1\}:\(.*\)$/\3/p' /proc/self/cgroup)
if [ -n "$self" ] && [ -f "/sys/fs/cgroup/memory${self%/}/memory.max_usage_in_bytes" ]; then
	MEMCG_PARENT=/sys/fs/cgroup/memory${self%/}
	MEMCG=$MEMCG_PARENT/t-limits-$$
	if mkdir "$MEMCG" 2>/dev/null && echo $$ >"$MEMCG/cgroup.procs"; then
		:
	else
		rmdir "$MEMCG" 2>/dev/null
		MEMCG=
	fi
fi
[ -n "$MEMCG" ] || echo "# no cgroup v1 memory hierarchy to measure in: the memory peaks are not checked"

# hold_procs N: N idle processes of alice's, their pids in $T_TMP/held
# (drop_procs ends them)
hold_procs()
{
	install -o alice -m 600 /dev/null "$T_TMP/held"
	as alice sh -c "for i in \$(seq $1); do sleep 600 & echo \$! >>'$T_TMP/held'; done" &
	wait $!
}
drop_procs()
{
	[ -s "$T_TMP/held" ] && kill $(cat "$T_TMP/held") 2>/dev/null
	rm -f "$T_TMP/held"
}
t_limits_cleanup()
{
	drop_procs
	[ -n "${locker:-}" ] && kill "$locker" "$stray" 2>/dev/null
	t_cleanup
	if [ -n "$MEMCG" ]; then
		echo $$ >"$MEMCG_PARENT/cgroup.procs"
		rmdir "$MEMCG"/llmunixfs-400000[12]/node-1 \
			"$MEMCG"/llmunixfs-400000[12] 2>/dev/null
		rmdir "$MEMCG" || echo "# cannot remove $MEMCG: $(cat "$MEMCG/cgroup.procs" | xargs)"
	fi
}
trap t_limits_cleanup EXIT

RUN=$MNT/user/alice/run
SK=$MNT/user/alice/skills
put_skill() { as alice sh -c "cat > '$SK/$1'"; }
submit() { as alice sh -c "cat > '$RUN/$1.json'" 2>&1; }
wait_run() { as alice timeout 120 cat "$RUN/$1/wait" 2>&1; }
rd() { as alice cat "$RUN/$1" 2>&1; }
# peak_reset / grown_mb: how much more memory the test's cgroup used at its
# peak since peak_reset
peak_reset()
{
	[ -n "$MEMCG" ] || return 0
	echo 0 >"$MEMCG/memory.max_usage_in_bytes"
	BASE=$(cat "$MEMCG/memory.usage_in_bytes")
}
grown_mb() { echo $((($(cat "$MEMCG/memory.max_usage_in_bytes") - BASE) >> 20)); }
# the daemon's groups, from its start-up log line
daemon_groups() { grep -o "'/sys/fs/cgroup/[^']*/llmunixfs-$T_PID'" "$T_TMP/daemon.log" | tr -d "'"; }
# node_groups: the node groups left in the daemon's groups
node_groups() { local g; for g in $(daemon_groups); do ls "$g" | grep '^node-'; done; }
# test_alice: alice's processes started by this test (in its cgroup, when
# it has one: other tests on this machine may run as alice too)
test_alice()
{
	if [ -n "$MEMCG" ]; then
		local pids
		pids=$(find "$MEMCG" -name cgroup.procs -exec cat {} + | paste -sd,)
		[ -n "$pids" ] && ps -o pid=,user=,stat=,args= -p "$pids" | awk '$2 == "alice"'
	else
		ps -u alice -o pid=,user=,stat=,args=
	fi
}
# alice_left: alice's processes still there after up to 5 s
alice_left()
{
	local i
	for i in $(seq 50); do
		[ -z "$(test_alice)" ] && return 0
		sleep 0.1
	done
	test_alice | cut -c1-100
}
# --- groups of dead daemons -----------------------------------------------------------
if [ -n "$MEMCG" ]; then
	# a dead daemon's group with a node and a process still in it, and a
	# live daemon's (its flock held)
	mkdir -p "$MEMCG/llmunixfs-4000001/node-1" "$MEMCG/llmunixfs-4000002/node-1"
	stray=$(sh -c 'sleep 600 >/dev/null 2>&1 & echo $!')
	echo $stray >"$MEMCG/llmunixfs-4000001/node-1/cgroup.procs"
	# the lock on an fd of a process that is then sleep itself
	(exec 9<"$MEMCG/llmunixfs-4000002" && flock 9 && exec sleep 600) &
	locker=$!
	for i in $(seq 100); do
		flock -n "$MEMCG/llmunixfs-4000002" true || break
		sleep 0.05
	done
fi

lfs_config "jobs = 3"
lfs_mount || { t_fail "mount"; t_done; exit 1; }

t_eq "the start-up log says node limits come from cgroup v1 groups" yes \
	"$(grep -q "node limits: memory_mb caps all of a node's memory (its cgroup); procs caps a node's processes (its cgroup); in cgroup v1: memory '/sys/fs/cgroup/memory" "$T_TMP/daemon.log" && echo yes)"
if [ -n "$MEMCG" ]; then
	t_eq "a dead daemon's group is removed at start-up" gone \
		"$([ -e "$MEMCG/llmunixfs-4000001" ] && echo there || echo gone)"
	t_eq "and the process left in it killed" dead \
		"$(sleep 0.2; case $(ps -o stat= -p "$stray") in ""|Z*) echo dead ;; *) echo alive ;; esac)"
	t_eq "a live daemon's group (locked) is left alone" there \
		"$([ -d "$MEMCG/llmunixfs-4000002/node-1" ] && echo there || echo gone)"
	kill $locker $stray 2>/dev/null
	wait $locker $stray 2>/dev/null
	rmdir "$MEMCG/llmunixfs-4000002/node-1" "$MEMCG/llmunixfs-4000002"
fi

put_skill hog.md <<'EOF'
---
name: hog
description: Forks six children that each touch 200 MB and hold it.
type: python
outputs:
  - {name: result, type: any}
limits: {memory_mb: 256, timeout_s: 60}
---
Six times 200 MB against a limit of 256 MB for the node.

```python
import os, time
def execute(inputs):
    kids = []
    for i in range(6):
        pid = os.fork()
        if pid == 0:
            try:
                b = bytearray(200 << 20)
                for j in range(0, len(b), 4096):
                    b[j] = 1
                time.sleep(3)
            finally:
                os._exit(0)
        kids.append(pid)
    for k in kids:
        os.waitpid(k, 0)
    return {"result": "all done"}
```
EOF
put_skill forks.md <<'EOF'
---
name: forks
description: Ten children that wait a little.
type: python
outputs:
  - {name: result, type: integer}
---
Forks ten children.

```python
import os, time
def execute(inputs):
    kids = []
    for i in range(10):
        pid = os.fork()
        if pid == 0:
            time.sleep(0.5)
            os._exit(0)
        kids.append(pid)
    for k in kids:
        os.waitpid(k, 0)
    return {"result": len(kids)}
```
EOF
put_skill bomb.md <<'EOF'
---
name: bomb
description: A fork bomb.
type: python
outputs:
  - {name: result, type: any}
limits: {timeout_s: 5, procs: 30}
---
Forks until it cannot.

```python
import os
def execute(inputs):
    while True:
        os.fork()
```
EOF
as bob sh -c "cat > '$MNT/user/bob/skills/inc.md'" <<'EOF'
---
name: inc
description: Adds one.
type: python
inputs:
  - {name: x, type: number}
outputs:
  - {name: y, type: number}
---
Adds one.

```python
def execute(inputs):
    return {"y": inputs["x"] + 1}
```
EOF

# limits_suite MODE SLACK: the same hostile nodes, with the cgroup or the
# monitor; SLACK MB is how much more than the node's limit the host may give
limits_suite()
{
	local mode=$1 slack=$2 grown

	peak_reset
	echo '{"nodes": [{"id": "h", "skill": "hog"}]}' | submit "hog-$mode" >/dev/null
	t_eq "$mode: six children of 200 MB fail the node at its memory limit" \
		"failed memory limit 256 MB exceeded" \
		"$(wait_run "hog-$mode") $(rd "hog-$mode/nodes/h/error" | head -n 1)"
	if [ -n "$MEMCG" ]; then
		grown=$(grown_mb)
		echo "# $mode: the daemon and its nodes grew by $grown MB at their peak"
		# the monitor looks every 0.05 s (0.01 s past a quarter):
		# the node may be over between two looks
		t_eq "$mode: the host gave the node its 256 MB and at most $slack MB more" yes \
			"$([ "$grown" -lt $((256 + slack)) ] && echo yes || echo "no: $grown MB")"
	fi

	# a busy user: 120 idle processes of alice's elsewhere
	hold_procs 120
	echo '{"nodes": [{"id": "f", "skill": "forks"}]}' | submit "busy-$mode" >/dev/null
	t_eq "$mode: with 120 processes elsewhere, alice's node of procs 64 still forks ten" \
		"succeeded 10" "$(wait_run "busy-$mode") $(rd "busy-$mode/outputs/f/result")"
	t_eq "$mode: her processes elsewhere are untouched" "120 120" \
		"$(ps -o pid= -p "$(paste -sd, "$T_TMP/held")" | wc -l) $(test_alice | grep -c 'sleep 600')"
	drop_procs

	# the fork bomb while bob works
	echo '{"nodes": [{"id": "b", "skill": "bomb"}]}' | submit "bomb-$mode" >/dev/null
	sleep 1
	t_eq "$mode: while a fork bomb runs, bob lists the system volume" yes \
		"$(as bob ls "$MNT/system" | grep -qx skills && echo yes)"
	echo '{"nodes": [{"id": "i", "skill": "inc", "inputs": {"x": 41}}]}' |
		as bob sh -c "cat > '$MNT/user/bob/run/inc-$mode.json'"
	t_eq "$mode: and runs a node of his own" "succeeded 42" \
		"$(as bob timeout 60 cat "$MNT/user/bob/run/inc-$mode/wait") $(as bob cat "$MNT/user/bob/run/inc-$mode/outputs/i/y")"
	t_eq "$mode: a fork bomb is stopped at its process limit" yes \
		"$(wait_run "bomb-$mode" >/dev/null; rd "bomb-$mode/nodes/b/error" | grep -q 'process limit 30 reached' && echo yes)"
	t_eq "$mode: no process of alice's node is left" "" "$(alice_left)"
	t_eq "$mode: no node group is left" "" "$(node_groups)"
}

limits_suite cgroup 64
t_eq "cgroup: the daemon's groups exist while it runs" 2 "$(daemon_groups | while read -r g; do [ -d "$g" ] && echo x; done | wc -l)"
groups=$(daemon_groups)
lfs_umount
t_eq "cgroup: its groups are removed when it stops" "" \
	"$(for g in $groups; do [ -e "$g" ] && echo "$g"; done)"

lfs_config "jobs = 3" "node_cgroup = off"
lfs_mount || { t_fail "remount"; t_done; exit 1; }
t_eq "the start-up log says a monitor caps the nodes" yes \
	"$(grep -q "node limits: memory_mb caps the sum over a node's processes (measured every 0.05 s) and each one's address space; procs caps a node's processes (RLIMIT_NPROC in its user namespace, set by /usr/bin/prlimit); no cgroup: node_cgroup = off" "$T_TMP/daemon.log" && echo yes)"
t_eq "off: no group is made" "" "$(daemon_groups)"
limits_suite monitor 512
lfs_umount
t_eq "the daemon exits cleanly, without a sanitizer report" "0 none" \
	"$? $(grep -q 'Sanitizer' "$T_TMP/daemon.log" && echo reported || echo none)"

lfs_config "node_cgroup = sometimes"
t_eq "a bad node_cgroup is refused, saying what is expected" yes \
	"$("$LLMUNIXFS" -f -o "config=$T_TMP/llmunix.conf,state=$STATE" "$MNT" 2>&1 | grep -q "node_cgroup: 'sometimes' is not auto, on or off" && echo yes)"
t_done
