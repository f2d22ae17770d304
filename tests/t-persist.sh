#!/usr/bin/env bash
# tests/t-persist.sh: what users wrote survives unmount and mount: content
# (empty to 1 MiB), nested folders, modes, mtimes, user.* xattrs and owners,
# for alice, bob and root; SIGTERM unmounts cleanly; the system volume is
# seeded from system_skills on the first mount only.
source "$(dirname "$0")/lib.sh"

t_begin
for tool in setfattr getfattr sha256sum timeout; do
	command -v "$tool" >/dev/null || t_skip_all "$tool is not installed"
done
[ "$(id -u)" -eq 0 ] || t_skip_all "needs root (mounts, setpriv)"
[ -e /dev/fuse ] || t_skip_all "no /dev/fuse"
umask 022
lfs_users

# sh_as USER DIR SCRIPT [ARG...]: bash SCRIPT as USER in DIR, time-limited.
sh_as()
{
	local u=$1 d=$2 s=$3
	shift 3
	timeout -k 5 120 setpriv --reuid="$u" --regid="$u" --init-groups \
		--reset-env -- env "T_TMP=$T_TMP" "T_DIR=$d" \
		bash -c "cd \"\$T_DIR\" || exit 1; $s" bash "$@"
}

# manifest DIR: everything a user could notice about the tree under DIR:
# type, mode, owner, size, mtime (ns), sha256 and user.* xattrs (folder
# mtimes: see dirtimes).
manifest()
{
	(
		cd "$1" || exit 1
		find . -mindepth 1 \( -type d -printf 'd %m %u:%g %p\n' \) -o \
			-printf '%y %m %u:%g %s %T@ %p\n' | LC_ALL=C sort
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
		find . -mindepth 1 -print0 | LC_ALL=C sort -z |
			xargs -0 -r getfattr --absolute-names -d -m '^user\.' -e hex 2>&1
	)
}

# dirtimes DIR: the mtime (ns) of every folder under DIR, including those
# that changed because entries were added (mkdir -p a/b/c changes a and b).
dirtimes()
{
	(cd "$1" && find . -type d -printf '%T@ %p\n' | LC_ALL=C sort -k2)
}

# --- 1. a tree of files as alice, bob and root, across unmount/mount ---
if ! lfs_mount; then
	t_fail "the daemon mounts"
	t_done
	exit 1
fi

src=$T_TMP/src
mkdir -p "$src"
head -c 1048576 /dev/urandom >"$src/m1.bin"
head -c 100001 /dev/urandom >"$src/odd.bin"
head -c 4096 /dev/urandom >"$src/k4.bin"
chmod 0644 "$src"/*

A=$MNT/user/alice/skills
B=$MNT/team/eng/skills
S=$MNT/system/skills

t_check "alice writes files, folders, modes, mtimes and xattrs" sh_as alice "$A" '
	set -e
	mkdir -p p/a/b/c/d p/private p/empty-dir
	: >p/empty.md
	printf "small\n" >p/small.md
	cp "$1/m1.bin" "$1/odd.bin" "$1/k4.bin" p/
	printf "deep\n" >p/a/b/c/d/deep.md
	printf "secret\n" >p/private/secret.md
	printf "#!/bin/sh\necho run\n" >p/run.sh
	chmod 0600 p/private/secret.md
	chmod 0755 p/run.sh
	chmod 0700 p/private
	chmod 0640 p/small.md
	setfattr -n user.note -v "hello alice" p/small.md
	setfattr -n user.bin -v 0x00ff10 p/k4.bin
	setfattr -n user.empty p/empty.md
	setfattr -n user.dir -v folder p/a
	touch -d "2001-02-03 04:05:06" p/small.md p/m1.bin
	touch -d "2015-06-07 08:09:10.123456789" p/odd.bin
	touch -d "2003-03-03 03:03:03" p/a/b/c/d p/empty-dir
' "$src"
t_check "alice renames, deletes, truncates" sh_as alice "$A" '
	set -e
	printf "to be renamed\n" >p/old-name.md
	mv p/old-name.md p/a/b/new-name.md
	printf "doomed\n" >p/gone.md
	rm p/gone.md
	mkdir p/gone-dir
	rmdir p/gone-dir
	mkdir p/moved-dir-old
	printf "inside\n" >p/moved-dir-old/in.md
	mv p/moved-dir-old p/moved-dir
	printf "0123456789" >p/trunc.bin
	truncate -s 70000 p/trunc.bin
	cp "$1/odd.bin" p/shrunk.bin
	truncate -s 1000 p/shrunk.bin
	touch -d "2004-04-04 04:04:04" p/trunc.bin p/shrunk.bin p/a/b/new-name.md
'  "$src"
t_check "bob writes in team/eng" sh_as bob "$B" '
	set -e
	mkdir -p p/notes
	chmod 0775 p
	printf "bob was here\n" >p/notes/bob.md
	cp "$1/odd.bin" p/bob.bin
	chmod 0600 p/bob.bin
	chmod 0750 p/notes
	setfattr -n user.owner -v bob p/notes/bob.md
	touch -d "1999-12-31 23:59:59" p/notes/bob.md
' "$src"
t_check "alice writes in team/eng too" sh_as alice "$B" '
	set -e
	printf "alice in team\n" >p/alice.md
	chmod 0664 p/alice.md
'
t_check "root writes in system/skills" sh_as root "$S" '
	set -e
	mkdir -p p
	printf "system file\n" >p/sys.md
	chmod 0644 p/sys.md
	setfattr -n user.kind -v system p/sys.md
'

before_a=$(manifest "$A/p")
before_b=$(manifest "$B/p")
before_s=$(manifest "$S/p")
before_dt=$(dirtimes "$A/p")
t_eq "before unmount: alice's modes" "600 755 700 640" \
	"$(stat -c %a "$A/p/private/secret.md" "$A/p/run.sh" "$A/p/private" "$A/p/small.md" 2>&1 | tr '\n' ' ' | sed 's/ $//')"

lfs_umount
t_eq "unmount: the daemon exits 0" 0 $?
t_check_not "unmount: the mountpoint is no longer mounted" mountpoint -q "$MNT"

# The store holds plain files (contract: volumes/... keys); the local
# store's layout on disk is checked here, an S3 bucket's in t-s3.sh.
t_check "store: alice's 1 MiB file is stored whole at its key" \
	cmp "$src/m1.bin" <(lfs_stored volumes/user/alice/skills/p/m1.bin)
t1=$(date -d "2001-02-03 04:05:06" +%s)
t2=$(date -d "2015-06-07 08:09:10" +%s).123456789
t3=$(date -d "2003-03-03 03:03:03" +%s)
if lfs_local_store; then
	sb=$STATE/blobs/volumes
	t_check "state: alice's 1 MiB file is a plain file with its content" \
		cmp "$src/m1.bin" "$sb/user/alice/skills/p/m1.bin"
	t_eq "state: the stored file keeps mode and mtime" "600 $t1" \
		"$(stat -c '%a' "$sb/user/alice/skills/p/private/secret.md" 2>&1) $(stat -c '%Y' "$sb/user/alice/skills/p/small.md" 2>&1)"
	t_eq "state: user.* xattrs are stored as user.* xattrs" "hello alice" \
		"$(getfattr --absolute-names --only-values -n user.note "$sb/user/alice/skills/p/small.md" 2>&1)"
	t_eq "state: after a clean unmount, it holds exactly alice's files and folders" \
		"$(printf '%s\n' "$before_a" | sed -n 's/^[df] .* \.\/\(.*\)$/\1/p' | LC_ALL=C sort)" \
		"$(cd "$sb/user/alice/skills/p" 2>/dev/null && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort)"
	t_check "state: bob's team file is under volumes/team/eng/skills" \
		test -f "$sb/team/eng/skills/p/notes/bob.md"
	t_check "state: root's file is under volumes/system/skills" \
		test -f "$sb/system/skills/p/sys.md"
fi

if ! lfs_mount; then
	t_fail "the daemon mounts again on the same state"
	t_done
	exit 1
fi
t_eq "after remount: alice's tree is unchanged (content, modes, owners, file mtimes, xattrs)" \
	"$before_a" "$(manifest "$A/p")"
t_eq "after remount: the team tree is unchanged" "$before_b" "$(manifest "$B/p")"
t_eq "after remount: folder mtimes (also those changed by adding entries) are kept" \
	"$before_dt" "$(dirtimes "$A/p")"
t_eq "after remount: the system tree is unchanged" "$before_s" "$(manifest "$S/p")"
t_eq "after remount: 1 MiB file content" "$(sha256sum <"$src/m1.bin")" \
	"$(sha256sum <"$A/p/m1.bin" 2>&1)"
t_eq "after remount: empty file is there and empty" "0" "$(stat -c %s "$A/p/empty.md" 2>&1)"
t_eq "after remount: renamed file and folder are at their new names only" "yes yes no no" \
	"$(for f in a/b/new-name.md moved-dir/in.md old-name.md moved-dir-old; do
		[ -e "$A/p/$f" ] && echo -n "yes " || echo -n "no "; done | sed 's/ $//')"
t_eq "after remount: deleted file and folder stay deleted" "no no" \
	"$([ -e "$A/p/gone.md" ] && echo yes || echo no) $([ -e "$A/p/gone-dir" ] && echo yes || echo no)"
t_eq "after remount: truncated files (grown with a hole, shrunk)" \
	"70000 $(head -c 1000 "$src/odd.bin" | sha256sum | cut -d' ' -f1)" \
	"$(stat -c %s "$A/p/trunc.bin" 2>&1) $(sha256sum <"$A/p/shrunk.bin" 2>&1 | cut -d' ' -f1)"
t_eq "after remount: the hole reads as zeros" "$(printf '0123456789'; head -c 69990 /dev/zero | tr '\0' '\1')" \
	"$(tr '\0' '\1' <"$A/p/trunc.bin" 2>&1)"
t_eq "after remount: modes 0600 0755 0700 0640 0664" "600 755 700 640 664" \
	"$(stat -c %a "$A/p/private/secret.md" "$A/p/run.sh" "$A/p/private" "$A/p/small.md" "$B/p/alice.md" 2>&1 | tr '\n' ' ' | sed 's/ $//')"
t_eq "after remount: mtimes set with touch -d (s and ns)" \
	"$t1 $t2 $t3" \
	"$(stat -c %Y "$A/p/small.md" 2>&1) $(stat -c %.9Y "$A/p/odd.bin" 2>&1) $(stat -c %Y "$A/p/a/b/c/d" 2>&1)"
t_eq "after remount: xattrs read by their owner" "hello alice|0x00ff10|folder" \
	"$(sh_as alice "$A/p" 'printf "%s|%s|%s" "$(getfattr --only-values -n user.note small.md)" "$(getfattr -e hex -n user.bin k4.bin | sed -n "s/^user.bin=//p")" "$(getfattr --only-values -n user.dir a)"' 2>&1)"
t_eq "after remount: owners (alice, bob, alice in team, root)" \
	"alice:alice bob:bob alice:alice root:root" \
	"$(stat -c %U:%G "$A/p/small.md" "$B/p/notes/bob.md" "$B/p/alice.md" "$S/p/sys.md" 2>&1 | tr '\n' ' ' | sed 's/ $//')"
t_eq "after remount: bob reads his file" "bob was here" \
	"$(sh_as bob "$B/p/notes" 'cat bob.md' 2>&1)"
t_check "after remount: alice can still write her files" \
	sh_as alice "$A/p" 'printf "again\n" >>small.md && grep -q again small.md'

# --- 2. SIGTERM unmounts cleanly ---
if [ -n "$T_PID" ]; then
	pid=$T_PID
	kill -TERM "$pid"
	wait "$pid"
	st=$?
	T_PID=
	t_eq "SIGTERM: the daemon exits 0" 0 "$st"
	t_check_not "SIGTERM: the mountpoint is no longer mounted" mountpoint -q "$MNT"
	# clear a dead mount so that the next mount can run
	mountpoint -q "$MNT" && { fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT"; }
	if lfs_mount; then
		t_eq "SIGTERM: the write just before it is kept" "$(printf 'small\nagain')" \
			"$(cat "$A/p/small.md" 2>&1)"
		lfs_umount
		t_eq "unmount after SIGTERM round: the daemon exits 0" 0 $?
	else
		t_fail "mount after SIGTERM"
	fi
fi

# --- 3. system volume seeded from system_skills on the first mount only ---
seed=$T_TMP/seed
mkdir -p "$seed/sub"
printf 'seeded hello\n' >"$seed/hello.md"
printf 'seeded deep\n' >"$seed/sub/deep.md"
chmod 0644 "$seed/hello.md" "$seed/sub/deep.md"
STATE=$T_TMP/state-seed
export SYSTEM_SKILLS=$seed
if ! lfs_mount; then
	t_fail "mount with system_skills on a fresh state"
	t_done
	exit 1
fi
t_eq "seed: first mount copies system_skills into system/skills" \
	"seeded hello|seeded deep" "$(cat "$S/hello.md" 2>&1)|$(cat "$S/sub/deep.md" 2>&1)"
t_eq "seed: seeded files are root's" "root" "$(stat -c %U "$S/hello.md" 2>&1)"
t_check "seed: root deletes a seeded file" rm "$S/hello.md"
t_check "seed: root changes another seeded file" sh -c "printf 'changed\n' >'$S/sub/deep.md'"
lfs_umount
t_eq "seed: unmount exits 0" 0 $?
printf 'added later\n' >"$seed/later.md"
if ! lfs_mount; then
	t_fail "seed: mount again"
	t_done
	exit 1
fi
t_check_not "seed: the deleted seeded file stays deleted" test -e "$S/hello.md"
t_eq "seed: the changed seeded file keeps the change" "changed" "$(cat "$S/sub/deep.md" 2>&1)"
t_check_not "seed: a file added to system_skills later is not copied" test -e "$S/later.md"
lfs_umount
t_eq "seed: second unmount exits 0" 0 $?
t_done
