#!/usr/bin/env bash
# tests/t-readme.sh: every shell and JSON block of README.md is run here, as
# a reader would run it, against a test mount, or is named below with the
# test that covers it and why it is not run here; a block that is neither
# fails this test, so that an example can never drift from the program.
set -u
source "$(dirname "$0")/lib.sh"
lfs_require
command -v bwrap >/dev/null || t_skip_all "no bwrap (apt-get install bubblewrap)"
command -v jq >/dev/null || t_skip_all "no jq"
t_begin
lfs_users
lfs_mount || { t_fail "mount"; t_done; exit 1; }

RUN=$MNT/user/alice/run
BLOCKS=$T_TMP/blocks.jsonl
python3 "$T_TOP/tests/readme-blocks.py" "$T_TOP/README.md" > "$BLOCKS"

# block LINE: the text of the block at README line LINE
block() { jq -r --argjson l "$1" 'select(.line == $l) | .text' "$BLOCKS"; }
# transcript KEY USER [DIR]: the block whose first line is KEY, run (from
# DIR under the mount, where the reader is after the block before)
transcript()
{
	local line out
	line=$(jq -r --arg k "$1" 'select(.key == $k) | .line' "$BLOCKS" | head -n 1)
	if [ -z "$line" ]; then
		t_fail "README block '$1' is there"
		return
	fi
	out=$(block "$line" | python3 "$T_TOP/tests/readme-run.py" "$MNT" "$2" ${3:+"$3"})
	printf '%s\n' "$out" | grep '^#' | head -n 40
	t_eq "README:$line: every command gives the output shown" 0 \
		"$(printf '%s\n' "$out" | grep -c '^not ok')"
}

# Blocks not run here, each with the test that covers it.
declare -A covered=(
	["make mount     # installs missing packages, builds ./llmunixfs, mounts ./volumes"]="the set-up itself: tests/run is what make check runs, and each test mounts its own"
	["useradd -m -s /bin/bash alice"]="lfs_users (tests/lib.sh) makes these accounts and teams for every test"
	["\$ getfattr -d -m user.skill volumes/system/skills/code/fibonacci.md"]="abridged values (...): tests/t-skill-xattr.sh checks each field"
	["---"]="a skill file, not commands: tests/unit/test-skill.c parses the same fibonacci"
	["\$ ln -s /path/to/volumes/agent-skills ~/.claude/skills      # or ~/.agents/skills"]="a link in a reader's home: tests/t-agent.sh links ~/.claude/skills and reads through it"
)

# The transcripts, in the README's order: the tour as alice, the VQE
# run and what follows, the catalogs, the runs.
transcript '$ ls volumes' alice
transcript '$ su - alice' alice
transcript "\$ sed 's/\"bond_length\": 0.7414/\"bond_length\": 1.0/' run/vqe-h2/graph.json > run/h2-long.json" alice user/alice
transcript "\$ sed 's/VQE convergence, H2/Convergence of VQE for H2/' run/vqe-h2/graph.json > run/retitled.json" alice user/alice
transcript "\$ jq -r '.skills[].qualified_id' volumes/catalog.json" alice
transcript '$ cd volumes/user/alice' alice
transcript "\$ echo 'first' > volumes/user/alice/skills/note.md" alice
transcript '$ cd volumes/user/alice/sessions' alice
n=0
while IFS= read -r b; do
	line=$(jq -r .line <<<"$b")
	lang=$(jq -r .lang <<<"$b")
	key=$(jq -r .key <<<"$b")
	text=$(jq -r .text <<<"$b")
	case $lang in
	sh)
		if [ -n "${covered[$key]+x}" ]; then
			t_pass "README:$line: '$key' is covered elsewhere: ${covered[$key]}"
		elif [ "${key:0:2}" != '$ ' ]; then
			# commands for root, run from the top of the checkout
			out=$( (cd "$T_TOP" && sed "s|volumes/|$MNT/|g" <<<"$text" | bash -e) 2>&1)
			t_eq "README:$line: '$key' runs" "" "$out"
		else
			continue	# transcripts, below
		fi
		;;
	json)
		if [ "${key:0:1}" = "{" ] && jq -e 'has("nodes")' <<<"$text" >/dev/null 2>&1; then
			n=$((n + 1))
			printf '%s\n' "$text" | as alice sh -c "cat > '$RUN/readme-$n.json'"
			t_eq "README:$line: the graph runs" succeeded \
				"$(as alice timeout 300 cat "$RUN/readme-$n/wait" 2>&1)"
			[ -s "$RUN/readme-$n/error" ] && head -n 3 "$RUN/readme-$n/error"
		else
			t_fail "README:$line: a JSON block that is not a graph: check it here"
		fi
		;;
	markdown|"")
		if [ -n "${covered[$key]+x}" ] || [ "$lang" = "" ]; then
			t_pass "README:$line: not commands (${covered[$key]:-an error text or a layout})"
		fi
		;;
	*)
		t_fail "README:$line: a $lang block nobody checks (check it in tests/t-readme.sh)"
		;;
	esac
done < "$BLOCKS"

t_eq "every transcript block is run" \
	"$(jq -r 'select(.lang == "sh" and (.key | startswith("$ "))) | .key' "$BLOCKS" | grep -vc 'getfattr\|agent-skills')" 8

lfs_umount
t_done
