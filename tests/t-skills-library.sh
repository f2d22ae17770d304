#!/usr/bin/env bash
# tests/t-skills-library.sh: the shipped library as a whole. Every skill
# the issue promises is there, parses without error in system/catalog.json,
# and is documented well enough for a person and an LLM to use it: a long
# description, typed and described ports, limits, requires and an Example.
set -u
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/skills.sh"
sk_start

CAT=$(cat "$MNT/system/catalog.json")
for id in fibonacci text-diff hamiltonian-builder quantum-vqe circuit-builder \
	  mesh material scene render spice-rc csv-stats plot collect export-results; do
	t_eq "system skill '$id' is in the catalog, without error" "null" \
		"$(jq -c --arg id "$id" '[.skills[] | select(.id == $id)] |
			if length == 1 then .[0].error else "missing" end' <<<"$CAT")"
done

n_md=$(cd "$T_TOP/skills" && find . -name '*.md' | wc -l)
t_eq "the catalog lists every .md file under skills/" "$n_md" \
	"$(jq '.skills | length' <<<"$CAT")"
t_eq "no shipped skill has a parse error" "" \
	"$(jq -r '.skills[] | select(.error != null) | .path + ": " + .error' <<<"$CAT")"
t_eq "every description says enough for an LLM to choose (>= 80 chars)" "" \
	"$(jq -r '.skills[] | select((.description | length) < 80) | .path' <<<"$CAT")"
t_eq "every port is typed and described" "" \
	"$(jq -r '.skills[] | .path as $p | (.inputs + .outputs)[] |
		select(.description == null or .description == "" or .type == null) |
		$p + ": " + .name' <<<"$CAT")"
missing=
for f in $(cd "$T_TOP/skills" && find . -name '*.md' | sort); do
	fm=$(awk 'NR == 1 && /^---$/ { on = 1; next } on && /^---$/ { exit } on' \
		"$T_TOP/skills/$f")
	grep -q '^## Example' "$T_TOP/skills/$f" || missing="$missing $f:example"
	grep -q '^limits:' <<<"$fm" || missing="$missing $f:limits"
	grep -q '^requires:' <<<"$fm" || missing="$missing $f:requires"
	grep -q '^tags:' <<<"$fm" || missing="$missing $f:tags"
	if grep -q '^import numpy\|^    import numpy\|^from numpy' "$T_TOP/skills/$f"; then
		grep -q '^requires:.*numpy' <<<"$fm" || missing="$missing $f:requires-numpy"
	fi
done
t_eq "every skill has an Example section, limits, requires and tags" "" "${missing# }"

for w in "$T_TOP"/skills/workflows/*.json; do
	t_check "workflow $(basename "$w") is valid JSON" jq -e '.nodes | length > 0' "$w"
	t_eq "workflow $(basename "$w") is in system/workflows/" yes \
		"$(cmp -s "$w" "$MNT/system/workflows/$(basename "$w")" && echo yes)"
done
t_eq "the four promised workflows are shipped" \
	"3d-scene.json h2-dissociation.json rc-filter.json vqe-h2.json" \
	"$(ls "$MNT/system/workflows" | xargs)"

# The README's upgrade: a state folder seeded from an older library gets
# the new one through the mount, as root, with rsync and cp.
lfs_umount
STATE=$T_TMP/state-old
SYSTEM_SKILLS=$T_TMP/seed-old
mkdir -p "$SYSTEM_SKILLS/code"
cp "$T_TOP/skills/code/fibonacci.md" "$SYSTEM_SKILLS/code/"
lfs_mount || { t_fail "mount with the old library"; t_done; exit 1; }
t_eq "a volume seeded from an old library has its skills only" 1 \
	"$(jq '.skills | length' "$MNT/system/catalog.json")"
(cd "$T_TOP" && rsync -rt --exclude /workflows skills/ "$MNT/system/skills/" &&
	cp skills/workflows/*.json "$MNT/system/workflows/")
t_eq "the README's rsync and cp bring in every skill" "$n_md" \
	"$(jq '.skills | length' "$MNT/system/catalog.json")"
t_eq "and the four workflows, not a skills/workflows folder" \
	"3d-scene.json h2-dissociation.json rc-filter.json vqe-h2.json no" \
	"$(ls "$MNT/system/workflows" | xargs) $([ -e "$MNT/system/skills/workflows" ] && echo yes || echo no)"

t_done
