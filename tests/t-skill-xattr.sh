#!/usr/bin/env bash
# tests/t-skill-xattr.sh: a skill's parsed fields as user.skill.* xattrs,
# read with getfattr as the users who may read the file (DESIGN.md 4).
set -u
source "$(dirname "$0")/lib.sh"
t_begin
lfs_users
lfs_mount || { t_fail "mount"; t_done; exit 1; }

D=$MNT/user/alice/skills
T=$MNT/team/eng/skills
get() { as "$1" getfattr --absolute-names -n "$2" --only-values "$3" 2>&1; }

as alice cp "$T_TOP/skills/code/fibonacci.md" "$D/fib.md"
t_eq "user.skill.name of a valid skill" "Fibonacci" "$(get alice user.skill.name "$D/fib.md")"
t_eq "user.skill.category" "code" "$(get alice user.skill.category "$D/fib.md")"
t_eq "user.skill.type" "python" "$(get alice user.skill.type "$D/fib.md")"
t_eq "user.skill.id defaults from the skill_id field" "fibonacci" \
	"$(get alice user.skill.id "$D/fib.md")"
t_eq "user.skill.inputs is JSON naming the ports" "n sequence" \
	"$(get alice user.skill.inputs "$D/fib.md" | jq -r '[.[].name] | join(" ")')"
t_eq "user.skill.outputs is JSON with types" "string integer array" \
	"$(get alice user.skill.outputs "$D/fib.md" | jq -r '[.[].type] | join(" ")')"
t_eq "a valid skill has no user.skill.error" "" \
	"$(as alice getfattr --absolute-names -d -m 'user.skill.error' "$D/fib.md" 2>&1)"
t_eq "getfattr -d -m user.skill lists the parsed fields" \
	"category description id inputs name outputs runner type" \
	"$(as alice getfattr --absolute-names -d -m user.skill "$D/fib.md" |
		sed -n 's/^user\.skill\.\([a-z]*\)=.*/\1/p' | sort | tr '\n' ' ' | sed 's/ $//')"

# An invalid skill still saves, and says what is wrong and where.
as alice sh -c "printf -- '---\nname: Broken\ninputs:\n  - {name: x, type: nmber}\n---\nText.\n' >'$D/broken.md'"
t_eq "an invalid skill is saved whole" "Text." "$(tail -n 1 "$D/broken.md")"
t_eq "user.skill.error names the file, line and field" \
	"skills/broken.md:4: inputs[0].type: unknown type 'nmber'" \
	"$(get alice user.skill.error "$D/broken.md" | grep -o "^skills/broken.md:4: inputs\[0\].type: unknown type 'nmber'")"
t_eq "a missing description is a warning: the first paragraph stands for it" \
	"skills/broken.md:1: description: missing field 'description': the first paragraph (line 6) stands for it (add description: what the skill does and when to use it)" \
	"$(get alice user.skill.warning "$D/broken.md")"
t_eq "... and is the description" "Text." \
	"$(get alice user.skill.description "$D/broken.md")"
t_eq "user.skill.runner: a skill with errors has none" "" \
	"$(as alice getfattr --absolute-names -n user.skill.runner --only-values "$D/broken.md" 2>/dev/null)"
t_eq "user.skill.runner of fibonacci" python \
	"$(get alice user.skill.runner "$D/fib.md")"

# An edit shows at the next read; a rename changes the default id.
as alice sed -i 's/^name: Broken/name: Mended/' "$D/broken.md"
t_eq "an edit shows at the next read" "Mended" "$(get alice user.skill.name "$D/broken.md")"
as alice sh -c "printf -- '---\nname: N\ndescription: d\n---\n' >'$D/first.md'"
t_eq "the default id is the file name" "first" "$(get alice user.skill.id "$D/first.md")"
as alice mv "$D/first.md" "$D/second.md"
t_eq "after a rename, the id follows the new name" "second" \
	"$(get alice user.skill.id "$D/second.md")"
as alice mv "$D/second.md" "$D/second.txt"
t_eq "a file that is not .md has no user.skill.*" "" \
	"$(as alice getfattr --absolute-names -d -m user.skill "$D/second.txt" 2>&1)"

# Derived: a write of user.skill.* (cp -a, rsync -X, tar --xattrs copy
# them back) succeeds and changes nothing; the rest of user.* is the
# user's.
t_check "setfattr user.skill.name succeeds (copies round-trip)" \
	as alice setfattr -n user.skill.name -v hack "$D/fib.md"
t_eq "and changes nothing: the name is parsed from the content" "Fibonacci" \
	"$(get alice user.skill.name "$D/fib.md")"
t_check "setfattr -x user.skill.name succeeds too" \
	as alice setfattr -x user.skill.name "$D/fib.md"
t_eq "and the field is still there" "Fibonacci" "$(get alice user.skill.name "$D/fib.md")"
t_eq "bob, a reader only, may not write it (EACCES)" yes \
	"$(as bob setfattr -n user.skill.name -v hack "$D/fib.md" 2>&1 | grep -q 'Permission denied' && echo yes)"
t_check "another user.* xattr is the user's" as alice setfattr -n user.note -v mine "$D/fib.md"
t_eq "and reads back" "mine" "$(get alice user.note "$D/fib.md")"
t_eq "the parsed name is unchanged" "Fibonacci" "$(get alice user.skill.name "$D/fib.md")"

# Rights: a teammate reads them, a stranger does not see the file.
t_eq "bob (teammate) reads user.skill.name" "Fibonacci" "$(get bob user.skill.name "$D/fib.md")"
t_eq "carol (stranger) gets ENOENT" yes \
	"$(get carol user.skill.name "$D/fib.md" | grep -q 'No such file' && echo yes)"

# Team volume, workflows/ and sub-folders.
as bob mkdir -p "$T/sub"
as bob cp "$T_TOP/skills/code/fibonacci.md" "$T/sub/f.md"
t_eq "a skill in a team sub-folder: name" "Fibonacci" "$(get carol user.skill.name "$T/sub/f.md")"
as bob cp "$T_TOP/skills/code/fibonacci.md" "$MNT/team/eng/workflows/f.md"
t_eq "a .md under workflows/ is not a skill" "" \
	"$(as bob getfattr --absolute-names -d -m user.skill "$MNT/team/eng/workflows/f.md" 2>&1)"

# Survives a remount (parsed again from the stored content).
lfs_umount
t_eq "unmount exits 0" 0 $?
lfs_mount || t_fail "remount"
t_eq "after a remount: user.skill.name" "Fibonacci" "$(get alice user.skill.name "$D/fib.md")"
t_eq "after a remount: the user's own xattr" "mine" "$(get alice user.note "$D/fib.md")"
lfs_umount
t_done
