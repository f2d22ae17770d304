#!/usr/bin/env bash
# tests/t-run.sh: the magic run/ folder through a real mount, as real users
# (DESIGN.md 5): chains, a diamond that runs in parallel, failures and
# skipped descendants, the cache, cancel, rm -r, blocking reads, sh and
# spice nodes, the React Flow form, privacy, records across a remount, and
# hostile skills that are stopped while everything else goes on.
set -u
source "$(dirname "$0")/lib.sh"
lfs_require
command -v bwrap >/dev/null || t_skip_all "no bwrap (apt-get install bubblewrap)"
command -v jq >/dev/null || t_skip_all "no jq"
t_begin
lfs_users
lfs_config "jobs = 2"
lfs_mount || { t_fail "mount"; t_done; exit 1; }

RUN=$MNT/user/alice/run
SK=$MNT/user/alice/skills
put_skill() { as alice sh -c "cat > '$SK/$1'"; }
# submit NAME: the graph on stdin; the status of close() is cat's
submit() { as alice sh -c "cat > '$RUN/$1.json'" 2>&1; }
wait_run() { as alice timeout 120 cat "$RUN/$1/wait" 2>&1; }
rd() { as alice cat "$RUN/$1" 2>&1; }
node_status() { rd "$1/nodes/$2/status"; }
# started PID: when PID started, in clock ticks since boot
started() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20; }
# ours PID: whether alice's process PID is this test's: the first of its
# ancestors that alice does not run is our daemon, or init (an orphan,
# whoever left it, as long as it started after our daemon). Tests of other
# checkouts run as alice at the same time.
ours()
{
	local p=$1 uid
	uid=$(id -u alice)
	while p=$(awk '$1 == "PPid:" { print $2 }' "/proc/$p/status" 2>/dev/null) &&
		[ -n "$p" ]; do
		if [ "$p" = "$T_PID" ]; then
			return 0
		elif [ "$p" -le 1 ]; then
			[ "$(started "$1")" -ge "$(started "$T_PID")" ] 2>/dev/null
			return
		fi
		[ "$(awk '$1 == "Uid:" { print $2 }' "/proc/$p/status" 2>/dev/null)" = "$uid" ] ||
			return 1
	done
	return 1
}
# alice_procs [PATTERN]: this test's processes of alice (pid, state, age,
# command) whose command matches PATTERN
alice_procs()
{
	local pid rest
	ps -u alice -o pid=,stat=,etime=,args= | grep -- "${1:-.}" |
		while read -r pid rest; do
			! ours "$pid" || printf '%s %s\n' "$pid" "$rest" | cut -c1-120
		done
}
# left_over [PATTERN]: alice's processes still there after up to 5 s
left_over()
{
	local i
	for i in $(seq 50); do
		[ -z "$(alice_procs "$@")" ] && return 0
		sleep 0.1
	done
	alice_procs "$@"
}

put_skill inc.md <<'EOF'
---
name: Increment
description: Adds one to a number and says so on stdout.
type: python
inputs:
  - {name: x, type: number, required: true}
outputs:
  - {name: y, type: number}
---
Adds one.

```python
def execute(inputs):
    print("inc", inputs["x"])
    return {"y": inputs["x"] + 1}
```
EOF
put_skill add.md <<'EOF'
---
name: Add
description: Adds two numbers.
type: python
inputs:
  - {name: l, type: number, required: true}
  - {name: r, type: number, required: true}
outputs:
  - {name: y, type: number}
---
Adds.

```python
def execute(inputs):
    return {"y": inputs["l"] + inputs["r"]}
```
EOF
put_skill slow.md <<'EOF'
---
name: Slow
description: Waits, then passes its input on.
type: python
inputs:
  - {name: x, type: number, required: true}
  - {name: secs, type: number, default: 1}
outputs:
  - {name: y, type: number}
---
Sleeps.

```python
import time

def execute(inputs):
    time.sleep(inputs["secs"])
    return {"y": inputs["x"]}
```
EOF
put_skill fail.md <<'EOF'
---
name: Fail
description: Always fails.
type: python
inputs:
  - {name: x, type: number}
outputs:
  - {name: y, type: number}
---
Fails.

```python
def execute(inputs):
    raise ValueError("boom at " + str(inputs.get("x")))
```
EOF

# --- a three-node chain ------------------------------------------------------
submit chain <<'EOF'
{"nodes": [
 {"id": "a", "skill": "inc", "inputs": {"x": 1}},
 {"id": "b", "skill": "inc", "inputs": {"x": {"from": "a.y"}}},
 {"id": "c", "skill": "inc", "inputs": {"x": {"from": "b.y"}}}]}
EOF
t_eq "a chain of three python nodes succeeds" succeeded "$(wait_run chain)"
t_eq "its last output is 4" 4 "$(rd chain/outputs/c/y)"
t_eq "status says succeeded" succeeded "$(rd chain/status)"
t_eq "progress is 3/3" 3/3 "$(rd chain/progress)"
t_eq "print() went to the node's stdout" "inc 2" "$(rd chain/nodes/b/stdout)"
t_eq "inputs.json holds the linked value" 2 "$(rd chain/nodes/b/inputs.json | jq .x)"
t_eq "exitcode is 0" 0 "$(rd chain/nodes/c/exitcode)"
t_eq "each node ran (not cached)" "false false false" \
	"$(for n in a b c; do rd chain/nodes/$n/time | jq -r .cached; done | xargs)"
t_eq "the run's folder lists what DESIGN.md promises" \
	"ctl error events graph.json log nodes outputs progress status wait" \
	"$(as alice ls "$RUN/chain" | xargs)"
t_eq "events has one JSON line per event, ending with run_finished" \
	"run_queued started succeeded started succeeded started succeeded run_finished" \
	"$(rd chain/events | jq -r .event | xargs)"
t_eq "the log names each node" yes \
	"$(rd chain/log | grep -q "node 'b' succeeded" && echo yes)"
t_eq "graph.json is the graph as written" chain \
	"$(rd chain/graph.json | jq -r '.nodes[0].id' | sed 's/a/chain/')"
t_eq "the error file is empty" "" "$(rd chain/error)"
t_eq "synthetic files are not writable" yes \
	"$(as alice sh -c "echo x > '$RUN/chain/status'" 2>&1 | grep -q 'Permission denied' && echo yes)"

# --- a diamond: the branches overlap ------------------------------------------
submit diamond <<'EOF'
{"nodes": [
 {"id": "top", "skill": "inc", "inputs": {"x": 0}},
 {"id": "left", "skill": "slow", "inputs": {"x": {"from": "top.y"}, "secs": 1.5}},
 {"id": "right", "skill": "slow", "inputs": {"x": {"from": "top.y"}, "secs": 1.6}},
 {"id": "bottom", "skill": "add", "inputs": {"l": {"from": "left.y"}, "r": {"from": "right.y"}}}]}
EOF
t_eq "the diamond succeeds" succeeded "$(wait_run diamond)"
t_eq "bottom adds both branches" 2 "$(rd diamond/outputs/bottom/y)"
ls_=$(rd diamond/nodes/left/time | jq .start_epoch); le=$(rd diamond/nodes/left/time | jq .end_epoch)
rs=$(rd diamond/nodes/right/time | jq .start_epoch); re=$(rd diamond/nodes/right/time | jq .end_epoch)
t_eq "left and right ran at the same time (their intervals overlap)" yes \
	"$(python3 -c "print('yes' if $ls_ < $re and $rs < $le else 'no: [$ls_,$le] [$rs,$re]')")"
bs=$(rd diamond/nodes/bottom/time | jq .start_epoch)
t_eq "bottom started after both ended" yes \
	"$(python3 -c "print('yes' if $bs >= max($le, $re) else 'no')")"

# --- two runs share the workers in turn ----------------------------------------
submit wide <<'EOF'
{"nodes": [
 {"id": "w1", "skill": "slow", "inputs": {"x": 1, "secs": 1.5}},
 {"id": "w2", "skill": "slow", "inputs": {"x": 2, "secs": 1.5}},
 {"id": "w3", "skill": "slow", "inputs": {"x": 3, "secs": 1.5}},
 {"id": "w4", "skill": "slow", "inputs": {"x": 4, "secs": 1.5}}]}
EOF
for i in $(seq 50); do [ "$(node_status wide w2)" = running ] && break; sleep 0.1; done
echo '{"nodes": [{"id": "n", "skill": "slow", "inputs": {"x": 5, "secs": 0.2}}]}' | submit narrow >/dev/null
wait_run wide >/dev/null; wait_run narrow >/dev/null
ns=$(rd narrow/nodes/n/time | jq .start_epoch)
w3=$(rd wide/nodes/w3/time | jq .start_epoch); w4=$(rd wide/nodes/w4/time | jq .start_epoch)
t_eq "a second run gets a worker before the first run's queue is done (jobs = 2)" yes \
	"$(python3 -c "print('yes' if $ns < max($w3, $w4) else 'no: narrow $ns, w3 $w3, w4 $w4')")"

# --- a failure skips the descendants -------------------------------------------
submit broken <<'EOF'
{"nodes": [
 {"id": "a", "skill": "inc", "inputs": {"x": 1}},
 {"id": "bad", "skill": "fail", "inputs": {"x": {"from": "a.y"}}},
 {"id": "after", "skill": "inc", "inputs": {"x": {"from": "bad.y"}}},
 {"id": "later", "skill": "inc", "inputs": {"x": {"from": "after.y"}}},
 {"id": "apart", "skill": "inc", "inputs": {"x": 10}}]}
EOF
t_eq "a run with a failing node fails" failed "$(wait_run broken)"
t_eq "the failing node is failed" failed "$(node_status broken bad)"
t_eq "its child is skipped" skipped "$(node_status broken after)"
t_eq "its grandchild is skipped" skipped "$(node_status broken later)"
t_eq "the skip names the failed ancestor" "skipped: ancestor 'bad' failed" \
	"$(rd broken/nodes/later/error)"
t_eq "an independent node still ran" 11 "$(rd broken/outputs/apart/y)"
t_eq "the traceback names the exception" yes \
	"$(rd broken/nodes/bad/error | grep -q 'ValueError: boom at 2' && echo yes)"
t_eq "the traceback points into the skill file" yes \
	"$(rd broken/nodes/bad/error | grep -q 'skills/fail.md", line 1[0-9]' && echo yes)"
t_eq "the run's error names the node" yes \
	"$(rd broken/error | grep -q "^node 'bad': " && echo yes)"
t_eq "progress counts every node" 5/5 "$(rd broken/progress)"
put_skill deep.md <<'EOF'
---
name: Deep
description: Fails at the bottom of a deep recursion, so its traceback is long.
type: python
inputs:
  - {name: x, type: number, default: 1}
outputs:
  - {name: y, type: number}
---
Recurses.

```python
def down(n):
    if n == 0:
        raise ValueError("the message at the very end")
    return other(n - 1) + 1

def other(n):
    return down(n) + 1

def execute(inputs):
    return {"y": down(40)}
```
EOF
echo '{"nodes": [{"id": "d", "skill": "deep", "inputs": {}}]}' | submit deep >/dev/null
wait_run deep >/dev/null
t_eq "a traceback longer than 1 KiB keeps its last line, the message" \
	"ValueError: the message at the very end" "$(rd deep/nodes/d/error | tail -n 1)"
t_eq "and is longer than 1 KiB" yes \
	"$(rd deep/nodes/d/error | wc -c | awk '{ print ($1 > 1024) ? "yes" : $1 }')"

# --- the cache -----------------------------------------------------------------
submit chain2 < <(rd chain/graph.json)
t_eq "an unchanged graph succeeds again" succeeded "$(wait_run chain2)"
t_eq "every node is cached" "cached cached cached" \
	"$(for n in a b c; do node_status chain2 $n; done | xargs)"
t_eq "cached outputs are the same" 4 "$(rd chain2/outputs/c/y)"
t_eq "cached stdout is kept" "inc 3" "$(rd chain2/nodes/c/stdout)"
submit chain3 <<'EOF'
{"nodes": [
 {"id": "a", "skill": "inc", "inputs": {"x": 1}},
 {"id": "b", "skill": "inc", "inputs": {"x": {"from": "a.y"}}},
 {"id": "c", "skill": "add", "inputs": {"l": {"from": "b.y"}, "r": 100}}]}
EOF
wait_run chain3 >/dev/null
t_eq "changing one node re-runs it only" "cached cached succeeded" \
	"$(for n in a b c; do node_status chain3 $n; done | xargs)"
t_eq "with the new result" 103 "$(rd chain3/outputs/c/y)"
submit chain4 <<'EOF'
{"nodes": [
 {"id": "a", "skill": "inc", "inputs": {"x": 5}},
 {"id": "b", "skill": "inc", "inputs": {"x": {"from": "a.y"}}},
 {"id": "c", "skill": "inc", "inputs": {"x": {"from": "b.y"}}}]}
EOF
wait_run chain4 >/dev/null
t_eq "a changed input re-runs its node and the descendants" "succeeded succeeded succeeded" \
	"$(for n in a b c; do node_status chain4 $n; done | xargs)"
submit nocache <<'EOF'
{"nodes": [
 {"id": "a", "skill": "inc", "inputs": {"x": 1}, "cache": false},
 {"id": "b", "skill": "inc", "inputs": {"x": {"from": "a.y"}}}]}
EOF
wait_run nocache >/dev/null
t_eq "\"cache\": false runs the node and its descendants" "succeeded succeeded" \
	"$(for n in a b; do node_status nocache $n; done | xargs)"
before=$(ls "$STATE/cache/alice" | wc -l)
submit nocache2 < <(rd nocache/graph.json)
wait_run nocache2 >/dev/null
t_eq "and again, without adding to the cache what can never be reused" \
	"succeeded succeeded $before" \
	"$(for n in a b; do node_status nocache2 $n; done | xargs) $(ls "$STATE/cache/alice" | wc -l)"
as alice sh -c "sed -i 's/print(\"inc\"/print(\"plus one\"/' '$SK/inc.md'"
submit chain5 < <(rd chain/graph.json)
wait_run chain5 >/dev/null
t_eq "an edited skill is not served from the cache" "succeeded succeeded succeeded" \
	"$(for n in a b c; do node_status chain5 $n; done | xargs)"
t_eq "the edit shows" "plus one 1" "$(rd chain5/nodes/a/stdout)"

# --- validation at close ---------------------------------------------------------
out=$(printf '{"nodes": [\n {"id": "a", "skill": "inc",\n' | submit badjson)
t_eq "invalid JSON: close fails with EINVAL" yes \
	"$(printf '%s' "$out" | grep -q 'Invalid argument' && echo yes)"
t_eq "invalid JSON: error has the line" yes \
	"$(rd badjson/error | grep -q '^invalid JSON at line 3' && echo yes)"
t_eq "a rejected graph's status is failed" failed "$(rd badjson/status)"
out=$(echo '{"nodes": [{"id": "a", "skill": "nosuch"}]}' | submit unknown)
t_eq "an unknown skill is named" "node 'a': unknown skill 'nosuch' (check its name with ls skills/, and that you may read it)" \
	"$(rd unknown/error)"
echo '{"nodes": [{"id": "a", "skill": "inc", "inputs": {"x": "one"}}]}' | submit badtype >/dev/null
t_eq "a literal of the wrong type is named with its port" yes \
	"$(rd badtype/error | grep -q "node 'a': input 'x'" && echo yes)"
echo '{"nodes": [{"id": "a", "skill": "inc", "inputs": {"x": {"from": "b.y"}}},
 {"id": "b", "skill": "inc", "inputs": {"x": {"from": "a.y"}}}]}' | submit cycle >/dev/null
t_eq "a cycle names its nodes" "cycle: a -> b -> a (remove one of these links)" "$(rd cycle/error)"
echo '{"nodes": [{"id": "a", "skill": "inc", "inputs": {"x": 1}}]}' | submit badjson >/dev/null
t_eq "a rejected name can be used again" succeeded "$(wait_run badjson)"
out=$(echo '{"nodes": []}' | submit chain)
t_eq "a run's name in use gives EEXIST" yes \
	"$(printf '%s' "$out" | grep -q 'File exists' && echo yes)"
t_check_not "mkdir in run/ is refused" as alice mkdir "$RUN/dir"
t_check_not "a file that is not .json is refused" as alice touch "$RUN/notes.txt"

# --- exact errors for what run/ refuses (README "Runs") -------------------------
errno_of() # python statement as alice -> errno name or OK
{
	as alice python3 -c "
import errno, os, sys
try:
    $1
    print('OK')
except OSError as e:
    print(errno.errorcode[e.errno])" 2>&1
}
echo '{"nodes": [{"id": "a", "skill": "inc", "inputs": {"x": 1}}]}' | as alice sh -c "cat > '$MNT/user/alice/workflows/moved.json'"
t_eq "a rename into run/ is EXDEV" EXDEV \
	"$(errno_of "os.rename('$MNT/user/alice/workflows/moved.json', '$RUN/moved.json')")"
t_check "so mv copies the graph, which starts the run" as alice mv "$MNT/user/alice/workflows/moved.json" "$RUN/moved.json"
t_eq "the moved graph ran" "succeeded 2" "$(wait_run moved) $(rd moved/outputs/a/y)"
t_eq "a rename inside run/ is EPERM" EPERM "$(errno_of "os.rename('$RUN/chain', '$RUN/chain-renamed')")"
t_eq "mkdir in run/ is EPERM" EPERM "$(errno_of "os.mkdir('$RUN/dir')")"
t_eq "a file in run/ that is not .json is EINVAL" EINVAL "$(errno_of "open('$RUN/notes.txt', 'w')")"
t_eq "writing a run's status is EACCES" EACCES "$(errno_of "open('$RUN/chain/status', 'w')")"
t_eq "chmod of a run's file is EPERM" EPERM "$(errno_of "os.chmod('$RUN/chain/status', 0o600)")"
t_eq "a file created inside a run's folder is EPERM" EPERM "$(errno_of "open('$RUN/chain/extra', 'w')")"
t_eq "mkdir inside a run's folder is EPERM" EPERM "$(errno_of "os.mkdir('$RUN/chain/nodes/newdir')")"
t_eq "a name that is not in a run's folder is ENOENT" ENOENT "$(errno_of "os.stat('$RUN/chain/nodes/a/nosuch')")"

# --- cancel, rm -r, blocking reads -----------------------------------------------
echo '{"nodes": [{"id": "s", "skill": "slow", "inputs": {"x": 1, "secs": 60}},
 {"id": "t", "skill": "inc", "inputs": {"x": {"from": "s.y"}}}]}' | submit long >/dev/null
for i in $(seq 50); do [ "$(node_status long s)" = running ] && break; sleep 0.1; done
t0=$(date +%s%N)
as alice sh -c "echo cancel > '$RUN/long/ctl'"
t_eq "cancel through ctl ends the run as cancelled" cancelled "$(wait_run long)"
t1=$(date +%s%N)
t_eq "promptly (within the grace period)" yes "$([ $(( (t1 - t0) / 1000000 )) -lt 10000 ] && echo yes)"
t_eq "the running node is cancelled" cancelled "$(node_status long s)"
t_eq "the queued node is cancelled" cancelled "$(node_status long t)"
t_eq "no sleeping process is left" "" "$(left_over harness)"
t_check_not "ctl refuses an unknown command" as alice sh -c "echo explode > '$RUN/long/ctl'"

echo '{"nodes": [{"id": "s", "skill": "slow", "inputs": {"x": 2, "secs": 60}}]}' | submit doomed >/dev/null
for i in $(seq 50); do [ "$(node_status doomed s)" = running ] && break; sleep 0.1; done
t_check "rm -r of a running run succeeds" as alice rm -r "$RUN/doomed"
t_eq "it is gone from run/" "" "$(as alice ls "$RUN" | grep -x doomed)"
t_eq "and its process is stopped" "" "$(left_over harness)"
echo '{"nodes": [{"id": "s", "skill": "slow", "inputs": {"x": 6, "secs": 60}}]}' | submit snipped >/dev/null
for i in $(seq 50); do [ "$(node_status snipped s)" = running ] && break; sleep 0.1; done
t_check "removing a file inside a running run succeeds" as alice rm "$RUN/snipped/log"
t_eq "and cancels the run" cancelled "$(wait_run snipped)"
t_eq "whose process is stopped" "" "$(left_over harness)"
# A cancel may come at any moment of a node's start: while it is queued,
# while bwrap starts (forks, clones the command, sets it up), while the
# command runs. Each run ends cancelled, with its node, and nothing of it
# is left (bwrap killed between its clone and its telling the command's pid
# left the command behind; tests/unit/test-sandbox-mon.c makes that moment
# without timing). The process limit counts all of alice's processes on
# the machine, other tests' too: these nodes, which must start, have a
# high one.
bad=
k=0
for d in 0 0 0.005 0.01 0.02 0.03 0.05 0.07 0.1 0.15 0.2 0.3 0.5 0.8; do
	k=$((k + 1))
	how="echo cancel > '$RUN/early$k/ctl'"
	[ $((k % 2)) = 0 ] && how="rm '$RUN/early$k/log'"
	as alice sh -c "echo '{\"nodes\": [{\"id\": \"s\", \"skill\": \"slow\",
		\"inputs\": {\"x\": $((100 + k)), \"secs\": 60},
		\"limits\": {\"procs\": 1000}}]}' > '$RUN/early$k.json';
		sleep $d; $how" 2>&1
	st="$(wait_run early$k) $(node_status early$k s)"
	[ "$st" = "cancelled cancelled" ] ||
		bad="$bad early$k ($d s): $st $(rd early$k/nodes/s/error | head -n 1);"
done
t_eq "runs cancelled at any moment of their start end cancelled, and so do their nodes" "" "$bad"
t_eq "none of them leaves a process" "" "$(left_over)"
t_check "rm -r of a folder inside a run succeeds" as alice rm -r "$RUN/chain2/outputs"
t_eq "and removes it whole, leaving the rest" "yes no" \
	"$(as alice test -f "$RUN/chain2/status" && echo yes) $(as alice test -e "$RUN/chain2/outputs" && echo yes || echo no)"
echo '{"nodes": [{"id": "a", "skill": "inc", "inputs": {"x": 41}}]}' | submit doomed >/dev/null
t_eq "the name can be used again at once" 42 "$(wait_run doomed >/dev/null; rd doomed/outputs/a/y)"

echo '{"nodes": [{"id": "s", "skill": "slow", "inputs": {"x": 3, "secs": 2}}]}' | submit waited >/dev/null
t_eq "wait in a script blocks until the end" "succeeded 3" \
	"$(as alice sh -c "st=\$(cat '$RUN/waited/wait'); echo \$st \$(cat '$RUN/waited/outputs/s/y')")"
t_eq "events streams until the run ends, then EOF" run_finished \
	"$(echo '{"nodes": [{"id": "s", "skill": "slow", "inputs": {"x": 4, "secs": 1}}]}' | submit streamed >/dev/null;
	   as alice timeout 30 cat "$RUN/streamed/events" | tail -n 1 | jq -r .event)"
echo '{"nodes": [{"id": "s", "skill": "slow", "inputs": {"x": 5, "secs": 30}}]}' | submit ctrlc >/dev/null
as alice cat "$RUN/ctrlc/wait" >/dev/null 2>&1 &
catpid=$!
sleep 0.5
kill -INT $catpid 2>/dev/null; kill -TERM $catpid 2>/dev/null
t_eq "a blocked cat wait is interrupted by a signal" yes \
	"$(for i in $(seq 30); do kill -0 $catpid 2>/dev/null || { echo yes; break; }; sleep 0.1; done)"
wait $catpid 2>/dev/null
t_eq "O_NONBLOCK reads of wait give EAGAIN" yes \
	"$(as alice python3 -c "
import os, errno
fd = os.open('$RUN/ctrlc/wait', os.O_RDONLY | os.O_NONBLOCK)
try:
    os.read(fd, 100)
except BlockingIOError:
    print('yes')")"
as alice sh -c "echo cancel > '$RUN/ctrlc/ctl'"

# --- sh and spice nodes ----------------------------------------------------------
put_skill double.md <<'EOF'
---
name: Double
description: Doubles a number in the shell and leaves a note in out/.
type: sh
inputs:
  - {name: x, type: integer, required: true}
outputs:
  - {name: y, type: integer}
---
Doubles.

```sh
read -r json
echo "stdin was $json" > out/note.txt
echo draft > out/plan.tmp
echo dot > out/.dotfile
echo "{\"y\": $((INPUT_x * 2))}"
```
EOF
put_skill rc.md <<'EOF'
---
name: RC low-pass
description: Step response of an RC low-pass filter with ngspice.
type: spice
inputs:
  - {name: r, type: number, default: 1000}
  - {name: c, type: number, default: 1e-6}
outputs:
  - {name: time, type: array}
  - {name: out, type: array}
---
A 1 V step into R, C to ground.

```spice
* RC low-pass
V1 in 0 PULSE(0 1 0 1n 1n 1 2)
R1 in out {r}
C1 out 0 {c}
.tran 2u 5m
.end
```
EOF
echo '{"nodes": [{"id": "d", "skill": "double", "inputs": {"x": 21}}]}' | submit shrun >/dev/null
t_eq "an sh node succeeds" succeeded "$(wait_run shrun)"
t_eq "its output comes from stdout's last line" 42 "$(rd shrun/outputs/d/y)"
t_eq "the file it wrote in out/ is an output" 'stdin was {"x":21}' \
	"$(rd shrun/outputs/d/note.txt | sed 's/: /:/g')"
t_eq "outputs named .dotfile or *.tmp are listed too" ".dotfile note.txt plan.tmp y" \
	"$(as alice ls -A "$RUN/shrun/outputs/d" | xargs)"
# A cached node's out/ files (a folder of files only) come with it.
echo '{"nodes": [{"id": "d", "skill": "double", "inputs": {"x": 21}}]}' | submit shrun2 >/dev/null
t_eq "the sh node again comes from the cache" "succeeded cached" \
	"$(wait_run shrun2) $(node_status shrun2 d)"
t_eq "with the files it wrote in out/" ".dotfile note.txt plan.tmp y" \
	"$(as alice ls -A "$RUN/shrun2/outputs/d" | xargs)"
t_eq "their content as the first run wrote it" 'stdin was {"x":21}' \
	"$(rd shrun2/outputs/d/note.txt | sed 's/: /:/g')"
echo '{"nodes": [{"id": "rc", "skill": "rc", "inputs": {"r": 1000, "c": 1e-6}}]}' | submit spicerun >/dev/null
t_eq "a spice node succeeds" succeeded "$(wait_run spicerun)"
tau=$(as alice python3 -c "
import json
t = json.load(open('$RUN/spicerun/outputs/rc/time'))
v = json.load(open('$RUN/spicerun/outputs/rc/out'))
target = 1 - 2.718281828459045 ** -1
for i in range(1, len(v)):
    if v[i] >= target:
        f = (target - v[i-1]) / (v[i] - v[i-1])
        print(t[i-1] + f * (t[i] - t[i-1]))
        break")
t_eq "the RC time constant is R*C = 1 ms within 1%" yes \
	"$(python3 -c "print('yes' if abs(${tau:-0} - 1e-3) < 1e-5 else 'no: ${tau:-none}')")"

# --- file inputs: a path from the mount, and a file from an upstream node -------
put_skill lines.md <<'EOF'
---
name: Lines
description: Counts the lines of a file and writes a summary file.
type: python
inputs:
  - {name: doc, type: file, required: true}
outputs:
  - {name: lines, type: integer}
  - {name: summary, type: file}
---
Counts lines.

```python
import os

def execute(inputs):
    with open(inputs["doc"]) as f:
        n = sum(1 for _ in f)
    try:
        open(inputs["doc"], "a").write("more")
        writable = "yes"
    except OSError:
        writable = "no"
    with open("out/summary.txt", "w") as f:
        f.write("%s has %d lines; writable: %s\n" % (os.path.basename(inputs["doc"]), n, writable))
    return {"lines": n, "summary": "summary.txt"}
```
EOF
printf 'a\nb\nc\n' | as alice sh -c "cat > '$SK/data.csv'"
submit files <<'EOF'
{"nodes": [
 {"id": "count", "skill": "lines", "inputs": {"doc": "user/alice/skills/data.csv"}},
 {"id": "again", "skill": "lines", "inputs": {"doc": {"from": "count.summary"}}}]}
EOF
t_eq "a file input given as a path from the mount runs" succeeded "$(wait_run files)"
t_eq "the node read the file" 3 "$(rd files/outputs/count/lines)"
t_eq "it was read-only in the sandbox" "data.csv has 3 lines; writable: no" "$(rd files/outputs/count/summary.txt)"
t_eq "a file output feeds the next node's file input" "summary.txt has 1 lines; writable: no" \
	"$(rd files/outputs/again/summary.txt)"
put_skill peek.md <<'EOF'
---
name: Peek
description: Says what an input of type any holds, and reads it when it is a file.
type: python
inputs:
  - {name: v, type: any, required: true}
outputs:
  - {name: seen, type: string}
---
Peeks.

```python
import os

def execute(inputs):
    v = inputs["v"]
    if isinstance(v, str) and os.path.isfile(v):
        return {"seen": "file %s: %s" % (v, open(v).read().strip())}
    return {"seen": "value %r" % (v,)}
```
EOF
submit anyfile <<'EOF'
{"nodes": [
 {"id": "count", "skill": "lines", "inputs": {"doc": "user/alice/skills/data.csv"}},
 {"id": "f", "skill": "peek", "inputs": {"v": {"from": "count.summary"}}},
 {"id": "n", "skill": "peek", "inputs": {"v": {"from": "count.lines"}}}]}
EOF
t_eq "a file output linked into an 'any' input brings the file, not its name" \
	"file /work/in/v/summary.txt: data.csv has 3 lines; writable: no" \
	"$(wait_run anyfile >/dev/null; rd anyfile/outputs/f/seen)"
t_eq "a value linked into an 'any' input stays a value" "value 3" "$(rd anyfile/outputs/n/seen)"
echo '{"nodes": [{"id": "c", "skill": "lines", "inputs": {"doc": "user/bob/skills/none.csv"}}]}' | submit nofile >/dev/null
t_eq "a file input that is not there is named" yes \
	"$(rd nofile/error | grep -q "node 'c': input 'doc': no file 'user/bob/skills/none.csv' that you may read" && echo yes)"
printf 'a\nb\nc\nd\n' | as alice sh -c "cat > '$SK/data.csv'"
submit files2 < <(rd files/graph.json)
t_eq "a changed input file is not served from the cache" "succeeded 4" \
	"$(wait_run files2) $(rd files2/outputs/count/lines)"

# A skill's file port named with '..' must not place the file outside the
# record: the daemon writes it as root before anything runs.
dots=$(printf '../%.0s' $(seq 30))
rm -rf /tmp/llmunix-t-run-escape
put_skill climb.md <<EOF
---
name: Climb
description: A file port whose name climbs out of the run's record.
type: python
inputs:
  - {name: "${dots}tmp/llmunix-t-run-escape", type: file}
outputs:
  - {name: y, type: number}
---
Climbs.

\`\`\`python
def execute(inputs):
    return {"y": 1}
\`\`\`
EOF
t_eq "a file input whose port name has '/' is refused at close" yes \
	"$(echo "{\"nodes\": [{\"id\": \"a\", \"skill\": \"climb\", \"inputs\": {\"${dots}tmp/llmunix-t-run-escape\": \"user/alice/skills/data.csv\"}}]}" |
	   submit climb | grep -q 'Invalid argument' && echo yes)"
t_eq "and named in the error" yes \
	"$(rd climb/error | grep -q "a file input's name must not contain '/'" && echo yes)"
t_eq "nothing was written outside the record" "" "$(ls -A /tmp/llmunix-t-run-escape 2>&1 | grep -v 'No such file')"
rm -rf /tmp/llmunix-t-run-escape

# --- the React Flow form ------------------------------------------------------------
submit flow <<'EOF'
{"nodes": [
  {"id": "n1", "type": "skillNode", "position": {"x": 0, "y": 0},
   "data": {"skillId": "inc", "label": "first", "inputValues": {"x": 7}}},
  {"id": "n2", "type": "skillNode", "position": {"x": 200, "y": 0},
   "data": {"skillId": "inc", "label": "second", "inputValues": {}}}],
 "edges": [{"id": "e1", "source": "n1", "sourceHandle": "y",
            "target": "n2", "targetHandle": "x"}]}
EOF
t_eq "a React Flow graph runs" succeeded "$(wait_run flow)"
t_eq "its edges carry values" 9 "$(rd flow/outputs/n2/y)"

# --- privacy -------------------------------------------------------------------------
t_eq "bob (a teammate) does not see alice's run/" yes \
	"$(as bob ls "$MNT/user/alice" | grep -qx run || echo yes)"
t_check_not "bob cannot read alice's run" as bob cat "$RUN/chain/outputs/c/y"
t_check_not "carol cannot list alice's runs" as carol ls "$RUN"
t_check_not "bob cannot start a run in alice's run/" as bob sh -c "echo '{}' > '$RUN/x.json'"
t_eq "the code ran as alice, not as root" "$(id -u alice)" \
	"$(put_skill whoami.md <<'EOF'
---
name: Who
description: Says which uid runs it.
type: python
outputs:
  - {name: uid, type: integer}
---
Who am I.

```python
import os

def execute(inputs):
    return {"uid": os.getuid()}
```
EOF
	echo '{"nodes": [{"id": "w", "skill": "whoami"}]}' | submit who >/dev/null; wait_run who >/dev/null; rd who/outputs/w/uid)"
t_eq "an admin (dave) sees alice's run/" yes "$(as dave ls "$MNT/user/alice" | grep -qx run && echo yes)"
t_eq "a graph an admin writes into alice's run/ runs as alice" "$(id -u alice)" \
	"$(echo '{"nodes": [{"id": "w", "skill": "user/alice/whoami", "inputs": {}, "cache": false}]}' |
	   as dave sh -c "cat > '$RUN/bydave.json'"; wait_run bydave >/dev/null; rd bydave/outputs/w/uid)"

# --- hostile skills --------------------------------------------------------------------
hostile() # NAME LIMITS CODE: a python skill with those limits
{
	put_skill "$1.md" <<EOF
---
name: $1
description: hostile
type: python
inputs:
  - {name: arg, type: any}
outputs:
  - {name: result, type: any}
limits: {$2}
---
Hostile.

\`\`\`python
$3
\`\`\`
EOF
}
hostile loop "timeout_s: 3" 'def execute(inputs):
    while True:
        pass'
hostile forkbomb "timeout_s: 5, procs: 30" 'import os
def execute(inputs):
    while True:
        os.fork()'
hostile hog "memory_mb: 256" 'def execute(inputs):
    b = bytearray(10 << 30)
    return {"result": len(b)}'
hostile filler "file_mb: 16" 'def execute(inputs):
    with open("/work/big", "wb") as f:
        for i in range(10 << 10):
            f.write(b"x" * (1 << 20))'
hostile flood "output_mb: 4" 'import sys
def execute(inputs):
    for i in range(100):
        sys.stdout.write("y" * (1 << 20))
    return {"result": 1}'
hostile net "timeout_s: 10" 'import socket
def execute(inputs):
    s = socket.socket()
    s.settimeout(3)
    try:
        s.connect(("127.0.0.1", inputs["arg"]))
        return {"result": "connected"}
    except OSError as e:
        return {"result": "refused: " + type(e).__name__}'
hostile snoop "timeout_s: 10" 'def execute(inputs):
    out = {}
    for p in inputs["arg"]:
        try:
            with open(p, "rb") as f:
                out[p] = "read %d bytes" % len(f.read())
        except OSError as e:
            out[p] = "denied"
    return {"result": out}'
hostile scribble "timeout_s: 10" 'def execute(inputs):
    out = {}
    for p in inputs["arg"]:
        try:
            with open(p, "w") as f:
                f.write("pwned")
            out[p] = "written"
        except OSError as e:
            out[p] = "denied"
    return {"result": out}'

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 - "$port" "$T_TMP/connections" <<'EOF' &
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(5); s.settimeout(40)
try:
    c, a = s.accept(); open(sys.argv[2], "w").write("connected\n")
except OSError:
    pass
EOF
listener=$!
echo "secret" > "$T_TMP/bobs-secret"; chown bob "$T_TMP/bobs-secret"; chmod 600 "$T_TMP/bobs-secret"
for h in loop forkbomb hog filler flood; do
	echo "{\"nodes\": [{\"id\": \"h\", \"skill\": \"$h\"}]}" | submit "h-$h" >/dev/null
done
echo "{\"nodes\": [{\"id\": \"h\", \"skill\": \"net\", \"inputs\": {\"arg\": $port}}]}" | submit h-net >/dev/null
echo "{\"nodes\": [{\"id\": \"h\", \"skill\": \"snoop\", \"inputs\": {\"arg\":
 [\"/etc/shadow\", \"$STATE/lock\", \"$T_TMP/bobs-secret\", \"/root/.bashrc\", \"$SK/inc.md\"]}}]}" | submit h-snoop >/dev/null
echo '{"nodes": [{"id": "h", "skill": "scribble", "inputs": {"arg":
 ["/usr/pwned", "/etc/pwned", "/pwned", "/work/../pwned", "/work/in/pwned"]}}]}' | submit h-scribble >/dev/null
echo '{"nodes": [{"id": "a", "skill": "inc", "inputs": {"x": 99}}]}' | submit h-bystander >/dev/null

t_eq "an infinite loop is stopped by the timeout" "failed timeout after 3 s" \
	"$(wait_run h-loop) $(rd h-loop/nodes/h/error)"
t_eq "a fork bomb is stopped and the process limit named" yes \
	"$(wait_run h-forkbomb >/dev/null; rd h-forkbomb/nodes/h/error | grep -q 'process limit 30 reached' && echo yes)"
t_eq "allocating 10 GB hits the memory limit" "failed memory limit 256 MB exceeded" \
	"$(wait_run h-hog) $(rd h-hog/nodes/h/error | head -n 1)"
t_eq "writing 10 GB hits the file size limit" "failed file size limit 16 MB exceeded" \
	"$(wait_run h-filler) $(rd h-filler/nodes/h/error | head -n 1)"
t_eq "printing 100 MB hits the output limit" "failed output limit 4 MB exceeded" \
	"$(wait_run h-flood) $(rd h-flood/nodes/h/error | head -n 1)"
t_eq "and stdout keeps only the first 4 MB" yes \
	"$(sz=$(as alice stat -c %s "$RUN/h-flood/nodes/h/stdout"); [ "$sz" -le $((4 << 20)) ] && [ "$sz" -gt 0 ] && echo yes)"
wait_run h-net >/dev/null
t_eq "a connection to 127.0.0.1 fails inside the sandbox" yes \
	"$(rd h-net/outputs/h/result | grep -q '^refused' && echo yes)"
kill $listener 2>/dev/null; wait $listener 2>/dev/null
t_eq "and the listener saw no connection" no "$([ -e "$T_TMP/connections" ] && echo yes || echo no)"
wait_run h-snoop >/dev/null
t_eq "/etc/shadow, the state folder, bob's files, /root and the mount are out of reach" \
	"denied denied denied denied denied" \
	"$(rd h-snoop/outputs/h/result | jq -r '.["/etc/shadow"], .["'"$STATE"'/lock"], .["'"$T_TMP"'/bobs-secret"], .["/root/.bashrc"], .["'"$SK"'/inc.md"]' | xargs)"
wait_run h-scribble >/dev/null
t_eq "writes outside the work folder fail" "denied denied denied denied denied" \
	"$(rd h-scribble/outputs/h/result | jq -r '.["/usr/pwned"], .["/etc/pwned"], .["/pwned"], .["/work/../pwned"], .["/work/in/pwned"]' | xargs)"
t_eq "and nothing was written on the host" "" "$(ls /usr/pwned /etc/pwned /pwned 2>/dev/null)"
t_eq "a run beside the hostile ones succeeds" "succeeded 100" \
	"$(wait_run h-bystander) $(rd h-bystander/outputs/a/y)"
t_eq "no process of alice is left" "" "$(left_over)"
t_eq "the daemon is still serving" yes "$(mountpoint -q "$MNT" && [ -d "$MNT/system" ] && echo yes)"

# --- records across a remount --------------------------------------------------------
# three independent nodes, jobs = 2: one is still queued at the unmount
echo '{"nodes": [{"id": "s", "skill": "slow", "inputs": {"x": 6, "secs": 60}},
 {"id": "u", "skill": "slow", "inputs": {"x": 7, "secs": 60}},
 {"id": "v", "skill": "slow", "inputs": {"x": 8, "secs": 60}}]}' | submit interrupted >/dev/null
for i in $(seq 50); do [ "$(node_status interrupted s)" = running ] && break; sleep 0.1; done
echo 'not a record' >"$STATE/runs/alice/stray"
lfs_umount >/dev/null
lfs_mount || { t_fail "remount"; t_done; exit 1; }
t_eq "a finished run survives a remount" "succeeded 4" "$(rd chain/status) $(rd chain/outputs/c/y)"
t_eq "a run that was running is failed, with the reason" "failed" "$(wait_run interrupted)"
t_eq "the reason says the daemon stopped" yes \
	"$(rd interrupted/error | grep -q 'the daemon stopped while the run was running' && echo yes)"
t_eq "its node is no longer running" failed "$(node_status interrupted s)"
t_eq "the node that never started is not left queued" "cancelled failed failed" \
	"$(for n in s u v; do node_status interrupted $n; done | sort | xargs)"
t_eq "a stray file in the state's runs is not a run" "" "$(as alice ls "$RUN" | grep -x stray)"
rm -f "$STATE/runs/alice/stray"
submit chain6 < <(rd chain/graph.json)
t_eq "the cache survives a remount" "cached cached cached" \
	"$(wait_run chain6 >/dev/null; for n in a b c; do node_status chain6 $n; done | xargs)"

lfs_umount
t_eq "the daemon exits cleanly, without a sanitizer report" "0 none" \
	"$? $(grep -q 'Sanitizer' "$T_TMP/daemon.log" && echo reported || echo none)"
t_done
