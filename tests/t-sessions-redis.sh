#!/usr/bin/env bash
# tests/t-sessions-redis.sh: sessions in a real redis-server, in the key
# layout of the LLMos-Lite web app (issue 13, part 2): a session written
# with redis-cli as the web app writes it appears through the mount, one
# made through the mount reads back in that layout, and a Redis that dies
# gives prompt errors and is reconnected by itself.
. "$(dirname "$0")/lib.sh"

t_begin
lfs_require
lfs_users
command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
	t_skip_all "no redis-server or redis-cli (scripts/install-deps installs them)"
redis_start || t_skip_all "redis-server does not start"
llm_start || t_skip_all "the test LLM server does not start"

U=$MNT/user/alice
S=$U/sessions
lfs_config "redis_url = redis://127.0.0.1:$REDIS_PORT" "redis_timeout = 1" \
	"llm_provider = anthropic" "llm_base_url = http://127.0.0.1:$LLM_PORT"
LFS_ENV="ANTHROPIC_API_KEY=test-key"
lfs_mount || exit 1

# --- the web app's session, read through the mount --------------------------
id=sess_quantum_research_1765620000
rcli SET "session:$id" '{"id": "sess_quantum_research_1765620000", "name": "Quantum Research", "volume": "user", "volume_id": "alice", "status": "active", "messages": [{"role": "user", "content": "Create a quantum circuit with 3 qubits", "timestamp": "2025-12-13T10:00:00Z", "traces": null, "artifacts": null}], "traces_count": 0, "created_at": "2025-12-13T10:00:00Z", "updated_at": "2025-12-13T10:00:00Z", "metadata": {"project": "qiskit-studio"}}' >/dev/null
rcli RPUSH "session:$id:messages" \
	'{"role": "user", "content": "Create a quantum circuit with 3 qubits", "timestamp": "2025-12-13T10:00:00Z", "traces": null, "artifacts": null}' \
	'{"role": "assistant", "content": "I will build it with `circuit-builder`.\n\n```python\nprint(3)\n```\n", "timestamp": "2025-12-13T10:00:05Z", "traces": [1, 2, 3], "artifacts": ["quantum_circuit.py"]}' >/dev/null
rcli SADD user:alice:sessions "$id" >/dev/null
rcli SADD all:sessions "$id" >/dev/null

t_eq "a session the web app wrote appears under its name" "Quantum Research" \
	"$(as alice ls "$S")"
t_eq "its messages" "0001-user.md 0002-assistant.md" \
	"$(as alice ls "$S/Quantum Research/messages" | tr '\n' ' ' | sed 's/ $//')"
t_eq "with their content" "Create a quantum circuit with 3 qubits" \
	"$(as alice cat "$S/Quantum Research/messages/0001-user.md")"
t_eq "its reply is the last answer" "I will build it with \`circuit-builder\`." \
	"$(as alice head -1 "$S/Quantum Research/reply")"
t_eq "session.json shows its id" "$id" "$(as alice jq -r .id "$S/Quantum Research/session.json")"
t_eq "the code it wrote is an artifact" "0002-1.py" "$(as alice ls "$S/Quantum Research/artifacts")"
t_check_not "bob does not see it" as bob ls "$S"

# The web app adds a message: it shows.
rcli RPUSH "session:$id:messages" '{"role": "user", "content": "Now with 4 qubits", "timestamp": "2025-12-13T10:01:00Z", "traces": null, "artifacts": null}' >/dev/null
t_eq "a message the web app adds shows at the next look" "Now with 4 qubits" \
	"$(as alice cat "$S/Quantum Research/messages/0003-user.md")"

# A prompt through the mount continues the web app's conversation.
llm_script '[{"text": "Four qubits it is."}]'
printf 'Go on\n' | as alice sh -c "cat > '$S/Quantum Research/prompt'"
t_eq "a prompt through the mount continues it" "Four qubits it is." \
	"$(as alice timeout 20 cat "$S/Quantum Research/reply")"
t_eq "the request carried the web app's messages (two of the user's in a row as one)" \
	"user assistant user:Now with 4 qubits|Go on" \
	"$(llm_requests | jq -r '.[-1].body.messages | (map(.role) | join(" ")) + ":" + (.[-1].content | map(.text) | join("|"))')"
t_eq "both answers are in Redis's list" 5 "$(rcli LLEN "session:$id:messages")"
t_check "its metadata is kept" sh -c \
	"redis-cli -p $REDIS_PORT GET 'session:$id' | jq -e '.metadata.project == \"qiskit-studio\"' >/dev/null"

# --- a session made through the mount, read back in the web app's layout ----
as alice mkdir "$S/h2"
llm_script '[{"text": "The ground state is -1.137 Ha."}]'
printf 'H2 energy?\n' | as alice sh -c "cat > '$S/h2/prompt'"
as alice timeout 20 cat "$S/h2/reply" >/dev/null
hid=$(as alice jq -r .id "$S/h2/session.json")
t_check "its id is sess_<name>_<unix seconds> ($hid)" \
	sh -c "printf '%s' '$hid' | grep -Eq '^sess_h2_[0-9]{10}$'"
t_eq "it is in the user's set and the global one" "1 1" \
	"$(rcli SISMEMBER user:alice:sessions "$hid") $(rcli SISMEMBER all:sessions "$hid")"
doc=$(rcli GET "session:$hid")
t_eq "session:{id} is the web app's object" \
	"$hid h2 user alice active array number" \
	"$(jq -r '[.id, .name, .volume, .volume_id, .status, (.messages|type), (.traces_count|type)] | join(" ")' <<<"$doc")"
t_check "created_at and updated_at are ISO 8601 with Z" \
	sh -c "printf '%s' '$doc' | jq -e '(.created_at|test(\"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$\")) and (.updated_at|test(\"Z$\"))' >/dev/null"
t_eq "session:{id}:messages holds the messages" "user assistant" \
	"$(rcli LRANGE "session:$hid:messages" 0 -1 | jq -rs 'map(.role) | join(" ")')"
t_eq "each as the web app's Message: role, content, timestamp, traces, artifacts" \
	"H2 energy? null null" \
	"$(rcli LRANGE "session:$hid:messages" 0 0 | jq -r '[.content, (.traces|tostring), (.artifacts|tostring)] | join(" ")')"
t_check "timestamps in ISO 8601 with Z" sh -c \
	"redis-cli -p $REDIS_PORT LRANGE 'session:$hid:messages' 0 -1 | jq -se 'all(.timestamp | test(\"Z$\"))' >/dev/null"

# Removed in Redis: gone from the mount.
rcli DEL "session:$id" "session:$id:messages" >/dev/null
rcli SREM user:alice:sessions "$id" >/dev/null
t_eq "a session the web app deletes disappears" "h2" "$(as alice ls "$S")"
t_check "rm -r through the mount deletes its keys" as alice rm -r "$S/h2"
t_eq "all of them" "0 0 0 0" \
	"$(rcli EXISTS "session:$hid") $(rcli EXISTS "session:$hid:messages") $(rcli SISMEMBER user:alice:sessions "$hid") $(rcli SISMEMBER all:sessions "$hid")"

# --- Redis down, then back ---------------------------------------------------
as alice mkdir "$S/keep"
redis_stop
start=$(date +%s.%N)
out=$(as alice timeout 60 ls "$S" 2>&1)
st=$?
took=$(echo "$(date +%s.%N) - $start" | bc)
t_check "with Redis down, listing sessions fails ($out)" test "$st" -ne 0
t_grep() { grep -q -- "$2" <<<"$3" && t_pass "$1" || t_fail "$1" "in: $3"; }
t_grep "with EIO" "Input/output error" "$out"
t_check "without waiting for it ($took s)" sh -c "[ $st -ne 124 ] && [ \$(echo '$took < 15' | bc) = 1 ]"
t_check_not "mkdir fails too" as alice mkdir "$S/down"
redis_start
sleep 0.3
# A Redis that hangs: each command has a timeout (redis_timeout = 1).
kill -STOP "$REDIS_PID"
start=$(date +%s.%N)
out=$(as alice timeout 60 ls "$S" 2>&1)
st=$?
took=$(echo "$(date +%s.%N) - $start" | bc)
kill -CONT "$REDIS_PID"
t_check "a Redis that does not answer: the listing fails ($out)" test "$st" -ne 0
# it ends while Redis still hangs: by the 1 s timeout, not by an answer
t_check "by the command's timeout, while Redis still hangs ($took s)" \
	sh -c "[ $st -ne 124 ] && [ \$(echo '$took < 15' | bc) = 1 ]"
sleep 0.3
t_eq "Redis back (empty: it kept nothing): the listing says what it holds" "" \
	"$(as alice ls "$S" 2>&1)"
t_check "the daemon reconnected by itself: mkdir works" as alice mkdir "$S/back"
llm_script '[{"text": "back again"}]'
printf 'hello\n' | as alice sh -c "cat > '$S/back/prompt'"
t_eq "and an answer is stored" "back again" "$(as alice timeout 20 cat "$S/back/reply")"
t_eq "in Redis" 2 "$(rcli LLEN "session:$(as alice jq -r .id "$S/back/session.json"):messages")"
lfs_umount
t_eq "the daemon exits cleanly, without a sanitizer report" "0 none" \
	"$? $(grep -q 'Sanitizer' "$T_TMP/daemon.log" && echo reported || echo none)"
t_done
