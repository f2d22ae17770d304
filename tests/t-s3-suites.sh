#!/usr/bin/env bash
# tests/t-s3-suites.sh: the general suites again, on an S3 bucket (s3rver
# on loopback, started by tests/lib.sh) instead of the local store; see
# tests/suites-on. T_S3_SUITES picks other ones.
top=$(cd "$(dirname "$0")/.." && pwd)
S3RVER=${S3RVER:-$top/build/npm/node_modules/.bin/s3rver}
if [ ! -x "$S3RVER" ]; then
	echo "# SKIP t-s3-suites: no $S3RVER (make check installs it)"
	exit 0
fi
exec "$top/tests/suites-on" s3 ${T_S3_SUITES:-}
