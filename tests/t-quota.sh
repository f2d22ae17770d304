#!/usr/bin/env bash
# tests/t-quota.sh: the per-user disk quota of runs (user_quota_mb) through a
# real mount, as real users: a node that fills out/ fails with the quota's
# message and leaves nothing half written; cached results are evicted least
# recently used first; removing a run frees its room; a graph whose record
# does not fit is refused; one user's use does not count against another's;
# and after a restart the use is measured again. The state folder is
# measured with du, as an administrator would.
set -u
source "$(dirname "$0")/lib.sh"
lfs_require
command -v bwrap >/dev/null || t_skip_all "no bwrap (apt-get install bubblewrap)"
t_begin
lfs_users
QUOTA_MB=64
lfs_config "jobs = 2" "user_quota_mb = $QUOTA_MB" "limit_output_mb = 1"
lfs_mount || { t_fail "mount"; t_done; exit 1; }

RUN=$MNT/user/alice/run
# submit USER NAME: the graph on stdin; prints what close() said
submit() { as "$1" sh -c "cat > '$MNT/user/$1/run/$2.json'" 2>&1; }
wait_run() { as "$1" timeout 120 cat "$MNT/user/$1/run/$2/wait" 2>&1; }
rd() { as "$1" cat "$MNT/user/$1/run/$2" 2>&1; }
# fill USER NAME MB [TAG [CACHE]]: a one-node run writing MB MiB into out/
fill()
{
	printf '{"nodes": [{"id": "f", "skill": "fill", "cache": %s,
	  "inputs": {"mb": %s, "tag": "%s"}}]}\n' "${5:-true}" "$3" "${4:-}" |
		submit "$1" "$2"
}
# used USER: KiB that du counts in the user's records and cache
used() { du -skc "$STATE/runs/$1" "$STATE/cache/$1" 2>/dev/null | tail -n 1 | cut -f1; }
within() { [ "$(used "$1")" -le $((QUOTA_MB * 1024)) ] && echo yes || echo "no: $(used "$1") KiB"; }
quota_msg="disk quota of $QUOTA_MB MB for alice's runs and cache exceeded"

# In team eng's volume, so alice and bob both find it by name.
as alice sh -c "cat > '$MNT/team/eng/skills/fill.md'" <<'EOF'
---
name: Fill
description: Writes a file of the given size into out/.
type: sh
inputs:
  - {name: mb, type: integer, required: true}
  - {name: tag, type: string, default: ""}
outputs:
  - {name: mb, type: integer}
limits: {file_mb: 200}
---
Fills the disk.

```sh
head -c $((INPUT_mb * 1048576)) /dev/zero > out/big.bin
echo "{\"mb\": $INPUT_mb}"
```
EOF

# --- a node that fills out/ past the quota -----------------------------------
fill alice filler 100 >/dev/null
t_eq "a node writing 100 MB into out/ under a 64 MB quota fails" failed \
	"$(wait_run alice filler)"
t_eq "its error says which quota, whose, and what to do" yes \
	"$(rd alice filler/nodes/f/error | grep -F "$quota_msg" | grep -q 'rm -r run/<name>' && echo yes)"
t_eq "the run's error names the node and the quota" yes \
	"$(rd alice filler/error | grep -qF "node 'f': $quota_msg" && echo yes)"
t_eq "nothing of out/ was copied into the record" "" \
	"$(as alice ls -A "$RUN/filler/outputs/f" 2>/dev/null)"
t_eq "nor into the cache" 0 "$(find "$STATE/cache" -mindepth 2 -maxdepth 2 | wc -l)"
t_eq "no half-written record or cache entry is left" "" \
	"$(find "$STATE/runs" "$STATE/cache" -name '.new-*' -o -name '.tmp-*')"
t_eq "the state folder stays within the quota" yes "$(within alice)"
as alice rm -r "$RUN/filler"

# --- nodes running side by side share the room, they do not each see all of it
{
	printf '{"nodes": ['
	for i in 1 2 3 4 5 6 7 8; do
		[ $i = 1 ] || printf ','
		printf '{"id": "p%s", "skill": "fill", "cache": false, "inputs": {"mb": 12, "tag": "p%s"}}' $i $i
	done
	printf ']}\n'
} | submit alice wide >/dev/null
wait_run alice wide >/dev/null
ok=$(for i in 1 2 3 4 5 6 7 8; do rd alice wide/nodes/p$i/status; done | grep -c succeeded)
t_eq "of eight 12 MB nodes, four or five fit in 64 MB" yes \
	"$([ "$ok" -ge 4 ] && [ "$ok" -le 5 ] && echo yes || echo "no: $ok")"
t_eq "the others failed on the quota" $((8 - ok)) \
	"$(for i in 1 2 3 4 5 6 7 8; do rd alice wide/nodes/p$i/error; done | grep -cF "$quota_msg")"
t_eq "the state folder stays within the quota" yes "$(within alice)"
as alice rm -r "$RUN/wide"
t_eq "removing the run gives its room back: du is near nothing" yes \
	"$([ "$(used alice)" -lt 1024 ] && echo yes || echo "no: $(used alice) KiB")"

# --- the cache: least recently used entries go first --------------------------
# runs that each leave a 10 MB result in the cache (the record is removed)
cached_run() # NAME TAG: the node's status
{
	fill alice "$1" 10 "$2" >/dev/null
	wait_run alice "$1" >/dev/null
	rd alice "$1/nodes/f/status"
	as alice rm -r "$RUN/$1"
}
for i in 1 2 3 4 5; do
	t_eq "result t$i is computed" succeeded "$(cached_run c$i t$i)"
done
t_eq "five results of 10 MB fit in 64 MB" 5 \
	"$(find "$STATE/cache/alice" -mindepth 1 -maxdepth 1 | wc -l)"
t_eq "t1 comes from the cache, which makes it the most recent" cached \
	"$(cached_run h1 t1)"
t_eq "result t6 is computed" succeeded "$(cached_run c6 t6)"
t_eq "result t7 is computed" succeeded "$(cached_run c7 t7)"
t_eq "the state folder stays within the quota" yes "$(within alice)"
t_eq "the newest result is still cached" cached "$(cached_run h7 t7)"
t_eq "t1, used after t2 and t3, is still cached" cached "$(cached_run h1b t1)"
t_eq "t2, the least recently used, was evicted: it runs again" succeeded \
	"$(cached_run h2 t2)"
t_eq "no more than 64 MB after all that" yes "$(within alice)"
t_eq "an evicted entry leaves nothing in the cache folder" "" \
	"$(find "$STATE/cache/alice" -mindepth 1 -maxdepth 1 -name '.*')"
# The order of use outlives a restart: t1, stored first but used since,
# must not be the one to go.
lfs_umount
lfs_mount || { t_fail "remount"; t_done; exit 1; }
t_eq "after a restart, result t8 is computed" succeeded "$(cached_run c8 t8)"
t_eq "t1 is still cached: the order of use was kept" cached \
	"$(cached_run h1c t1)"
t_eq "t5, the least recently used, was evicted" succeeded "$(cached_run h5 t5)"
t_eq "the state folder stays within the quota" yes "$(within alice)"

# --- records are the user's: runs fill the quota until one is removed ---------
fill alice k1 25 "" false >/dev/null
fill alice k2 25 "" false >/dev/null
t_eq "two runs keeping 25 MB each succeed" "succeeded succeeded" \
	"$(wait_run alice k1) $(wait_run alice k2)"
fill alice k3 25 "" false >/dev/null
t_eq "a third does not fit: it fails" failed "$(wait_run alice k3)"
t_eq "with the quota's message" yes \
	"$(rd alice k3/nodes/f/error | grep -qF "$quota_msg" && echo yes)"
t_eq "which says how much the records use" yes \
	"$(rd alice k3/nodes/f/error | grep -Eq 'records use 5[0-9]\.[0-9] MB' && echo yes)"
t_eq "the runs kept are whole" "$((25 * 1048576)) $((25 * 1048576))" \
	"$(stat -c %s "$RUN/k1/outputs/f/big.bin" "$RUN/k2/outputs/f/big.bin" | xargs)"
t_eq "the state folder stays within the quota" yes "$(within alice)"

# --- another user is not alice ------------------------------------------------
fill bob b1 40 >/dev/null
t_eq "bob's 40 MB run succeeds while alice is at her quota" succeeded \
	"$(wait_run bob b1)"
t_eq "bob's state stays within his own quota" yes "$(within bob)"

# --- a graph whose record itself does not fit ---------------------------------
as alice sh -c "head -c $((20 * 1048576)) /dev/zero > '$MNT/user/alice/skills/blob.bin'"
as alice sh -c "cat > '$MNT/user/alice/skills/size.md'" <<'EOF'
---
name: Size
description: The size of a file.
type: sh
inputs:
  - {name: f, type: file, required: true}
outputs:
  - {name: bytes, type: integer}
---
Measures.

```sh
echo "{\"bytes\": $(stat -c %s "$INPUT_f")}"
```
EOF
out=$(echo '{"nodes": [{"id": "s", "skill": "size", "inputs": {"f": "user/alice/skills/blob.bin"}}]}' |
	submit alice big-input)
t_eq "a graph with a 20 MB input file is refused: EDQUOT at close" yes \
	"$(echo "$out" | grep -q 'quota exceeded' && echo yes)"
t_eq "its error file says why" yes \
	"$(rd alice big-input/error | grep -F "$quota_msg" | grep -q "this run's record" && echo yes)"
t_eq "its status is failed" failed "$(rd alice big-input/status)"

# --- a restart measures the use again ----------------------------------------
lfs_umount
lfs_mount || { t_fail "remount"; t_done; exit 1; }
fill alice k4 25 "" false >/dev/null
t_eq "after a restart, the records still count: 25 MB more fail" failed \
	"$(wait_run alice k4)"
t_eq "with the quota's message" yes \
	"$(rd alice k4/nodes/f/error | grep -Eq 'records use 5[0-9]\.[0-9] MB' && echo yes)"
as alice rm -r "$RUN/k1"
fill alice k5 25 "" false >/dev/null
t_eq "removing a run frees its room: 25 MB fit again" succeeded \
	"$(wait_run alice k5)"
t_eq "the state folder stays within the quota" yes "$(within alice)"

lfs_umount
t_eq "the daemon exits cleanly, without a sanitizer report" "0 none" \
	"$? $(grep -q 'Sanitizer' "$T_TMP/daemon.log" && echo reported || echo none)"
t_done
