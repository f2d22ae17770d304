#!/usr/bin/env bash
# tests/t-daemon.sh: command line and lifecycle: --help, --version, bad
# options and config lines (exit 2, "FILE:LINE:" messages, nothing
# mounted), a missing mountpoint, background mode stopped by fusermount3 -u,
# SIGINT to a foreground daemon, FUSE options passed through (ro).
source "$(dirname "$0")/lib.sh"

t_begin
[ "$(id -u)" -eq 0 ] || t_skip_all "needs root (mounts)"
[ -e /dev/fuse ] || t_skip_all "no /dev/fuse"
[ -x "$LLMUNIXFS" ] || t_skip_all "no daemon at $LLMUNIXFS"
command -v timeout >/dev/null || t_skip_all "timeout is not installed"
umask 022
lfs_users
lfs_config
CONF=$T_TMP/llmunix.conf
SEED=$T_TMP/seed
mkdir -p "$SEED"

# run_fg NAME ARG...: run the daemon (time-limited, in case it mounts and
# stays), stdout to $T_TMP/NAME.out, stderr to $T_TMP/NAME.err; sets RC.
# Clears whatever it might have mounted.
run_fg()
{
	local name=$1
	shift
	timeout -k 5 20 "$LLMUNIXFS" "$@" >"$T_TMP/$name.out" 2>"$T_TMP/$name.err" </dev/null
	RC=$?
	MOUNTED=no
	if mountpoint -q "$MNT"; then
		MOUNTED=yes
		fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT"
	fi
}

# --- --help and --version ---
run_fg help --help
t_eq "--help exits 0" 0 "$RC"
t_check "--help prints a usage line" grep -qi 'usage' "$T_TMP/help.out" "$T_TMP/help.err"
t_check "--help names the -o options (state, config, system_skills)" \
	sh -c "cat '$T_TMP/help.out' '$T_TMP/help.err' | grep -q state= &&
		cat '$T_TMP/help.out' '$T_TMP/help.err' | grep -q config= &&
		cat '$T_TMP/help.out' '$T_TMP/help.err' | grep -q system_skills="
run_fg version --version
t_eq "--version exits 0" 0 "$RC"
t_check "--version prints a version number" \
	grep -Eq '[0-9]+\.[0-9]+' "$T_TMP/version.out" "$T_TMP/version.err"

# --- bad options, bad config lines, missing mountpoint: exit 2 ---
OPTS=config=$CONF,state=$T_TMP/state,system_skills=$SEED
run_fg badopt -f -o "$OPTS,no_such_option_xyz" "$MNT"
t_eq "unknown -o option: exit status 2" 2 "$RC"
t_check "unknown -o option: the message names it" grep -q no_such_option_xyz "$T_TMP/badopt.err"
t_eq "unknown -o option: nothing mounted" no "$MOUNTED"

# bad_conf NAME LINE3 DESC: a config whose line 3 is LINE3 is refused.
bad_conf()
{
	local name=$1 line=$2 desc=$3 conf=$T_TMP/$1.conf
	printf '# line 1: a comment\nteams = eng, research\n%s\nadmin_group = llmadmin\n' \
		"$line" >"$conf"
	[ "$name" = badgroup ] &&
		printf '# line 1: a comment\nteams = eng, research\n%s\n' "$line" >"$conf"
	run_fg "$name" -f -o "config=$conf,state=$T_TMP/state,system_skills=$SEED" "$MNT"
	t_eq "config $desc: exit status 2" 2 "$RC"
	t_check "config $desc: the message says $conf:3" grep -qF "$conf:3" "$T_TMP/$name.err"
	t_eq "config $desc: nothing mounted" no "$MOUNTED"
}
bad_conf badkey 'colour = blue' "unknown key"
bad_conf noeq 'teams eng' "line without '='"
getent group no_such_group_xyz >/dev/null && groupdel no_such_group_xyz
bad_conf badgroup 'admin_group = no_such_group_xyz' "admin_group that does not exist"

run_fg nomnt -f -o "$OPTS"
t_eq "no mountpoint given: exit status 2" 2 "$RC"
t_check "no mountpoint given: a message on stderr" test -s "$T_TMP/nomnt.err"
run_fg gone -f -o "$OPTS" "$T_TMP/no-such-dir"
t_eq "mountpoint that does not exist: exit status 2" 2 "$RC"
t_check "mountpoint that does not exist: a message on stderr" test -s "$T_TMP/gone.err"
t_check_not "mountpoint that does not exist: not created" test -e "$T_TMP/no-such-dir"

# --- background mode (no -f) ---
# daemon_pid: the pid of the llmunixfs process of this test (its config=
# names a file in $T_TMP, unique to this run).
daemon_pid()
{
	local p arg
	for p in /proc/[0-9]*; do
		[ -r "$p/cmdline" ] || continue
		while IFS= read -r -d '' arg; do
			if [ "${arg#*config="$T_TMP"/}" != "$arg" ]; then
				[ "$(readlink "$p/exe")" = "$(readlink -f "$LLMUNIXFS")" ] &&
					echo "${p#/proc/}"
				break
			fi
		done <"$p/cmdline"
	done
}

run_bg()
{
	timeout -k 5 30 "$LLMUNIXFS" "$@" >"$T_TMP/bg.out" 2>"$T_TMP/bg.err" </dev/null
}

run_bg -o "$OPTS" "$MNT"
t_eq "background: the command returns with status 0" 0 $?
t_check "background: mounted when the command returns" mountpoint -q "$MNT"
bgpid=$(daemon_pid)
t_check "background: a daemon process keeps serving" test -n "$bgpid"
t_check "background: the mount works (alice writes and reads)" \
	timeout 20 setpriv --reuid=alice --regid=alice --init-groups --reset-env -- \
	sh -c "echo bg >'$MNT/user/alice/skills/bg.md' && grep -qx bg '$MNT/user/alice/skills/bg.md'"
t_check "background: fusermount3 -u unmounts" fusermount3 -u "$MNT"
if [ -n "$bgpid" ]; then
	for _ in $(seq 1 200); do
		kill -0 "$bgpid" 2>/dev/null || break
		sleep 0.05
	done
	t_check_not "background: the daemon process exits after fusermount3 -u" kill -0 "$bgpid"
	kill "$bgpid" 2>/dev/null
fi
mountpoint -q "$MNT" && umount -l "$MNT"

# A relative mountpoint is taken from the caller's working folder, even
# though the daemon goes to the background.
(
	cd "$T_TMP" || exit 1
	run_bg -o "$OPTS" mnt
)
t_check "background, relative mountpoint: mounted" mountpoint -q "$MNT"
bgpid=$(daemon_pid)
t_check "background, relative mountpoint: the mount works" \
	timeout 20 setpriv --reuid=alice --regid=alice --init-groups --reset-env -- \
	sh -c "echo rel >'$MNT/user/alice/skills/rel.md'"
fusermount3 -u "$MNT" 2>/dev/null
for _ in $(seq 1 200); do
	[ -n "$bgpid" ] && kill -0 "$bgpid" 2>/dev/null || break
	sleep 0.05
done
[ -n "$bgpid" ] && kill "$bgpid" 2>/dev/null
mountpoint -q "$MNT" && umount -l "$MNT"
t_eq "background, relative mountpoint: the state is the given one" "rel" \
	"$(cat "$T_TMP/state/blobs/volumes/user/alice/skills/rel.md" 2>&1)"

# A relative state= is either refused (exit 2, saying why) or taken from
# the caller's folder; never silently somewhere else.
(
	cd "$T_TMP" || exit 1
	run_bg -o "config=$CONF,state=state-rel,system_skills=$SEED" mnt
	echo $? >"$T_TMP/rel.rc"
)
rc=$(cat "$T_TMP/rel.rc")
if [ "$rc" = 0 ]; then
	bgpid=$(daemon_pid)
	timeout 20 setpriv --reuid=alice --regid=alice --init-groups --reset-env -- \
		sh -c "echo rel2 >'$MNT/user/alice/skills/rel2.md'"
	fusermount3 -u "$MNT" 2>/dev/null
	for _ in $(seq 1 200); do
		[ -n "$bgpid" ] && kill -0 "$bgpid" 2>/dev/null || break
		sleep 0.05
	done
	[ -n "$bgpid" ] && kill "$bgpid" 2>/dev/null
	t_eq "background, relative state=: in the caller's folder" "rel2" \
		"$(cat "$T_TMP/state-rel/blobs/volumes/user/alice/skills/rel2.md" 2>&1)"
else
	t_eq "relative state=: refused with exit 2 and a message naming state" "2 yes" \
		"$rc $(grep -q state "$T_TMP/bg.err" && echo yes || echo no)"
fi
mountpoint -q "$MNT" && umount -l "$MNT"

# --- foreground: SIGINT (Ctrl-C) unmounts and exits 0 ---
# A background job of a script starts with SIGINT ignored; a person's
# foreground daemon does not. The wrapper restores the default first.
cat >"$T_TMP/intwrap" <<EOF
#!/bin/sh
exec env --default-signal=INT "$LLMUNIXFS" "\$@"
EOF
chmod 0755 "$T_TMP/intwrap"
if LLMUNIXFS=$T_TMP/intwrap lfs_mount; then
	t_pass "foreground: mounts"
	t_eq "foreground: the state folder is the given one" "bg" \
		"$(cat "$MNT/user/alice/skills/bg.md" 2>&1)"
	pid=$T_PID
	kill -INT "$pid"
	wait "$pid"
	st=$?
	T_PID=
	t_eq "SIGINT: the daemon exits 0" 0 "$st"
	t_check_not "SIGINT: the mountpoint is no longer mounted" mountpoint -q "$MNT"
	mountpoint -q "$MNT" && { fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT"; }
else
	t_fail "foreground: mounts"
fi

# --- FUSE options pass through: -o ro mounts read-only ---
if lfs_mount -o ro; then
	t_check "-o ro: mounted read-only" sh -c "grep -F ' $MNT ' /proc/mounts | grep -q ' ro,'"
	t_eq "-o ro: a write says 'Read-only file system'" yes \
		"$(timeout 20 setpriv --reuid=alice --regid=alice --init-groups --reset-env -- \
			sh -c "echo x >'$MNT/user/alice/skills/ro.md'" 2>&1 | grep -q 'Read-only file system' && echo yes)"
	lfs_umount
	t_eq "-o ro: unmount exits 0" 0 $?
else
	t_fail "-o ro: mounts"
fi

# --- one daemon per state folder ---
if lfs_mount; then
	mkdir -p "$T_TMP/mnt2"
	out=$(timeout 20 "$LLMUNIXFS" -f -o "config=$T_TMP/llmunix.conf,state=$STATE" \
		"$T_TMP/mnt2" 2>&1)
	st=$?
	t_eq "a second daemon on the same state folder exits 1" 1 "$st"
	t_eq "it says the state folder is in use" yes \
		"$(printf '%s' "$out" | grep -q "state folder '$STATE' is in use" && echo yes)"
	t_check_not "the second mountpoint is not mounted" mountpoint -q "$T_TMP/mnt2"
	t_check "the first mount still works" sh -c "ls '$MNT/system' >/dev/null"
	lfs_umount
else
	t_fail "one daemon per state folder: mounts"
fi

# --- an account created after the mount gets its volume ---
if lfs_mount; then
	userdel lfslate 2>/dev/null
	t_check_not "before useradd: no user/lfslate" test -e "$MNT/user/lfslate"
	useradd -M -U lfslate
	sleep 1.1	# /etc/passwd is looked at most once a second
	t_eq "after useradd: ls user/ shows lfslate (as root)" yes \
		"$(ls "$MNT/user" | grep -qx lfslate && echo yes)"
	t_check "lfslate can write in its new volume" \
		as lfslate sh -c "echo hi >'$MNT/user/lfslate/skills/late.md'"
	lfs_umount
	userdel lfslate 2>/dev/null
	getent group lfslate >/dev/null && groupdel lfslate
else
	t_fail "late account: mounts"
fi

t_done
