#!/usr/bin/env bash
# tests/t-workflows.sh: the four shipped workflows, each copied from
# system/workflows/ into alice's run/ as the README's "Try it" says, run
# for real (sandbox, ngspice, numpy), their results compared with the
# published reference values and every output file checked for validity.
set -u
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/skills.sh"
sk_start
WF=$MNT/system/workflows

# start NAME: cp the system workflow into run/ and wait; prints the status
start()
{
	as alice cp "$WF/$1.json" "$SK_RUN/" 2>&1 || return
	as alice timeout 900 cat "$SK_RUN/$1/wait" 2>&1
}

# all_files_valid RUN: every output file of the run is a valid file of its kind
all_files_valid()
{
	local f kind bad= n=0
	while IFS= read -r f; do
		case $f in
		*.svg) kind=svg ;; *.png) kind=png ;; *.gif) kind=gif ;;
		*.gltf) kind=gltf ;; *.json) kind=json ;; *.csv) kind=csv ;;
		*.md) kind=md ;; *) continue ;;
		esac
		n=$((n + 1))
		as alice /usr/bin/python3 "$T_TOP/tests/check-files.py" "$kind" "$f" >/dev/null 2>&1 ||
			bad="$bad $(basename "$(dirname "$f")")/$(basename "$f")"
	done < <(as alice find "$SK_RUN/$1/outputs" -type f)
	t_eq "$1: all $n output files are valid (SVG, PNG, GIF, glTF, JSON, CSV, Markdown)" "" "${bad# }"
}

# every_node RUN STATUS: the statuses of all nodes
node_statuses()
{
	local d
	for d in $(as alice ls "$SK_RUN/$1/nodes"); do
		as alice cat "$SK_RUN/$1/nodes/$d/status"
	done | sort | uniq -c | awk '{print $2 "=" $1}' | xargs
}

# --- vqe-h2: the showcase ------------------------------------------------------
t_eq "vqe-h2 succeeds" succeeded "$(start vqe-h2)"
t_eq "vqe-h2: all four nodes succeeded" "succeeded=4" "$(node_statuses vqe-h2)"
e=$(sk_out vqe-h2 vqe eigenvalue)
sk_py "vqe-h2: VQE energy within chemical accuracy (1.6 mHa) of E_FCI = -1.13728 Ha" \
	'import sys; e = float(sys.argv[1]); assert abs(e + 1.13728) < 1.6e-3, e' "$e"
sk_py "vqe-h2: the exact energy is -1.13728 Ha (within 0.1 mHa)" \
	'import sys; e = float(sys.argv[1]); assert abs(e + 1.13728) < 1e-4, e' \
	"$(sk_out vqe-h2 vqe exact_energy)"
sk_py "vqe-h2: Hartree-Fock is -1.1167 Ha (within 0.2 mHa)" \
	'import sys; e = float(sys.argv[1]); assert abs(e + 1.1167) < 2e-4, e' \
	"$(sk_out vqe-h2 hamiltonian hf_energy)"
sk_py "vqe-h2: the history ends at the reported energy" \
	'import sys, json; h = json.loads(sys.argv[1]); assert len(h) >= 2 and abs(h[-1] - float(sys.argv[2])) < 1e-9, (h[-1], sys.argv[2])' \
	"$(sk_out vqe-h2 vqe history)" "$e"
sk_py "vqe-h2: results.json holds the same energy" \
	'import sys, json; r = json.load(open(sys.argv[1])); assert abs(r["vqe_energy_ha"] - float(sys.argv[2])) < 1e-12, r' \
	"$(sk_path vqe-h2 report results.json)" "$e"
t_eq "vqe-h2: the report has its title" yes \
	"$(as alice grep -q 'VQE ground state of H2' "$(sk_path vqe-h2 report report.md)" && echo yes)"
t_eq "vqe-h2: the report shows the convergence plot, copied next to it" "yes yes" \
	"$(as alice grep -q '^!\[plot.svg\](plot.svg)$' "$(sk_path vqe-h2 report report.md)" && echo yes) $(as alice cmp -s "$(sk_path vqe-h2 report plot.svg)" "$(sk_path vqe-h2 convergence plot.svg)" && echo yes)"
t_eq "vqe-h2: the convergence plot has its title" yes \
	"$(as alice grep -q 'VQE convergence' "$(sk_path vqe-h2 convergence plot.svg)" && echo yes)"
all_files_valid vqe-h2

# The same graph under another name is answered from the cache.
as alice sh -c "cp '$WF/vqe-h2.json' '$SK_RUN/vqe-again.json'"
t_eq "vqe-h2 again: succeeds" succeeded "$(as alice timeout 120 cat "$SK_RUN/vqe-again/wait")"
t_eq "vqe-h2 again: every node is cached" "cached=4" "$(node_statuses vqe-again)"
t_eq "vqe-h2 again: the same energy" "$e" "$(sk_out vqe-again vqe eigenvalue)"

# The README's "Try it": a longer bond reruns everything and stays exact;
# a new plot title reruns the plot and the report that shows it.
as alice sh -c "sed 's/\"bond_length\": 0.7414/\"bond_length\": 1.0/' '$SK_RUN/vqe-h2/graph.json' > '$SK_RUN/h2-long.json'"
t_eq "vqe-h2 at 1.0 Å: succeeds" succeeded "$(as alice timeout 300 cat "$SK_RUN/h2-long/wait")"
sk_py "vqe-h2 at 1.0 Å: VQE within chemical accuracy of exact (-1.10115 Ha)" \
	'import sys; e, x = float(sys.argv[1]), float(sys.argv[2]); assert abs(e - x) < 1.6e-3 and abs(x + 1.10115) < 1e-4, (e, x)' \
	"$(sk_out h2-long vqe eigenvalue)" "$(sk_out h2-long vqe exact_energy)"
as alice sh -c "sed 's/VQE convergence, H2/Convergence of VQE for H2/' '$SK_RUN/vqe-h2/graph.json' > '$SK_RUN/retitled.json'"
t_eq "vqe-h2 retitled: the plot and the report that shows it run again, the rest is cached" \
	"succeeded cached succeeded cached" \
	"$(as alice timeout 300 cat "$SK_RUN/retitled/wait" >/dev/null; as alice sh -c "cat '$SK_RUN'/retitled/nodes/*/status" | xargs)"

# --- h2-dissociation: 9 parallel branches --------------------------------------
t_eq "h2-dissociation succeeds" succeeded "$(start h2-dissociation)"
R=$(jq -c '[.nodes[] | select(.skill == "hamiltonian-builder") | .inputs.bond_length]' "$WF/h2-dissociation.json")
sk_py "h2-dissociation: at least 8 bond lengths" \
	'import sys, json; assert len(json.loads(sys.argv[1])) >= 8' "$R"
sk_py "h2-dissociation: VQE within chemical accuracy of exact at every length" \
	'import sys, json; v, x = json.loads(sys.argv[1]), json.loads(sys.argv[2]); assert len(v) == len(x) >= 8; assert all(abs(a - b) < 1.6e-3 for a, b in zip(v, x)), list(zip(v, x))' \
	"$(sk_out h2-dissociation vqe_energies values)" "$(sk_out h2-dissociation exact_energies values)"
sk_py "h2-dissociation: the exact curve's minimum is at 0.7414 Å, -1.13728 Ha" \
	'import sys, json; r, x = json.loads(sys.argv[1]), json.loads(sys.argv[2]); i = x.index(min(x)); assert r[i] == 0.7414 and abs(x[i] + 1.13728) < 1e-4, (r[i], x[i])' \
	"$R" "$(sk_out h2-dissociation exact_energies values)"
sk_py "h2-dissociation: at 3.0 Å exact tends to two H atoms (-0.9332 Ha) and HF misses it by > 0.2 Ha" \
	'import sys, json; x, h = json.loads(sys.argv[1])[-1], json.loads(sys.argv[2])[-1]; assert abs(x + 0.9332) < 5e-3 and h - x > 0.2, (x, h)' \
	"$(sk_out h2-dissociation exact_energies values)" "$(sk_out h2-dissociation hf_energies values)"
t_eq "h2-dissociation: branches ran in parallel (two VQE nodes overlapped in time)" yes \
	"$(for d in $(as alice ls "$SK_RUN/h2-dissociation/nodes" | grep -E '^(h|vqe)[0-9]'); do
		as alice cat "$SK_RUN/h2-dissociation/nodes/$d/time" | jq -r '"\(.start) \(.end)"'
	   done | sort -n | awk 'NR > 1 && $1 < end { o = 1 } { if ($2 > end) end = $2 } END { print o ? "yes" : "no" }')"
t_eq "h2-dissociation: the plot's legend names the three curves" "3" \
	"$(as alice grep -c -E 'VQE \(UCC\)|exact \(FCI\)|Hartree-Fock' "$(sk_path h2-dissociation curve plot.svg)" | awk '{print ($1 >= 3) ? 3 : $1}')"
all_files_valid h2-dissociation

# --- rc-filter: ngspice ---------------------------------------------------------
t_eq "rc-filter succeeds" succeeded "$(start rc-filter)"
sk_py "rc-filter: tau within 1% of R·C = 1 ms" \
	'import sys; t = float(sys.argv[1]); assert abs(t - 1e-3) / 1e-3 < 0.01, t' \
	"$(sk_out rc-filter spice tau_s)"
sk_py "rc-filter: f(-3 dB) within 1% of 1/(2πRC) = 159.155 Hz" \
	'import sys, math; f = float(sys.argv[1]); r = 1 / (2 * math.pi * 1e-3); assert abs(f - r) / r < 0.01, f' \
	"$(sk_out rc-filter spice f3db_hz)"
sk_py "rc-filter: the report's CSV has tau and f3db" \
	'import sys, csv; rows = {r[0]: r[1] for r in csv.reader(open(sys.argv[1]))}; assert "tau_s" in rows and "f3db_hz" in rows, rows' \
	"$(sk_path rc-filter report results.csv)"
t_eq "rc-filter: the report holds both plots, the second renamed" \
	"![plot.svg](plot.svg) ![frequency_response-plot.svg](frequency_response-plot.svg)" \
	"$(as alice grep '^!\[' "$(sk_path rc-filter report report.md)" | xargs)"
all_files_valid rc-filter

# --- 3d-scene ---------------------------------------------------------------------
t_eq "3d-scene succeeds" succeeded "$(start 3d-scene)"
sk_py "3d-scene: the scene holds 3 meshes, 3 materials, a camera and 2 lights" \
	'import sys, json; g = json.load(open(sys.argv[1])); assert len(g["meshes"]) == 3 and len(g["materials"]) == 3 and len(g["cameras"]) == 1 and len(g["extensions"]["KHR_lights_punctual"]["lights"]) == 2, g.keys()' \
	"$(sk_path 3d-scene scene scene.gltf)"
sk_files "3d-scene: the turntable GIF has 24 frames" --frames 24 gif \
	"$(sk_path 3d-scene render turntable.gif)"
sk_py "3d-scene: red on the left (sphere), blue on the right (cube)" \
	'import sys; from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB"); w, h = im.size; px = im.load()
def count(x0, x1, pred): return sum(1 for x in range(x0, x1) for y in range(h) if pred(*px[x, y]))
red = count(0, w // 3, lambda r, g, b: r > 60 and r > 2 * g and r > 2 * b)
blue = count(2 * w // 3, w, lambda r, g, b: b > 60 and b > 1.5 * r and b > g)
assert red > 200 and blue > 200, (red, blue)' "$(sk_path 3d-scene render render.png)"
all_files_valid 3d-scene

t_done
