#!/usr/bin/env bash
# tests/t-history-shared.sh: one history per volume for several hosts
# (issue 14 part 6): two daemons with two state folders and two mount
# points on one s3rver bucket and one redis-server. Objects go to the
# bucket under history/, the heads to Redis under
# history:s3/<bucket>:<volume>:head. SHARED_STORAGE=vercel runs the same
# on one store of tests/vercel-blob-server.js (heads history:vercel:...).
set -u
source "$(dirname "$0")/lib.sh"
t_begin
lfs_require
command -v git >/dev/null || t_skip_all "no git"
command -v python3 >/dev/null || t_skip_all "python3 is not installed"
command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
	t_skip_all "no redis-server or redis-cli (scripts/install-deps installs them)"
LLMUNIX_STORAGE=${SHARED_STORAGE:-s3}
if [ "$LLMUNIX_STORAGE" = s3 ]; then
	[ -x "$S3RVER" ] || t_skip_all "no s3rver at $S3RVER (make check installs it)"
	S3_BUCKET=shared-history
	s3_start || { t_fail "s3rver starts"; t_done; exit 1; }
	BUCKET=$(s3_bucket_of)
	SCOPE=s3/$BUCKET
else
	command -v node >/dev/null || t_skip_all "no node"
	VB_STORE=sharedhistory
	vb_start || { t_fail "the Vercel Blob server starts"; t_done; exit 1; }
	SCOPE=vercel
fi
lfs_users
redis_start || { t_fail "redis-server starts"; t_done; exit 1; }
lfs_config "history_quiet_ms = 200" "redis_url = redis://127.0.0.1:$REDIS_PORT" \
	"redis_timeout = 1" "store_timeout = 5"

# Two hosts: host a|b makes MNT, STATE and T_PID the ones of that host.
declare -A H_MNT=([a]=$T_TMP/mnt [b]=$T_TMP/mntb) \
	H_STATE=([a]=$T_TMP/state [b]=$T_TMP/stateb) H_PID=([a]= [b]=)
CUR=a
host()
{
	H_PID[$CUR]=$T_PID
	CUR=$1
	MNT=${H_MNT[$1]}
	STATE=${H_STATE[$1]}
	T_PID=${H_PID[$1]}
}
mkdir -p "${H_MNT[b]}"
trap 'host b; lfs_umount; host a; t_cleanup' EXIT
host a; lfs_mount || { t_fail "mount host a"; t_done; exit 1; }
host b; lfs_mount || { t_fail "mount host b"; t_done; exit 1; }
host a

EA=${H_MNT[a]}/team/eng
EB=${H_MNT[b]}/team/eng
GA=${H_STATE[a]}/history/team/eng.git
GB=${H_STATE[b]}/history/team/eng.git
head_of() { rcli GET "history:$SCOPE:$1:head"; }
# wait_for SECONDS CMD...: until CMD succeeds (polled every 0.2 s).
wait_for()
{
	local n=$(($1 * 5))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
		n=$((n - 1))
	done
	return 1
}
head_is_not() { [ "$(head_of team/eng)" != "$1" ] && [ -n "$(head_of team/eng)" ]; }
# log_has HOST TEXT: the history/log of team/eng on that host shows TEXT.
log_has() { as alice cat "${H_MNT[$1]}/team/eng/history/log" | grep -q -- "$2"; }
# The keys of the store under a prefix (the first 1,000).
keys_of()
{
	if [ "$LLMUNIX_STORAGE" = s3 ]; then
		s3_req GET "$BUCKET?list-type=2&prefix=$1" "" |
			grep -o '<Key>[^<]*</Key>' | sed 's:<Key>\(.*\)</Key>:\1:'
	else
		curl -sf -H "authorization: Bearer $(vb_token)" -H "x-api-version: 12" \
			"$(vb_api)?limit=1000&prefix=$(jq -rn --arg k "$1" '$k|@uri')" |
			jq -r '.blobs[].pathname'
	fi
}

# --- one history, two hosts ---------------------------------------------------
as alice sh -c "echo from-a > '$EA/skills/a.md'"
t_check "alice's commit on host a sets the shared head" wait_for 10 head_is_not ""
h1=$(head_of team/eng)
as bob sh -c "echo from-b > '$EB/skills/b.md'"
t_check "bob's commit on host b moves it" wait_for 10 head_is_not "$h1"
h2=$(head_of team/eng)
t_check "host a's history/log shows bob's commit from host b" \
	wait_for 10 log_has a "add skills/b.md"
t_check "host b's history/log shows alice's commit from host a" \
	wait_for 10 log_has b "add skills/a.md"
glog() { git --git-dir="$1" log --format='%an|%s' 2>&1; }
t_eq "host a's repository: both commits, right authors, one line" \
	"bob|add skills/b.md
alice|add skills/a.md" "$(glog "$GA")"
t_eq "host b's repository: the same" "$(glog "$GA")" "$(glog "$GB")"
t_eq "both local branches are the shared head" "$h2 $h2" \
	"$(git --git-dir="$GA" rev-parse HEAD) $(git --git-dir="$GB" rev-parse HEAD)"
t_eq "no merges" "" "$(git --git-dir="$GA" rev-list --merges HEAD)"
t_check "git fsck on host a's repository" git --git-dir="$GA" fsck --strict
t_check "git fsck on host b's repository" git --git-dir="$GB" fsck --strict
p=$(printf '%s' "$h1" | cut -c1-6)
t_eq "by-commit/<prefix>/ of host a's commit, read on host b, byte for byte" \
	"$(printf 'from-a\n' | od -c)" \
	"$(as alice cat "$EB/history/by-commit/$p/skills/a.md" | od -c)"
t_eq "history/error is empty on both" "|" \
	"$(as alice cat "$EA/history/error")|$(as alice cat "$EB/history/error")"

# --- the objects in the bucket, out of the volumes' way ------------------------
nobj=$(keys_of "history/team/eng/objects/" | wc -l)
t_check "the objects are in the bucket under history/team/eng/objects/ ($nobj)" \
	test "$nobj" -ge 6
t_eq "and every object of the repository is one of them" "" \
	"$(git --git-dir="$GA" rev-list --objects HEAD | cut -c1-40 |
		while read -r o; do keys_of "history/team/eng/objects/$o" | grep -q . || echo "$o"; done)"
t_eq "no volume shows them" "" \
	"$(find "${H_MNT[a]}" -path '*/history' -prune -o -name '*objects*' -print 2>/dev/null)"
t_eq "nor the mount's top" "" "$(ls "${H_MNT[a]}" | grep -x history)"

# --- both hosts write bursts at once: nothing lost -------------------------------
for i in $(seq 1 15); do
	as alice sh -c "echo a$i > '$EA/skills/burst-a-$i.md'"
	sleep 0.05
done &
pa=$!
for i in $(seq 1 15); do
	as bob sh -c "echo b$i > '$EB/skills/burst-b-$i.md'"
	sleep 0.05
done &
pb=$!
wait $pa $pb
# tree_is_files: the shared head's tree (host a's copy, made to catch up
# by a read of history/) is the list of files in the bucket.
files_in_bucket() { keys_of "volumes/team/eng/skills/" | sed 's:^volumes/team/eng/::' | grep -v '/$' | sort; }
tree_is_files()
{
	as alice cat "$EA/history/log" >/dev/null
	[ "$(git --git-dir="$GA" rev-parse HEAD)" = "$(head_of team/eng)" ] &&
		[ "$(git --git-dir="$GA" ls-tree -r --name-only HEAD | sort)" = "$(files_in_bucket)" ]
}
t_check "after the bursts of both hosts, the head's tree is the files (32)" \
	wait_for 20 tree_is_files
t_eq "32 files" 32 "$(git --git-dir="$GA" ls-tree -r --name-only HEAD | wc -l)"
t_eq "each with its content" "a7 b9" \
	"$(git --git-dir="$GA" show HEAD:skills/burst-a-7.md) $(git --git-dir="$GA" show HEAD:skills/burst-b-9.md)"
t_eq "still one line of commits" "" "$(git --git-dir="$GA" rev-list --merges HEAD)"
t_eq "bob's burst is bob's" "bob" \
	"$(git --git-dir="$GA" log -1 --format=%an -- skills/burst-b-3.md)"
t_check "git fsck on host b after the bursts" sh -c \
	"as alice cat '$EB/history/log' >/dev/null; git --git-dir='$GB' fsck --strict"

# --- Redis hung (SIGSTOP): nothing waits longer than the bounds -------------------
kill -STOP "$REDIS_PID"
sleep 1.1	# past the once-a-second of the last look
# Redis stays hung until both have answered: each must end by its own
# bounds (redis_timeout, the 1.5 s a reader waits for the writer), never
# by Redis answering. The time is printed, not judged (a loaded machine).
t0=$(date +%s%N)
t_check "with Redis hung, history/log answers while it still hangs" \
	as alice timeout 120 cat "$EB/history/log"
t_check "and a write succeeds while it still hangs" \
	as alice timeout 120 sh -c "echo hung > '$EB/skills/hung.md'"
echo "# both took $(( ($(date +%s%N) - t0) / 1000000 )) ms with Redis hung"
kill -CONT "$REDIS_PID"
t_check "once Redis answers, that write is committed" \
	wait_for 30 log_has a "add skills/hung.md"

# --- Redis stopped: files work, history/error says why, commits land later -------
rcli SAVE >/dev/null
redis_stop
t_check "with Redis stopped, a write still succeeds" \
	as alice sh -c "echo while-down > '$EA/skills/down.md'"
t_check "and reads too" as alice cat "$EA/skills/down.md"
err_says() { as alice cat "$EA/history/error" | grep -qi "$1"; }
t_check "history/error says Redis is the trouble" wait_for 10 err_says redis
t_check "history/log still shows this host's view" log_has a "add skills/b.md"
redis_start || t_fail "redis-server starts again"
t_check "once Redis is back, the pending commit lands" \
	wait_for 30 log_has b "add skills/down.md"
t_check "and history/error is cleared" wait_for 10 sh -c \
	"[ -z \"\$(as alice cat '$EA/history/error')\" ]"

# --- a host killed in a burst: its changes are committed on the shared head -----
for i in $(seq 1 10); do as alice sh -c "echo k$i > '$EA/skills/kill-$i.md'"; done
host a
lfs_kill9
lfs_mount || t_fail "host a mounts again after kill -9"
as bob sh -c "echo after > '$EB/skills/after.md'"
t_check "after kill -9 and a remount, the head's tree is the files" \
	wait_for 30 tree_is_files
t_eq "the killed host's changes are there" "k10" \
	"$(git --git-dir="$GA" show HEAD:skills/kill-10.md 2>&1)"
t_eq "one line of commits" "" "$(git --git-dir="$GA" rev-list --merges HEAD)"
t_check "git fsck on host a" git --git-dir="$GA" fsck --strict

t_done
