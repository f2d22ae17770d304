#!/usr/bin/env bash
# tests/t-catalog.sh: <volume>/catalog.json and MOUNT/catalog.json, as the
# users read them with cat and jq (DESIGN.md 1 and 4).
set -u
source "$(dirname "$0")/lib.sh"
t_begin
lfs_users
# A system volume of fibonacci alone, so that the checks below do not
# change with the shipped library.
SYSTEM_SKILLS=$T_TMP/seed
mkdir -p "$SYSTEM_SKILLS/code"
cp "$T_TOP/skills/code/fibonacci.md" "$SYSTEM_SKILLS/code/"
lfs_mount || { t_fail "mount"; t_done; exit 1; }

A=$MNT/user/alice/skills
E=$MNT/team/eng/skills
R=$MNT/team/research/skills
FIB=$T_TOP/skills/code/fibonacci.md
cat_as() { as "$1" cat "$2" 2>&1; }
skill() { printf -- '---\nname: %s\ndescription: %s\n---\nText.\n' "$2" "$3" >"$1"; }

as alice sh -c "$(declare -f skill); skill '$A/hello.md' Hello 'says hello'"
as alice mkdir "$A/sub"
as alice cp "$FIB" "$A/sub/fib.md"
as bob cp "$FIB" "$E/fibonacci.md"
as bob sh -c "$(declare -f skill); skill '$E/deploy.md' Deploy 'ships it'"
as carol sh -c "$(declare -f skill); skill '$R/hello.md' 'Research hello' 'hi'"

t_check "user/alice/catalog.json is valid JSON" sh -c "cat '$MNT/user/alice/catalog.json' | jq -e . >/dev/null"
t_eq "a volume's catalog lists its skills by path" "skills/hello.md skills/sub/fib.md" \
	"$(cat_as alice "$MNT/user/alice/catalog.json" | jq -r '[.skills[].path] | join(" ")')"
t_eq "with their ids and names" "hello:Hello fibonacci:Fibonacci" \
	"$(cat_as alice "$MNT/user/alice/catalog.json" | jq -r '[.skills[] | .id + ":" + .name] | join(" ")')"
t_eq "with inputs and outputs as JSON" "n sequence" \
	"$(cat_as alice "$MNT/user/alice/catalog.json" | jq -r '.skills[1].inputs | map(.name) | join(" ")')"
t_eq "the volume is named" "user/alice" \
	"$(cat_as alice "$MNT/user/alice/catalog.json" | jq -r .volume)"
t_eq "the system catalog" "fibonacci" \
	"$(cat_as eve "$MNT/system/catalog.json" | jq -r '[.skills[].id] | join(" ")')"

# MOUNT/catalog.json: the caller's volume, teams in name order, system.
t_eq "alice resolves through her volume, eng, system" '["user/alice","team/eng","system"]' \
	"$(cat_as alice "$MNT/catalog.json" | jq -c .resolution)"
t_eq "alice's skills, the first of each id winning" \
	"user/alice/hello user/alice/fibonacci team/eng/deploy" \
	"$(cat_as alice "$MNT/catalog.json" | jq -r '[.skills[].qualified_id] | join(" ")')"
t_eq "the others are listed as shadowed" \
	"team/eng/fibonacci>user/alice/fibonacci system/fibonacci>user/alice/fibonacci" \
	"$(cat_as alice "$MNT/catalog.json" | jq -r '[.shadowed[] | .qualified_id + ">" + .shadowed_by] | join(" ")')"
t_eq "carol resolves through her volume, research, system" '["user/carol","team/research","system"]' \
	"$(cat_as carol "$MNT/catalog.json" | jq -c .resolution)"
t_eq "carol never sees alice's skills" "team/research/hello system/fibonacci" \
	"$(cat_as carol "$MNT/catalog.json" | jq -r '[.skills[].qualified_id] | join(" ")')"
t_eq "eve (no team) gets her volume and system" '["user/eve","system"]' \
	"$(cat_as eve "$MNT/catalog.json" | jq -c .resolution)"

# Rights: a teammate reads a user's catalog, a stranger does not see it.
t_eq "bob reads user/alice/catalog.json" "2" \
	"$(cat_as bob "$MNT/user/alice/catalog.json" | jq '.skills | length')"
t_eq "carol gets ENOENT for user/alice/catalog.json" yes \
	"$(cat_as carol "$MNT/user/alice/catalog.json" | grep -q 'No such file' && echo yes)"

# Always current: an edit, a rename, a delete show at the next read.
as alice sed -i 's/^name: Hello/name: Hi there/' "$A/hello.md"
t_eq "an edit shows at the next read" "Hi there" \
	"$(cat_as alice "$MNT/user/alice/catalog.json" | jq -r '.skills[0].name')"
as alice mv "$A/hello.md" "$A/greet.md"
t_eq "a rename shows at the next read" "skills/greet.md:greet" \
	"$(cat_as alice "$MNT/user/alice/catalog.json" | jq -r '.skills[0] | .path + ":" + .id')"
as alice rm "$A/sub/fib.md"
t_eq "a delete shows, and team eng's fibonacci wins now" "user/alice/greet team/eng/deploy team/eng/fibonacci" \
	"$(cat_as alice "$MNT/catalog.json" | jq -r '[.skills[].qualified_id] | join(" ")')"

# An invalid skill is listed with its error.
as alice sh -c "printf -- '---\nname: Broken\n---\n' >'$A/broken.md'"
t_eq "an invalid skill is listed with file, line and field" yes \
	"$(cat_as alice "$MNT/user/alice/catalog.json" | jq -r '.skills[] | select(.id == "broken") | .error' |
		grep -q "^skills/broken.md:[0-9]*: description: missing field" && echo yes)"

# Read-only, and part of the fixed tree.
t_check_not "writing a catalog is refused" as alice sh -c "echo x >'$MNT/user/alice/catalog.json'"
t_eq "rm of a catalog is refused (EPERM for its writer)" yes \
	"$(as alice rm -f "$MNT/user/alice/catalog.json" 2>&1 | grep -q 'not permitted' && echo yes)"
t_eq "stat: a read-only file" "444" "$(stat -c %a "$MNT/catalog.json")"

lfs_umount
t_eq "unmount exits 0" 0 $?
t_done
