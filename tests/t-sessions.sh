#!/usr/bin/env bash
# tests/t-sessions.sh: sessions and chat through a real mount, as real
# users (DESIGN.md section 6, issue 13), against tests/llm-server.py
# speaking the Anthropic and OpenAI protocols: conversations, a reply
# followed as it streams, cancel, tool calls that run skills in the
# sandbox and show in run/, artifacts, privacy, bad input and the
# provider's failures.
. "$(dirname "$0")/lib.sh"

t_begin
lfs_require
lfs_users
llm_start || t_skip_all "the test LLM server does not start (needs $PY3)"

U=$MNT/user/alice
S=$U/sessions

# ask USER SESSION TEXT: write a prompt the way a shell does.
ask() { printf '%s\n' "$3" | as "$1" sh -c "cat > '$S/$2/prompt'"; }
# reply USER SESSION: the answer, followed to its end.
reply() { as "$1" timeout 30 cat "$S/$2/reply"; }
# req N FILTER: jq FILTER on the N-th request the server got (0-based;
# -1 the last).
req() { llm_requests | jq -r ".[$1] | $2"; }
# t_grep DESC PATTERN TEXT: passes when TEXT has a line matching PATTERN.
t_grep()
{
	if grep -q -- "$2" <<<"$3"; then
		t_pass "$1"
	else
		t_fail "$1" "no line matches: $2" "in: $(head -c 400 <<<"$3")"
	fi
}

# --- the test server refuses what the providers refuse ---------------------
# post PATH BODY HEADER...: the status and the error's type
post()
{
	local p=$1 b=$2
	shift 2
	local h=()
	for x in "$@"; do h+=(-H "$x"); done
	curl -s -o "$T_TMP/post.out" -w '%{http_code}' -X POST "${h[@]}" \
		--data-binary "$b" "http://127.0.0.1:$LLM_PORT$p"
	printf ' %s' "$(jq -r '.error.type // .error.code // empty' "$T_TMP/post.out" 2>/dev/null)"
}
good='{"model": "m", "max_tokens": 10, "stream": true, "messages": [{"role": "user", "content": "hi"}]}'
t_eq "anthropic: no x-api-key is 401 authentication_error" "401 authentication_error" \
	"$(post /v1/messages "$good" "anthropic-version: 2023-06-01" "content-type: application/json")"
t_eq "anthropic: no anthropic-version is 400" "400 invalid_request_error" \
	"$(post /v1/messages "$good" "x-api-key: test-key" "content-type: application/json")"
t_eq "anthropic: a body that is not JSON is 400" "400 invalid_request_error" \
	"$(post /v1/messages '{"model":' "x-api-key: test-key" "anthropic-version: 2023-06-01" "content-type: application/json")"
t_eq "anthropic: no max_tokens is 400" "400 invalid_request_error" \
	"$(post /v1/messages '{"model": "m", "messages": [{"role": "user", "content": "hi"}]}' "x-api-key: test-key" "anthropic-version: 2023-06-01" "content-type: application/json")"
t_eq "openai: no Bearer key is 401" "401 invalid_api_key" \
	"$(post /v1/chat/completions '{"model": "m", "messages": [{"role": "user", "content": "hi"}]}' "content-type: application/json")"
t_eq "openai: a tool message answering no call is 400" "400 invalid_request_error" \
	"$(post /v1/chat/completions '{"model": "m", "messages": [{"role": "tool", "tool_call_id": "x", "content": "1"}]}' "Authorization: Bearer test-key")"

# --- no provider ------------------------------------------------------------
lfs_mount || exit 1
t_check "alice makes a session" as alice mkdir "$S/h2"
t_eq "it holds the files of a session" \
	"artifacts ctl error messages prompt reply session.json transcript.md usage.json" \
	"$(as alice ls "$S/h2" | tr '\n' ' ' | sed 's/ $//')"
ask alice h2 "What is the ground-state energy of H2 at 0.74 Å? Use my skills."
out=$(reply alice h2)
t_grep "with no provider, the reply says so" "No LLM provider is configured" "$out"
t_grep "and lists the skills relevant to the prompt, the quantum ones first" \
	'system/quantum-vqe\|system/hamiltonian-builder' \
	"$(grep -A3 'relevant to your prompt' <<<"$out")"
t_check_not "not unrelated ones" grep -q 'system/fibonacci' <<<"$out"
t_eq "messages/ has the prompt and the answer" \
	"0001-user.md 0002-assistant.json 0002-assistant.md" \
	"$(as alice ls "$S/h2/messages" | tr '\n' ' ' | sed 's/ $//')"
t_eq "0001-user.md is the prompt" \
	"What is the ground-state energy of H2 at 0.74 Å? Use my skills." \
	"$(as alice cat "$S/h2/messages/0001-user.md")"
t_eq "stat gives a generated file's real size" \
	"$(as alice cat "$S/h2/transcript.md" | wc -c)" \
	"$(as alice stat -c %s "$S/h2/transcript.md")"
t_check "cp copies it whole (it trusts the size)" \
	as alice sh -c "cp '$S/h2/session.json' /tmp/sj.$$ && jq -e .id /tmp/sj.$$ >/dev/null && rm /tmp/sj.$$"
t_eq "session.json has the id, in LLMos-Lite's form" "sess_h2_" \
	"$(as alice jq -r .id "$S/h2/session.json" | cut -c1-8)"
t_eq "and the title, from the first prompt" \
	"What is the ground-state energy of H2 at 0.74 Å? Use my skills." \
	"$(as alice jq -r .title "$S/h2/session.json")"
t_eq "the answer's record says which skills were sent whole and why" \
	"full text" \
	"$(as alice jq -r '.context.skills[] | select(.id=="system/hamiltonian-builder") | .sent' "$S/h2/messages/0002-assistant.json")"
t_grep "with the terms that matched" h2 \
	"$(as alice jq -r '.context.skills[0].why' "$S/h2/messages/0002-assistant.json")"

# --- privacy ------------------------------------------------------------------
t_check_not "a teammate does not see sessions/ in alice's volume" \
	grep -qx sessions <<<"$(as bob ls "$U")"
t_check_not "nor can bob list it" as bob ls "$S"
t_check_not "nor read a session's reply" as bob cat "$S/h2/reply"
t_check_not "a stranger sees no user/alice at all" as eve ls "$U"
t_check "an admin sees it" as dave ls "$S/h2"
t_check_not "bob cannot make a session in alice's sessions/" as bob mkdir "$S/x"
lfs_umount

# --- Anthropic ----------------------------------------------------------------
lfs_config "llm_provider = anthropic" "llm_base_url = http://127.0.0.1:$LLM_PORT" \
	"llm_model = test-model" "llm_idle_timeout = 2" "llm_timeout = 30"
LFS_ENV="ANTHROPIC_API_KEY=test-key"
lfs_mount || exit 1
as alice mkdir "$S/chat"
llm_reset
llm_script '[{"text": "Hello Alice, the ground state is −1.137 Ha."}]'
ask alice chat "Hello"
t_eq "a reply streams from the provider" "Hello Alice, the ground state is −1.137 Ha." \
	"$(reply alice chat)"
t_eq "the request carried x-api-key and anthropic-version" "(set) 2023-06-01" \
	"$(req 0 '.headers["x-api-key"] + " " + .headers["anthropic-version"]')"
t_eq "the model and stream: true" "test-model true" "$(req 0 '.body.model + " " + (.body.stream|tostring)')"
t_grep "the system prompt carries the catalog of alice's skills" \
	'^- system/fibonacci: ' "$(req 0 .body.system)"
t_eq "the runnable skills are tools, with a JSON Schema of their inputs" "integer" \
	"$(req 0 '.body.tools[] | select(.name=="fibonacci") | .input_schema.properties.n.type')"
llm_script '[{"text": "Second answer.", "chunk": 3}]'
ask alice chat "And the second question?"
reply alice chat >/dev/null
t_eq "a second turn sends the whole conversation" "user assistant user" \
	"$(req -1 '[.body.messages[].role] | join(" ")')"
t_eq "the previous answer is in it" "Hello Alice, the ground state is −1.137 Ha." \
	"$(req -1 '.body.messages[1].content[0].text')"
t_eq "four messages" "4" "$(as alice jq -r .messages "$S/chat/session.json")"
t_eq "transcript.md has them all" 4 \
	"$(as alice cat "$S/chat/transcript.md" | grep -c '^## ')"
t_check "usage.json counts tokens per turn and in all" \
	as alice jq -e '(.turns | length) == 2 and .total.output_tokens > 0' "$S/chat/usage.json"
t_eq "error is empty after a good answer" "" "$(as alice cat "$S/chat/error")"

# A stream split into single bytes (lines, UTF-8 characters).
llm_script '[{"text": "Ünïcödé → 2π ≈ 6.283", "bytes": 1, "chunk": 2}]'
ask alice chat "bytes"
t_eq "a stream delivered a byte at a time arrives whole" "Ünïcödé → 2π ≈ 6.283" "$(reply alice chat)"

# Following a stream: reads give what came, and end with the answer.
llm_script '[{"text": "one two three four five six seven eight", "chunk": 4, "delay_ms": 150}]'
ask alice chat "slowly"
sleep 0.5
part=$(as alice "$PY3" -c '
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
got = b""
while True:
    try:
        b = os.read(fd, 4096)
    except BlockingIOError:
        print(got.decode(), "EAGAIN", end="")
        break
    if not b:
        print(got.decode(), "EOF", end="")
        break
    got += b
' "$S/chat/reply")
t_check "O_NONBLOCK mid-stream gives what is there, then EAGAIN ($part)" \
	sh -c "case '$part' in *EAGAIN) [ '${part% EAGAIN}' != '' ];; *) false;; esac"
t_eq "cat reply follows the stream to its end" "one two three four five six seven eight" "$(reply alice chat)"

# Cancel.
llm_script '[{"text": "never finished", "stall": 20}]'
ask alice chat "stall"
sleep 0.5
t_check_not "a prompt while an answer runs is refused (EBUSY)" \
	as alice sh -c "echo again > '$S/chat/prompt'"
start=$(date +%s.%N)
as alice sh -c "echo cancel > '$S/chat/ctl'"
out=$(reply alice chat)
took=$(echo "$(date +%s.%N) - $start" | bc)
t_check "cancel ends the answer: '(cancelled)' ($out)" grep -q "(cancelled)" <<<"$out"
# judged against the stall, not the clock: a loaded machine is slow
t_check "long before the 20 s stall ends ($took s)" sh -c "[ \$(echo '$took < 15' | bc) = 1 ]"
t_eq "error says so" "cancelled" "$(as alice cat "$S/chat/error")"
t_check "a new prompt is taken after it" as alice sh -c "echo after > '$S/chat/prompt'"
reply alice chat >/dev/null

# --- tools: skills run through the engine ----------------------------------
as alice mkdir "$S/fib"
llm_reset
llm_script '[{"text": "Let me compute it.", "tool": {"name": "fibonacci", "input": {"n": 100}}, "chunk": 3},
	     {"echo_tool": true}]'
ask alice fib "What is F(100)? Use my skills."
out=$(reply alice fib)
t_grep "the model's tool call ran fibonacci and its result reached the next request" \
	'the tool said: .*354224848179261915075' "$out"
t_eq "the result went back as a tool_result for the call" "tool_result" \
	"$(req 1 '.body.messages[-1].content[0].type')"
t_eq "the call shows in run/ as a run named after the session and answer" \
	"succeeded" "$(as alice cat "$U/run/fib-0002-1/status")"
t_eq "with its output" "354224848179261915075" \
	"$(as alice cat "$U/run/fib-0002-1/outputs/tool/value")"
t_grep "the reply shows the call" '^> tool `fibonacci` {"n": 100} → {"run":"run/fib-0002-1","status":"succeeded"' "$out"
t_eq "the record lists it" "fibonacci fib-0002-1" \
	"$(as alice jq -r '.tools[0].tool + " " + .tools[0].run' "$S/fib/messages/0002-assistant.json")"
t_grep "the transcript shows the call and its result" 'tool `fibonacci`' \
	"$(as alice cat "$S/fib/transcript.md")"

# A stream recorded from the API's reference (tests/llm/), sent as it is.
llm_script '[{"fixture": "anthropic-tool.sse", "bytes": 7}, {"echo_tool": true}]'
ask alice fib "F(10), the recorded way"
t_grep "a recorded tool-use stream runs its call: F(10) = 55" \
	'the tool said: .*"value":"55"' "$(reply alice fib)"

# The H2 Hamiltonian, a real numerical skill in the sandbox.
llm_script '[{"tool": {"name": "hamiltonian-builder", "input": {"bond_length": 0.7414}}},
	     {"echo_tool": true}]'
ask alice fib "Build the H2 Hamiltonian at 0.7414 Å."
out=$(reply alice fib)
t_grep "hamiltonian-builder ran as a tool: its FCI energy came back" \
	'"exact_energy":-1\.137' "$out"
t_eq "as run/fib-0006-1" "succeeded" "$(as alice cat "$U/run/fib-0006-1/status")"

# A tool call with bad inputs: the model is told why, nothing breaks.
llm_script '[{"tool": {"name": "fibonacci", "input": {"m": 3}}}, {"echo_tool": true}]'
ask alice fib "wrong"
out=$(reply alice fib)
t_grep "a call the graph check refuses comes back as an error the model reads" \
	"the tool said: .*rejected.*" "$out"
llm_script '[{"tool": {"name": "no-such-tool", "input": {}}}, {"echo_tool": true}]'
ask alice fib "unknown tool"
t_grep "an unknown tool too" "the tool said: .*no tool 'no-such-tool'" "$(reply alice fib)"

# Cancel stops the turn and its run.
cat >"$T_TMP/slow.md" <<'EOF2'
---
name: Slow
description: Sleeps for a long time.
skill_id: slow
inputs: []
outputs: [{name: done, type: boolean}]
---
```python
import time
def execute(inputs):
    time.sleep(30)
    return {"done": True}
```
EOF2
as alice cp "$T_TMP/slow.md" "$U/skills/slow.md"
llm_script '[{"tool": {"name": "slow", "input": {}}}, {"echo_tool": true}]'
ask alice fib "slow"
for i in $(seq 1 100); do
	[ "$(as alice cat "$U/run/fib-0012-1/status" 2>/dev/null)" = running ] && break
	sleep 0.1
done
as alice sh -c "echo cancel > '$S/fib/ctl'"
t_grep "cancel during a tool call ends the answer" "(cancelled)" "$(reply alice fib)"
for i in $(seq 1 50); do
	st=$(as alice cat "$U/run/fib-0012-1/status" 2>/dev/null)
	[ "$st" = cancelled ] && break
	sleep 0.1
done
t_eq "and cancels its run" cancelled "$st"

# Rights after open: alice opens the prompt, root writes and closes it
# last (a setuid program that inherited the descriptor): the prompt is
# alice's, resolved with her rights (her own skill slow is in the
# catalog, which root's would not have).
llm_reset
llm_script '[{"text": "as alice"}]'
"$PY3" - "$S/fib/prompt" <<'EOF2'
import os, pwd, socket, sys
u = pwd.getpwnam("alice")
a, b = socket.socketpair()
pid = os.fork()
if pid == 0:
    os.initgroups("alice", u.pw_gid)
    os.setgid(u.pw_gid)
    os.setuid(u.pw_uid)
    fd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC)
    socket.send_fds(a, [b"x"], [fd])
    os.close(fd)
    os._exit(0)
_, fds, _, _ = socket.recv_fds(b, 16, 1)
os.waitpid(pid, 0)
os.write(fds[0], b"which skills can I use?\n")
os.close(fds[0])
EOF2
t_eq "a prompt closed last by root is sent as its opener, alice" "as alice" "$(reply alice fib)"
t_grep "resolved with her rights: her own skills in the catalog" \
	'^- user/alice/slow: ' "$(req -1 .body.system)"

# Ctrl-C interrupts a read of reply that waits: a signal whose handler
# raises, 0.5 s into a read blocked in the file system.
llm_script '[{"text": "late", "stall_after": 0, "stall": 6}]'
ask alice fib "wait for me"
out=$(as alice "$PY3" -c '
import os, signal, sys, time
def stop(sig, frame):
    global t
    t = time.monotonic()
    raise KeyboardInterrupt
signal.signal(signal.SIGALRM, stop)
fd = os.open(sys.argv[1], os.O_RDONLY)
signal.setitimer(signal.ITIMER_REAL, 0.5)
try:
    while os.read(fd, 4096):
        pass
    print("ended")
except KeyboardInterrupt:
    print("interrupted %.3f" % (time.monotonic() - t))
' "$S/fib/reply")
t_grep "a signal interrupts a read of reply that waits ($out)" '^interrupted 0\.[0-4]' "$out"
as alice sh -c "echo cancel > '$S/fib/ctl'"
reply alice fib >/dev/null

# --- artifacts -------------------------------------------------------------
as alice mkdir "$S/art"
llm_reset
cat >"$T_TMP/art.json" <<'EOF2'
[{"text": "Here is a skill:\n\n````markdown\n---\nname: Bond Scan\ndescription: Scans the H2 bond length.\nskill_id: bond-scan\ninputs:\n  - {name: points, type: integer, default: 5}\noutputs:\n  - {name: lengths, type: array}\n---\nScans.\n\n```python\ndef execute(inputs):\n    n = inputs[\"points\"]\n    return {\"lengths\": [0.5 + 0.1 * i for i in range(n)]}\n```\n````\n\nand a helper:\n\n```sh\necho hi\n```\n\n```markdown\n---\nname: Broken\ninputs:\n  - {name: x, type: nmber}\n---\n```\n"}]
EOF2
llm_script "$(cat "$T_TMP/art.json")"
ask alice art "write me a skill"
reply alice art >/dev/null
t_eq "artifacts/ has the skill by its id, the code by message and language" \
	"0002-2.sh bond-scan.md broken.md" \
	"$(as alice ls "$S/art/artifacts" | tr '\n' ' ' | sed 's/ $//')"
t_eq "a skill artifact is parsed like any skill" "bond-scan" \
	"$(as alice getfattr -n user.skill.id --only-values "$S/art/artifacts/bond-scan.md" 2>/dev/null)"
t_grep "a broken one says what is wrong in user.skill.error" "inputs\[0\].type: unknown type 'nmber'" \
	"$(as alice getfattr -n user.skill.error --only-values "$S/art/artifacts/broken.md" 2>/dev/null)"
t_check "mv moves a skill artifact into skills/" as alice mv "$S/art/artifacts/bond-scan.md" "$U/skills/"
t_check_not "it is gone from artifacts/" as alice test -e "$S/art/artifacts/bond-scan.md"
t_eq "and runs from skills/" "[0.5, 0.6, 0.7]" "$(as alice sh -c "
	echo '{\"nodes\": [{\"id\": \"s\", \"skill\": \"bond-scan\", \"inputs\": {\"points\": 3}}]}' > '$U/run/scan.json'
	cat '$U/run/scan/wait' >/dev/null
	jq -c . '$U/run/scan/outputs/s/lengths' | sed 's/,/, /g'")"

# --- the provider's failures -------------------------------------------------
as alice mkdir "$S/err"
llm_reset
llm_script '[{"status": 429, "retry_after": 1}]'
start=$(date +%s.%N)
ask alice err "rate limited once"
out=$(reply alice err)
took=$(echo "$(date +%s.%N) - $start" | bc)
t_eq "429 with Retry-After: 1 is retried to an answer" "echo: rate limited once" "$out"
t_check "after waiting what Retry-After says ($took s)" sh -c "[ \$(echo '$took >= 1' | bc) = 1 ]"
t_eq "usage counts both requests" 2 "$(as alice jq -r '.turns[-1].requests' "$S/err/usage.json")"
llm_script '[{"status": 500}, {"status": 502}, {"status": 500}, {"status": 500}]'
ask alice err "keeps failing"
out=$(reply alice err)
t_grep "5xx that go on become a readable line in reply" \
	'^error: anthropic: the provider failed (HTTP 500 api_error): scripted failure (after 4 attempts)' "$out"
t_grep "and in error" 'the provider failed (HTTP 500' "$(as alice cat "$S/err/error")"
llm_script '[{"status": 529, "message": "Overloaded"}, {"status": 529, "message": "Overloaded"}, {"status": 529, "message": "Overloaded"}, {"status": 529, "message": "Overloaded"}]'
ask alice err "overloaded"
t_grep "529 says overloaded" 'overloaded (HTTP 529 overloaded_error): Overloaded' "$(reply alice err)"
llm_script '[{"text": "partial answer here", "chunk": 4, "error_after": 3}]'
ask alice err "error after 200"
out=$(reply alice err)
t_grep "an error event after the 200 ends the answer, saying so" \
	'error: anthropic: the stream ended with an error: overloaded_error: Overloaded' "$out"
t_grep "what streamed before it is kept" '^partial answ' "$out"
t_eq "and is not sent twice (no retry once output streamed)" 1 \
	"$(as alice jq -r '.turns[-1].requests' "$S/err/usage.json")"
llm_script '[{"text": "x", "stall": 5}]'
ask alice err "stall before any text"
t_eq "a stream silent past llm_idle_timeout before any text is tried again" \
	"echo: stall before any text" "$(reply alice err)"
llm_script '[{"text": "begun, then", "chunk": 6, "stall_after": 1, "stall": 8}]'
start=$(date +%s.%N)
ask alice err "stall mid-answer"
out=$(reply alice err)
took=$(echo "$(date +%s.%N) - $start" | bc)
t_grep "one silent after some text fails, saying so" \
	'^error: anthropic: no data for 2 s (llm_idle_timeout)' "$out"
t_grep "keeping what came" '^begun,' "$out"
t_check "at the 2 s limit, before the 8 s stall ends ($took s)" \
	sh -c "[ \$(echo '$took < 7.5' | bc) = 1 ]"
lfs_umount

# A refused key: the daemon's key is not the server's.
LFS_ENV="ANTHROPIC_API_KEY=wrong-key"
lfs_mount || exit 1
ask alice err "who am I"
out=$(reply alice err)
t_grep "401 says the key was refused" \
	'^error: anthropic: the API key was refused (HTTP 401 authentication_error): invalid x-api-key; check the key' "$out"
t_check_not "and the key never shows in the log" grep -q wrong-key "$T_TMP/daemon.log"
lfs_umount

# --- bad input and limits ----------------------------------------------------
lfs_config "llm_provider = anthropic" "llm_base_url = http://127.0.0.1:$LLM_PORT" \
	"llm_idle_timeout = 2" "max_prompt = 1K" "llm_max_reply = 64" "llm_timeout = 4"
LFS_ENV="ANTHROPIC_API_KEY=test-key"
lfs_mount || exit 1
llm_reset
t_check_not "a session name with a newline is refused" as alice mkdir "$S/a
b"
t_check_not "one with a leading dot too" as alice mkdir "$S/.hidden"
as alice mkdir "$S/lim"
t_check_not "mkdir of a name in use is EEXIST" as alice mkdir "$S/lim"
head -c 2000 /dev/zero | tr '\0' x >"$T_TMP/big"
out=$(as alice sh -c "cat '$T_TMP/big' > '$S/lim/prompt'" 2>&1)
t_grep "a prompt over max_prompt fails: File too large" "File too large" "$out"
t_eq "and nothing was sent" 0 "$(as alice jq -r .messages "$S/lim/session.json")"
llm_script '[{"text": "0123456789012345678901234567890123456789012345678901234567890123456789 and more", "chunk": 10}]'
ask alice lim "long"
out=$(reply alice lim)
t_grep "a reply over llm_max_reply is cut, saying so" \
	'^error: the reply reached llm_max_reply (64 bytes) and was cut there' "$out"
t_eq "what fitted is kept" "012345678901234567890123456789012345678901234567890123456789" \
	"$(head -1 <<<"$out")"

# A provider that streams on and on: llm_timeout ends the answer.
llm_script '[{"text": "abcdefghijklmnopqrstuvwxyzabcdefghijklmn", "chunk": 1, "delay_ms": 250}]'
start=$(date +%s.%N)
ask alice lim "forever"
out=$(reply alice lim)
took=$(echo "$(date +%s.%N) - $start" | bc)
t_grep "a stream that goes on past llm_timeout is ended, saying so" \
	'^error: no complete answer within llm_timeout (4 s)' "$out"
t_check "at the 4 s limit, not at the stream's end at 10 s ($took s)" \
	sh -c "[ \$(echo '$took < 8.5' | bc) = 1 ]"
t_grep "keeping what came" '^abcdef' "$out"

# rm -r of a session while it streams.
llm_script '[{"text": "streaming on and on", "chunk": 2, "delay_ms": 300}]'
ask alice lim "stream"
sleep 0.5
as alice timeout 30 cat "$S/lim/reply" >"$T_TMP/rm.out" 2>&1 &
rpid=$!
sleep 0.3
t_check "rm -r removes a session while its answer streams" as alice rm -r "$S/lim"
wait $rpid
t_check "a reader of its reply ends" true
t_grep "saying the session was removed" "the session was removed" "$(cat "$T_TMP/rm.out")"
t_check_not "it is gone" as alice test -e "$S/lim"
t_check_not "and from the store" sh -c "ls '$STATE/kv/str' | grep -q sess_lim_"

# mv renames a session.
as alice mkdir "$S/old"
t_check "mv renames a session" as alice mv "$S/old" "$S/new"
t_eq "its name in the store" "new" "$(as alice jq -r .name "$S/new/session.json")"
t_check_not "the old name is gone" as alice test -e "$S/old"
lfs_umount

# --- OpenAI-compatible ------------------------------------------------------
lfs_config "llm_provider = openai" "llm_base_url = http://127.0.0.1:$LLM_PORT/v1" \
	"llm_model = test-model" "llm_idle_timeout = 2"
LFS_ENV="OPENAI_API_KEY=test-key"
lfs_mount || exit 1
llm_reset
as alice mkdir "$S/oa"
llm_script '[{"text": "Hi from an OpenAI-compatible server.", "chunk": 5}]'
ask alice oa "Hello"
t_eq "openai: a reply streams" "Hi from an OpenAI-compatible server." "$(reply alice oa)"
t_eq "with Bearer auth, stream_options.include_usage and a system message" \
	"(set) true system" \
	"$(req -1 '.headers.authorization + " " + (.body.stream_options.include_usage|tostring) + " " + .body.messages[0].role')"
llm_script '[{"tool": {"name": "fibonacci", "input": {"n": 12}}, "no_done": true, "chunk": 2},
	     {"echo_tool": true, "no_done": true}]'
ask alice oa "F(12)?"
t_grep "openai: a tool call (arguments in pieces, no [DONE]) runs the skill" \
	'the tool said: .*"value":"144"' "$(reply alice oa)"
t_eq "the result went back as a tool message" "tool" "$(req -1 '.body.messages[-1].role')"
t_check "usage comes from the chunk with empty choices" \
	as alice jq -e '.total.output_tokens > 0' "$S/oa/usage.json"
llm_script '[{"status": 429, "retry_after": 0}, {"text": "after a 429"}]'
ask alice oa "again"
t_eq "openai: 429 is retried" "after a 429" "$(reply alice oa)"
lfs_umount

# --- relevance among 1,000 skills ---------------------------------------------
lfs_config "llm_provider = anthropic" "llm_base_url = http://127.0.0.1:$LLM_PORT"
LFS_ENV="ANTHROPIC_API_KEY=test-key"
lfs_mount || exit 1
llm_reset
"$PY3" - "$T_TMP/gen" <<'EOF2'
import os, random, sys
random.seed(7)
words = ("invoice ledger widget pasta garden bicycle sonnet harbor violin "
         "tax parcel orchard kettle lantern marble saddle tunnel wagon "
         "yarn zephyr anchor basket candle dolphin ember falcon glacier "
         "hammock igloo jacket kiwi lemon mosaic nectar").split()
os.makedirs(sys.argv[1], exist_ok=True)
for i in range(1000):
    w = random.sample(words, 6)
    with open(f"{sys.argv[1]}/gen-{i:04d}.md", "w") as f:
        f.write(f"---\nname: Gen {i}\ndescription: Sorts the {w[0]} and the "
                f"{w[1]} of a {w[2]}.\nskill_id: gen-{i:04d}\n---\n"
                f"Prose about {w[3]}, {w[4]} and {w[5]}.\n")
EOF2
as alice mkdir "$U/skills/gen"
chown -R alice "$T_TMP/gen"
as alice sh -c "cp '$T_TMP'/gen/*.md '$U/skills/gen/'"
nskills=$(as alice jq '.skills | length' "$MNT/catalog.json")
t_check "alice can use more than 1,014 skills ($nskills)" test "$nskills" -gt 1014
as alice mkdir "$S/rel"
llm_script '[{"text": "ok"}]'
ask alice rel "What is the ground-state energy of H2 at 0.74 Å? Use my skills."
reply alice rel >/dev/null
sys=$(req -1 .body.system)
t_grep "the quantum skills go whole into the request" \
	'<skill id="system/hamiltonian-builder"' "$sys"
t_grep "both of them" '<skill id="system/quantum-vqe"' "$sys"
t_check_not "no generated skill goes whole" grep -q '<skill id="user/alice/gen-' <<<"$sys"
t_grep "the catalog lists the best first" \
	'^- system/\(quantum-vqe\|hamiltonian-builder\)' "$(grep -m1 '^- ' <<<"$sys")"
t_grep "and says how many it left out, and how to ask for them" \
	'more skills are not listed here, for lack of room: call search_skills' "$sys"
rec=$S/rel/messages/0002-assistant.json
t_eq "the record counts what was left out" "$nskills yes" \
	"$(as alice jq -r '(.context.catalog.skills|tostring) + " " + (if .context.catalog.left_out > 0 then "yes" else "no" end)' "$rec")"
t_eq "and no generated skill scored" "" \
	"$(as alice jq -r '.context.skills[] | select(.id | startswith("user/alice/gen-")) | .id' "$rec")"
llm_script '[{"tool": {"name": "search_skills", "input": {"query": "invoice ledger"}}}, {"echo_tool": true}]'
ask alice rel "find the invoice skills"
t_grep "search_skills finds what the catalog left out" \
	'the tool said: - user/alice/gen-' "$(reply alice rel)"
llm_script '[{"tool": {"name": "read_skill", "input": {"id": "gen-0007"}}}, {"echo_tool": true}]'
ask alice rel "read one"
t_grep "read_skill gives a skill's text" 'skill_id: gen-0007' "$(reply alice rel)"
lfs_umount
t_eq "the daemon exits cleanly, without a sanitizer report" "0 none" \
	"$? $(grep -q 'Sanitizer' "$T_TMP/daemon.log" && echo reported || echo none)"

t_done
