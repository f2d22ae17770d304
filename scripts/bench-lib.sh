# scripts/bench-lib.sh: what the run benchmarks share (sourced by
# bench-run and bench-workflows, bash). The caller sets BENCH (its name,
# for messages), BUSER (the user the runs belong to), OP_TIMEOUT (seconds
# any one operation as that user may take), KEEP (1: keep the folder),
# LLMUNIXFS and SEED (the system skills folder to mount with), then calls
# bench_setup, writes $T/conf, and mount_fs. The EXIT trap unmounts,
# removes the folder and the user when bench_setup created it.

die() { echo "$BENCH: $*" >&2; exit 2; }

is_count() { case $1 in '' | *[!0-9]*) return 1 ;; esac; [ "$1" -gt 0 ]; }

# as CMD...: run CMD as the bench user, with the user's groups; killed
# after OP_TIMEOUT seconds (status 124).
as()
{
	timeout -k 5 "$OP_TIMEOUT" setpriv --reuid="$BUSER" --regid="$BUSER" \
		--init-groups --reset-env -- env LC_ALL=C "$@"
}

# fail MSG...: something could not be run: say what, show the end of the
# daemon's log, exit 1 (the trap unmounts).
fail()
{
	echo "$BENCH: $*" >&2
	if [ -s "$T/log" ]; then
		echo "$BENCH: last lines of the daemon's log:" >&2
		tail -n 15 "$T/log" | sed 's/^/    /' >&2
	fi
	exit 1
}

NOTES=()
note()
{
	local n
	for n in "${NOTES[@]}"; do
		[ "$n" = "$*" ] && return 0
	done
	NOTES+=("$*")
	echo "$BENCH: note: $*" >&2
}

# median "V1 V2 ...": the median of the numbers; fails on none.
median()
{
	# shellcheck disable=SC2086
	printf '%s\n' $1 | sort -g | awk '{ v[NR] = $1 }
		END {
			if (NR == 0) exit 1
			if (NR % 2) print v[(NR + 1) / 2]
			else print (v[NR / 2] + v[NR / 2 + 1]) / 2
		}'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

T=
PID=
CREATED_USER=0

# shellcheck disable=SC2317 # called by the traps
cleanup()
{
	local i
	trap - EXIT INT TERM HUP
	umount_fs
	if [ -n "$T" ]; then
		if [ "$KEEP" = 1 ]; then
			echo "# kept $T"
		else
			rm -rf --one-file-system "$T"
		fi
	fi
	if [ "$CREATED_USER" = 1 ]; then
		# userdel refuses while a process of the user is still exiting
		for i in 1 2 3 4 5 6 7 8 9 10; do
			userdel "$BUSER" 2>/dev/null && break
			sleep 0.3
		done
		getent passwd "$BUSER" >/dev/null &&
			echo "$BENCH: could not remove user '$BUSER':" \
				"$(userdel "$BUSER" 2>&1)" >&2
		getent group "$BUSER" >/dev/null && groupdel "$BUSER" 2>/dev/null
	fi
}

# bench_setup: the folder $T (mount point $T/mnt, state $T/state), the
# traps, and the user when missing.
bench_setup()
{
	trap cleanup EXIT
	trap 'echo "$BENCH: interrupted" >&2; exit 130' INT TERM HUP
	T=$(mktemp -d "/tmp/llmunix-$BENCH.XXXXXX") || die "mktemp failed"
	chmod 0755 "$T"
	MNT=$T/mnt
	mkdir -p "$MNT" "$T/state"
	if ! getent passwd "$BUSER" >/dev/null; then
		useradd -M -U -s /bin/bash "$BUSER" || die "cannot create user '$BUSER'"
		CREATED_USER=1
	fi
}

mount_fs()
{
	local i
	"$LLMUNIXFS" -f -o "state=$T/state,config=$T/conf,system_skills=$SEED" \
		"$MNT" >>"$T/log" 2>&1 &
	PID=$!
	for i in $(seq 1 600); do
		mountpoint -q "$MNT" && [ -d "$MNT/user" ] && return 0
		if ! kill -0 "$PID" 2>/dev/null; then
			wait "$PID" 2>/dev/null
			PID=
			fail "the daemon exited before the mount came up"
		fi
		sleep 0.05
	done
	fail "the mount did not come up within 30 s"
}

# umount_fs: unmount and wait for the daemon (SIGTERM after 10 s).
# shellcheck disable=SC2317 # called by cleanup, from the traps
umount_fs()
{
	local i st
	if grep -qs " $MNT " /proc/mounts; then
		fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
	fi
	[ -n "$PID" ] || return 0
	for i in $(seq 1 200); do
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$PID" 2>/dev/null; then
		note "the daemon did not exit 10 s after the unmount; sent SIGTERM"
		kill -TERM "$PID" 2>/dev/null
	fi
	wait "$PID" 2>/dev/null
	st=$?
	[ "$st" -eq 0 ] || note "the daemon exited with status $st after the unmount"
	PID=
}
