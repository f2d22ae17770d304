#!/usr/bin/env bash
# tests/t-vercel-suites.sh: the general suites again, on a Vercel Blob
# store (tests/vercel-blob-server.js on loopback, started by tests/lib.sh)
# instead of the local store; see tests/suites-on. T_VERCEL_SUITES picks
# other ones.
top=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v node >/dev/null; then
	echo "# SKIP t-vercel-suites: no node (scripts/install-deps installs it)"
	exit 0
fi
exec "$top/tests/suites-on" vercel ${T_VERCEL_SUITES:-}
