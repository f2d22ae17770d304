# tests/lib.sh: shared helpers for the integration tests (sourced, bash).
#
# Each test file sources this, calls t_begin, asserts with t_* helpers and
# ends with t_done. Results are printed one per line as "ok - DESC" or
# "not ok - DESC"; tests/run counts them and prints "N passed, N failed".
#
# Environment:
#   LLMUNIXFS   daemon binary (default: ./llmunixfs at the top of the tree)
#   T_KEEP=1    keep the temporary folder for inspection
#   LFS_ENV     more VAR=value words for the daemon's environment (keys
#               of the LLM providers, REDIS_URL)
#   LLMUNIX_STORAGE=s3   mount on an S3 bucket instead of the local store:
#               lfs_mount starts s3rver (npm, under build/npm) on a free
#               loopback port, once per test file, and gives each state
#               folder a bucket of its own, so a new state is a new store
#               as it is with local storage. $S3_CONF_EXTRA: more lines
#               for the configuration (they win over the ones before).
#   LLMUNIX_STORAGE=vercel   the same on a Vercel Blob store: lfs_mount
#               starts tests/vercel-blob-server.js (node) once per test
#               file, and each state folder gets a store (a token) of its
#               own. $VB_CONF_EXTRA: more configuration lines.

T_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LLMUNIXFS=${LLMUNIXFS:-$T_TOP/llmunixfs}
FSOP=${FSOP:-$T_TOP/build/tests/fsop}
T_PASS=0
T_FAIL=0
T_PID=
MNT=
STATE=
LLMUNIX_STORAGE=${LLMUNIX_STORAGE:-local}
S3RVER=${S3RVER:-$T_TOP/build/npm/node_modules/.bin/s3rver}
S3_PID=
S3_PORT=
S3_PROXY_PID=
S3_PROXY_PORT=
S3_KEY=S3RVER	# s3rver's own account; no real secret
VB_SERVER=$T_TOP/tests/vercel-blob-server.js
VB_CLIENT=$T_TOP/tests/vercel-blob-client.js
VB_PID=
VB_PORT=
VB_SECRET=LocalTestSecret	# the test server's; no real secret

t_begin()
{
	T_NAME=$(basename "$0" .sh)
	T_TMP=$(mktemp -d "/tmp/llmunix-$T_NAME.XXXXXX")
	chmod 0755 "$T_TMP"
	MNT=$T_TMP/mnt
	STATE=$T_TMP/state
	mkdir -p "$MNT"
	trap t_cleanup EXIT
}

t_cleanup()
{
	lfs_umount >/dev/null 2>&1
	s3_stop
	vb_stop
	llm_stop
	redis_stop
	if [ "${T_KEEP:-0}" = 1 ]; then
		echo "# kept $T_TMP"
	else
		rm -rf "$T_TMP"
	fi
}

t_pass() { T_PASS=$((T_PASS + 1)); echo "ok - $*"; }

# t_fail DESC [DETAIL...]
t_fail()
{
	T_FAIL=$((T_FAIL + 1))
	echo "not ok - $1"
	shift
	[ $# -gt 0 ] && printf '#   %s\n' "$@"
	return 0
}

# t_check DESC CMD...: passes when CMD exits 0.
t_check()
{
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		t_pass "$desc"
	else
		t_fail "$desc" "command: $*" "output: $(printf '%s' "$out" | head -c 600)"
	fi
}

# t_check_not DESC CMD...: passes when CMD exits non-zero.
t_check_not()
{
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		t_fail "$desc" "command succeeded but should not have: $*" \
			"output: $(printf '%s' "$out" | head -c 600)"
	else
		t_pass "$desc"
	fi
}

# t_eq DESC EXPECTED ACTUAL
t_eq()
{
	if [ "$2" = "$3" ]; then
		t_pass "$1"
	else
		t_fail "$1" "expected: $(printf '%s' "$2" | head -c 400)" \
			"actual:   $(printf '%s' "$3" | head -c 400)"
	fi
}

t_done()
{
	echo "# $T_NAME: $T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ]
}

# t_skip_all REASON: the whole file cannot run here; says so and why.
t_skip_all()
{
	echo "# SKIP $T_NAME: $*"
	exit 0
}

# as USER CMD...: run CMD as USER with USER's groups.
as()
{
	local u=$1
	shift
	setpriv --reuid="$u" --regid="$u" --init-groups --reset-env -- "$@"
}

# lfs_require: what the tests that use fsop need, or skip saying why.
lfs_require()
{
	[ "$(id -u)" = 0 ] || t_skip_all "needs root (creates users, mounts with allow_other)"
	[ -c /dev/fuse ] || t_skip_all "no /dev/fuse"
	[ -x "$FSOP" ] || t_skip_all "no $FSOP (make build/tests/fsop)"
	command -v setpriv >/dev/null || t_skip_all "no setpriv"
	umask 022
}

# lfs_users: the test accounts, idempotent. alice and bob are in team eng,
# carol in team research, dave in the admin group llmadmin; eve is in no
# team (a stranger to everyone).
lfs_users()
{
	local g u
	for g in eng research llmadmin; do
		getent group "$g" >/dev/null || groupadd "$g"
	done
	for u in alice bob carol dave eve; do
		getent passwd "$u" >/dev/null || useradd -M -U -s /bin/bash "$u"
	done
	usermod -aG eng alice
	usermod -aG eng bob
	usermod -aG research carol
	usermod -aG llmadmin dave
}

# lfs_config [EXTRA LINES...]: write $T_TMP/llmunix.conf
lfs_config()
{
	{
		echo "# written by tests/lib.sh"
		echo "teams = eng, research"
		echo "admin_group = llmadmin"
		local l
		for l in "$@"; do echo "$l"; done
	} >"$T_TMP/llmunix.conf"
}

# lfs_local_store: whether the mount uses the local store (tests of its
# on-disk layout run only then; t-s3.sh checks the bucket's).
lfs_local_store() { [ "$LLMUNIX_STORAGE" = local ]; }

# lfs_long_names: whether the store takes 255-byte names. s3rver keeps an
# object as a file KEY._S3rver_metadata.json, so a name over 233 bytes
# makes it fail (and exit); S3 itself takes keys of 1,024 bytes.
lfs_long_names()
{
	[ "$LLMUNIX_STORAGE" != s3 ] && return 0
	echo "# skip: 255-byte names (s3rver cannot hold them)"
	return 1
}

# --- S3 (LLMUNIX_STORAGE=s3, and t-s3*.sh) -----------------------------------

# s3_free_port: a TCP port nobody listens on.
s3_free_port()
{
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# s3_start: s3rver on a free loopback port with its data in $T_TMP/s3data.
# Its multi-page listings need the legacy OpenSSL provider on node 20. It
# also answers virtual-host requests to BUCKET.s3.localhost:PORT.
s3_start()
{
	[ -n "$S3_PID" ] && return 0
	[ -x "$S3RVER" ] || { echo "# no $S3RVER (make check installs it)"; return 1; }
	S3_PORT=$(s3_free_port)
	mkdir -p "$T_TMP/s3data"
	NODE_OPTIONS=--openssl-legacy-provider "$S3RVER" -d "$T_TMP/s3data" \
		-a 127.0.0.1 -p "$S3_PORT" --service-endpoint localhost --silent \
		>>"$T_TMP/s3rver.log" 2>&1 &
	S3_PID=$!
	local i
	for i in $(seq 1 100); do
		curl -s -o /dev/null "http://127.0.0.1:$S3_PORT/" && return 0
		sleep 0.1
	done
	echo "# s3rver did not start:"
	sed 's/^/#   /' "$T_TMP/s3rver.log" | tail -n 5
	return 1
}

# s3_proxy_start: tests/s3-fault-proxy.py in front of s3rver, failing
# nothing (S3_PROXY_PORT): it forwards only whole requests, as S3 stores
# only a whole body, where s3rver keeps what came of a PUT whose client
# died mid-body (an empty or cut object); it also checks SigV4.
s3_proxy_start()
{
	[ -n "$S3_PROXY_PID" ] && return 0
	s3_start || return 1
	: >"$T_TMP/s3proxy.ctl"
	python3 "$T_TOP/tests/s3-fault-proxy.py" "$S3_PORT" "$T_TMP/s3proxy.ctl" \
		"$T_TMP/s3proxy.port" "$T_TMP/s3proxy.log" 2>>"$T_TMP/s3proxy.err" &
	S3_PROXY_PID=$!
	local i
	for i in $(seq 1 100); do
		[ -s "$T_TMP/s3proxy.port" ] &&
			S3_PROXY_PORT=$(cat "$T_TMP/s3proxy.port") && return 0
		sleep 0.05
	done
	echo "# the s3 proxy did not start"
	return 1
}

s3_stop()
{
	if [ -n "$S3_PROXY_PID" ]; then
		kill "$S3_PROXY_PID" 2>/dev/null
		wait "$S3_PROXY_PID" 2>/dev/null
		S3_PROXY_PID= S3_PROXY_PORT=
	fi
	[ -n "$S3_PID" ] || return 0
	kill "$S3_PID" 2>/dev/null
	wait "$S3_PID" 2>/dev/null
	S3_PID=
}

# s3_req METHOD PATH [FILE [HEADER...]]: a signed request to s3rver (PATH
# is "bucket/key?query", FILE the body or ""); prints the body (the
# headers for HEAD), fails on a status >= 400.
s3_req()
{
	local m=$1 path=$2 f=${3:-} sha
	shift 3 2>/dev/null || shift $#
	local hdr=()
	for h in "$@"; do hdr+=(-H "$h"); done
	if [ -n "$f" ]; then
		sha=$(sha256sum <"$f" | cut -d' ' -f1)
		hdr+=(--data-binary "@$f")
	else
		sha=$(printf '' | sha256sum | cut -d' ' -f1)
	fi
	[ "$m" = HEAD ] && hdr+=(-I) || hdr+=(-X "$m")
	curl -sf --aws-sigv4 aws:amz:us-east-1:s3 \
		--user "$S3_KEY:$S3_KEY" -H "x-amz-content-sha256: $sha" \
		"${hdr[@]}" "http://127.0.0.1:$S3_PORT/$path"
}

# s3_bucket_of [STATE]: the bucket of a state folder (made on first use);
# $S3_BUCKET, when set, for every state folder.
s3_bucket_of()
{
	local b=${S3_BUCKET:-}
	[ -n "$b" ] || b=t$(printf '%s' "${1:-$STATE}" | sha256sum | cut -c1-16)
	s3_req PUT "$b" >/dev/null 2>&1 || true
	echo "$b"
}

# --- Vercel Blob (LLMUNIX_STORAGE=vercel, and t-vercel*.sh) -----------------

# vb_start [SERVER OPTIONS...]: tests/vercel-blob-server.js on a free
# loopback port; its control file is $T_TMP/vb.ctl (faults, suspended
# stores), its log of requests $T_TMP/vb.log (a JSON line each).
vb_start()
{
	[ -n "$VB_PID" ] && return 0
	command -v node >/dev/null || { echo "# no node (scripts/install-deps)"; return 1; }
	[ -f "$T_TMP/vb.ctl" ] || echo "0 none" >"$T_TMP/vb.ctl"
	rm -f "$T_TMP/vb.port"
	VERCEL_BLOB_TEST_SECRET=$VB_SECRET node "$VB_SERVER" \
		--port-file "$T_TMP/vb.port" --control "$T_TMP/vb.ctl" --log "$T_TMP/vb.log" "$@" \
		>>"$T_TMP/vb-server.log" 2>&1 &
	VB_PID=$!
	local i
	for i in $(seq 1 100); do
		if [ -s "$T_TMP/vb.port" ]; then
			VB_PORT=$(cat "$T_TMP/vb.port")
			return 0
		fi
		sleep 0.05
	done
	echo "# the Vercel Blob test server did not start:"
	sed 's/^/#   /' "$T_TMP/vb-server.log" | tail -n 5
	return 1
}

vb_stop()
{
	[ -n "$VB_PID" ] || return 0
	kill "$VB_PID" 2>/dev/null
	wait "$VB_PID" 2>/dev/null
	VB_PID=
}

# vb_api: the API's base URL (what vercel_base_url names).
vb_api() { echo "http://127.0.0.1:$VB_PORT/api/blob"; }

# vb_token [STATE]: the read-write token of a state folder's store (its
# own store, as each gets its own bucket on S3); $VB_STORE, when set, names
# the store of every state folder.
vb_token()
{
	local id=${VB_STORE:-}
	[ -n "$id" ] || id=t$(printf '%s' "${1:-$STATE}" | sha256sum | cut -c1-16)
	echo "vercel_blob_rw_${id}_$VB_SECRET"
}

# vb_client CMD ARGS...: tests/vercel-blob-client.js (the real @vercel/blob
# client) on the store of $STATE.
vb_client()
{
	VERCEL_BLOB_API_URL=$(vb_api) BLOB_READ_WRITE_TOKEN=$(vb_token) \
		VERCEL_BLOB_RETRIES=0 node "$VB_CLIENT" "$@"
}

# vb_get KEY: the content of the blob KEY, downloaded from the url its head
# gives (what the web app does), with curl.
vb_get()
{
	local url
	url=$(curl -sf -H "authorization: Bearer $(vb_token)" -H "x-api-version: 12" \
		"$(vb_api)?url=$(jq -rn --arg k "$1" '$k|@uri')" | jq -r .url) &&
		curl -sf "$url"
}

# write_as USER PATH TEXT: open, write, close; fails when any of them does
# (a shell's redirection never says that close() failed).
write_as()
{
	as "$1" python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, sys.argv[2].encode())
os.close(fd)' "$2" "$3" 2>/dev/null
}

# lfs_stored KEY: the content the store holds at KEY ("volumes/...").
lfs_stored()
{
	case $LLMUNIX_STORAGE in
	s3) s3_req GET "$(s3_bucket_of)/$1" "" ;;
	vercel) vb_get "$1" ;;
	*) cat "$STATE/blobs/$1" ;;
	esac
}

# lfs_mount [-o OPTS]: start the daemon in the foreground (background job)
# on $MNT with state $STATE, and wait until the mount answers.
lfs_mount()
{
	[ -f "$T_TMP/llmunix.conf" ] || lfs_config
	local extra= conf=$T_TMP/llmunix.conf
	[ "${1:-}" = -o ] && extra=,$2
	local token=
	case $LLMUNIX_STORAGE in
	s3)
		s3_start || return 1
		local port=$S3_PORT
		if [ -n "${S3_VIA_PROXY:-}" ]; then
			s3_proxy_start || return 1
			port=$S3_PROXY_PORT
		fi
		conf=$T_TMP/llmunix-s3.conf
		{
			cat "$T_TMP/llmunix.conf"
			echo "storage = s3"
			echo "s3_endpoint = http://127.0.0.1:$port"
			echo "s3_bucket = $(s3_bucket_of)"
			printf '%s\n' "${S3_CONF_EXTRA:-}"
		} >"$conf"
		;;
	vercel)
		vb_start || return 1
		conf=$T_TMP/llmunix-vercel.conf
		{
			cat "$T_TMP/llmunix.conf"
			echo "storage = vercel"
			echo "vercel_base_url = $(vb_api)"
			printf '%s\n' "${VB_CONF_EXTRA:-}"
		} >"$conf"
		token=$(vb_token)
		;;
	esac
	# shellcheck disable=SC2086
	AWS_ACCESS_KEY_ID=$S3_KEY AWS_SECRET_ACCESS_KEY=$S3_KEY \
	BLOB_READ_WRITE_TOKEN=$token \
	env ${LFS_ENV:-} "$LLMUNIXFS" -f -o "config=$conf,state=$STATE,system_skills=${SYSTEM_SKILLS:-$T_TOP/skills}$extra" \
		"$MNT" >>"$T_TMP/daemon.log" 2>&1 &
	T_PID=$!
	local i
	for i in $(seq 1 200); do
		if mountpoint -q "$MNT" && [ -d "$MNT/system" ]; then
			return 0
		fi
		if ! kill -0 "$T_PID" 2>/dev/null; then
			echo "# daemon exited early:"
			sed 's/^/#   /' "$T_TMP/daemon.log" | tail -n 20
			T_PID=
			return 1
		fi
		sleep 0.05
	done
	echo "# mount did not come up"
	return 1
}

# lfs_umount: unmount and wait for the daemon; returns the daemon's status.
lfs_umount()
{
	local st=0
	# /proc/mounts, not mountpoint(1): a dead daemon's mount fails stat.
	if grep -qs " $MNT " /proc/mounts; then
		fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
	fi
	if [ -n "$T_PID" ]; then
		wait "$T_PID"
		st=$?
		T_PID=
	fi
	return $st
}

# lfs_kill9: kill the daemon abruptly and clear the dead mount.
lfs_kill9()
{
	[ -n "$T_PID" ] && kill -9 "$T_PID" 2>/dev/null
	[ -n "$T_PID" ] && wait "$T_PID" 2>/dev/null
	T_PID=
	fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
	return 0
}

# --- LLM providers and Redis (the sessions' tests) -------------------------

LLM_PID=
LLM_PORT=
REDIS_PID=
REDIS_PORT=
PY3=${PY3:-/usr/bin/python3}

# llm_start: tests/llm-server.py on a free loopback port, with the key
# "test-key"; LLM_PORT is its port.
llm_start()
{
	[ -n "$LLM_PID" ] && return 0
	rm -f "$T_TMP/llm.port"
	"$PY3" "$T_TOP/tests/llm-server.py" --port-file "$T_TMP/llm.port" \
		--key test-key >>"$T_TMP/llm.log" 2>&1 &
	LLM_PID=$!
	local i
	for i in $(seq 1 100); do
		[ -s "$T_TMP/llm.port" ] && LLM_PORT=$(cat "$T_TMP/llm.port") &&
			return 0
		sleep 0.05
	done
	echo "# the test LLM server did not start"
	return 1
}

llm_stop()
{
	[ -n "$LLM_PID" ] || return 0
	kill "$LLM_PID" 2>/dev/null
	wait "$LLM_PID" 2>/dev/null
	LLM_PID=
}

# llm_script JSON: queue the server's next answers (a JSON array of steps,
# see tests/llm-server.py).
llm_script()
{
	curl -sf -X POST --data-binary "$1" "http://127.0.0.1:$LLM_PORT/_script" \
		>/dev/null
}

llm_reset() { curl -sf -X POST "http://127.0.0.1:$LLM_PORT/_reset" >/dev/null; }

# llm_requests: every request the server got, as a JSON array.
llm_requests() { curl -sf "http://127.0.0.1:$LLM_PORT/_requests"; }

# redis_start: a redis-server of this test on a free loopback port, no
# persistence; REDIS_PORT is its port.
redis_start()
{
	command -v redis-server >/dev/null || return 1
	[ -n "$REDIS_PORT" ] || REDIS_PORT=$(s3_free_port)
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" \
		--appendonly no --dir "$T_TMP" >>"$T_TMP/redis.log" 2>&1 &
	REDIS_PID=$!
	local i
	for i in $(seq 1 100); do
		redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "# redis-server did not start"
	return 1
}

redis_stop()
{
	[ -n "$REDIS_PID" ] || return 0
	kill "$REDIS_PID" 2>/dev/null
	wait "$REDIS_PID" 2>/dev/null
	REDIS_PID=
}

rcli() { redis-cli -p "$REDIS_PORT" "$@"; }
