#!/usr/bin/env bash
# tests/t-s3-suites.sh: the general suites again, on an S3 bucket (s3rver
# on loopback, started by tests/lib.sh) instead of the local store: access
# rights, POSIX, editors and tools, persistence, crash safety under
# kill -9, runs, skills' xattrs and catalogs. Their lines are passed on;
# tests/run counts them. T_S3_SUITES picks other ones.
top=$(cd "$(dirname "$0")/.." && pwd)
S3RVER=${S3RVER:-$top/build/npm/node_modules/.bin/s3rver}
if [ ! -x "$S3RVER" ]; then
	echo "# SKIP t-s3-suites: no $S3RVER (make check installs it)"
	exit 0
fi
st=0
for t in ${T_S3_SUITES:-t-access t-posix t-tools t-persist t-crash t-run \
	t-skill-xattr t-catalog}; do
	echo "# --- $t on s3"
	LLMUNIX_STORAGE=s3 bash "$top/tests/$t.sh" 2>&1 |
		sed -e 's/^ok - /ok - s3: /' -e 's/^not ok - /not ok - s3: /'
	[ "${PIPESTATUS[0]}" -eq 0 ] || st=1
done
exit $st
