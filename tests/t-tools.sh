#!/usr/bin/env bash
# tests/t-tools.sh: real tools, run as real users, inside skills/ folders:
# vim (4913 probe, rename and copy write paths, swap files), sed -i, cp -a,
# tar x, rsync, git init/commit/fsck/clone, mv -f, noclobber (O_EXCL),
# unlink of an open file, and VS Code's truncate-and-write with a reader.
#
# alice works in user/alice/skills, bob in team/eng/skills; bob also edits a
# file that alice created in the team folder, and clones alice's repository.
source "$(dirname "$0")/lib.sh"

t_begin
for tool in vim git rsync tar sed python3 setfattr diff timeout; do
	command -v "$tool" >/dev/null || t_skip_all "$tool is not installed"
done
[ "$(id -u)" -eq 0 ] || t_skip_all "needs root (mounts, setpriv)"
[ -e /dev/fuse ] || t_skip_all "no /dev/fuse"
umask 022
lfs_users
if ! lfs_mount; then
	t_fail "the daemon mounts"
	t_done
	exit 1
fi

# sh_as USER DIR SCRIPT [ARG...]: run the bash SCRIPT as USER (with USER's
# groups, a clean environment and HOME=$T_TMP/home-USER) in DIR; ARGs are
# $1... inside SCRIPT. A time limit turns a hung mount into a failed check.
sh_as()
{
	local u=$1 d=$2 s=$3
	shift 3
	timeout -k 5 120 setpriv --reuid="$u" --regid="$u" --init-groups \
		--reset-env -- env "HOME=$T_TMP/home-$u" "T_TMP=$T_TMP" "T_DIR=$d" \
		bash -c "cd \"\$T_DIR\" || exit 1; $s" bash "$@"
}

# meta DIR: type, mode, size (files) and mtime of everything under DIR.
meta()
{
	(cd "$1" && find . \( -type d -printf 'd %m %T@ %p\n' \) -o \
		\( -type f -printf 'f %m %s %T@ %p\n' \) -o -printf '%y %p\n') |
		LC_ALL=C sort
}

# noise DIR: the editor and tool leftovers in DIR (should be none).
noise()
{
	ls -A "$1" | grep -E '^(4913|.*\.sw[a-px]|.*~|\.#.*|sed[[:alnum:]]{6}|\.fuse_hidden.*)$'
}

# make_tree USER: a source tree outside the mount, owned by USER, with
# assorted modes (0644 0755 0600 0444, dirs 0755 0700), an empty file, a
# 300 KB binary, a user.* xattr and fixed mtimes (one with nanoseconds).
make_tree()
{
	local u=$1 s=$T_TMP/src-$1/tree
	mkdir -p "$s/sub/deep" "$s/empty" "$s/priv"
	printf '# A skill\nhello\n' >"$s/a.md"
	printf '#!/bin/sh\necho hi\n' >"$s/run.sh"
	printf 'secret\n' >"$s/priv/key"
	printf 'read only\n' >"$s/sub/deep/ro.md"
	printf 'deep\n' >"$s/sub/deep/x.md"
	: >"$s/sub/empty.txt"
	head -c 300000 /dev/urandom >"$s/sub/big.bin"
	chmod 0755 "$s/run.sh"
	chmod 0600 "$s/priv/key"
	chmod 0444 "$s/sub/deep/ro.md"
	chmod 0700 "$s/priv"
	setfattr -n user.origin -v "made by $u" "$s/a.md"
	chown -R "$u:$u" "$T_TMP/src-$u"
	find "$s" -exec touch -h -d '2021-03-04 05:06:07' {} +
	touch -d '2019-12-31 23:59:59.123456789' "$s/a.md"
	touch -d '2002-02-02 02:02:02' "$s/sub/big.bin"
	touch -d '2010-10-10 10:10:10' "$s/sub/deep" "$s"
}

cat >"$T_TMP/edit.vim" <<'EOF'
set backupskip= writebackup swapfile
call writefile([swapname('%'), filereadable(swapname('%')) ? 'swap-exists' : 'swap-absent'], $HOME . '/swap.txt')
%s/old/new/
wq
EOF
cat >"$T_TMP/new.vim" <<'EOF'
set backupskip= writebackup swapfile
call setline(1, 'fresh from vim')
wq
EOF

# VS Code's save: open(path, 'r+'), truncate(0), write, close, repeated,
# while another process keeps reading the file. Every read(2) (a version is
# under 4 KiB, so one request) must be a prefix of some version, never a mix
# of two versions or garbage, and after the last close the file holds the
# last version.
cat >"$T_TMP/vscode.py" <<'EOF'
import os, re, select, sys

path, n = sys.argv[1], int(sys.argv[2])


def content(k):
    return ("version %d\n" % k).encode() * (1 + (k * 37) % 300)


def plausible(data):
    if not data:
        return True
    m = re.match(rb"version (\d+)\n", data)
    if m:
        return int(m.group(1)) <= n and content(int(m.group(1))).startswith(data)
    return b"version 0\n".startswith(data[:10]) or any(
        content(k).startswith(data) for k in range(n + 1))


with open(path, "wb") as f:
    f.write(content(0))
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(w)
    reads = bad = 0
    first = None
    while True:
        fd = os.open(path, os.O_RDONLY)
        data = os.read(fd, 1 << 20)   # one read(2): one request, one version
        os.close(fd)
        reads += 1
        if not plausible(data):
            bad += 1
            first = first or (len(data), data[:30], data[-30:])
        if select.select([r], [], [], 0)[0]:
            break
    print("reader: %d reads, %d implausible" % (reads, bad))
    if bad:
        print("first implausible read: %r" % (first,))
    sys.stdout.flush()
    os._exit(1 if bad else 0)
os.close(r)
for k in range(1, n + 1):
    with open(path, "r+b") as f:
        f.truncate(0)
        f.write(content(k))
os.close(w)
_, st = os.waitpid(pid, 0)
with open(path, "rb") as f:
    final = f.read()
ok = final == content(n)
print("final content is version %d: %s" % (n, ok))
sys.exit(0 if ok and os.WEXITSTATUS(st) == 0 else 1)
EOF

# unlink of an open file: the fd keeps reading and writing.
cat >"$T_TMP/unlinked.py" <<'EOF'
import os, sys
p = sys.argv[1]
fd = os.open(p, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, b"before unlink\n")
os.unlink(p)
if os.path.exists(p):
    sys.exit("name still there after unlink")
os.write(fd, b"after unlink\n")
data = os.pread(fd, 100, 0)
os.close(fd)
sys.exit(0 if data == b"before unlink\nafter unlink\n" else "read back %r" % data)
EOF

cat >"$T_TMP/excl.py" <<'EOF'
import errno, os, sys
try:
    os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
except OSError as e:
    sys.exit(0 if e.errno == errno.EEXIST else "errno %d" % e.errno)
sys.exit("O_EXCL create of an existing file succeeded")
EOF
chmod 0644 "$T_TMP"/*.vim "$T_TMP"/*.py

# suite USER DIR: the whole tool run for USER in DIR (a skills folder).
suite()
{
	local u=$1 w=$2/tools-$1 src=$T_TMP/src-$1 bkc f out

	mkdir -p "$T_TMP/home-$u"
	chown "$u:$u" "$T_TMP/home-$u"
	make_tree "$u"
	t_check "$u: mkdir of a work folder in $(basename "$(dirname "$2")")/$(basename "$2")" \
		sh_as "$u" "$2" 'mkdir -p "$1/ed"' "tools-$u"
	[ -d "$w/ed" ] || return 0

	# vim: 'auto' runs the 4913 probe then the rename path, 'no' always
	# renames, 'yes' copies the backup and overwrites in place.
	for bkc in auto no yes; do
		f=v-$bkc.md
		sh_as "$u" "$w/ed" 'printf "alpha old beta\nsecond line\n" >"$1" && chmod 0640 "$1"' "$f"
		rm -f "$T_TMP/home-$u/swap.txt"
		t_check "$u: vim -es backupcopy=$bkc edits and writes" \
			sh_as "$u" "$w/ed" 'vim -N -es -u NONE -i NONE -c "set backupcopy=$2" -S "$T_TMP/edit.vim" "$1"' "$f" "$bkc"
		t_eq "$u: vim backupcopy=$bkc: content" \
			"$(printf 'alpha new beta\nsecond line')" "$(cat "$w/ed/$f" 2>&1)"
		t_eq "$u: vim backupcopy=$bkc: mode and owner kept" \
			"640 $u" "$(stat -c '%a %U' "$w/ed/$f" 2>&1)"
		t_eq "$u: vim backupcopy=$bkc: swap file was next to the file" \
			"$w/ed/.$f.swp swap-exists" \
			"$(tr '\n' ' ' <"$T_TMP/home-$u/swap.txt" 2>&1 | sed 's/ $//')"
	done
	t_check "$u: vim writes a new file" \
		sh_as "$u" "$w/ed" 'vim -N -es -u NONE -i NONE -S "$T_TMP/new.vim" new.md'
	t_eq "$u: vim new file: content and mode" "fresh from vim 644" \
		"$(cat "$w/ed/new.md" 2>&1) $(stat -c %a "$w/ed/new.md" 2>&1)"

	# sed -i: temporary sedXXXXXX, fchmod, rename over the original.
	sh_as "$u" "$w/ed" 'printf "a old\nb old\n" >s.md && chmod 0660 s.md'
	t_check "$u: sed -i" sh_as "$u" "$w/ed" 'sed -i "s/old/new/g" s.md'
	t_eq "$u: sed -i: content" "$(printf 'a new\nb new')" "$(cat "$w/ed/s.md" 2>&1)"
	t_eq "$u: sed -i: mode kept" "660" "$(stat -c %a "$w/ed/s.md" 2>&1)"
	t_eq "$u: no editor noise left (4913, .swp, ~, sed*)" "" "$(noise "$w/ed")"
	t_eq "$u: folder holds exactly the edited files" \
		"new.md s.md v-auto.md v-no.md v-yes.md" "$(ls -A "$w/ed" | tr '\n' ' ' | sed 's/ $//')"

	# cp -a keeps content, modes and mtimes.
	t_check "$u: cp -a of a folder tree" sh_as "$u" "$w" 'cp -a "$1" cpa' "$src/tree"
	t_check "$u: cp -a: diff -r finds no difference" diff -r "$src/tree" "$w/cpa"
	t_eq "$u: cp -a: modes, sizes and mtimes kept" "$(meta "$src/tree")" "$(meta "$w/cpa")"
	t_eq "$u: cp -a: user.* xattr kept" "made by $u" \
		"$(getfattr --absolute-names --only-values -n user.origin "$w/cpa/a.md" 2>&1)"

	# tar x of an archive made outside (pax format: mtimes to the ns).
	tar cf "$T_TMP/tree-$u.tar" --format=posix -C "$src" tree
	chmod 0644 "$T_TMP/tree-$u.tar"
	t_check "$u: tar xpf" sh_as "$u" "$w" 'mkdir tarx && tar xpf "$1" -C tarx' "$T_TMP/tree-$u.tar"
	t_check "$u: tar x: diff -r finds no difference" diff -r "$src/tree" "$w/tarx/tree"
	t_eq "$u: tar x: modes, sizes and mtimes equal" "$(meta "$src/tree")" "$(meta "$w/tarx/tree")"

	# rsync -a, then a second rsync that finds nothing to do.
	t_check "$u: rsync -a into the mount" sh_as "$u" "$w" 'rsync -a "$1/" rs/' "$src/tree"
	t_check "$u: rsync: diff -r finds no difference" diff -r "$src/tree" "$w/rs"
	t_eq "$u: rsync: modes, sizes and mtimes equal" "$(meta "$src/tree")" "$(meta "$w/rs")"
	out=$(sh_as "$u" "$w" 'rsync -ai "$1/" rs/' "$src/tree" 2>&1)
	t_eq "$u: a second rsync -a transfers nothing" "" "$out"

	# git: init, add, commit, log, status, fsck; then clone.
	t_check "$u: git init, add, commit (twice)" sh_as "$u" "$w" '
		set -e
		git -c init.defaultBranch=main init -q repo
		cd repo
		cp -r "$1/." .
		printf "# Skill\n" >SKILL.md
		git add -A
		git -c user.name=Test -c user.email=t@example.com commit -q -m first
		printf "more\n" >>SKILL.md
		git -c user.name=Test -c user.email=t@example.com commit -q -a -m second' "$src/tree"
	t_eq "$u: git log shows both commits" "$(printf 'second\nfirst')" \
		"$(sh_as "$u" "$w/repo" 'git log --format=%s' 2>&1)"
	t_eq "$u: git status is clean" "" \
		"$(sh_as "$u" "$w/repo" 'git status --porcelain' 2>&1)"
	t_check "$u: git fsck --strict" sh_as "$u" "$w/repo" 'git fsck --strict --no-progress'
	t_check "$u: git gc (packs: mmap, renames), then fsck" \
		sh_as "$u" "$w/repo" 'git gc --quiet && git fsck --strict --no-progress &&
			ls .git/objects/pack/*.pack >/dev/null'
	t_check "$u: git clone into another folder of the mount" \
		sh_as "$u" "$w" 'git clone -q repo clone'
	t_eq "$u: clone has the same HEAD" \
		"$(sh_as "$u" "$w/repo" 'git rev-parse HEAD' 2>&1)" \
		"$(sh_as "$u" "$w/clone" 'git rev-parse HEAD' 2>&1)"
	t_check "$u: clone worktree equals the repo's" \
		diff -r --exclude=.git --exclude=empty "$w/repo" "$w/clone"
	t_check "$u: git fsck in the clone" sh_as "$u" "$w/clone" 'git fsck --strict --no-progress'
	t_eq "$u: git status in the clone is clean" "" \
		"$(sh_as "$u" "$w/clone" 'git status --porcelain' 2>&1)"

	# mv -f over an existing file.
	sh_as "$u" "$w" 'printf "one\n" >m1 && printf "two\n" >m2 && chmod 0600 m2'
	t_check "$u: mv -f over an existing file" sh_as "$u" "$w" 'mv -f m2 m1'
	t_eq "$u: mv -f: target has the new content and mode, source is gone" \
		"two 600 gone" "$(cat "$w/m1" 2>&1) $(stat -c %a "$w/m1" 2>&1) $([ -e "$w/m2" ] && echo there || echo gone)"

	# noclobber: bash's > refuses an existing file, creates a new one
	# with O_EXCL; a raw O_EXCL open of an existing file gives EEXIST.
	sh_as "$u" "$w" 'printf "keep\n" >nc'
	t_check_not "$u: noclobber > onto an existing file fails" \
		sh_as "$u" "$w" 'set -o noclobber; echo clobbered >nc'
	t_eq "$u: noclobber: existing file unchanged" "keep" "$(cat "$w/nc" 2>&1)"
	t_check "$u: noclobber > creates a new file (O_EXCL)" \
		sh_as "$u" "$w" 'set -o noclobber; echo fresh >nc2'
	t_eq "$u: noclobber: new file content" "fresh" "$(cat "$w/nc2" 2>&1)"
	t_check "$u: O_CREAT|O_EXCL on an existing file gives EEXIST" \
		sh_as "$u" "$w" 'python3 "$T_TMP/excl.py" nc'

	# unlink of an open file.
	sh_as "$u" "$w" 'printf "still here\n" >uo'
	t_eq "$u: an open file reads after rm (exec 3<f; rm f; cat <&3)" "still here gone" \
		"$(sh_as "$u" "$w" 'exec 3<uo && rm uo && { [ -e uo ] && echo -n "there " ; cat <&3; }' 2>&1) $([ -e "$w/uo" ] && echo there || echo gone)"
	t_check "$u: an unlinked open file keeps reading and writing" \
		sh_as "$u" "$w" 'python3 "$T_TMP/unlinked.py" ul'

	# VS Code's truncate-and-write with a concurrent reader.
	out=$(sh_as "$u" "$w" 'python3 "$T_TMP/vscode.py" vs.md 200' 2>&1)
	t_eq "$u: truncate-and-write 200 times: the file ends as the last version" \
		"final content is version 200: True" "$(printf '%s\n' "$out" | grep '^final\|Error')"
	# A reader racing the writer can get zero-filled pages: the kernel
	# fills a short read that races a write growing the file (libfuse's
	# passthrough_ll shows it too), so only the reader's survival is
	# asserted here, not what it saw.
	t_eq "$u: the concurrent reader ran to the end" "reader: ok" \
		"$(printf '%s\n' "$out" | grep -q '^reader: [0-9]* reads' && echo 'reader: ok')"

	t_eq "$u: no leftovers anywhere in the work folder" "" \
		"$(find "$w" -path '*/.git' -prune -o \( -name '4913' -o -name '*.sw[px]' -o -name '*~' -o -name '.#*' -o -name '.fuse_hidden*' -o -name 'sed??????' -o -name '.*.??????' \) -print)"
}

suite alice "$MNT/user/alice/skills"
suite bob "$MNT/team/eng/skills"

# bob edits a file that alice created in the team folder: vim's 4913
# probe cannot give the new file alice's owner, so vim overwrites in place
# and the file stays alice's.
d=$MNT/team/eng/skills
sh_as alice "$d" 'printf "team old text\n" >shared.md && chmod 0664 shared.md'
rm -f "$T_TMP/home-bob/swap.txt"
t_check "bob: vim edits a file alice created in team/eng" \
	sh_as bob "$d" 'vim -N -es -u NONE -i NONE -S "$T_TMP/edit.vim" shared.md'
t_eq "bob: alice's team file: new content" "team new text" "$(cat "$d/shared.md" 2>&1)"
t_eq "bob: alice's team file: owner and mode kept" "alice 664" "$(stat -c '%U %a' "$d/shared.md" 2>&1)"
t_eq "bob: no editor noise in team/eng/skills" "" "$(noise "$d")"

# bob clones alice's repository (a teammate may read it) into the team
# folder: hard links across volumes fail, git falls back to copying.
# The repository is alice's: bob marks it safe in his global git config (a
# -c option does not reach git-upload-pack).
sh_as bob "$d" 'git config --global --add safe.directory "*"'
t_check "bob: git clone of alice's repo into team/eng/skills" \
	sh_as bob "$d" 'git clone -q "$1" alice-clone' \
	"$MNT/user/alice/skills/tools-alice/repo"
t_eq "bob: the clone has alice's HEAD" \
	"$(sh_as alice "$MNT/user/alice/skills/tools-alice/repo" 'git rev-parse HEAD' 2>&1)" \
	"$(sh_as bob "$d/alice-clone" 'git rev-parse HEAD' 2>&1)"
t_check "bob: git fsck in the cross-volume clone" \
	sh_as bob "$d/alice-clone" 'git fsck --strict --no-progress'

t_check "daemon still running after the tool runs" kill -0 "$T_PID"
lfs_umount
t_eq "daemon exits 0 on unmount" 0 $?
t_done
