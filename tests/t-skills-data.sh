#!/usr/bin/env bash
# tests/t-skills-data.sh: the shipped data skills (csv-stats, plot,
# collect, export-results), run through run/ as a user runs them, against
# reference values computed independently here (python's statistics
# module, PIL, the csv and json modules).
set -u
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/skills.sh"
sk_start

# has NAME NODE PATTERN: "yes" when the node's error matches PATTERN (grep -E).
has() { sk_err "$1" "$2" | grep -qE -- "$3" && echo yes || echo no; }
# run_error NAME: the error of a run (a rejected graph's problems).
run_error() { as alice cat "$SK_RUN/$1/error" 2>&1; }
# wall NAME NODE: the node's wall time in seconds, for the log.
wall() { as alice cat "$SK_RUN/$1/nodes/$2/time" | jq -r .wall_s; }
# json_of VALUE: VALUE as a JSON string literal.
json_of() { printf '%s' "$1" | jq -Rs .; }

# ---------------------------------------------------------------- csv-stats
# Anscombe's quartet, data set I (Anscombe 1973): x1 and y1.
ANS=$'x,y\n10,8.04\n8,6.95\n13,7.58\n9,8.81\n11,8.33\n14,9.96\n6,7.24\n4,4.26\n12,10.84\n7,4.82\n5,5.68\n'
t_eq "csv-stats on Anscombe's x1,y1 (text input) runs" succeeded \
	"$(sk_run ans csv-stats "{\"text\": $(json_of "$ANS")}")"
t_eq "it counts 11 rows" 11 "$(sk_out ans n rows)"
t_eq "both columns are numeric, in file order" '["x","y"]' \
	"$(sk_out ans n columns | jq -c .)"
sk_py "Anscombe: mean 9 and 7.50, std 3.317 and 2.032 (published values)" '
import json, sys
s = json.loads(sys.argv[1])
got = (s["x"]["mean"], s["y"]["mean"], s["x"]["std"], s["y"]["std"])
assert [round(v, 3) for v in got] == [9.0, 7.501, 3.317, 2.032], got
' "$(sk_out ans n stats)"
CHECK_STATS='
import json, statistics, sys
stats = json.loads(sys.argv[1])
cols = json.loads(sys.argv[2])
for name, xs in cols.items():
    q1, med, q3 = statistics.quantiles(xs, n=4, method="inclusive")
    ref = {"count": len(xs), "mean": statistics.fmean(xs),
           "std": statistics.stdev(xs), "min": min(xs), "q1": q1,
           "median": med, "q3": q3, "max": max(xs)}
    got = stats[name]
    assert sorted(got) == sorted(ref), (name, sorted(got))
    for k, v in ref.items():
        assert abs(got[k] - v) <= 1e-12 * max(1, abs(v)), (name, k, got[k], v)
'
sk_py "every statistic matches the statistics module (stdev, inclusive quartiles)" \
	"$CHECK_STATS" "$(sk_out ans n stats)" \
	'{"x": [10,8,13,9,11,14,6,4,12,7,5], "y": [8.04,6.95,7.58,8.81,8.33,9.96,7.24,4.26,10.84,4.82,5.68]}'
t_eq "nothing was skipped" '{}' "$(sk_out ans n skipped | jq -c .)"

# A file given as a mount path, with quoted fields holding commas, a
# missing value and two non-numeric columns.
printf '%s\n' 'city,"population, thousands",area,note' \
	'"Paris, FR",2148,105.4,capital' \
	'"Lyon, FR",513,47.87,' \
	'"Nice, FR",,71.92,"sea, sun"' \
	'"Lille, FR",236,34.8,north' |
	as alice sh -c "cat > '$MNT/user/alice/skills/data.csv'"
t_eq "csv-stats on a file given as user/alice/skills/data.csv runs" succeeded \
	"$(sk_run cities csv-stats '{"csv": "user/alice/skills/data.csv"}')"
t_eq "the quoted header with a comma is one column; text columns are left out" \
	'["population, thousands","area"]' "$(sk_out cities n columns | jq -c .)"
sk_py "an empty cell is missing: count 3, stats over the 3 values" \
	"$CHECK_STATS" "$(sk_out cities n stats)" \
	'{"population, thousands": [2148, 513, 236], "area": [105.4, 47.87, 71.92, 34.8]}'
t_eq "the skipped columns are named with the first bad row and value" \
	'{"city":"text: row 2 is '"'Paris, FR'"'","note":"text: row 2 is '"'capital'"'"}' \
	"$(sk_out cities n skipped | jq -c .)"
t_eq "rows counts the data rows" 4 "$(sk_out cities n rows)"
echo "# wall: csv-stats text $(wall ans n) s, file $(wall cities n) s"

t_eq "tab-separated without a header runs" succeeded \
	"$(sk_run tabs csv-stats "{\"text\": $(json_of $'1\t2\n3\t4\n5\t9\n'), \"delimiter\": \"tab\", \"header\": false}")"
t_eq "columns are called col1, col2; medians 3 and 4" '["col1","col2"] 3 4' \
	"$(echo $(sk_out tabs n columns | jq -c .) $(sk_out tabs n stats | jq '.col1.median, .col2.median'))"

t_eq "repeated and empty header names are made unique" succeeded \
	"$(sk_run dupcols csv-stats "{\"text\": $(json_of $'v,v,\n1,2,3\n4,5,6\n')}")"
t_eq "as v, v_2 and col3" '["v","v_2","col3"]' "$(sk_out dupcols n columns | jq -c .)"

t_eq "NA, N/A, null and an empty cell are missing values" succeeded \
	"$(sk_run na csv-stats "{\"text\": $(json_of $'x,y\n1,NA\n2,n/a\n3,null\n4,\n5,7\n')}")"
t_eq "so y has count 1 and x count 5" "1 5" "$(sk_out na n stats | jq -r '"\(.y.count) \(.x.count)"')"
t_eq "a column of numbers with a text cell fails" failed \
	"$(sk_run mixed1 csv-stats "{\"text\": $(json_of $'price,qty\n9.5,1\n8,2\nfree,3\n')}")"
t_eq "and names the text cell and a number of the same column" yes \
	"$(has mixed1 n "column 'price' mixes numbers and text: row 4 is 'free' but row 2 is '9.5'")"
t_eq "also when the text comes first" yes \
	"$(sk_run mixed2 csv-stats "{\"text\": $(json_of $'price\ntbd\n8\n')}" >/dev/null; has mixed2 n "column 'price' mixes numbers and text: row 2 is 'tbd' but row 3 is '8'")"
t_eq "a ragged row fails" failed \
	"$(sk_run ragged csv-stats "{\"text\": $(json_of $'a,b,c\n1,2,3\n4,5,6\n7,8\n')}")"
t_eq "and names the row (counting the header) and the field counts" yes \
	"$(has ragged n 'row 4 \(line 4\) has 2 fields, expected 3')"
t_eq "csv and text together fail" failed \
	"$(sk_run both csv-stats "{\"csv\": \"user/alice/skills/data.csv\", \"text\": \"a\\n1\\n\"}")"
t_eq "and say to give exactly one" yes "$(has both n "exactly one of 'csv'.*got both")"
t_eq "neither csv nor text fails" failed "$(sk_run neither csv-stats '{}')"
t_eq "and says so" yes "$(has neither n "exactly one of 'csv'.*got neither")"
t_eq "a table with no numeric column fails" failed \
	"$(sk_run nonum csv-stats "{\"text\": $(json_of $'name,town\nann,paris\nbob,lyon\n')}")"
t_eq "and lists why each column was skipped" yes \
	"$(has nonum n "no numeric column to summarise: name: text: row 2 is 'ann'; town: text: row 2 is 'paris'")"

# ------------------------------------------------------------------- plot
PLOT3='{"y": [[1, 4, 9, 16], [1, 8, 27, 64], [2, 3, 4, 5]], "x": [1, 2, 3, 4],
 "labels": ["squares", "cubes", "linear"], "kind": "line",
 "title": "Powers of n", "xlabel": "n (integer)", "ylabel": "value",
 "width": 800, "height": 500}'
for r in plot1 plot2; do
	t_eq "a 3-series line plot ($r, cache off) runs" succeeded \
		"$(echo "{\"nodes\": [{\"id\": \"n\", \"skill\": \"plot\", \"cache\": false, \"inputs\": $PLOT3}]}" | sk_graph $r)"
done
t_eq "it drew 12 points in 3 series" "12 3" "$(sk_out plot1 n points) $(sk_out plot1 n series)"
t_eq "the outputs name the files" "plot.svg plot.png" "$(sk_out plot1 n svg) $(sk_out plot1 n png)"
sk_files "plot.svg is a valid SVG" svg "$(sk_path plot1 n plot.svg)"
sk_files "plot.png is a valid PNG (not blank)" png "$(sk_path plot1 n plot.png)"
sk_py "the PNG is the requested 800x500 pixels" '
import sys
from PIL import Image
with Image.open(sys.argv[1]) as im:
    assert im.size == (800, 500), im.size
' "$(sk_path plot1 n plot.png)"
SVG_TEXTS='
import sys, xml.etree.ElementTree as ET
texts = {"".join(e.itertext()).strip() for e in ET.parse(sys.argv[1]).iter()
         if e.tag.endswith("}text")}
missing = [t for t in sys.argv[2:] if t not in texts]
assert not missing, (missing, sorted(texts))
'
sk_py "the SVG holds the title and both axis labels as text" "$SVG_TEXTS" \
	"$(sk_path plot1 n plot.svg)" "Powers of n" "n (integer)" value
sk_py "the legend names all three series" "$SVG_TEXTS" \
	"$(sk_path plot1 n plot.svg)" squares cubes linear
t_check "two runs with cache off give the same SVG bytes" \
	as alice cmp "$(sk_path plot1 n plot.svg)" "$(sk_path plot2 n plot.svg)"
t_eq "(they really ran twice)" "false false" \
	"$(as alice cat "$SK_RUN/plot1/nodes/n/time" "$SK_RUN/plot2/nodes/n/time" | jq -r .cached | xargs)"
echo "# wall: plot $(wall plot1 n) s, $(wall plot2 n) s"

t_eq "a grouped bar chart over category names runs" succeeded \
	"$(sk_run bars plot '{"y": [[3, 1, 2], [2, 2, 1]], "x": ["red", "green", "blue"], "kind": "bar", "labels": ["2023", "2024"]}')"
sk_files "its SVG and PNG are valid" svg "$(sk_path bars n plot.svg)"
sk_py "the categories label the x axis, the years the legend" "$SVG_TEXTS" \
	"$(sk_path bars n plot.svg)" red green blue 2023 2024
sk_py "the default PNG is 640x480" '
import sys
from PIL import Image
with Image.open(sys.argv[1]) as im:
    assert im.size == (640, 480), im.size
' "$(sk_path bars n plot.png)"

t_eq "a scatter of fibonacci's sequence (decimal strings) through a link runs" succeeded \
	"$(sk_graph fibplot <<'EOF'
{"nodes": [{"id": "f", "skill": "fibonacci", "inputs": {"n": 20, "sequence": true}},
 {"id": "n", "skill": "plot", "inputs": {"y": {"from": "f.sequence"}, "kind": "scatter", "title": "F(0..20)"}}]}
EOF
)"
t_eq "it drew the 21 values" 21 "$(sk_out fibplot n points)"
sk_files "its PNG is valid" png "$(sk_path fibplot n plot.png)"

t_eq "x shorter than a series fails" failed \
	"$(sk_run plotlen plot '{"y": [[1, 2, 3], [4, 5]], "x": [0, 1, 2]}')"
t_eq "and names the series and both lengths" yes \
	"$(has plotlen n 'x has 3 values but y\[1\] has 2')"
t_eq "a non-numeric value fails" failed \
	"$(sk_run plotnan plot '{"y": [[1, 2, "abc"]]}')"
t_eq "and names it with its index" yes "$(has plotnan n "y\[0\]\[2\] is 'abc', not a finite number")"
t_eq "an empty series fails" failed "$(sk_run plotempty plot '{"y": [[1, 2], []]}')"
t_eq "and names the series" yes "$(has plotempty n 'y\[1\] \(series 2\) is empty')"
t_eq "an unknown kind fails" failed "$(sk_run plotpie plot '{"y": [1, 2], "kind": "pie"}')"
t_eq "and lists the kinds" yes "$(has plotpie n "kind must be one of line, scatter, bar, got 'pie'")"
t_eq "a log x axis plots a frequency sweep" succeeded \
	"$(sk_run plotlog plot '{"y": [0, -3, -20, -40], "x": [10, 159, 1590, 15900], "xscale": "log", "yscale": "linear"}')"
t_eq "and its SVG has decade ticks (10^2, 10^3, 10^4)" yes \
	"$(as alice grep -c '10^{[234]}' "$(sk_path plotlog n plot.svg)" | awk '{ print ($1 >= 3) ? "yes" : $1 }')"
t_eq "a log axis with a value <= 0 fails" failed \
	"$(sk_run plotlog0 plot '{"y": [1, 2], "x": [0, 1], "xscale": "log"}')"
t_eq "and names the value" yes "$(has plotlog0 n 'xscale is log but value 0 of series 1 is 0.0')"
t_eq "too many scatter points fail before drawing" failed \
	"$(sk_run plotbig plot "{\"y\": $(seq 0 20000 | jq -sc .), \"kind\": \"scatter\"}")"
t_eq "and say the limit" yes "$(has plotbig n 'y has 20001 points; a scatter plot draws at most 20000')"
t_eq "labels of the wrong count fail" failed \
	"$(sk_run plotlab plot '{"y": [[1, 2], [3, 4]], "labels": ["one"]}')"
t_eq "and say how many are needed" yes "$(has plotlab n 'labels must be an array of 2 name')"

# ---------------------------------------------------------------- collect
t_eq "three fibonacci branches fan in to collect" succeeded "$(sk_graph fan <<'EOF'
{"nodes": [
 {"id": "a", "skill": "fibonacci", "inputs": {"n": 10}},
 {"id": "b", "skill": "fibonacci", "inputs": {"n": 20}},
 {"id": "c", "skill": "fibonacci", "inputs": {"n": 30}},
 {"id": "n", "skill": "collect", "inputs": {"x1": {"from": "a.value"},
   "x2": {"from": "b.value"}, "x3": {"from": "c.value"}}}]}
EOF
)"
t_eq "values are F(10), F(20), F(30) in port order" '["55","6765","832040"]' \
	"$(sk_out fan n values | jq -c .)"
t_eq "count is 3" 3 "$(sk_out fan n count)"
t_eq "missing ports are skipped, the order kept" succeeded "$(sk_graph gaps <<'EOF'
{"nodes": [
 {"id": "a", "skill": "fibonacci", "inputs": {"n": 10}},
 {"id": "n", "skill": "collect", "inputs": {"x2": 5, "x7": [1, 2], "x10": {"from": "a.value"}, "x12": null}}]}
EOF
)"
t_eq "values hold x2, x7, x10, x12 (arrays not flattened, null kept)" \
	'[5,[1,2],"55",null] ["x2","x7","x10","x12"] 4' \
	"$(echo $(sk_out gaps n values | jq -c .) $(sk_out gaps n ports | jq -c .) $(sk_out gaps n count))"
t_eq "collect with no port gives an empty array" '[] 0' \
	"$(sk_run none collect '{}' >/dev/null; echo $(sk_out none n values | jq -c .) $(sk_out none n count))"
echo "# wall: collect $(wall fan n) s"
t_eq "a port beyond x12 is refused" failed "$(sk_run x13 collect '{"x13": 1}' 2>/dev/null)"
t_eq "and the error names it" yes \
	"$(run_error x13 | grep -q "x13" && echo yes)"
t_eq "a link to an output a node does not have is refused" failed "$(sk_graph badlink 2>/dev/null <<'EOF'
{"nodes": [{"id": "a", "skill": "fibonacci", "inputs": {"n": 3}},
 {"id": "n", "skill": "collect", "inputs": {"x1": {"from": "a.nosuch"}}}]}
EOF
)"
t_eq "and the error names the link" yes \
	"$(run_error badlink | grep -q "nosuch" && echo yes)"

# --------------------------------------------------------- export-results
EXPORT='{"nodes": [
 {"id": "f", "skill": "fibonacci", "inputs": {"n": 100}},
 {"id": "s", "skill": "fibonacci", "inputs": {"n": 10, "sequence": true}},
 {"id": "p", "skill": "plot", "inputs": {"y": {"from": "s.sequence"}, "title": "F(0..10)"}},
 {"id": "n", "skill": "export-results", CACHE
  "inputs": {"title": "Fibonacci | report", "r1": {"from": "f.value"},
   "r2": {"from": "f.digits"}, "r3": {"from": "p.points"},
   "r4": {"from": "s.sequence"}, "r5": {"from": "p.svg"}, "r6": 0.1,
   "names": ["F(100)", "digits", "points", "F(0..10)", "plot"],
   "notes": "F(n) by *fast doubling*."}}]}'
for r in export1 export2; do
	t_eq "fibonacci and plot feed export-results ($r, cache off)" succeeded \
		"$(printf '%s\n' "${EXPORT/CACHE/\"cache\": false,}" | sk_graph $r)"
done
t_eq "it exported 6 results" 6 "$(sk_out export1 n count)"
t_eq "the outputs name the files" "report.md results.json results.csv results-series.csv" \
	"$(echo $(for o in report json csv series_csv; do sk_out export1 n $o; done))"
sk_files "report.md is Markdown with a title" md "$(sk_path export1 n report.md)"
sk_files "results.json is valid JSON" json "$(sk_path export1 n results.json)"
sk_files "results.csv and results-series.csv are valid CSV" csv \
	"$(sk_path export1 n results.csv)" "$(sk_path export1 n results-series.csv)"
sk_py "the report has the title, the values, the full short array and the notes" '
import sys
md = open(sys.argv[1]).read()
lines = md.splitlines()
assert lines[0] == "# Fibonacci | report", lines[0]
for row in ("| F(100) | 354224848179261915075 |", "| digits | 21 |",
            "| points | 11 |", "| plot | file [plot.svg](plot.svg) |", "| r6 | 0.1 |",
            "![plot.svg](plot.svg)",
            "| F(0..10) | array of 11 strings: first 0, last 55 |",
            "[\"0\", \"1\", \"1\", \"2\", \"3\", \"5\", \"8\", \"13\", \"21\", \"34\", \"55\"]",
            "## Notes", "F(n) by *fast doubling*."):
    assert row in lines, (row, md)
' "$(sk_path export1 n report.md)"
t_eq "the plot linked into r5 came as a file and sits next to the report" "plot.svg" \
	"$(as alice ls "$SK_RUN/export1/outputs/n" | grep -x plot.svg)"
t_check "it is the plot's own SVG, byte for byte" \
	as alice cmp "$(sk_path export1 p plot.svg)" "$(sk_path export1 n plot.svg)"
t_eq "the files output names it" '["plot.svg"]' "$(sk_out export1 n files | jq -c .)"
sk_py "results.json round-trips every value exactly (F(100) as the same string)" '
import json, sys
got = json.load(open(sys.argv[1]))
want = {"F(100)": "354224848179261915075", "digits": 21, "points": 11,
        "F(0..10)": ["0", "1", "1", "2", "3", "5", "8", "13", "21", "34", "55"],
        "plot": "plot.svg", "r6": 0.1}
assert got == want and list(got) == list(want), got
assert type(got["digits"]) is int and type(got["r6"]) is float
' "$(sk_path export1 n results.json)"
sk_py "results.csv has a name,value row per scalar" '
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert rows == [["name", "value"], ["F(100)", "354224848179261915075"],
                ["digits", "21"], ["points", "11"], ["plot", "plot.svg"],
                ["r6", "0.1"]], rows
' "$(sk_path export1 n results.csv)"
sk_py "results-series.csv has the array as a column" '
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert rows[0] == ["index", "F(0..10)"], rows[0]
assert rows[1:] == [[str(i), v] for i, v in enumerate(
    ["0", "1", "1", "2", "3", "5", "8", "13", "21", "34", "55"])], rows
' "$(sk_path export1 n results-series.csv)"
t_check "the report is deterministic: two runs give the same bytes" \
	as alice cmp "$(sk_path export1 n report.md)" "$(sk_path export2 n report.md)"
echo "# wall: export-results $(wall export1 n) s, its plot $(wall export1 p) s"

t_eq "arrays of different lengths and an object export" succeeded \
	"$(sk_run mixed export-results '{"r1": [1, 2, 3], "r2": [0.5], "r3": {"k": [1, 2]}, "names": ["a", "b", "c"]}')"
sk_py "results-series.csv pads the shorter array with empty cells" '
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert rows == [["index", "a", "b"], ["0", "1", "0.5"], ["1", "2", ""],
                ["2", "3", ""]], rows
' "$(sk_path mixed n results-series.csv)"
sk_py "results.csv has no array or object rows, the report shows the object as JSON" '
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert rows == [["name", "value"]], rows
md = open(sys.argv[2]).read()
assert "| c | object with 1 key (below) |" in md, md
assert "### c\n\n```json\n{\n  \"k\": [\n    1,\n    2\n  ]\n}\n```" in md, md
' "$(sk_path mixed n results.csv)" "$(sk_path mixed n report.md)"

t_eq "duplicate names fail" failed \
	"$(sk_run dup export-results '{"r1": 1, "r2": 2, "names": ["a", "a"]}')"
t_eq "and name both ports" yes "$(has dup n "names must be unique: r1 and r2 are both called 'a'")"
t_eq "a name equal to another port's default fails" failed \
	"$(sk_run dup2 export-results '{"r1": 1, "r2": 2, "names": ["r2"]}')"
t_eq "and says which" yes "$(has dup2 n "r1 and r2 are both called 'r2'")"
t_eq "an empty name fails" failed \
	"$(sk_run empty export-results '{"r1": 1, "names": [" "]}')"
t_eq "and says names must be non-empty" yes "$(has empty n 'names\[0\] \(for r1\) must be a non-empty string')"
t_eq "more names than given ports fails" failed \
	"$(sk_run extra export-results '{"r1": 1, "r2": 2, "names": ["a", "b", "c"]}')"
t_eq "and names the extra one" yes "$(has extra n "names\[2\] \('c'\) names r3, which is not given")"
t_eq "more names than the 8 ports fails" failed \
	"$(sk_run nine export-results '{"r1": 1, "names": ["a","b","c","d","e","f","g","h","i"]}')"
t_eq "and says there are 8 ports" yes "$(has nine n 'names has 9 entries but there are only 8 ports')"
t_eq "no result at all fails" failed "$(sk_run nothing export-results '{"title": "x"}')"
t_eq "and says to give one" yes "$(has nothing n 'no results: give at least one of r1..r8')"

t_done
