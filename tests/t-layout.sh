#!/usr/bin/env bash
# tests/t-layout.sh: the architecture as README "Layout" states it: no
# include circle between files or folders of core/ and fs/, no libfuse
# below fs/, curl/hiredis/libgit2 each included by one file only.
set -u
source "$(dirname "$0")/lib.sh"
cd "$T_TOP" || exit 1
T_NAME=t-layout

out=$(scripts/include-graph 2>&1)
t_eq "no include circle between files" 1 "$(printf '%s\n' "$out" | grep -c '^no circle between files')"
t_eq "no include circle between folders" 1 "$(printf '%s\n' "$out" | grep -c '^no circle between folders')"
t_eq "core/ includes no libfuse header" "" "$(grep -rln '#include <fuse' core)"
t_eq "core/ns/ calls no provider's kind of node" "" \
	"$(grep -n 'AREA_\|RUN_[A-Z]\|FIXED_' core/ns/*.c core/ns/*.h)"
for lib in curl/curl.h hiredis/hiredis.h git2.h nettle/; do
	n=$(grep -rl "#include <$lib" core fs | wc -l)
	t_eq "<$lib> is included by at most one file" yes "$([ "$n" -le 1 ] && echo yes || echo "no: $n")"
done
big=$(wc -l core/*/*.c fs/*.c | awk '$2 != "total" && $1 > 800 { print $2 " (" $1 ")" }')
t_eq "no .c file of core/ or fs/ is over 800 lines" "" "$big"
t_done
