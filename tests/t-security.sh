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

t_done
