#!/usr/bin/env bash
# shellcheck disable=SC2016 # the bash -c scripts expand their own "$1"
# tests/t-posix.sh: POSIX semantics and errno values in skills/ and
# workflows/ (DESIGN.md section 3): what editors, cp, mv, tar and git rely
# on. Everything runs as alice in her own volume unless said otherwise.
set -u
source "$(dirname "$0")/lib.sh"

t_begin
lfs_require

lfs_users
if ! lfs_mount; then
	t_fail "posix: mount llmunixfs"
	t_done
	exit 1
fi

V=$MNT/user/alice/skills
W=$MNT/user/alice/workflows
E=$MNT/team/eng/skills

# op ARGS...: fsop as alice.
op() { "$FSOP" -u alice "$@" 2>&1; }
# zeros FILE OFFSET LEN: succeeds when LEN bytes at OFFSET of FILE are all 0.
zeros()
{
	local n
	n=$(tail -c +$(($2 + 1)) "$1" | head -c "$3" | tr -d '\0' | wc -c)
	[ "$n" -eq 0 ] && [ "$(tail -c +$(($2 + 1)) "$1" | head -c "$3" | wc -c)" -eq "$3" ]
}
# long N [CHAR]: a name of N bytes.
long() { head -c "$1" /dev/zero | tr '\0' "${2:-n}"; }

# --- create, O_EXCL, O_TRUNC, O_APPEND ------------------------------------------
t_eq "create a new file" OK "$(op create "$V/a" hello)"
t_eq "read it back" hello "$(op read "$V/a")"
t_eq "O_CREAT|O_EXCL on an existing file: EEXIST" EEXIST "$(op create "$V/a" x)"
t_eq "the file is unchanged after EEXIST" hello "$(op read "$V/a")"
t_eq "O_CREAT without O_EXCL on an existing file opens it" OK "$(op open "$V/a" wc)"
t_eq "... and keeps its content" hello "$(op read "$V/a")"
t_eq "O_TRUNC and write" OK "$(op overwrite "$V/a" hi)"
t_eq "content after O_TRUNC" hi "$(op read "$V/a")"
t_eq "O_TRUNC alone empties" "OK 0" "$(op open "$V/a" wt) $(op size "$V/a")"
t_eq "O_APPEND appends" "OK OK abcdef" \
	"$(op overwrite "$V/a" abc) $(op write "$V/a" def) $(op read "$V/a")"
t_eq "O_APPEND writes at the end whatever the offset, across two fds" abc123 \
	"$(op append-check "$V/ap")"
t_check "shell >> appends" as alice sh -c "echo one > '$V/sh' && echo two >> '$V/sh'"
t_eq "shell > and >> content" "one two" "$(tr '\n' ' ' <"$V/sh" | sed 's/ $//')"
t_eq "empty file reads empty" "OK " "$(op create "$V/empty") $(op read "$V/empty")"

# --- pwrite, holes, truncate ---------------------------------------------------------
op create "$V/h" ab >/dev/null
t_eq "pwrite past EOF" OK "$(op pwrite "$V/h" 100000 END)"
t_eq "size after pwrite past EOF" 100003 "$(op size "$V/h")"
t_eq "bytes before the hole kept" ab "$(head -c 2 "$V/h")"
t_check "the hole reads as zeros" zeros "$V/h" 2 99998
t_eq "bytes after the hole" END "$(tail -c 3 "$V/h")"
t_eq "pwrite into the middle" OK "$(op pwrite "$V/h" 50000 MID)"
t_eq "middle bytes" MID "$(tail -c +50001 "$V/h" | head -c 3)"
t_check "zeros around the middle write stay zeros" zeros "$V/h" 50003 49997
t_eq "size unchanged by a write inside" 100003 "$(op size "$V/h")"
t_eq "pwrite at 8 MiB into a fresh file" OK "$(op pwrite "$V/h8" 8388608 Z)"
t_eq "size 8 MiB + 1" 8388609 "$(op size "$V/h8")"
t_check "8 MiB of zeros before it" zeros "$V/h8" 0 8388608

op create "$V/t" abcdef >/dev/null
t_eq "truncate grows" "OK 50" "$(op truncate "$V/t" 50) $(op size "$V/t")"
t_eq "grown file keeps its head" abcdef "$(head -c 6 "$V/t")"
t_check "grown part reads as zeros" zeros "$V/t" 6 44
t_eq "truncate shrinks" "OK abc" "$(op truncate "$V/t" 3) $(op read "$V/t")"
t_eq "ftruncate shrinks" "OK a" "$(op ftruncate "$V/t" 1) $(op read "$V/t")"
t_eq "truncate to 0" "OK 0" "$(op truncate "$V/t" 0) $(op size "$V/t")"
t_eq "truncate of a missing file: ENOENT" ENOENT "$(op truncate "$V/nope" 0)"

# --- rename ------------------------------------------------------------------------------
op create "$V/r1" one >/dev/null
op create "$V/r2" two >/dev/null
t_eq "rename over an existing file" OK "$(op rename "$V/r1" "$V/r2")"
t_eq "target has the new content" one "$(op read "$V/r2")"
t_eq "source is gone" ENOENT "$(op read "$V/r1")"
t_eq "listing after rename" "a ap empty h h8 r2 sh t " \
	"$(op ls "$V" | tr '\n' ' ')"
op mkdir "$V/atomic" >/dev/null
t_eq "rename over a file is atomic for a concurrent reader" OK \
	"$(op rename-atomic "$V/atomic" 300)"
op create "$V/n1" one >/dev/null
op create "$V/n2" two >/dev/null
t_eq "RENAME_NOREPLACE over an existing file: EEXIST" EEXIST \
	"$(op rename-noreplace "$V/n1" "$V/n2")"
t_eq "both files intact after EEXIST" "one two" "$(op read "$V/n1") $(op read "$V/n2")"
t_eq "RENAME_NOREPLACE to a new name" "OK one" \
	"$(op rename-noreplace "$V/n1" "$V/n3") $(op read "$V/n3")"
op mkdir "$V/d1" >/dev/null
op mkdir "$V/d2" >/dev/null
op create "$V/d2/x" x >/dev/null
op create "$V/d1/y" y >/dev/null
t_eq "dir over a non-empty dir: ENOTEMPTY" ENOTEMPTY "$(op rename "$V/d1" "$V/d2")"
t_eq "both dirs intact" "x y" "$(op read "$V/d2/x") $(op read "$V/d1/y")"
op mkdir "$V/d3" >/dev/null
t_eq "dir over an empty dir" OK "$(op rename "$V/d1" "$V/d3")"
t_eq "moved dir keeps its content" "ENOENT y" "$(op type "$V/d1") $(op read "$V/d3/y")"
op create "$V/ff" f >/dev/null
t_eq "file over a dir: EISDIR" EISDIR "$(op rename "$V/ff" "$V/d2")"
t_eq "dir over a file: ENOTDIR" ENOTDIR "$(op rename "$V/d3" "$V/ff")"
t_eq "nothing changed" "f x y" \
	"$(op read "$V/ff") $(op read "$V/d2/x") $(op read "$V/d3/y")"
t_eq "dir into its own subdir: EINVAL" EINVAL "$(op rename "$V/d3" "$V/d3/sub")"
t_eq "rename of a missing file: ENOENT" ENOENT "$(op rename "$V/nope" "$V/nope2")"
t_eq "rename a file into a subdir" "OK f" \
	"$(op rename "$V/ff" "$V/d2/ff") $(op read "$V/d2/ff")"
t_check "mv(1) a folder with content" as alice mv "$V/d2" "$V/d4"
t_eq "content under the moved folder" "x f" "$(op read "$V/d4/x") $(op read "$V/d4/ff")"

t_eq "an fd opened before its parent folder moved keeps writing to the file" \
	"one|more|ENOENT" "$(as alice bash -c 'mkdir -p "$1/sub/deeper" &&
		echo one > "$1/sub/deeper/f" && exec 7>>"$1/sub/deeper/f" &&
		mv "$1" "$2" && echo more >&7 && exec 7>&- &&
		tr "\n" "|" < "$2/sub/deeper/f"; test -e "$1" && echo exists || echo ENOENT' \
		- "$V/pd" "$V/pe" 2>&1)"
t_eq "new files in the moved folder" "OK x" \
	"$(op create "$V/pe/sub/new" x) $(op read "$V/pe/sub/new")"
t_eq "a folder moved twice, then its old names" "OK OK ENOENT ENOENT x" \
	"$(op rename "$V/pe" "$V/pf") $(op rename "$V/pf/sub" "$V/psub") $(op type "$V/pe") $(op type "$V/pf/sub") $(op read "$V/psub/new")"

# --- across volumes: EXDEV; mv(1) copies instead ------------------------------------
op create "$V/x1" cross >/dev/null
t_eq "rename user/alice/skills -> team/eng/skills: EXDEV" EXDEV \
	"$(op rename "$V/x1" "$E/x1")"
t_eq "rename skills/ -> workflows/ in one volume: EXDEV" EXDEV \
	"$(op rename "$V/x1" "$W/x1")"
t_eq "rename team/eng/skills -> user/alice/skills: EXDEV" EXDEV \
	"$(op create "$E/x2" z >/dev/null; op rename "$E/x2" "$V/x2")"
t_eq "rename workflows/ -> skills/: EXDEV" EXDEV \
	"$(op create "$W/x3" z >/dev/null; op rename "$W/x3" "$V/x3")"
t_eq "source still there after EXDEV" cross "$(op read "$V/x1")"
t_check "mv(1) across volumes falls back to copying" as alice mv "$V/x1" "$E/x1"
t_eq "moved across volumes" "cross ENOENT" "$(op read "$E/x1") $(op read "$V/x1")"

# --- mkdir, rmdir, unlink -------------------------------------------------------------
op mkdir "$V/ne" >/dev/null
op create "$V/ne/f" x >/dev/null
t_eq "mkdir of an existing dir: EEXIST" EEXIST "$(op mkdir "$V/ne")"
t_eq "mkdir over an existing file: EEXIST" EEXIST "$(op mkdir "$V/a")"
t_eq "rmdir of a non-empty dir: ENOTEMPTY" ENOTEMPTY "$(op rmdir "$V/ne")"
t_eq "rmdir of a file: ENOTDIR" ENOTDIR "$(op rmdir "$V/a")"
t_eq "unlink of a dir: EISDIR" EISDIR "$(op unlink "$V/ne")"
t_eq "rmdir after emptying" "OK OK ENOENT" \
	"$(op unlink "$V/ne/f") $(op rmdir "$V/ne") $(op type "$V/ne")"
t_eq "mkdir -p deep" OK "$(as alice mkdir -p "$V/p/q/r/s" 2>&1 && echo OK)"
t_eq "rm -r deep" OK "$(as alice rm -r "$V/p" 2>&1 && echo OK)"
t_eq "unlink of a missing file: ENOENT" ENOENT "$(op unlink "$V/nope")"

# --- unlink of an open file -------------------------------------------------------
t_eq "an unlinked open file keeps reading and writing through its fd" \
	"first second " "$(op unlink-open "$V/uo" | tr '\n' ' ')"
t_eq "the unlinked file is gone" ENOENT "$(op read "$V/uo")"
t_eq "... and not listed" "" "$(op ls "$V" | grep -x uo)"
t_eq "the name can be reused" "OK new" \
	"$(op create "$V/uo" new) $(op read "$V/uo")"

t_eq "rename of an open file: writes after it land in the new name" \
	"first second " "$(op rename-open "$V/ro1" "$V/ro2" | tr '\n' ' ')"
t_eq "... and the old name is gone" ENOENT "$(op type "$V/ro1")"
t_eq "an fd on an unlinked file reads the old content; the new file its own" \
	"old|new" "$(as alice bash -c 'echo old > "$1" && exec 7<"$1" && rm "$1" &&
		echo new > "$1" && echo "$(cat <&7)|$(cat "$1")"' - "$V/re" 2>&1)"
t_eq "an fd open across rename-over reads the replaced content" \
	"one|two" "$(as alice bash -c 'echo one > "$1" && echo two > "$2" &&
		exec 7<"$1" && mv "$2" "$1" && echo "$(cat <&7)|$(cat "$1")"' \
		- "$V/rv1" "$V/rv2" 2>&1)"

# --- wrong types ------------------------------------------------------------------------
t_eq "open a dir for writing: EISDIR" EISDIR "$(op open "$V/d3" w)"
t_eq "open a dir read-write: EISDIR" EISDIR "$(op open "$V/d3" W)"
t_eq "lookup through a file: ENOTDIR" ENOTDIR "$(op read "$V/a/x")"
t_eq "create under a file: ENOTDIR" ENOTDIR "$(op create "$V/a/x")"
t_eq "O_DIRECTORY on a file: ENOTDIR" ENOTDIR "$(op open "$V/a" rd)"
t_eq "ls of a file path as a dir: ENOTDIR" ENOTDIR "$(op ls "$V/a")"

# --- names --------------------------------------------------------------------------------
n255=$(long 255)
n256=$(long 256)
if lfs_long_names; then
	t_eq "a 255-byte name works" OK "$(op create "$V/$n255" long)"
	t_eq "... reads back" long "$(op read "$V/$n255")"
	t_eq "... is listed" "$n255" "$(op ls "$V" | grep -x "$n255")"
	t_eq "a 255-byte dir name works" OK "$(op mkdir "$V/$(long 255 m)")"
	t_eq "a 256-byte name: ENAMETOOLONG (rename)" ENAMETOOLONG \
		"$(op rename "$V/$n255" "$V/$n256")"
fi
t_eq "a 256-byte name: ENAMETOOLONG (create)" ENAMETOOLONG "$(op create "$V/$n256")"
t_eq "a 256-byte name: ENAMETOOLONG (mkdir)" ENAMETOOLONG "$(op mkdir "$V/$n256")"
t_eq "a 256-byte name: ENAMETOOLONG (lookup)" ENAMETOOLONG "$(op read "$V/$n256")"
t_eq "names with spaces, UTF-8 and dashes" "OK x" \
	"$(op create "$V/a b ü -x.md" x) $(op read "$V/a b ü -x.md")"
odd=$'nl\nback\\slash\ttab*?[]'
t_eq "a name with a newline, a backslash, a tab and glob characters" "OK y" \
	"$(op create "$V/$odd" y) $(op read "$V/$odd")"
t_eq "... listed" 1 "$(as alice find "$V" -maxdepth 1 -name 'nl?back*' -printf x | wc -c)"
t_eq "... removed" "OK ENOENT" "$(op unlink "$V/$odd") $(op type "$V/$odd")"
t_eq "names differing only in case are two files" "OK OK lower UPPER" \
	"$(op create "$V/case" lower) $(op create "$V/CASE" UPPER) $(op read "$V/case") $(op read "$V/CASE")"
# deep/ + 9 levels of "/" + 99 bytes: 904 bytes below skills/.
deep=$V/deep
op mkdir "$deep" >/dev/null
lvl=$(long 99 d)
mk=OK
for i in 1 2 3 4 5 6 7 8 9; do
	deep=$deep/$lvl
	r=$(op mkdir "$deep")
	[ "$r" = OK ] || mk="$r at level $i"
done
t_eq "nested folders up to ~900 bytes inside the volume" OK "$mk"
if [ "$LLMUNIX_STORAGE" = vercel ]; then
	# A Vercel Blob pathname is at most 950 bytes, "volumes/user/alice/"
	# included: the store refuses the file when it is stored.
	t_eq "vercel: a file at ~960 bytes inside the volume: ENAMETOOLONG at close" \
		ENAMETOOLONG "$(op create "$deep/$(long 50 f)" deep)"
	t_eq "... and nothing of it is stored" "" \
		"$(lfs_stored "volumes/user/alice/${deep#"$V"/}/$(long 50 f)" 2>/dev/null)"
	as alice rm -f "$deep/$(long 50 f)"
	src=$deep/$(long 10 f)
	op create "$src" deep >/dev/null
else
	src=$deep/$(long 50 f)
	t_eq "a file at ~960 bytes inside the volume" "OK deep" \
		"$(op create "$deep/$(long 50 f)" deep) $(op read "$deep/$(long 50 f)")"
fi
t_eq "a file path of ~1025 bytes: ENAMETOOLONG" ENAMETOOLONG \
	"$(op create "$deep/$(long 120 f)")"
t_eq "a folder path of ~1004 bytes: ENAMETOOLONG" ENAMETOOLONG \
	"$(op mkdir "$deep/$lvl")"
t_eq "rename to a path of ~1025 bytes: ENAMETOOLONG" ENAMETOOLONG \
	"$(op rename "$src" "$deep/$(long 120 f)")"
# "skills/" + "deep" + 9 x 100 = 911 bytes; a name of 88 makes exactly
# 1000 bytes counted from skills/, 89 makes 1001.
if [ "$LLMUNIX_STORAGE" = vercel ]; then
	t_eq "vercel: a path of 1000 bytes from skills/ (1019 from volumes/): ENAMETOOLONG" \
		ENAMETOOLONG "$(op create "$deep/$(long 88 e)")"
	as alice rm -f "$deep/$(long 88 e)"
else
	t_eq "a path of exactly 1000 bytes from skills/ works" OK \
		"$(op create "$deep/$(long 88 e)")"
fi
t_eq "a path of 1001 bytes from skills/: ENAMETOOLONG" ENAMETOOLONG \
	"$(op create "$deep/$(long 89 e)")"
t_check "rm -r of the deep tree" as alice rm -r "$V/deep"

# --- modes and inode numbers -----------------------------------------------------------
t_eq "umask 077 gives a 0600 file" 0600 \
	"$(as alice sh -c "umask 077; echo x > '$V/um'" && op stat "$V/um")"
t_eq "umask 077 gives a 0700 folder" 0700 \
	"$(as alice sh -c "umask 077; mkdir '$V/umd'" && op stat "$V/umd")"
t_eq "mkdir with mode 0750" "OK 0750" "$(op mkdir "$V/m750" 750) $(op stat "$V/m750")"
t_eq "chmod of a folder" "OK 0711" "$(op chmod "$V/m750" 711) $(op stat "$V/m750")"
t_eq "chmod +x of a file" 0755 \
	"$(as alice chmod +x "$V/um" && as alice chmod go+r "$V/um" && op stat "$V/um")"
i1=$(op ino "$V/a")
i2=$(op ino "$V/um")
t_eq "inode number stable across stats" "$i1" "$(op ino "$V/a")"
t_eq "inode number stable across a write" "$i1" \
	"$(op write "$V/a" z >/dev/null; op ino "$V/a")"
t_check "two files have two inode numbers" test "$i1" != "$i2"
t_eq "rename keeps the inode number" "$i2" \
	"$(op rename "$V/um" "$V/um2" >/dev/null; op ino "$V/um2")"

# --- links and special files -------------------------------------------------------
t_eq "symlink: made" OK "$(op symlink "$V/sl" a)"
t_eq "it is a link" symlink "$(op type "$V/sl")"
t_eq "symlink over an existing name: EEXIST" EEXIST "$(op symlink "$V/sl" b)"
t_eq "hard link: EPERM (the stores hold no links)" EPERM "$(op link "$V/a" "$V/hl")"
t_eq "hard link over an existing name: EEXIST" EEXIST "$(op link "$V/a" "$V/sl")"
t_eq "mknod fifo: EPERM" EPERM "$(op mknod-fifo "$V/fifo")"
t_eq "mknod fifo over an existing name: EEXIST" EEXIST "$(op mknod-fifo "$V/a")"
t_eq "nothing created by the refusals" "ENOENT ENOENT" \
	"$(op type "$V/hl") $(op type "$V/fifo")"
t_eq "nlink of a file is 1" 1 "$(op nlink "$V/a")"

# --- extended attributes ---------------------------------------------------------------
t_eq "setxattr user.color" OK "$(op setxattr "$V/a" blue user.color)"
t_eq "getxattr user.color" blue "$(op getxattr "$V/a" user.color)"
t_eq "replace user.color" "OK red" \
	"$(op setxattr "$V/a" red user.color) $(op getxattr "$V/a" user.color)"
t_eq "listxattr" user.color "$(op listxattr "$V/a" | grep '^user\.')"
t_eq "removexattr" "OK ENODATA" \
	"$(op removexattr "$V/a" user.color) $(op getxattr "$V/a" user.color)"
t_eq "removexattr of a missing one: ENODATA" ENODATA "$(op removexattr "$V/a" user.color)"
t_eq "getxattr of a missing one: ENODATA" ENODATA "$(op getxattr "$V/a" user.nope)"
# An S3 object carries at most 2 KB of metadata, xattrs included.
n=2000
if [ "$LLMUNIX_STORAGE" = s3 ]; then
	t_eq "S3: a 2000-byte value does not fit in an object's 2 KB of metadata: ENOSPC" \
		"ENOSPC ENODATA" \
		"$(op setxattr "$V/a" "$(long 2000 v)" user.big) $(op getxattr "$V/a" user.big)"
	n=1500
fi
big=$(long $n v)
t_eq "a $n-byte value" "OK $big" \
	"$(op setxattr "$V/a" "$big" user.big) $(op getxattr "$V/a" user.big)"
t_eq "user.* on a directory" "OK dirv" \
	"$(op setxattr "$V/d3" dirv user.d) $(op getxattr "$V/d3" user.d)"
got=$("$FSOP" setxattr "$V/a" v trusted.x)
case $got in
EOPNOTSUPP | EPERM) t_pass "trusted.* refused as root: $got" ;;
*) t_fail "trusted.* refused as root" "expected EOPNOTSUPP or EPERM, got $got" ;;
esac
got=$(op setxattr "$V/a" v trusted.x)
case $got in
EOPNOTSUPP | EPERM) t_pass "trusted.* refused as alice: $got" ;;
*) t_fail "trusted.* refused as alice" "expected EOPNOTSUPP or EPERM, got $got" ;;
esac
got=$("$FSOP" setxattr "$V/a" v security.x)
case $got in
EOPNOTSUPP | EPERM) t_pass "security.* refused as root: $got" ;;
*) t_fail "security.* refused as root" "expected EOPNOTSUPP or EPERM, got $got" ;;
esac
t_eq "no trusted.* or security.* attribute appeared" "" \
	"$("$FSOP" listxattr "$V/a" | grep -v '^user\.')"
t_check "setfattr(1) user.tool" as alice setfattr -n user.tool -v yes "$V/a"
t_eq "getfattr(1) user.tool" yes \
	"$(as alice getfattr --absolute-names --only-values -n user.tool "$V/a" 2>&1)"

# --- times, statfs, fsync -------------------------------------------------------------
t_check "touch -d sets mtime" as alice touch -d '2001-02-03 04:05:06 UTC' "$V/a"
t_eq "mtime as set by touch -d" 981173106 "$(op mtime "$V/a")"
t_eq "utimensat with explicit times" "OK 1234567890" \
	"$(op utimes "$V/a" 1234567890) $(op mtime "$V/a")"
t_eq "touch -a leaves mtime alone" 1234567890 \
	"$(as alice touch -a "$V/a" && op mtime "$V/a")"
t_eq "touch -m -d sets mtime" 981173106 \
	"$(as alice touch -m -d '2001-02-03 04:05:06 UTC' "$V/a" && op mtime "$V/a")"
op utimes "$V/a" >/dev/null
m=$(op mtime "$V/a")
t_check "utimensat(NULL) sets mtime to now" test "$m" -gt 1234567890
op utimes "$V/t" 1234567890 >/dev/null
op write "$V/t" more >/dev/null
m=$(op mtime "$V/t")
t_check "a write updates mtime" test "$m" -gt 1234567890
t_check "df on the mount" as alice df "$MNT"
t_check "df on a volume" as alice df "$V"
nm=$(op statfs "$V")
t_check "statfs f_namemax >= 255" test "$nm" -ge 255
t_eq "fsync and fdatasync" "OK synced" "$(op fsync "$V/fs" synced) $(op read "$V/fs")"
t_check "dd conv=fsync" as alice dd if=/dev/zero of="$V/dd" bs=64k count=4 conv=fsync status=none
t_eq "dd size" 262144 "$(op size "$V/dd")"
t_check "sync -f on a file" as alice sync -f "$V/fs"
t_eq "fsync of a file opened read-only" OK "$(op fsync-ro "$V/fs")"
t_eq "fsync of a directory" OK "$(op fsync-ro "$V")"

# --- a big directory --------------------------------------------------------------------
op mkdir "$V/many" >/dev/null
t_check "create 5000 files" as alice bash -c \
	"cd '$V/many' && for i in \$(seq 1 5000); do : > f\$i || exit 1; done"
t_eq "ls lists all 5000" 5000 "$(as alice ls "$V/many" | wc -l)"
t_eq "and exactly those names" "" \
	"$(diff <(as alice ls "$V/many" | sort) <(seq 1 5000 | sed 's/^/f/' | sort) | head -5)"
t_eq "fsop readdir agrees" 5000 "$(op ls "$V/many" | wc -l)"
t_eq "find agrees" 5000 "$(as alice find "$V/many" -type f | wc -l)"
t_eq "stat of the last one" 0 "$(op size "$V/many/f5000")"

# --- concurrency: parallel creates, appends and removes in one folder ----------------
# wait_pids: wait for the jobs in $pids (a bare wait would wait for the
# daemon too).
wait_pids()
{
	local p
	for p in $pids; do
		wait "$p"
	done
	pids=
}
op mkdir "$V/par" >/dev/null
pids=
for k in 1 2 3 4; do
	as alice bash -c 'for i in $(seq 1 300); do : > "$1/p$2-$i" || exit 1; done' \
		- "$V/par" "$k" &
	pids="$pids $!"
done
wait_pids
t_eq "4 parallel writers create 1200 files, all listed" 1200 "$(op ls "$V/par" | wc -l)"
for k in 1 2; do
	as alice bash -c 'for i in $(seq 1 300); do
		echo "line-$2-$i-xxxxxxxxxxxxxxxxxxxx" >> "$1" || exit 1; done' - "$V/par/log" "$k" &
	pids="$pids $!"
done
wait_pids
t_eq "2 parallel O_APPEND writers: 600 lines" 600 "$(wc -l <"$V/par/log")"
t_eq "... every line whole" 600 \
	"$(grep -cE '^line-[12]-[0-9]+-x{20}$' "$V/par/log")"
for k in 1 2 3 4; do
	as alice bash -c 'for i in $(seq 1 300); do rm "$1/p$2-$i" || exit 1; done' \
		- "$V/par" "$k" &
	pids="$pids $!"
done
wait_pids
t_eq "4 parallel removers leave only the log" log "$(op ls "$V/par")"

# --- mmap, big files ------------------------------------------------------------------------
printf 'mapped content\n' >"$T_TMP/m"
as alice cp "$T_TMP/m" "$V/m"
t_eq "mmap read" "mapped content" "$(op mmap-read "$V/m")"
if command -v python3 >/dev/null && python3 -c 'import mmap' 2>/dev/null; then
	t_eq "mmap read with python3 (as root)" "mapped content" \
		"$(python3 -c 'import mmap,sys
f = open(sys.argv[1], "rb")
m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
sys.stdout.write(m[:].decode())' "$V/m")"
fi
head -c $((20 * 1024 * 1024)) /dev/urandom >"$T_TMP/big"
chmod 0644 "$T_TMP/big"
t_check "cp a 20 MiB file in" as alice cp "$T_TMP/big" "$V/big"
t_check "20 MiB file round-trips (cmp)" as alice cmp "$T_TMP/big" "$V/big"
t_eq "20 MiB size" $((20 * 1024 * 1024)) "$(op size "$V/big")"
kb=$(as alice du -k "$V/big" | cut -f1)
t_check "du counts the 20 MiB file (du -k >= 19000)" test "${kb:-0}" -ge 19000
t_check "20 MiB read through mmap" cmp "$T_TMP/big" <("$FSOP" -u alice mmap-read "$V/big")
t_check "overwrite in place with dd (no truncate)" as alice \
	dd if=/dev/zero of="$V/big" bs=4096 seek=1000 count=1 conv=notrunc status=none
dd if=/dev/zero of="$T_TMP/big" bs=4096 seek=1000 count=1 conv=notrunc status=none
t_check "in-place overwrite lands" cmp "$T_TMP/big" "$V/big"
mkdir -m 0777 "$T_TMP/out"
t_check "copy out" as alice cp "$V/big" "$T_TMP/out/big"
t_check "... is the same" cmp "$T_TMP/big" "$T_TMP/out/big"

# --- workflows/ is a volume like skills/ -------------------------------------------------
t_eq "create in workflows/" "OK {}" "$(op create "$W/g.json" '{}') $(op read "$W/g.json")"
t_eq "rename in workflows/" "OK {}" "$(op rename "$W/g.json" "$W/h.json") $(op read "$W/h.json")"

# --- what persists across unmount and mount ---------------------------------------------
op overwrite "$V/a" persisted >/dev/null
op chmod "$V/a" 600 >/dev/null
op setxattr "$V/a" kept user.keep >/dev/null
op utimes "$V/a" 1111111111 >/dev/null
if lfs_umount; then
	t_pass "daemon exits 0 on unmount"
else
	t_fail "daemon exits 0 on unmount" "$(tail -n 5 "$T_TMP/daemon.log")"
fi
if ! lfs_mount; then
	t_fail "posix: mount again"
	t_done
	exit 1
fi
t_eq "content persists" persisted "$(op read "$V/a")"
t_eq "mode persists" 0600 "$(op stat "$V/a")"
t_eq "mtime persists" 1111111111 "$(op mtime "$V/a")"
t_eq "user.* xattr persists" kept "$(op getxattr "$V/a" user.keep)"
t_eq "a removed xattr stays removed" ENODATA "$(op getxattr "$V/a" user.color)"
t_check "20 MiB file persists" cmp "$T_TMP/big" "$V/big"
t_eq "sparse file persists" "100003 END" "$(op size "$V/h") $(tail -c 3 "$V/h")"
lfs_long_names &&
	t_eq "255-byte name persists" long "$(op read "$V/$n255")"
t_eq "5000 files persist" 5000 "$(op ls "$V/many" | wc -l)"
t_eq "a reused name persists" new "$(op read "$V/uo")"
t_eq "renamed dir persists" y "$(op read "$V/d3/y")"

# --- the store holds plain files, at the keys of DESIGN.md section 8 -------------------
k=volumes/user/alice/skills
t_eq "store: content at volumes/user/alice/skills/a" persisted \
	"$(lfs_stored "$k/a" 2>&1)"
if lfs_local_store; then
	b=$STATE/blobs/$k
	t_eq "state: mode and mtime on the plain file" "600 1111111111" \
		"$(stat -c '%a %Y' "$b/a" 2>&1)"
	t_eq "state: user.* xattr on the plain file" kept \
		"$("$FSOP" getxattr "$b/a" user.keep)"
fi
t_check "store: the 20 MiB file" cmp "$T_TMP/big" <(lfs_stored "$k/big")
t_eq "store: team volume at volumes/team/eng/skills" cross \
	"$(lfs_stored volumes/team/eng/skills/x1 2>&1)"
t_eq "store: workflows/ at volumes/user/alice/workflows" "{}" \
	"$(lfs_stored volumes/user/alice/workflows/h.json 2>&1)"

t_check "rm -rf of the big dir" as alice rm -rf "$V/many"
t_eq "big dir gone" ENOENT "$(op type "$V/many")"

t_done
