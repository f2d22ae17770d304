#!/usr/bin/env bash
# tests/t-skills-code.sh: the shipped code skills, run through run/ as a
# user runs them, against exact reference values: fibonacci against an
# independent computation, text-diff against GNU diff -u and patch.
set -u
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/skills.sh"
sk_start

# --- fibonacci ---------------------------------------------------------------
t_eq "fibonacci(100) runs" succeeded "$(sk_run fib100 fibonacci '{"n": 100}')"
t_eq "F(100) = 354224848179261915075 exactly" 354224848179261915075 \
	"$(sk_out fib100 n value)"
t_eq "F(100) has 21 digits" 21 "$(sk_out fib100 n digits)"

t_eq "fibonacci(0) runs" succeeded "$(sk_run fib0 fibonacci '{"n": 0}')"
t_eq "F(0) = 0" 0 "$(sk_out fib0 n value)"
t_eq "fibonacci(1) runs" succeeded "$(sk_run fib1 fibonacci '{"n": 1}')"
t_eq "F(1) = 1" 1 "$(sk_out fib1 n value)"

t_eq "fibonacci(1000) runs" succeeded "$(sk_run fib1000 fibonacci '{"n": 1000}')"
f1000=$(sk_out fib1000 n value)
t_eq "F(1000) has 209 digits" 209 "$(sk_out fib1000 n digits)"
t_eq "F(1000) ends in ...875" 875 "${f1000: -3}"
sk_py "F(1000) equals an independent iteration" \
	'import sys
a, b = 0, 1
for _ in range(1000):
    a, b = b, a + b
assert sys.argv[1] == str(a), sys.argv[1][:40]
assert len(str(a)) == 209 and str(a).endswith("875")' "$f1000"
t_eq "sequence is not returned unless asked" no \
	"$(as alice test -e "$SK_RUN/fib1000/outputs/n/sequence" && echo yes || echo no)"
# The top of the range: 20,899 digits, more than python's default limit of
# 4,300 for int -> str.
t_eq "fibonacci(100000), the largest n allowed, runs" succeeded "$(sk_run fib100k fibonacci '{"n": 100000}')"
t_eq "F(100000) has 20899 digits" 20899 "$(sk_out fib100k n digits)"
sk_py "F(100000) equals an independent iteration" \
	'import sys; sys.set_int_max_str_digits(0); a, b = 0, 1
for _ in range(100000): a, b = b, a + b
assert str(a) == open(sys.argv[1]).read().strip(), "differs"' "$(sk_path fib100k n value)"

t_eq "fibonacci(10) with the sequence runs" succeeded \
	"$(sk_run fibseq fibonacci '{"n": 10, "sequence": true}')"
t_eq "the sequence is F(0)..F(10)" '["0","1","1","2","3","5","8","13","21","34","55"]' \
	"$(sk_out fibseq n sequence | jq -c .)"
t_eq "F(10) = 55" 55 "$(sk_out fibseq n value)"

t_eq "n = -1 fails" failed "$(sk_run fibneg fibonacci '{"n": -1}')"
t_eq "and gives the range" yes "$(sk_err fibneg n |
	grep -q 'n must be an integer between 0 and 100000, got -1' && echo yes)"
t_eq "n = 100001 fails" failed "$(sk_run fibbig fibonacci '{"n": 100001}')"
t_eq "and gives the range" yes "$(sk_err fibbig n |
	grep -q 'n must be an integer between 0 and 100000, got 100001' && echo yes)"

# --- text-diff -------------------------------------------------------------
D=$T_TMP/diff
mkdir -p "$D"
# old: 40 distinct lines, no trailing newline; new: line 5 changed and 7
# removed (one hunk), a line inserted after 30, and a newline added at
# the end (3 hunks with 3 lines of context, 4 with none)
for i in $(seq 1 40); do echo "line $i of the old text"; done |
	head -c -1 >"$D/old.txt"
sed -e 's/^line 5 of/line FIVE of/' -e '/^line 7 of/d' \
	-e '/^line 30 of/a inserted after 30' "$D/old.txt" >"$D/new.txt"
echo >>"$D/new.txt"
chmod 0644 "$D"/*.txt
# inputs JSON for the skill from the two files, plus EXTRA (a jq object)
diff_inputs()
{
	jq -n --rawfile a "$D/old.txt" --rawfile b "$D/new.txt" \
		"{a: \$a, b: \$b} + $1"
}
# body: a unified diff without its two header lines
body() { tail -n +3; }

t_eq "text-diff of two strings runs" succeeded \
	"$(sk_run td1 text-diff "$(diff_inputs '{a_name: "old.txt", b_name: "new.txt"}')")"
gnu=$(cd "$D" && diff -u old.txt new.txt)
mine=$(sk_out td1 n diff)
t_eq "the hunks and +/- lines are GNU diff -u's" "$(body <<<"$gnu")" \
	"$(body <<<"$mine")"
t_eq "the headers name a_name and b_name" "--- old.txt
+++ new.txt" "$(head -n 2 <<<"$mine")"
t_eq "a missing final newline is marked as GNU does" yes \
	"$(grep -qx '\\ No newline at end of file' <<<"$mine" && echo yes)"
t_eq "added = GNU's + lines (3)" "$(body <<<"$gnu" | grep -c '^+')" \
	"$(sk_out td1 n added)"
t_eq "removed = GNU's - lines (3)" "$(body <<<"$gnu" | grep -c '^-')" \
	"$(sk_out td1 n removed)"
t_eq "hunks = GNU's @@ lines (3)" "$(grep -c '^@@' <<<"$gnu")" \
	"$(sk_out td1 n hunks)"
t_eq "identical is false" false "$(sk_out td1 n identical)"
sk_out td1 n diff >"$D/skill.patch"
cp "$D/old.txt" "$D/patched.txt"
t_check "patch applies the diff to old.txt" \
	patch -s "$D/patched.txt" "$D/skill.patch"
t_check "and gives new.txt byte for byte" cmp "$D/patched.txt" "$D/new.txt"

t_eq "text-diff with context 0 runs" succeeded \
	"$(sk_run td0 text-diff "$(diff_inputs '{context: 0}')")"
t_eq "context 0 gives GNU diff -U0's hunks" \
	"$(cd "$D" && diff -U0 old.txt new.txt | body)" \
	"$(sk_out td0 n diff | body)"
t_eq "with one hunk per change (4)" 4 "$(sk_out td0 n hunks)"

t_eq "text-diff of identical texts runs" succeeded \
	"$(sk_run tdsame text-diff '{"a": "x\ny\n", "b": "x\ny\n"}')"
t_eq "identical is true" true "$(sk_out tdsame n identical)"
t_eq "the diff is empty, no hunks, nothing added" "|0|0" \
	"$(sk_out tdsame n diff)|$(sk_out tdsame n hunks)|$(sk_out tdsame n added)"

# files from the mount: the same diff, headers naming the files
as alice cp "$D/old.txt" "$D/new.txt" "$MNT/user/alice/skills/"
t_eq "text-diff of two mount files runs" succeeded \
	"$(sk_run tdf text-diff '{"a_file": "user/alice/skills/old.txt", "b_file": "user/alice/skills/new.txt"}')"
t_eq "the file diff has GNU's hunks" "$(body <<<"$gnu")" \
	"$(sk_out tdf n diff | body)"
t_eq "its headers are the files' names" "--- old.txt
+++ new.txt" "$(sk_out tdf n diff | head -n 2)"
t_eq "a string against a file works too" succeeded \
	"$(sk_run tdmix text-diff "$(jq -n --rawfile a "$D/old.txt" \
		'{a: $a, b_file: "user/alice/skills/new.txt", b_name: "new"}')")"
t_eq "with the same counts" "3 3 3" \
	"$(sk_out tdmix n added) $(sk_out tdmix n removed) $(sk_out tdmix n hunks)"

t_eq "a and a_file both given fails" failed \
	"$(sk_run tdboth text-diff '{"a": "x\n", "a_file": "user/alice/skills/old.txt", "b": "y\n"}')"
t_eq "and says to give one" yes "$(sk_err tdboth n |
	grep -q 'give either a or a_file, not both' && echo yes)"
t_eq "neither side given fails" failed "$(sk_run tdnone text-diff '{}')"
t_eq "and says what to give" yes "$(sk_err tdnone n |
	grep -q 'nothing to compare: give a or a_file, and b or b_file' && echo yes)"
t_eq "context -1 fails" failed \
	"$(sk_run tdctx text-diff '{"a": "x\n", "b": "y\n", "context": -1}')"
t_eq "and gives the range" yes "$(sk_err tdctx n |
	grep -q 'context must be an integer between 0 and 1000, got -1' && echo yes)"
head -c 64 /usr/bin/python3 | as alice sh -c "cat > '$MNT/user/alice/skills/bin.dat'"
t_eq "a binary file fails" failed \
	"$(sk_run tdbin text-diff '{"a_file": "user/alice/skills/bin.dat", "b": "y\n"}')"
t_eq "and says it is not UTF-8 text" yes "$(sk_err tdbin n |
	grep -q 'a_file: .*bin.dat.* is not UTF-8 text' && echo yes)"

t_done
