#!/usr/bin/env bash
# tests/t-realtrees.sh: real trees and real tools (issue 15): times as
# POSIX keeps them, symbolic links, mknod of regular files, derived xattrs
# that copy back, and generated files whose size is what a read gives.
# Each case with the tool that found it, as real users.
set -u
source "$(dirname "$0")/lib.sh"
lfs_require
command -v rsync >/dev/null || t_skip_all "no rsync"
command -v git >/dev/null || t_skip_all "no git"
t_begin
lfs_users
lfs_mount || { t_fail "mount"; t_done; exit 1; }

V=$MNT/user/alice/skills
C=$MNT/user/carol/skills
X=$T_TMP/x
mkdir -m 1777 "$X"
st() { as alice stat -c "$1" "$2" 2>&1; }

# --- times --------------------------------------------------------------------
as alice sh -c "echo hi > '$V/t.md'"
as alice touch -a -d @1900000000 "$V/t.md"
as alice touch -m -d @1950000000 "$V/t.md"
t_eq "touch -a and touch -m set atime and mtime apart" "1900000000 1950000000" \
	"$(st '%X %Y' "$V/t.md")"
as alice mkdir "$V/d"
c0=$(st %Z "$V/d")
sleep 1.1
as alice touch "$V/d/new"
c1=$(st %Z "$V/d")
t_check "a folder's ctime moves when an entry is created" test "$c1" -gt "$c0"
sleep 1.1
as alice mv "$V/d/new" "$V/d/new2"
c2=$(st %Z "$V/d")
t_check "... renamed in it" test "$c2" -gt "$c1"
sleep 1.1
as alice rm "$V/d/new2"
t_check "... and removed" test "$(st %Z "$V/d")" -gt "$c2"
as alice touch -d @1700000000 "$V/t.md"
a0=$(st %X "$V/t.md")
blob=$STATE/blobs/volumes/user/alice/skills/t.md
b0=$(stat -c %Z.%z "$blob" 2>&1)
sleep 0.1
as alice cat "$V/t.md" >/dev/null
a1=$(st %X "$V/t.md")
t_check "a read of a file whose atime is older than its mtime moves atime (relatime)" \
	test "$a1" -gt "$a0"
[ "${LLMUNIX_STORAGE:-local}" = local ] &&
	t_eq "a read writes nothing to the store" "$b0" \
		"$(stat -c %Z.%z "$blob" 2>&1)"
lfs_umount
lfs_mount || { t_fail "remount"; t_done; exit 1; }
if [ "${LLMUNIX_STORAGE:-local}" = local ]; then
	t_eq "an atime moved by a read is stored at unmount" "$a1" \
		"$(st %X "$V/t.md")"
fi
as alice touch -a -d @1900000000 "$V/t.md"
lfs_umount
lfs_mount || { t_fail "remount"; t_done; exit 1; }
if [ "${LLMUNIX_STORAGE:-local}" = local ]; then
	t_eq "atime is kept across a remount" 1900000000 "$(st %X "$V/t.md")"
else
	t_eq "atime after a remount is the mtime on $LLMUNIX_STORAGE (README)" \
		"$(st %Y "$V/t.md")" "$(st %X "$V/t.md")"
fi

# --- symbolic links -----------------------------------------------------------
t_check "ln -s works" as alice ln -s t.md "$V/link.md"
t_eq "readlink gives the target" t.md "$(as alice readlink "$V/link.md")"
t_eq "cat through the link reads the target" hi "$(as alice cat "$V/link.md")"
t_eq "ls -l shows a link" l "$(as alice ls -l "$V/link.md" | cut -c1)"
lfs_umount
lfs_mount || { t_fail "remount"; t_done; exit 1; }
t_eq "a link survives a remount" t.md "$(as alice readlink "$V/link.md")"
t_check "mv renames a link" as alice mv "$V/link.md" "$V/link2.md"
t_check "rm removes it" as alice rm "$V/link2.md"
t_eq "and the target stays" hi "$(as alice cat "$V/t.md")"
as carol sh -c "echo 'carol only' > '$C/secret.txt'"
as alice ln -s "$C/secret.txt" "$V/tocarol"
t_eq "a link to carol's file gives alice nothing" 1 \
	"$(as alice cat "$V/tocarol" 2>&1 | grep -c 'No such file')"
t_eq "carol reads her own file through a link in her volume" "carol only" \
	"$(as carol sh -c "ln -s secret.txt '$C/mine' && cat '$C/mine'" 2>&1)"
t_eq "root reads it through the link" "carol only" "$(cat "$V/tocarol")"
# The daemon never follows a link for a run: a file input through a link
# is not a file.
as alice ln -s ../../carol/skills/secret.txt "$V/via.txt"
as alice sh -c "cat > '$V/readf.md'" <<'EOF'
---
name: Readf
description: Reads a file input and returns its text.
type: python
inputs:
  - {name: f, type: file, required: true}
outputs:
  - {name: text, type: string}
---
Reads.

```python
def execute(inputs):
    return {"text": open(inputs["f"]).read()}
```
EOF
if command -v bwrap >/dev/null; then
	echo '{"nodes": [{"id": "r", "skill": "readf", "inputs": {"f": "user/alice/skills/via.txt"}}]}' |
		as alice sh -c "cat > '$MNT/user/alice/run/via.json'" 2>/dev/null
	t_eq "a run's file input through a link is refused" 1 \
		"$(as alice cat "$MNT/user/alice/run/via/error" 2>&1 | grep -c "no file 'user/alice/skills/via.txt'")"
fi

# tar and rsync of a tree with links (/usr/share/doc has them).
mkdir -p "$X/tree/sub"
echo one > "$X/tree/a"
echo two > "$X/tree/sub/b"
ln -s a "$X/tree/la"
ln -s sub/b "$X/tree/sub/../lb"
ln -s /nonexistent "$X/tree/dangling"
chmod -R a+rX "$X/tree"
tar -C "$X" -cf "$X/tree.tar" tree
t_check "tar x of a tree with links exits 0" as alice tar -C "$V" -xf "$X/tree.tar"
t_eq "and the links are links" "a /nonexistent" \
	"$(as alice readlink "$V/tree/la") $(as alice readlink "$V/tree/dangling")"
t_check "rsync -a of it exits 0" as alice rsync -a "$X/tree/" "$V/tree2/"
t_eq "rsync -a again changes nothing" "" \
	"$(as alice rsync -ai "$X/tree/" "$V/tree2/" 2>&1)"
# git: a repository with a link, cloned into the volume.
as alice sh -c "git init -q '$X/repo' && echo content > '$X/repo/file' &&
	ln -s file '$X/repo/alias' && git -C '$X/repo' add -A &&
	git -C '$X/repo' -c user.name=t -c user.email=t@x commit -qm init"
t_check "git clone of a repository with a link works" \
	as alice git clone -q "$X/repo" "$V/repo"
t_eq "and checks the link out as a link" file "$(as alice readlink "$V/repo/alias")"
t_eq "git status is clean" "" "$(as alice git -C "$V/repo" status --porcelain 2>&1)"

# --- mknod, hard links --------------------------------------------------------
t_check "mknod of a regular file works" as alice python3 -c \
	"import os, stat; os.mknod('$V/made', stat.S_IFREG | 0o644)"
t_eq "it is an empty file" "regular empty file 0" "$(st '%F %s' "$V/made")"
t_eq "mknod of a FIFO: EPERM" 1 \
	"$(as alice mkfifo "$V/fifo" 2>&1 | grep -c 'not permitted')"
t_eq "ln (hard link): EPERM" 1 "$(as alice ln "$V/t.md" "$V/hard" 2>&1 | grep -c 'not permitted')"
mkdir -p "$X/xt"
echo payload > "$X/xt/f.md"
setfattr -n user.note -v kept "$X/xt/f.md"
chmod -R a+rX "$X/xt"
tar --xattrs -C "$X" -cf "$X/xt.tar" xt
t_check "tar --xattrs -x extracts (mknodat of regular files)" \
	as alice tar --xattrs --xattrs-include='user.*' -C "$V" -xf "$X/xt.tar"
t_eq "with the content and the xattr" "payload kept" \
	"$(as alice cat "$V/xt/f.md") $(as alice getfattr -n user.note --only-values "$V/xt/f.md" 2>/dev/null)"

# --- derived xattrs copy back ---------------------------------------------------
cp "$T_TOP/skills/code/fibonacci.md" "$X/fib.md"
chmod a+r "$X/fib.md"
as alice cp "$X/fib.md" "$V/fib.md"
t_check "cp -a out of the mount (user.skill.* come along)" \
	as alice cp -a "$V/fib.md" "$X/fibcopy.md"
t_eq "the copy carries user.skill.name" Fibonacci \
	"$(getfattr -n user.skill.name --only-values "$X/fibcopy.md" 2>/dev/null)"
t_check "cp -a back into the mount exits 0" as alice cp -a "$X/fibcopy.md" "$V/fib2.md"
t_check "rsync -aX back exits 0" as alice rsync -aX "$X/fibcopy.md" "$V/fib3.md"
t_check "mv between volumes exits 0" as alice mv "$V/fib2.md" "$MNT/team/eng/skills/fib2.md"
t_eq "the derived name is the content's" Fibonacci \
	"$(as alice getfattr -n user.skill.name --only-values "$MNT/team/eng/skills/fib2.md" 2>/dev/null)"

# --- generated files report their size -----------------------------------------
cat_size=$(as alice stat -c %s "$MNT/catalog.json")
cat_len=$(as alice cat "$MNT/catalog.json" | wc -c)
t_eq "stat of catalog.json gives the size a read gives" "$cat_len" "$cat_size"
t_check "and it is not empty" test "$cat_len" -gt 100
as alice python3 -c "import shutil; shutil.copyfile('$MNT/catalog.json', '$X/c1.json')"
t_eq "shutil.copyfile copies it whole" "$cat_len" "$(stat -c %s "$X/c1.json")"
as alice python3 -c "
import os
i = os.open('$MNT/catalog.json', os.O_RDONLY)
o = os.open('$X/c2.json', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
n = os.fstat(i).st_size
while os.sendfile(o, i, None, 1 << 20):
    pass
"
t_eq "sendfile copies it whole" "$cat_len" "$(stat -c %s "$X/c2.json")"
as alice cp --reflink=auto "$MNT/catalog.json" "$X/c3.json"
t_eq "cp --reflink=auto copies it whole" "$cat_len" "$(stat -c %s "$X/c3.json")"
v_size=$(as alice stat -c %s "$MNT/user/alice/catalog.json")
t_eq "a volume's catalog.json too" "$(as alice cat "$MNT/user/alice/catalog.json" | wc -c)" "$v_size"

t_done
