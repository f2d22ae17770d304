#!/usr/bin/env bash
# tests/t-history.sh: every change under skills/ and workflows/ is a git
# commit by its author, and <volume>/history/ shows the past read-only
# (DESIGN.md section 7, issue 14), through a real mount as real users.
set -u
source "$(dirname "$0")/lib.sh"
lfs_require
command -v git >/dev/null || t_skip_all "no git"
command -v vim >/dev/null || t_skip_all "no vim"
t_begin
lfs_users
lfs_config "history_quiet_ms = 200"
lfs_mount || { t_fail "mount"; t_done; exit 1; }

V=$MNT/user/alice
E=$MNT/team/eng
H=$V/history
REPO=$STATE/history/user/alice.git
X=$T_TMP/x
mkdir -m 1777 "$X"
# settle: let the quiet time pass so that what was done is committed
settle() { sleep 0.6; }
glog() { git --git-dir="$1" log --format='%an|%cn|%s' 2>&1; }

# --- authors ---------------------------------------------------------------------
as alice sh -c "echo one > '$E/skills/shared.md'"
settle
as bob sh -c "echo two >> '$E/skills/shared.md'"
settle
t_eq "edits by alice and bob in team eng are commits by each" \
	"bob|llmunixfs|update skills/shared.md
alice|llmunixfs|add skills/shared.md" "$(glog "$STATE/history/team/eng.git")"

# --- tools give sensible commits ---------------------------------------------------
as alice sh -c "printf 'a\nb\n' > '$V/skills/v.md'"
settle
as alice vim -es -c '%s/a/A/' -c 'wq' "$V/skills/v.md"
settle
t_eq "vim's save is one update (no swap or backup file)" "update skills/v.md" \
	"$(git --git-dir="$REPO" log -1 --format=%s)"
as alice sed -i 's/b/B/' "$V/skills/v.md"
settle
t_eq "sed -i is one update" "update skills/v.md" "$(git --git-dir="$REPO" log -1 --format=%s)"
t_eq "nothing of the editors' temporary names is in the repository" "skills/v.md" \
	"$(git --git-dir="$REPO" ls-tree -r --name-only HEAD)"
as alice cp "$V/skills/v.md" "$V/skills/w.md"
as alice mv "$V/skills/w.md" "$V/workflows/w.json"
settle
t_eq "cp then mv within the quiet time: one commit" "add workflows/w.json" \
	"$(git --git-dir="$REPO" log -1 --format=%s)"
as alice rm "$V/workflows/w.json"
settle
t_eq "rm" "delete workflows/w.json" "$(git --git-dir="$REPO" log -1 --format=%s)"
mkdir -p "$X/t/a"
for i in $(seq 1 30); do echo "$i" > "$X/t/a/f$i.md"; done
chmod -R a+rX "$X/t"
as alice tar -C "$X/t" -cf "$X/t.tar" a
as alice tar -C "$V/skills" -xf "$X/t.tar"
settle
t_eq "tar x of 30 files is one commit" "add 30 files" \
	"$(git --git-dir="$REPO" log -1 --format=%s)"
as alice sh -c "cd '$V/skills' && git init -q g && cd g && echo hi > f && git add f &&
	git -c user.name=a -c user.email=a@x commit -qm one" 2>&1
settle
t_eq "a git repository inside the volume: its work tree, not its .git" "skills/g/f" \
	"$(git --git-dir="$REPO" ls-tree -r --name-only HEAD | grep '^skills/g/')"

# --- the git CLI reads the repository ------------------------------------------------
t_check "git fsck --full is clean" git --git-dir="$REPO" fsck --full --strict
n=$(git --git-dir="$REPO" rev-list --count HEAD)
t_check "git log counts the commits ($n)" test "$n" -ge 7
t_check "git clone works" git clone -q "$REPO" "$X/clone"
t_eq "the clone has the volume's files" "a
B" "$(cat "$X/clone/skills/v.md" 2>&1 | tr 'A' 'a')"

# --- history/ ---------------------------------------------------------------------
t_eq "history/ lists log, error, HEAD, by-commit, by-date, file" \
	"HEAD by-commit by-date error file log" "$(as alice ls "$H" | sort | tr '\n' ' ' | sed 's/ $//')"
t_eq "log starts with the newest commit" "$(git --git-dir="$REPO" log -1 --format=%h)" \
	"$(as alice head -n 1 "$H/log" | cut -d' ' -f1)"
t_eq "stat of log gives the size a read gives" "$(as alice cat "$H/log" | wc -c)" \
	"$(as alice stat -c %s "$H/log")"
t_eq "HEAD/ has the files as they are" "$(as alice cat "$V/skills/v.md")" \
	"$(as alice cat "$H/HEAD/skills/v.md")"
old=$(git --git-dir="$REPO" log --format=%H -- skills/v.md | tail -n 1)
p4=${old:0:4}
t_eq "by-commit/<4-digit prefix>/ is the tree at that commit, byte for byte" \
	"$(git --git-dir="$REPO" show "$old:skills/v.md" | od -c)" \
	"$(as alice cat "$H/by-commit/$p4/skills/v.md" 2>&1 | od -c)"
t_check "by-commit/ lists the newest commits" test \
	"$(as alice ls "$H/by-commit" | wc -l)" -ge 7
t_eq "HEAD~N is found" "$(git --git-dir="$REPO" rev-parse HEAD~2:skills/v.md)" \
	"$(as alice cat "$H/HEAD~2/skills/v.md" | git hash-object --stdin)"
day=$(date +%Y-%m-%d)
t_eq "by-date/ lists today" "$day" "$(as alice ls "$H/by-date")"
t_eq "by-date/<day>/ is the day's last tree" "$(as alice cat "$V/skills/v.md")" \
	"$(as alice cat "$H/by-date/$day/skills/v.md")"
t_check "file/skills/v.md is its log" test "$(as alice cat "$H/file/skills/v.md" | wc -l)" -ge 3
t_check "a removed file's log is found by name" \
	as alice grep -q "delete workflows/w.json" "$H/file/workflows/w.json"
t_eq "history/error is empty" "" "$(as alice cat "$H/error")"

# --- revert = a copy --------------------------------------------------------------------
as alice cp "$H/by-commit/$p4/skills/v.md" "$V/skills/v.md"
settle
t_eq "a revert by copy brings the old content back" "$(git --git-dir="$REPO" show "$old:skills/v.md")" \
	"$(as alice cat "$V/skills/v.md")"
t_eq "and is a commit of its own" "update skills/v.md" "$(git --git-dir="$REPO" log -1 --format=%s)"

# --- read-only, and rights ------------------------------------------------------------
t_eq "a write in history/ is EROFS" 1 \
	"$(as alice sh -c "echo x > '$H/HEAD/skills/new.md'" 2>&1 | grep -c 'Read-only file system')"
t_eq "rm in history/ is EROFS" 1 \
	"$(as alice rm -f "$H/HEAD/skills/v.md" 2>&1 | grep -c 'Read-only file system')"
t_eq "history/ shows no write bits" "dr-xr-xr-x -r--r--r--" \
	"$(as alice stat -c %A "$H/HEAD/skills") $(as alice stat -c %A "$H/HEAD/skills/v.md")"
t_eq "bob (teammate) reads alice's history" "$(as alice head -n 1 "$H/log")" \
	"$(as bob head -n 1 "$H/log")"
t_eq "carol (stranger) does not see it" 1 \
	"$(as carol ls "$H" 2>&1 | grep -c 'No such file')"
t_eq "run/ never enters a repository" "" \
	"$(git --git-dir="$REPO" ls-tree -r --name-only HEAD | grep -v '^skills/\|^workflows/')"

# --- kill -9 during a burst, then a remount: history equals the files -----------------
as alice sh -c "for i in \$(seq 1 200); do echo \$i > \"$V/skills/burst\$i.md\"; done" >/dev/null 2>&1 &
burst=$!
sleep 0.5
lfs_kill9
wait $burst 2>/dev/null
lfs_mount || { t_fail "remount after kill -9"; t_done; exit 1; }
sleep 2
as alice true
files=$(cd "$STATE/blobs/volumes/user/alice" && find skills workflows -type f | grep -v "/\.git/" | sort)
tree=$(git --git-dir="$REPO" ls-tree -r --name-only HEAD | sort)
t_eq "after kill -9 and a remount, HEAD holds exactly the files" "$files" "$tree"
t_check "and git fsck is clean" git --git-dir="$REPO" fsck --full --strict
t_done
