#!/usr/bin/env bash
# tests/t-access.sh: who may read and write what (DESIGN.md section 2).
#
# The whole matrix: each volume x each user x each operation, with the
# result the rights table gives (an allowed operation, EACCES where only
# reading is allowed, ENOENT under a user folder the caller may not read).
# Every cell starts from fresh fixtures made by root (an admin), runs one
# operation through build/tests/fsop as the user (with the user's groups),
# and then checks as root that the operation had its effect, or none.
# Then: which user folders each user sees, the fixed tree, supplementary
# groups, owners and chown.
set -u
source "$(dirname "$0")/lib.sh"

t_begin
lfs_require

lfs_users
# A system account (outside the login uid range) that the configuration
# names in users = gets a user folder too.
getent passwd llmbot >/dev/null ||
	useradd -r -M -U -s /usr/sbin/nologin llmbot 2>/dev/null ||
	getent passwd llmbot >/dev/null ||
	t_skip_all "cannot create the system account llmbot"
lfs_config "users = llmbot"

# A system seed with one skill: seeded files belong to root, everyone reads.
SYSTEM_SKILLS=$T_TMP/seed
mkdir -p "$SYSTEM_SKILLS"
printf '# hello\n' >"$SYSTEM_SKILLS/hello.md"

if ! lfs_mount; then
	t_fail "access: mount llmunixfs"
	t_done
	exit 1
fi

BOB_IDS="$(id -u bob):$(id -g bob)"
# The login accounts (UID_MIN..UID_MAX), as the daemon saw them when it started.
uid_min=$(awk '$1 == "UID_MIN" { print $2 }' /etc/login.defs)
uid_max=$(awk '$1 == "UID_MAX" { print $2 }' /etc/login.defs)
all_users=$( (getent passwd | awk -F: -v lo="${uid_min:-1000}" -v hi="${uid_max:-60000}" \
	'$3 >= lo && $3 <= hi { print $1 }'; echo llmbot) | sort -u | tr '\n' ' ')

# --- the rights table, compactly --------------------------------------------
USERS="root alice bob carol dave eve"
ADMINS="root dave"
TEAMS="eng:alice,bob research:carol"
VOLUMES="system/skills system/workflows team/eng/skills team/eng/workflows
	team/research/skills user/alice/skills user/alice/workflows
	user/bob/skills user/eve/skills"
READ_OPS="ls cat stat statdir access-r getxattr"
WRITE_OPS="create write otrunc truncate rename unlink mkdir rmdir setxattr
	removexattr chmod utimes touch chown-same chown-give access-w"

is_admin() { [[ " $ADMINS " == *" $1 "* ]]; }

# member TEAM USER: USER is in TEAM according to $TEAMS.
member()
{
	local t
	for t in $TEAMS; do
		[ "${t%%:*}" = "$1" ] && [[ ",${t#*:}," == *",$2,"* ]] && return 0
	done
	return 1
}

# teammates A B: A and B share a team.
teammates()
{
	local t
	for t in $TEAMS; do
		member "${t%%:*}" "$1" && member "${t%%:*}" "$2" && return 0
	done
	return 1
}

# fb [-u USER] OP PATH [ARG...]: run one fsop command in the batch process
# (no fork: thousands of cells stay fast); its one-line answer goes to R.
# bash unsets FB when the coprocess ends: keep its fds and pid.
coproc FB { "$FSOP" -b 2>>"$T_TMP/fsop.log"; }
FB_TO=${FB[1]}
FB_FROM=${FB[0]}
FB_PROC=$FB_PID
fb()
{
	printf '%s\n' "$*" >&"$FB_TO"
	IFS= read -r R <&"$FB_FROM" || R="fsop -b died"
}

# right VOLUME USER: sets RIGHT to rw, r or none.
right()
{
	local vol=$1 u=$2 owner team
	if is_admin "$u"; then
		RIGHT=rw
		return
	fi
	case $vol in
	system/*)
		RIGHT=r ;;
	team/*)
		team=${vol#team/}
		team=${team%%/*}
		if member "$team" "$u"; then RIGHT=rw; else RIGHT=r; fi ;;
	user/*)
		owner=${vol#user/}
		owner=${owner%%/*}
		if [ "$u" = "$owner" ]; then
			RIGHT=rw
		elif teammates "$u" "$owner"; then
			RIGHT=r
		else
			RIGHT=none
		fi ;;
	esac
}

# expect OP RIGHT USER: sets WANT to what fsop prints for OP with RIGHT.
expect()
{
	local op=$1 r=$2
	if [ "$r" = none ]; then
		WANT=ENOENT
		return
	fi
	case $op in
	stat) [ "$r" = rw ] && WANT=0644 || WANT=0444 ;;
	statdir) [ "$r" = rw ] && WANT=0755 || WANT=0555 ;;
	ls | cat | access-r) WANT=OK ;;
	getxattr) WANT=v0 ;;
	chown-give)
		# chown: admins any; others EPERM unless nothing changes.
		if [ "$r" = r ]; then
			WANT=EACCES
		elif is_admin "$3"; then
			WANT=OK
		else
			WANT=EPERM
		fi ;;
	*) [ "$r" = rw ] && WANT=OK || WANT=EACCES ;;
	esac
}

# fsop_cmd OP DIR: sets CMD to the fsop command for OP on the fixtures in DIR.
fsop_cmd()
{
	local d=$2
	case $1 in
	ls) CMD="-q ls $d" ;;
	cat) CMD="-q read $d/f" ;;
	stat) CMD="stat $d/f" ;;
	statdir) CMD="stat $d/d" ;;
	access-r) CMD="access $d/f R" ;;
	access-w) CMD="access $d/f W" ;;
	getxattr) CMD="getxattr $d/f user.test" ;;
	touch) CMD="utimes $d/f" ;;
	chown-same) CMD="chown $d/f 0:0" ;;
	chown-give) CMD="chown $d/f $BOB_IDS" ;;
	create) CMD="create $d/new x" ;;
	write) CMD="write $d/f more" ;;
	otrunc) CMD="overwrite $d/f new" ;;
	truncate) CMD="truncate $d/f 0" ;;
	rename) CMD="rename $d/f $d/g" ;;
	unlink) CMD="unlink $d/f" ;;
	mkdir) CMD="mkdir $d/newdir" ;;
	rmdir) CMD="rmdir $d/d" ;;
	setxattr) CMD="setxattr $d/f v1" ;;
	removexattr) CMD="removexattr $d/f user.test" ;;
	chmod) CMD="chmod $d/f 600" ;;
	utimes) CMD="utimes $d/f 1000000000" ;;
	esac
}

# effect OP DIR: sets FGOT to the state (seen by root) that tells whether OP
# happened.
effect()
{
	local d=$2
	case $1 in
	create) fb read "$d/new" ;;
	write | otrunc | truncate) fb read "$d/f" ;;
	rename)
		fb -q read "$d/f"
		FGOT=$R
		fb read "$d/g"
		R="$FGOT $R" ;;
	unlink) fb -q read "$d/f" ;;
	mkdir) fb type "$d/newdir" ;;
	rmdir) fb type "$d/d" ;;
	setxattr | removexattr) fb getxattr "$d/f" user.test ;;
	chmod) fb stat "$d/f" ;;
	utimes) fb mtime "$d/f" ;;
	touch)
		fb mtime "$d/f"
		[ "$R" = $FIXTURE_MTIME ] && R=unchanged || R="changed to $R" ;;
	chown-same | chown-give) fb owner "$d/f" ;;
	esac
	FGOT=$R
}

# effect_expect OP DONE: sets FWANT to the state after OP when it happened
# (DONE=1) or not (DONE=0).
effect_expect()
{
	local y=$2
	case $1 in
	create) [ "$y" = 1 ] && FWANT=x || FWANT=ENOENT ;;
	write) [ "$y" = 1 ] && FWANT=hellomore || FWANT=hello ;;
	otrunc) [ "$y" = 1 ] && FWANT=new || FWANT=hello ;;
	truncate) [ "$y" = 1 ] && FWANT= || FWANT=hello ;;
	rename) [ "$y" = 1 ] && FWANT='ENOENT hello' || FWANT='OK ENOENT' ;;
	unlink) [ "$y" = 1 ] && FWANT=ENOENT || FWANT=OK ;;
	mkdir) [ "$y" = 1 ] && FWANT=dir || FWANT=ENOENT ;;
	rmdir) [ "$y" = 1 ] && FWANT=ENOENT || FWANT=dir ;;
	setxattr) [ "$y" = 1 ] && FWANT=v1 || FWANT=v0 ;;
	removexattr) [ "$y" = 1 ] && FWANT=ENODATA || FWANT=v0 ;;
	chmod) [ "$y" = 1 ] && FWANT=0600 || FWANT=0644 ;;
	utimes) [ "$y" = 1 ] && FWANT=1000000000 || FWANT=$FIXTURE_MTIME ;;
	touch) [ "$y" = 1 ] && FWANT="changed to $FGOT_MTIME" || FWANT=unchanged ;;
	chown-same) FWANT=0:0 ;;
	chown-give) [ "$y" = 1 ] && FWANT=$BOB_IDS || FWANT=0:0 ;;
	esac
}

# fixture DIR: as root, make DIR hold f ("hello", 0644, user.test=v0, mtime
# $FIXTURE_MTIME) and an empty folder d, and no g, new or newdir. Sets FX to
# what went wrong, or to nothing.
FIXTURE_MTIME=1500000000
fixture()
{
	local d=$1 x
	FX=
	for x in f g new; do
		fb unlink "$d/$x"
	done
	for x in newdir d; do
		fb rmdir "$d/$x"
	done
	fb create "$d/f" hello
	[ "$R" = OK ] || FX="$FX create f: $R;"
	fb mkdir "$d/d"
	[ "$R" = OK ] || FX="$FX mkdir d: $R;"
	fb setxattr "$d/f" v0
	[ "$R" = OK ] || FX="$FX setxattr f: $R;"
	fb utimes "$d/f" $FIXTURE_MTIME
	[ "$R" = OK ] || FX="$FX utimes f: $R;"
}

# --- the matrix ---------------------------------------------------------------
for vol in $VOLUMES; do
	d=$MNT/$vol
	for u in $USERS; do
		right "$vol" "$u"
		for op in $READ_OPS $WRITE_OPS; do
			desc="access $vol $u $op ($RIGHT)"
			fixture "$d"
			if [ -n "$FX" ]; then
				t_fail "$desc" "fixture as root failed:$FX"
				continue
			fi
			expect "$op" "$RIGHT" "$u"
			fsop_cmd "$op" "$d"
			# shellcheck disable=SC2086 # CMD is words, split on purpose
			fb -u "$u" $CMD
			got=$R
			if [ "$got" != "$WANT" ]; then
				t_fail "$desc: expected $WANT, got $got"
				continue
			fi
			case " $READ_OPS access-w " in
			*" $op "*)
				t_pass "$desc: expected $WANT, got $got"
				continue ;;
			esac
			y=0
			[ "$got" = OK ] && y=1
			effect "$op" "$d"
			FGOT_MTIME=${FGOT#changed to }
			effect_expect "$op" $y
			if [ "$FGOT" = "$FWANT" ]; then
				t_pass "$desc: expected $WANT, got $got"
			else
				t_fail "$desc: expected $WANT, got $got, but the effect is wrong" \
					"state seen by root: expected '$FWANT', got '$FGOT'"
			fi
		done
	done
	fixture "$d"
done

# --- ls user/ shows exactly the folders the caller may read -------------------
for u in $USERS; do
	if is_admin "$u"; then
		want=$all_users
	else
		want=
		for o in $all_users; do
			right "user/$o/skills" "$u"
			[ "$RIGHT" = none ] || want="$want$o "
		done
	fi
	got=$("$FSOP" -u "$u" ls "$MNT/user" | tr '\n' ' ')
	t_eq "ls user/ as $u shows exactly the readable user folders" "$want" "$got"
	got=$(as "$u" ls "$MNT/user" 2>&1 | sort | tr '\n' ' ')
	t_eq "ls(1) user/ as $u" "$want" "$got"
done
t_eq "alice sees alice and bob in user/" "alice bob " \
	"$("$FSOP" -u alice ls "$MNT/user" | tr '\n' ' ')"
t_eq "carol sees only carol in user/" "carol " \
	"$("$FSOP" -u carol ls "$MNT/user" | tr '\n' ' ')"
t_eq "eve sees only eve in user/" "eve " \
	"$("$FSOP" -u eve ls "$MNT/user" | tr '\n' ' ')"
t_eq "llmbot (users = llmbot) sees only its own folder" llmbot \
	"$("$FSOP" -u llmbot ls "$MNT/user")"
t_eq "llmbot writes its own skills" "OK bot" \
	"$("$FSOP" -u llmbot create "$MNT/user/llmbot/skills/b" bot) $("$FSOP" -u llmbot read "$MNT/user/llmbot/skills/b")"
t_eq "alice cannot see user/llmbot" ENOENT "$("$FSOP" -u alice type "$MNT/user/llmbot")"
t_eq "llmbot reads system, writes nowhere else" "OK EACCES" \
	"$("$FSOP" -u llmbot -q ls "$MNT/system/skills") $("$FSOP" -u llmbot create "$MNT/team/eng/skills/bot" x)"
t_check_not "cat as carol of user/alice fails" as carol cat "$MNT/user/alice/skills/f"
t_eq "stat as eve of user/bob: ENOENT" ENOENT "$("$FSOP" -u eve type "$MNT/user/bob")"
t_eq "stat as eve of user/eve: dir" dir "$("$FSOP" -u eve type "$MNT/user/eve")"

# A path another user just resolved (so the kernel has it cached) must still
# not resolve for a caller who may not read it.
for v in user/alice/skills user/bob/workflows; do
	owner=${v#user/}
	owner=${owner%%/*}
	fixture "$MNT/$v"
	for u in carol eve; do
		for c in "statfs $MNT/$v/f" "open-path $MNT/$v/f" "access $MNT/$v/f F" \
			"type $MNT/$v/f" "open-path $MNT/${v%/*}"; do
			fb -u "$owner" type "$MNT/$v/f"
			# shellcheck disable=SC2086 # c is words, split on purpose
			fb -u "$u" $c
			t_eq "after $owner's lookup, $u: ${c%% *} ${c#* "$MNT"/}: ENOENT" ENOENT "$R"
		done
		fb -u "$owner" type "$MNT/$v/f"
		t_eq "after $u's ENOENT, $owner still finds $v/f" file "$R"
		fb -u "$u" type "$MNT/$v/f"
		fb -u "$owner" access "$MNT/$v/f" W
		t_eq "after $u's ENOENT, $owner may still write $v/f" OK "$R"
	done
done
t_check_not "after alice's lookup, realpath -e as carol fails" \
	sh -c "'$FSOP' -u alice -q read '$MNT/user/alice/skills/f' >/dev/null &&
		setpriv --reuid=carol --regid=carol --init-groups realpath -e '$MNT/user/alice/skills/f'"

# --- the fixed tree ------------------------------------------------------------
t_eq "ls MOUNT" "agent-skills catalog.json system team user " "$("$FSOP" -u eve ls "$MNT" | tr '\n' ' ')"
t_eq "ls MOUNT/system" "catalog.json history skills workflows " \
	"$("$FSOP" -u eve ls "$MNT/system" | tr '\n' ' ')"
t_eq "ls MOUNT/team" "eng research " "$("$FSOP" -u eve ls "$MNT/team" | tr '\n' ' ')"
t_eq "ls MOUNT/team/eng" "catalog.json history skills workflows " \
	"$("$FSOP" -u eve ls "$MNT/team/eng" | tr '\n' ' ')"
t_eq "ls MOUNT/user/alice as alice" "catalog.json history run sessions skills workflows " \
	"$("$FSOP" -u alice ls "$MNT/user/alice" | tr '\n' ' ')"
t_eq "ls MOUNT/user/alice as bob, her teammate: no run/, no sessions/" "catalog.json history skills workflows " \
	"$("$FSOP" -u bob ls "$MNT/user/alice" | tr '\n' ' ')"

# Changing the fixed tree: "USER OP PATH [ARG] = EXPECTED" lines; EPERM for
# callers with write right there, EACCES for the others. skills/ and
# workflows/ cannot move or go, but writers may set their mode and times
# (tar x of an archive holding "./" does). For the top folders
# (MOUNT, team/, user/) the rights table says nothing about non-admins:
# either refusal is accepted there.
while read -r u op p a1 eq want; do
	[ -n "$u" ] || continue
	if [ "$a1" = = ]; then
		want=$eq
		a1=
	fi
	# shellcheck disable=SC2086 # $a1 is empty or one word
	got=$("$FSOP" -u "$u" "$op" "$MNT/$p" $a1 2>&1)
	desc="fixed tree: $u $op $p${a1:+ $a1}: expected $want, got $got"
	case "|$want|" in
	*"|$got|"*) t_pass "$desc" ;;
	*) t_fail "$desc" ;;
	esac
done <<'EOF'
root mkdir foo = EPERM
root create foo = EPERM
root mkdir system/foo = EPERM
root create system/foo = EPERM
root rmdir system/skills = EPERM
root rmdir system/workflows = EPERM
root rmdir system = EPERM
root chmod system/skills 755 = OK
root chmod system 700 = EPERM
root chmod team 700 = EPERM
root mkdir team/foo = EPERM
root rmdir team/eng = EPERM
root rmdir team/eng/skills = EPERM
root mkdir user/alice/foo = EPERM
root mkdir user/alice/history = EEXIST
root mkdir user/alice/sessions2 = EPERM
root rmdir user/alice/skills = EPERM
root rmdir user/alice = EPERM
root mkdir user/nosuchuser = EPERM
dave rmdir system/skills = EPERM
dave mkdir team/eng/foo = EPERM
alice mkdir foo = EACCES|EPERM
alice mkdir team/foo = EACCES|EPERM
alice mkdir user/foo = EACCES|EPERM
alice mkdir system/foo = EACCES
alice create system/foo = EACCES
alice rmdir system/skills = EACCES
alice chmod system/skills 700 = EACCES
alice mkdir team/eng/foo = EPERM
alice create team/eng/foo = EPERM
alice rmdir team/eng/skills = EPERM
alice chmod team/eng/skills 755 = OK
alice chmod team/eng 700 = EPERM
alice mkdir team/research/foo = EACCES
alice rmdir team/research/skills = EACCES
alice mkdir user/alice/foo = EPERM
alice rmdir user/alice/skills = EPERM
alice chmod user/alice/skills 755 = OK
alice chmod user/alice 700 = EPERM
alice rmdir user/bob/skills = EACCES
carol rmdir user/alice/skills = ENOENT
eve mkdir user/alice/foo = ENOENT
EOF

while read -r u op p dst want; do
	got=$("$FSOP" -u "$u" "$op" "$MNT/$p" "$MNT/$dst" 2>&1)
	t_eq "fixed tree: $u $op $p $dst" "$want" "$got"
done <<'EOF'
root rename system/skills system/x EPERM
root rename team/eng team/x EPERM
alice rename team/eng/skills team/eng/x EPERM
alice rename user/alice/skills user/alice/x EPERM
root rename user/alice user/x EPERM
eve rename system/skills system/x EACCES
EOF
t_eq "fixed tree still whole" "catalog.json history skills workflows " \
	"$("$FSOP" ls "$MNT/system" | tr '\n' ' ')"

# --- stat tells each caller their own rights; test -w tells the truth ----------
fixture "$MNT/team/eng/skills"
f=$MNT/team/eng/skills/f
t_check "test -w as alice on team/eng (member)" as alice test -w "$f"
t_check_not "test -w as carol on team/eng (not a member)" as carol test -w "$f"
t_check "test -r as carol on team/eng" as carol test -r "$f"
t_check "test -w as dave (admin) on system" as dave test -w "$MNT/system/skills/hello.md"
t_check_not "test -w as eve on system" as eve test -w "$MNT/system/skills/hello.md"
t_eq "stat -c %a as alice" 644 "$(as alice stat -c %a "$f")"
t_eq "stat -c %a as carol" 444 "$(as carol stat -c %a "$f")"
t_eq "stat -c %a as alice, then root, then carol again" "644 644 444" \
	"$(as alice stat -c %a "$f") $(stat -c %a "$f") $(as carol stat -c %a "$f")"
# mode_check DESC MODE MASK want-set|want-clear: MODE (octal, or an errno name)
# has any bit of MASK set / none of them.
mode_check()
{
	local desc=$1 m=$2 mask=$3 want=$4
	case $m in
	[0-7][0-7][0-7][0-7]) ;;
	*) t_fail "$desc" "stat gave $m"; return ;;
	esac
	local has="clear"
	[ $((8#$m & 8#$mask)) -ne 0 ] && has="set"
	if [ "$has" = "$want" ]; then
		t_pass "$desc ($m)"
	else
		t_fail "$desc" "mode $m"
	fi
}
mode_check "team/eng/skills writable for alice" \
	"$("$FSOP" -u alice stat "$MNT/team/eng/skills")" 200 set
mode_check "team/eng/skills read-only for carol" \
	"$("$FSOP" -u carol stat "$MNT/team/eng/skills")" 222 clear
mode_check "system/skills read-only for eve" \
	"$("$FSOP" -u eve stat "$MNT/system/skills")" 222 clear
mode_check "system/skills writable for root" \
	"$("$FSOP" stat "$MNT/system/skills")" 200 set
mode_check "user/alice/skills read-only for bob" \
	"$("$FSOP" -u bob stat "$MNT/user/alice/skills")" 222 clear
t_eq "ls -l as carol shows r--r--r--" "-r--r--r--" \
	"$(as carol ls -l "$f" | cut -c1-10)"

# --- seeded system skills ------------------------------------------------------
t_eq "seeded skill readable by eve" "# hello" \
	"$(as eve cat "$MNT/system/skills/hello.md" 2>&1)"
t_eq "seeded skill owned by root" "0:0" "$("$FSOP" owner "$MNT/system/skills/hello.md")"
t_eq "eve cannot edit a seeded skill" EACCES \
	"$("$FSOP" -u eve write "$MNT/system/skills/hello.md" x)"
t_check_not "eve cannot rm a seeded skill (rm)" as eve rm -f "$MNT/system/skills/hello.md"
t_eq "seeded skill intact" "# hello" "$(cat "$MNT/system/skills/hello.md")"

# --- supplementary groups are the caller's, not /etc/group's -----------------
p=$MNT/team/eng/skills
rm -f "$p/sg" "$p/sg2" "$p/sg3"
t_eq "alice with her groups can create in team/eng" OK \
	"$(setpriv --reuid=alice --regid=alice --init-groups "$FSOP" create "$p/sg" x)"
t_eq "alice with groups cleared cannot create in team/eng" EACCES \
	"$(setpriv --reuid=alice --regid=alice --clear-groups "$FSOP" create "$p/sg2" x)"
t_eq "alice with groups cleared cannot write team/eng" EACCES \
	"$(setpriv --reuid=alice --regid=alice --clear-groups "$FSOP" write "$p/sg" y)"
t_eq "alice with groups cleared: stat shows read-only" 0444 \
	"$(setpriv --reuid=alice --regid=alice --clear-groups "$FSOP" stat "$p/sg")"
t_check_not "alice with groups cleared: test -w false" \
	setpriv --reuid=alice --regid=alice --clear-groups test -w "$p/sg"
t_eq "alice with groups cleared sees only alice in user/" alice \
	"$(setpriv --reuid=alice --regid=alice --clear-groups "$FSOP" ls "$MNT/user")"
t_eq "alice with groups cleared is no teammate of bob" ENOENT \
	"$(setpriv --reuid=alice --regid=alice --clear-groups "$FSOP" type "$MNT/user/bob/skills")"
eng_gid=$(getent group eng | cut -d: -f3)
t_eq "eve given group eng by the process can create in team/eng" OK \
	"$(setpriv --reuid=eve --regid=eve --groups="$eng_gid" "$FSOP" create "$p/sg3" x)"
t_eq "eve given group eng sees alice, bob and eve in user/" "alice bob eve " \
	"$(setpriv --reuid=eve --regid=eve --groups="$eng_gid" "$FSOP" ls "$MNT/user" | tr '\n' ' ')"
rm -f "$p/sg4"
t_eq "alice with eng as her primary group (sg eng) can create in team/eng" OK \
	"$(setpriv --reuid=alice --regid="$eng_gid" --clear-groups "$FSOP" create "$p/sg4" x)"
admin_gid=$(getent group llmadmin | cut -d: -f3)
t_eq "dave with groups cleared is no admin" EACCES \
	"$(setpriv --reuid=dave --regid=dave --clear-groups "$FSOP" create "$MNT/system/skills/sg" x)"
t_eq "eve given group llmadmin is admin" OK \
	"$(setpriv --reuid=eve --regid=eve --groups="$admin_gid" "$FSOP" create "$MNT/system/skills/sg" x)"
rm -f "$MNT/system/skills/sg"

# --- owners and chown ------------------------------------------------------------
alice_ids="$(id -u alice):$(id -g alice)"
bob_ids="$(id -u bob):$(id -g bob)"
rm -f "$p/own"
"$FSOP" -u alice create "$p/own" x >/dev/null
t_eq "a file alice created is owned by alice" "$alice_ids" "$("$FSOP" owner "$p/own")"
t_eq "ls -l shows alice as owner" alice "$(as bob stat -c %U "$p/own")"
t_eq "alice cannot give her file to bob" EPERM "$("$FSOP" -u alice chown "$p/own" "$bob_ids")"
t_eq "alice may chown to no change" OK "$("$FSOP" -u alice chown "$p/own" "$alice_ids")"
t_eq "carol (reader) chown, no change: EACCES" EACCES \
	"$("$FSOP" -u carol chown "$p/own" "$alice_ids")"
t_eq "dave (admin) can give it to bob" OK "$("$FSOP" -u dave chown "$p/own" "$bob_ids")"
t_eq "owner is now bob" "$bob_ids" "$("$FSOP" owner "$p/own")"
t_eq "root can give it back" OK "$("$FSOP" chown "$p/own" "$alice_ids")"
t_eq "chmod stores the 0777 bits" "OK 0640" \
	"$("$FSOP" -u alice chmod "$p/own" 640) $("$FSOP" -u alice stat "$p/own")"
t_eq "reader sees 0440 after chmod 640" 0440 "$("$FSOP" -u carol stat "$p/own")"
t_eq "chmod 4755 keeps only the 0777 bits" "OK 0755" \
	"$("$FSOP" -u alice chmod "$p/own" 4755) $("$FSOP" -u alice stat "$p/own")"

# --- ordinary tools as ordinary users -----------------------------------------------
t_check "alice echo > team/eng/skills file" as alice sh -c "echo hi > '$p/tool'"
t_check_not "carol echo >> team/eng/skills file" as carol sh -c "echo hi >> '$p/tool'"
t_check_not "carol rm team/eng/skills file" as carol rm -f "$p/tool"
t_check "bob mv inside team/eng/skills" as bob mv "$p/tool" "$p/tool2"
t_check_not "eve ls user/alice/skills" as eve ls "$MNT/user/alice/skills"
t_check "bob ls user/alice/skills" as bob ls "$MNT/user/alice/skills"
t_check_not "bob touch in user/alice/skills" as bob touch "$MNT/user/alice/skills/bobwashere"
msg=$(as carol sh -c "echo x > '$p/tool2'" 2>&1)
case $msg in
*"ermission denied"*) t_pass "carol's shell says Permission denied" ;;
*) t_fail "carol's shell says Permission denied" "got: $msg" ;;
esac

exec {FB_TO}>&-
wait "$FB_PROC" 2>/dev/null
t_done
