#!/usr/bin/env bash
# tests/t-compat.sh: skills as people already have them (tests/compat/),
# through a real mount: their user.skill.* xattrs and catalog entries, each
# runnable one run through run/ with its expected output, context skills
# refused as nodes, LLMos-Lite's workflow forms, Agent Skills folders, and
# two skills with one id in a volume.
set -u
source "$(dirname "$0")/lib.sh"
lfs_require
command -v bwrap >/dev/null || t_skip_all "no bwrap (apt-get install bubblewrap)"
command -v jq >/dev/null || t_skip_all "no jq"
t_begin
lfs_users
lfs_mount || { t_fail "mount"; t_done; exit 1; }

RUN=$MNT/user/alice/run
SK=$MNT/user/alice/skills
CAT=$MNT/user/alice/catalog.json
submit() { as alice sh -c "cat > '$RUN/$1.json'" 2>&1; }
wait_run() { as alice timeout 120 cat "$RUN/$1/wait" 2>&1; }
rd() { as alice cat "$RUN/$1" 2>&1; }
xa() { as alice getfattr --absolute-names -n "user.skill.$1" --only-values "$SK/$2" 2>/dev/null; }

# The corpus, as alice copies it in (the .expect files stay out).
as alice rsync -r --exclude '*.expect' "$T_TOP/tests/compat/" "$SK/compat/"
t_eq "the corpus is in alice's skills" 14 \
	"$(as alice find "$SK/compat" -name '*.md' | wc -l)"

# What the unit test expects of each file, the mount says too.
for e in $(cd "$T_TOP/tests/compat" && find . -name '*.expect' | sort); do
	f=${e#./}
	f=compat/${f%.expect}
	want=$(sed -n 's/^runner: //p' "$T_TOP/tests/compat/${e#./}")
	t_eq "$f: user.skill.runner" "$want" "$(xa runner "$f")"
	want=$(sed -n 's/^warning: //p' "$T_TOP/tests/compat/${e#./}" |
		sed 's|^skills/|skills/compat/|; s|\(is the id of \)skills/|\1skills/compat/|')
	t_eq "$f: user.skill.warning" "$want" "$(xa warning "$f")"
done
t_eq "catalog.json: the runner of each skill, as the engine sees it" \
	"compat/no-type-python.md python" \
	"$(jq -r '.skills[] | select(.path == "skills/compat/no-type-python.md") | "\(.path[7:]) \(.runner)"' "$CAT")"
t_eq "catalog.json: a context skill says so" "context 0" \
	"$(jq -r '.skills[] | select(.path == "skills/compat/data-analysis.md") | "\(.runner) \(.warnings | length)"' "$CAT")"
t_eq "catalog.json: warnings per skill" 3 \
	"$(jq '.skills[] | select(.path == "skills/compat/exported-plot.md") | .warnings | length' "$CAT")"
t_eq "catalog.json: a SKILL.md's id is its folder's name" "roll-dice python" \
	"$(jq -r '.skills[] | select(.path == "skills/compat/roll-dice/SKILL.md") | "\(.id) \(.runner)"' "$CAT")"

# Each runnable one through run/, with its expected output.
run_ok()	# NAME SKILL INPUTS-JSON
{
	printf '{"nodes": [{"id": "n", "skill": "%s", "inputs": %s}]}' "$2" "$3" |
		submit "$1" >/dev/null
	t_eq "$1: succeeded" succeeded "$(wait_run "$1")"
}
run_ok rc circuit-rc-node '{"resistance": 2000}'
t_eq "circuit-rc-node (type spice, python block): tau = R*C" 0.002 \
	"$(rd rc/outputs/n/time_constant)"
t_eq "circuit-rc-node: the netlist" "R1 in out 2000" \
	"$(rd rc/outputs/n/netlist | grep '^R1')"
run_ok plot exported-plot '{}'
t_eq "exported-plot: default \"8\" read as 8, null as no default" 8 \
	"$(rd plot/outputs/n/samples | jq length)"
t_eq "exported-plot: the image output (image read as any)" \
	"data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg'/>" \
	"$(rd plot/outputs/n/image)"
run_ok words no-type-python '{"text": "one two three"}'
t_eq "no-type-python: runs" 3 "$(rd words/outputs/n/words)"
run_ok stats js-stats '{"values": [2, 4, 4, 4, 5, 5, 7, 9]}'
t_eq "js-stats (javascript): mean" 5 "$(rd stats/outputs/n/mean)"
t_eq "js-stats (javascript): std" 2 "$(rd stats/outputs/n/std)"
run_ok cube threejs-cube-node '{"size": 4}'
t_eq "threejs-cube-node: computed without a browser" "8 6" \
	"$(rd cube/outputs/n/vertices | jq length) $(rd cube/outputs/n/faces)"
run_ok dice roll-dice '{}'
t_eq "roll-dice (an Agent Skill with code): the same total as python's" \
	"$(python3 -c 'import random; r = random.Random(7); print(sum(r.randint(1, 6) for _ in range(3)))')" \
	"$(rd dice/outputs/n/total)"

echo '{"nodes": [{"id": "n", "skill": "threejs-scene"}]}' | submit scene >/dev/null
t_eq "threejs-scene: fails" failed "$(wait_run scene)"
t_check "threejs-scene: the error says it needs a browser" \
	grep -q "this skill needs a browser: it uses 'THREE'" "$RUN/scene/nodes/n/error"

# Context skills are not nodes: refused when the graph is closed.
for s in data-analysis python-coding standard-skill code-review; do
	echo "{\"nodes\": [{\"id\": \"n\", \"skill\": \"$s\"}]}" | submit "ctx-$s" >/dev/null
	t_eq "$s as a node: refused, as a context skill" \
		"node 'n': skill 'user/alice/skills/compat/$(cd "$T_TOP/tests/compat" && find . -path "*$s*" -name '*.md' | head -1 | cut -c3-)' is a context skill (prose for the LLM), not a node: it has no code to run (give it a python or javascript block that defines execute(inputs), or a type and a block in its language; see getfattr -n user.skill.warning)" \
		"$(rd "ctx-$s/error")"
done
t_eq "an Agent Skill that breaks the specification: its error" \
	"node 'n': skill 'user/alice/skills/compat/Bad-Name/SKILL.md' has errors: user/alice/skills/compat/Bad-Name/SKILL.md:2: name: the folder's name 'Bad-Name' is not a valid Agent Skills name (expected 1 to 64 lower-case letters, digits and single hyphens, not at either end: rename the folder, and name the skill as it)" \
	"$(echo '{"nodes": [{"id": "n", "skill": "Bad-Name"}]}' | submit bad >/dev/null; rd bad/error)"

# LLMos-Lite's workflow forms, as its web app writes them.
submit todict >/dev/null <<'EOF'
{"workflowId": "wf-1", "name": "RC then stats", "nodes": [
  {"nodeId": "rc", "skillId": "circuit-rc-node", "position": {"x": 0, "y": 0},
   "inputValues": {"resistance": 1000, "capacitance": 0.000001}},
  {"nodeId": "words", "skillId": "no-type-python", "position": {"x": 200, "y": 0},
   "inputValues": {}}],
 "edges": [{"edgeId": "e1", "source": "rc", "target": "words",
            "sourceHandle": "netlist", "targetHandle": "text"}]}
EOF
t_eq "Workflow.to_dict() with handles: succeeded" succeeded "$(wait_run todict)"
t_eq "Workflow.to_dict(): the netlist's words counted" 17 "$(rd todict/outputs/words/words)"
submit nullh >/dev/null <<'EOF'
{"nodes": [
  {"nodeId": "a", "skillId": "js-stats", "inputValues": {"values": [1, 3]}},
  {"nodeId": "b", "skillId": "no-type-python", "inputValues": {}}],
 "edges": [{"edgeId": "e1", "source": "a", "target": "b", "sourceHandle": null, "targetHandle": null}]}
EOF
t_eq "null handles, no port of the same name: refused" \
	"edges[0]: 'a' -> 'b' names no ports and no output of 'js-stats' (mean, std) matches an input of 'no-type-python' (text) by name (give \"sourceHandle\": \"<output>\", \"targetHandle\": \"<input>\")" \
	"$(rd nullh/error | head -n 1)"
as alice sh -c "cat > '$SK/mean-of.md'" <<'EOF'
---
name: Mean Of
description: Doubles a mean.
type: python
inputs:
  - {name: mean, type: number, required: true}
outputs:
  - {name: twice, type: number}
---
```python
def execute(inputs):
    return {"twice": 2 * inputs["mean"]}
```
EOF
submit nullh2 >/dev/null <<'EOF'
{"nodes": [
  {"nodeId": "a", "skillId": "js-stats", "inputValues": {"values": [1, 3]}},
  {"nodeId": "b", "skillId": "mean-of", "inputValues": {}}],
 "edges": [{"edgeId": "e1", "source": "a", "target": "b", "sourceHandle": null, "targetHandle": null}]}
EOF
t_eq "null handles: linked by name (mean -> mean)" "succeeded 4" \
	"$(wait_run nullh2) $(rd nullh2/outputs/b/twice)"

# Two skills with one id in a volume.
for d in a b; do
	as alice mkdir -p "$SK/dup-$d"
	as alice sh -c "cat > '$SK/dup-$d/twin.md'" <<EOF
---
name: Twin $d
description: One of two skills with the id twin.
type: python
outputs:
  - {name: which, type: string}
---
\`\`\`python
def execute(inputs):
    return {"which": "$d"}
\`\`\`
EOF
done
t_eq "duplicates: both paths in the volume's catalog" \
	"skills/dup-a/twin.md skills/dup-b/twin.md" \
	"$(jq -r '[.skills[] | select(.id == "twin") | .path] | join(" ")' "$CAT")"
t_eq "duplicates: the mount's catalog names the winner and the path shadowed" \
	"skills/dup-b/twin.md skills/dup-a/twin.md" \
	"$(as alice jq -r '.shadowed[] | select(.qualified_id == "user/alice/twin") | "\(.path) \(.shadowed_by_path)"' "$MNT/catalog.json")"
t_eq "duplicates: a warning on the winner" \
	"skills/dup-a/twin.md:1: skill_id: 'twin' is also the id of skills/dup-b/twin.md in this volume: skills/dup-a/twin.md wins, as the path that sorts first (rename one, or set skill_id)" \
	"$(xa warning dup-a/twin.md)"
t_eq "duplicates: a warning on the other" \
	"skills/dup-b/twin.md:1: skill_id: 'twin' is also the id of skills/dup-a/twin.md in this volume: skills/dup-a/twin.md wins, as the path that sorts first (rename one, or set skill_id)" \
	"$(xa warning dup-b/twin.md)"
t_check "duplicates: getfattr -d lists the warning" \
	sh -c "setpriv --reuid=alice --regid=alice --init-groups -- getfattr --absolute-names -d -m user.skill.warning '$SK/dup-b/twin.md' | grep -q warning"
t_eq "duplicates: the catalog's entries carry the warning" 1 \
	"$(jq '.skills[] | select(.path == "skills/dup-b/twin.md") | .warnings | length' "$CAT")"
echo '{"nodes": [{"id": "n", "skill": "twin"}]}' | submit twin >/dev/null
t_eq "duplicates: the winner runs" "succeeded a" \
	"$(wait_run twin) $(rd twin/outputs/n/which)"
as alice mv "$SK/dup-a" "$SK/dup-c"
echo '{"nodes": [{"id": "n", "skill": "twin"}]}' | submit twin2 >/dev/null
t_eq "duplicates: after a rename the first path still wins" "succeeded b" \
	"$(wait_run twin2) $(rd twin2/outputs/n/which)"

lfs_umount
t_done
