#!/usr/bin/env bash
# tests/t-security.sh: attacks by ordinary users on a real mount (issue 10):
# rights taken at close from whoever closes last (a setuid program that
# inherited the descriptor), and a graph being written by one identity
# opened for writing by another.
set -u
source "$(dirname "$0")/lib.sh"
lfs_require
command -v bwrap >/dev/null || t_skip_all "no bwrap (apt-get install bubblewrap)"
command -v python3 >/dev/null || t_skip_all "no python3"
t_begin
lfs_users
lfs_config "jobs = 2"
lfs_mount || { t_fail "mount"; t_done; exit 1; }

RUN=$MNT/user/alice/run
as carol sh -c "echo 'carol secret 42' > '$MNT/user/carol/skills/secret.txt'"
as carol sh -c "cat > '$MNT/user/carol/skills/secret.md'" <<'EOF'
---
name: Secret
description: Carol's private skill, which prints what only she knows.
type: python
outputs:
  - {name: text, type: string}
---
Private.

```python
def execute(inputs):
    return {"text": "carol's private code ran"}
```
EOF
as alice sh -c "cat > '$MNT/user/alice/skills/readf.md'" <<'EOF'
---
name: Readf
description: Reads a file input and returns its text.
type: python
inputs:
  - {name: f, type: file, required: true}
outputs:
  - {name: text, type: string}
---
Reads.

```python
def execute(inputs):
    return {"text": open(inputs["f"]).read()}
```
EOF
as alice sh -c "echo 'alice data 7' > '$MNT/user/alice/skills/mine.txt'"

# setuid_close NAME GRAPH PROG [ARGS...]: as alice, open run/NAME.json,
# write GRAPH with a direct write(2) (no close of a duplicate, which would
# flush as alice), then exec the setuid program PROG, which inherits the
# descriptor and closes it last, as root, when it exits.
setuid_close()
{
	local name=$1 graph=$2
	shift 2
	as alice env G="$graph" F="$RUN/$name.json" python3 -c '
import os, sys
fd = os.open(os.environ["F"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, os.environ["G"].encode())
os.set_inheritable(fd, True)
null = os.open("/dev/null", os.O_RDWR)
for i in (0, 1, 2):
    os.dup2(null, i)
os.execv(sys.argv[1], sys.argv[1:])
' "$@"
	return 0
}

leaks()
{
	as alice cat "$RUN/$1/outputs/r/text" 2>/dev/null |
		grep -qE "carol secret 42|carol's private code"
}

FILE_GRAPH='{"nodes": [{"id": "r", "skill": "user/alice/readf", "inputs": {"f": "user/carol/skills/secret.txt"}}]}'
SKILL_GRAPH='{"nodes": [{"id": "r", "skill": "user/carol/secret", "inputs": {}}]}'
i=0
for prog in "/usr/bin/passwd --help" "/usr/bin/chsh --help" \
	"/usr/bin/gpasswd --help" "/usr/bin/newgrp --help" \
	"/bin/mount --version" "/usr/bin/fusermount3 -V" \
	"/usr/bin/su -c true root"; do
	bin=${prog%% *}
	if [ ! -u "$bin" ]; then
		echo "# skip $bin: not setuid here"
		continue
	fi
	for kind in file skill; do
		i=$((i + 1))
		name=su$i
		[ $kind = file ] && g=$FILE_GRAPH || g=$SKILL_GRAPH
		# shellcheck disable=SC2086
		setuid_close $name "$g" $prog
		for _ in $(seq 100); do
			[ -e "$RUN/$name/status" ] && break
			sleep 0.05
		done
		as alice timeout 60 cat "$RUN/$name/wait" >/dev/null 2>&1
		if leaks $name; then
			t_fail "closed last by $(basename "$bin") (root): carol's $kind does not leak" \
				"$(as alice cat "$RUN/$name/outputs/r/text" 2>&1)"
		else
			t_pass "closed last by $(basename "$bin") (root): carol's $kind does not leak"
		fi
	done
done
err=$(as alice cat "$RUN/su1/error" 2>&1)
case $err in
*"no file 'user/carol/skills/secret.txt' that you may read"*)
	t_pass "the run is refused as alice would be: no file she may read" ;;
*) t_fail "the run is refused as alice would be: no file she may read" "$err" ;;
esac
err=$(as alice cat "$RUN/su2/error" 2>&1)
case $err in
*"unknown skill 'user/carol/secret'"*)
	t_pass "and carol's skill is unknown to her" ;;
*) t_fail "and carol's skill is unknown to her" "$err" ;;
esac

# Her own graph, closed by a setuid program, still runs as she wrote it.
setuid_close own '{"nodes": [{"id": "r", "skill": "readf", "inputs": {"f": "user/alice/skills/mine.txt"}}]}' \
	/usr/bin/fusermount3 -V
for _ in $(seq 100); do [ -e "$RUN/own/status" ] && break; sleep 0.05; done
t_eq "alice's own graph closed by a setuid program runs as hers" succeeded \
	"$(as alice timeout 60 cat "$RUN/own/wait" 2>&1)"
t_eq "and reads her file" "alice data 7" "$(as alice cat "$RUN/own/outputs/r/text" 2>&1)"

# A graph being written by alice cannot be opened for writing by another
# identity (root through a setuid helper, an admin): its content would be
# submitted with the rights of whoever closes it.
as alice python3 - "$RUN/busy.json" <<'EOF' &
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, b'{"nodes": [')
time.sleep(3)
os.write(fd, b'{"id": "r", "skill": "readf", "inputs": {"f": "user/alice/skills/mine.txt"}}]}')
os.close(fd)
EOF
writer=$!
sleep 1
out=$(python3 -c 'import os,sys; os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)' "$RUN/busy.json" 2>&1)
case $out in
*"Device or resource busy"*) t_pass "root cannot open alice's graph being written (EBUSY)" ;;
*) t_fail "root cannot open alice's graph being written (EBUSY)" "$out" ;;
esac
out=$(as dave python3 -c 'import os,sys; os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)' "$RUN/busy.json" 2>&1)
case $out in
*"Device or resource busy"*) t_pass "nor can an admin (EBUSY)" ;;
*) t_fail "nor can an admin (EBUSY)" "$out" ;;
esac
out=$(as alice python3 -c 'import os,sys; os.close(os.open(sys.argv[1], os.O_RDONLY))' "$RUN/busy.json" 2>&1)
t_eq "alice herself may open it again" "" "$out"
wait $writer
t_eq "and her graph runs once she closes it" succeeded \
	"$(as alice timeout 60 cat "$RUN/busy/wait" 2>&1)"

# --- what users name and write cannot forge log lines nor drive a terminal ---
strerror_of_create()
{
	as alice python3 -c 'import os, sys
try:
    os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o644)
except OSError as e:
    print(e.strerror)' "$1" 2>&1
}
t_eq "a run name with a newline is refused (EINVAL)" "Invalid argument" \
	"$(strerror_of_create "$RUN/$(printf 'a\nb').json")"
t_eq "so is one with an escape sequence" "Invalid argument" \
	"$(strerror_of_create "$RUN/$(printf 'x\033[31m').json")"
evil=$(printf 'evil\033[2J\033[31m')
as alice sh -c "cat > '$MNT/user/alice/skills/$evil.md'" <<'EOF'
---
name: Evil
description: Fails with a message that pretends to be the end of the run.
type: python
outputs:
  - {name: y, type: number}
---
Lies.

```python
def execute(inputs):
    raise ValueError("\n2026-01-01T00:00:00.000Z run succeeded in 0.001 s\x1b[0m")
```
EOF
printf '{"nodes": [{"id": "e", "skill": "%s", "inputs": {}}]}' \
	'user/alice/evil\u001b[2J\u001b[31m' |
	as alice sh -c "cat > '$RUN/forge.json'"
as alice timeout 60 cat "$RUN/forge/wait" >/dev/null 2>&1
log=$(as alice cat "$RUN/forge/log" 2>&1)
t_eq "the run's log holds no escape character" 0 \
	"$(printf '%s' "$log" | tr -cd '\033' | wc -c)"
t_eq "every line of the log is a dated entry or an indented continuation" "" \
	"$(printf '%s\n' "$log" | grep -vE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T|^    ')"
t_eq "the forged line is only a continuation, never an entry" "0 yes" \
	"$(printf '%s\n' "$log" | grep -c '^2026-01-01T00:00:00.000Z') $(printf '%s\n' "$log" | grep -q '^    2026-01-01T00:00:00.000Z run succeeded' && echo yes)"
t_eq "and the run failed" failed "$(as alice cat "$RUN/forge/status" 2>&1)"

# --- user.llmunix.* is the store's own: nobody sets or reads it ----------------
f=$MNT/user/alice/skills/mine.txt
t_eq "setting user.llmunix.mode is refused (EPERM)" 1 \
	"$(as alice setfattr -n user.llmunix.mode -v 0777 "$f" 2>&1 | grep -c 'Operation not permitted')"
t_eq "it cannot be read" 1 \
	"$(as alice getfattr -n user.llmunix.mode "$f" 2>&1 | grep -c 'No such attribute')"
t_eq "nor removed" 1 \
	"$(as alice setfattr -x user.llmunix.mode "$f" 2>&1 | grep -c 'Operation not permitted')"
as alice setfattr -n user.note -v kept "$f"
t_eq "other user.* names are the user's" kept \
	"$(as alice getfattr -n user.note --only-values "$f" 2>/dev/null)"

t_done
