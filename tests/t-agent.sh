#!/usr/bin/env bash
# tests/t-agent.sh: MOUNT/agent-skills/ (issue 16, part 3): every skill
# the caller may use, resolved as catalog.json resolves them, as
# <name>/SKILL.md folders in the Agent Skills format; read as two users of
# different teams; read-only and always current.
set -u
source "$(dirname "$0")/lib.sh"
lfs_require
command -v jq >/dev/null || t_skip_all "no jq"
t_begin
lfs_users
lfs_mount || { t_fail "mount"; t_done; exit 1; }

A=$MNT/agent-skills
skill()
{
	# skill FILE ID DESCRIPTION
	cat <<EOF
---
name: $2
skill_id: $2
description: $3
type: python
outputs:
  - {name: y, type: string}
---
Prose of $2.

\`\`\`python
def execute(inputs):
    return {"y": "$2"}
\`\`\`
EOF
}
skill x eng-tool "A tool of team eng, for its members." |
	as alice sh -c "cat > '$MNT/team/eng/skills/eng-tool.md'"
skill x research-tool "A tool of team research, for its members." |
	as carol sh -c "cat > '$MNT/team/research/skills/research-tool.md'"
skill x fibonacci "Alice's own fibonacci, which wins over the system's." |
	as alice sh -c "cat > '$MNT/user/alice/skills/fib.md'"
skill x Odd_Name "A skill whose id is not a valid Agent Skills name." |
	as alice sh -c "cat > '$MNT/user/alice/skills/odd.md'"

la=$(as alice ls "$A" | tr '\n' ' ')
lc=$(as carol ls "$A" | tr '\n' ' ')
t_eq "alice sees her team's skill" 1 "$(printf '%s\n' $la | grep -cx eng-tool)"
t_eq "but not team research's" 0 "$(printf '%s\n' $la | grep -cx research-tool)"
t_eq "carol sees research's and not eng's" "1 0" \
	"$(printf '%s\n' $lc | grep -cx research-tool) $(printf '%s\n' $lc | grep -cx eng-tool)"
t_eq "both see the system's skills" "1 1" \
	"$(printf '%s\n' $la | grep -cx quantum-vqe) $(printf '%s\n' $lc | grep -cx quantum-vqe)"
t_eq "an id that is not a valid name is shown as one" 1 "$(printf '%s\n' $la | grep -cx odd-name)"
t_eq "carol cannot look up eng's skill by name" 1 \
	"$(as carol ls "$A/eng-tool" 2>&1 | grep -c 'No such file')"
t_eq "each folder holds SKILL.md" SKILL.md "$(as alice ls "$A/eng-tool")"
t_eq "alice's fibonacci wins over the system's, as in catalog.json" \
	"Alice's own fibonacci, which wins over the system's." \
	"$(as alice sed -n 's/^"description": "\(.*\)"$/\1/p' "$A/fibonacci/SKILL.md")"
t_check "carol's fibonacci is the system's" \
	as carol grep -q 'Computes the n-th Fibonacci' "$A/fibonacci/SKILL.md"

# The specification's rules: the frontmatter's name is the folder's, the
# description at most 1,024 characters, and the name valid.
bad=0
for d in $(as alice ls "$A"); do
	fm=$(as alice sed -n '2,/^---$/p' "$A/$d/SKILL.md")
	name=$(printf '%s\n' "$fm" | sed -n 's/^"name": "\(.*\)"$/\1/p')
	desc=$(printf '%s\n' "$fm" | sed -n 's/^"description": "\(.*\)"$/\1/p')
	if [ "$name" != "$d" ] || [ -z "$desc" ] || [ ${#desc} -gt 1024 ] ||
	   ! printf '%s' "$name" | grep -qE '^[a-z0-9]([a-z0-9]|-[a-z0-9])*$'; then
		echo "# $d: name '$name', description of ${#desc} characters"
		bad=$((bad + 1))
	fi
done
t_eq "every SKILL.md alice sees has a valid name equal to its folder and a description" 0 "$bad"
t_eq "stat gives the size a read gives" "$(as alice cat "$A/eng-tool/SKILL.md" | wc -c)" \
	"$(as alice stat -c %s "$A/eng-tool/SKILL.md")"

# Always current, read-only.
as alice sh -c "sed -i 's/for its members/for eng only/' '$MNT/team/eng/skills/eng-tool.md'"
t_check "an edit of the skill shows at once" \
	as alice grep -q 'for eng only' "$A/eng-tool/SKILL.md"
as alice rm "$MNT/team/eng/skills/eng-tool.md"
t_eq "a removed skill is gone" 0 "$(as alice ls "$A" | grep -cx eng-tool)"
t_eq "a write is EROFS" 1 \
	"$(as alice sh -c "echo x > '$A/fibonacci/SKILL.md'" 2>&1 | grep -c 'Read-only')"
t_eq "mkdir is EROFS" 1 "$(as alice mkdir "$A/new" 2>&1 | grep -c 'Read-only')"

# A coding agent's skills folder linked to it.
home=$T_TMP/home
mkdir -p "$home/.claude"
ln -s "$A" "$home/.claude/skills"
t_check "~/.claude/skills linked here lists the library" \
	test "$(ls "$home/.claude/skills" | wc -l)" -ge 10
t_check "and reads a skill through the link" \
	grep -q '^"name": "quantum-vqe"$' "$home/.claude/skills/quantum-vqe/SKILL.md"
t_done
