# tests/skills.sh: helpers for the tests of the shipped skills and
# workflows (sourced after lib.sh). Every skill is run the way a user runs
# it: a graph written into alice's run/ on a real mount, so the real runner
# and the bubblewrap sandbox are part of each check.
#
#   sk_start                     mount with the repository's skills/ seeded
#   sk_run NAME SKILL JSON       run one node "n" of SKILL with inputs JSON;
#                                prints the run's final status
#   sk_graph NAME                run the graph on stdin; prints the status
#   sk_out NAME NODE OUTPUT      an output of a node, as alice reads it
#   sk_path NAME NODE FILE       the path of an output file in the mount
#   sk_err NAME NODE             the node's error (traceback or limit)
#   sk_fails NAME SKILL JSON DESC TEXT
#                                two checks: the one-node run fails, and its
#                                error contains TEXT (a fixed string)
#   sk_py DESC PYTHON [ARGS...]  t_check of a python3 snippet run as alice;
#                                sys.argv[1:] are ARGS
#   sk_files DESC KIND PATH...   check-files.py KIND PATH... as alice

sk_start()
{
	lfs_require
	command -v bwrap >/dev/null || t_skip_all "no bwrap (apt-get install bubblewrap)"
	command -v jq >/dev/null || t_skip_all "no jq"
	/usr/bin/python3 -c 'import numpy, matplotlib, PIL' 2>/dev/null ||
		t_skip_all "no numpy, matplotlib or PIL (scripts/install-deps)"
	t_begin
	lfs_users
	lfs_config "jobs = 2"
	lfs_mount || { t_fail "mount"; t_done; exit 1; }
	SK_RUN=$MNT/user/alice/run
}

sk_graph()
{
	local name=$1 st
	as alice sh -c "cat > '$SK_RUN/$name.json'" >/dev/null 2>&1
	st=$(as alice timeout 600 cat "$SK_RUN/$name/wait" 2>&1)
	if [ "$st" != succeeded ]; then
		echo "# run $name: $st" >&2
		as alice cat "$SK_RUN/$name/error" 2>/dev/null | head -n 30 |
			sed 's/^/#   /' >&2
	fi
	printf '%s\n' "$st"
}

sk_run()
{
	local name=$1 skill=$2 inputs=$3
	printf '{"nodes": [{"id": "n", "skill": "%s", "inputs": %s}]}\n' \
		"$skill" "$inputs" | sk_graph "$name"
}

sk_out() { as alice cat "$SK_RUN/$1/outputs/$2/$3" 2>&1; }
sk_path() { printf '%s\n' "$SK_RUN/$1/outputs/$2/$3"; }
sk_err() { as alice cat "$SK_RUN/$1/nodes/$2/error" 2>&1; }

sk_fails()
{
	local err
	t_eq "$4: the run fails" failed "$(sk_run "$1" "$2" "$3")"
	err=$(sk_err "$1" n)
	if printf '%s' "$err" | grep -qF -- "$5"; then
		t_pass "$4: the error says '$5'"
	else
		t_fail "$4: the error says '$5'" "error: $(printf '%s' "$err" | tail -n 3)"
	fi
}

sk_py()
{
	local desc=$1 code=$2
	shift 2
	t_check "$desc" as alice /usr/bin/python3 -c "$code" "$@"
}

sk_files()
{
	local desc=$1
	shift
	t_check "$desc" as alice /usr/bin/python3 "$T_TOP/tests/check-files.py" "$@"
}
