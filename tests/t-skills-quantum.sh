#!/usr/bin/env bash
# tests/t-skills-quantum.sh: the shipped quantum skills (hamiltonian-builder,
# quantum-vqe, circuit-builder), run through run/ as a user runs them, against
# published reference values (Szabo & Ostlund; the H2/STO-3G full CI energy)
# and exact results (-sqrt 2, the Heisenberg singlet, Bell and GHZ states).
set -u
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/skills.sh"
sk_start

# near DESC VALUE REF TOL: |VALUE - REF| < TOL
near()
{
	sk_py "$1" 'import sys; v, r, t = map(float, sys.argv[1:4]); assert abs(v - r) < t, "%r is not within %g of %g" % (v, t, r)' "$2" "$3" "$4"
}

# The lowest eigenvalue of a Pauli-sum object, and <hf_state|H|hf_state>,
# computed here independently of the skills (numpy.kron, qubit 0 leftmost).
PAULI_PY='import sys, json, numpy as np
M = {"I": np.eye(2), "X": np.array([[0, 1], [1, 0]]), "Y": np.array([[0, -1j], [1j, 0]]), "Z": np.diag([1, -1])}
def dense(h):
    n = h["n_qubits"]
    H = np.zeros((2 ** n, 2 ** n), complex)
    for t in h["terms"]:
        m = np.ones((1, 1))
        for ch in t["pauli"]:
            m = np.kron(m, M[ch])
        H += t["coeff"] * m
    return H
'

# --- hamiltonian-builder -------------------------------------------------------
t_eq "hamiltonian-builder: H2 at 0.7414 Å runs" succeeded \
	"$(sk_run hb hamiltonian-builder '{"bond_length": 0.7414}')"
near "hamiltonian-builder: E_HF = -1.1167 Ha (within 0.2 mHa)" \
	"$(sk_out hb n hf_energy)" -1.1167 2e-4
near "hamiltonian-builder: nuclear repulsion = 1/R = 0.71375 Ha" \
	"$(sk_out hb n nuclear_repulsion)" 0.713754 1e-5
near "hamiltonian-builder: E_FCI (exact_energy) = -1.13728 Ha (within 0.2 mHa)" \
	"$(sk_out hb n exact_energy)" -1.13728 2e-4
near "hamiltonian-builder: electronic energy = E_HF - 1/R = -1.8304 Ha" \
	"$(sk_out hb n electronic_energy)" -1.8304 2e-4
t_eq "hamiltonian-builder: 15 Pauli terms on 4 qubits" 15 "$(sk_out hb n terms)"
sk_py "hamiltonian-builder: orbital energies -0.578 and +0.670 Ha (Szabo & Ostlund, 1.4 bohr)" \
	'import sys, json; e = json.loads(sys.argv[1]); assert len(e) == 2 and abs(e[0] + 0.578) < 2e-3 and abs(e[1] - 0.670) < 2e-3, e' \
	"$(sk_out hb n orbital_energies)"
HB=$(sk_out hb n hamiltonian)
sk_py "hamiltonian-builder: the object: 4 qubits, HF state 1100, hartree, 15 distinct terms with the identity, none below 1e-10" \
	'import sys, json; h = json.loads(sys.argv[1]); p = [t["pauli"] for t in h["terms"]]
assert h["n_qubits"] == 4 and h["hf_state"] == "1100" and h["units"] == "hartree" and h["bond_length"] == 0.7414, h
assert len(p) == 15 == len(set(p)) and "IIII" in p and all(len(s) == 4 and set(s) <= set("IXYZ") for s in p), p
assert set(p) >= {"XXYY", "XYYX", "YXXY", "YYXX", "ZZII", "IIZZ"}, p
assert all(abs(t["coeff"]) >= 1e-10 for t in h["terms"])' "$HB"
sk_py "hamiltonian-builder: the Pauli sum's lowest eigenvalue is exact_energy, and <1100|H|1100> is E_HF" \
	"$PAULI_PY"'h = json.loads(sys.argv[1]); H = dense(h); w = np.linalg.eigvalsh(H)[0]
i = int(h["hf_state"], 2)
assert abs(w - float(sys.argv[2])) < 1e-9 and abs(H[i, i].real - float(sys.argv[3])) < 1e-9, (w, H[i, i])' \
	"$HB" "$(sk_out hb n exact_energy)" "$(sk_out hb n hf_energy)"

t_eq "hamiltonian-builder: the 2-qubit form runs" succeeded \
	"$(sk_run hb2 hamiltonian-builder '{"bond_length": 0.7414, "n_qubits": 2}')"
t_eq "hamiltonian-builder: the 2-qubit form has 5 terms" 5 "$(sk_out hb2 n terms)"
sk_py "hamiltonian-builder: the 2-qubit Hamiltonian's lowest eigenvalue equals the 4-qubit FCI; <10|H|10> is E_HF" \
	"$PAULI_PY"'h = json.loads(sys.argv[1]); H = dense(h); w = np.linalg.eigvalsh(H)[0]
i = int(h["hf_state"], 2)
assert h["n_qubits"] == 2 and abs(w - float(sys.argv[2])) < 1e-9, (w, sys.argv[2])
assert abs(H[i, i].real - float(sys.argv[3])) < 1e-9, H[i, i]' \
	"$(sk_out hb2 n hamiltonian)" "$(sk_out hb n exact_energy)" "$(sk_out hb n hf_energy)"

# The end of the range: Hartree-Fock must still converge at 10 Å.
t_eq "hamiltonian-builder: H2 at 10 Å (the longest allowed) runs" succeeded \
	"$(sk_run hb10 hamiltonian-builder '{"bond_length": 10}')"
near "hamiltonian-builder: at 10 Å FCI is two H atoms, 2 x -0.46658 Ha (within 0.1 mHa)" \
	"$(sk_out hb10 n exact_energy)" -0.93316 1e-4
t_eq "hamiltonian-builder: H2 at 3.0 Å runs" succeeded \
	"$(sk_run hb3 hamiltonian-builder '{"bond_length": 3.0}')"
near "hamiltonian-builder: at 3.0 Å FCI tends to two H atoms, 2 x -0.46658 Ha (within 5 mHa)" \
	"$(sk_out hb3 n exact_energy)" -0.93316 5e-3
sk_py "hamiltonian-builder: at 3.0 Å HF is over 0.2 Ha above FCI (static correlation)" \
	'import sys; hf, fci = float(sys.argv[1]), float(sys.argv[2]); assert hf - fci > 0.2, (hf, fci)' \
	"$(sk_out hb3 n hf_energy)" "$(sk_out hb3 n exact_energy)"

# The energy curve from 0.66 to 0.80 Å in steps of 0.01 Å, one node each.
nodes=
for i in $(seq 66 80); do
	nodes="$nodes${nodes:+,}{\"id\": \"r$i\", \"skill\": \"hamiltonian-builder\", \"inputs\": {\"bond_length\": 0.$i}}"
done
t_eq "hamiltonian-builder: a 15-point energy curve runs" succeeded \
	"$(echo "{\"nodes\": [$nodes]}" | sk_graph curve)"
curve=$(for i in $(seq 66 80); do
	echo "0.$i $(sk_out curve r$i exact_energy) $(sk_out curve r$i hf_energy)"
done)
sk_py "hamiltonian-builder: the FCI curve has its minimum between 0.71 and 0.74 Å, HF near 0.71 Å" \
	'import sys; rows = [list(map(float, l.split())) for l in sys.argv[1].splitlines()]
rf = min(rows, key=lambda r: r[1])[0]; rh = min(rows, key=lambda r: r[2])[0]
assert len(rows) == 15 and 0.71 <= rf <= 0.74 and 0.70 <= rh <= 0.72, (rf, rh)' "$curve"

sk_fails hbneg hamiltonian-builder '{"bond_length": -1}' \
	"hamiltonian-builder: bond_length -1" "bond_length must be a number between 0.1 and 10"
sk_fails hbq3 hamiltonian-builder '{"n_qubits": 3}' \
	"hamiltonian-builder: n_qubits 3" "n_qubits must be 4"

# --- quantum-vqe -------------------------------------------------------------------
# The showcase link: hamiltonian-builder.hamiltonian -> quantum-vqe.hamiltonian.
t_eq "quantum-vqe: the graph hamiltonian-builder -> quantum-vqe (ucc and hardware-efficient) runs" succeeded \
	"$(sk_graph vqe <<'EOF'
{"nodes": [
  {"id": "h", "skill": "hamiltonian-builder", "inputs": {"bond_length": 0.7414}},
  {"id": "ucc", "skill": "quantum-vqe", "inputs": {"hamiltonian": {"from": "h.hamiltonian"}}},
  {"id": "hea", "skill": "quantum-vqe",
   "inputs": {"hamiltonian": {"from": "h.hamiltonian"}, "ansatz": "hardware-efficient", "layers": 2, "seed": 7}},
  {"id": "h2q", "skill": "hamiltonian-builder", "inputs": {"bond_length": 0.7414, "n_qubits": 2}},
  {"id": "ucc2", "skill": "quantum-vqe", "inputs": {"hamiltonian": {"from": "h2q.hamiltonian"}}}]}
EOF
)"
e=$(sk_out vqe ucc eigenvalue)
near "quantum-vqe: UCC energy of H2 within chemical accuracy (1.6 mHa) of -1.13728 Ha" "$e" -1.13728 1.6e-3
near "quantum-vqe: UCC energy within 1e-6 Ha of the exact energy" "$e" "$(sk_out vqe ucc exact_energy)" 1e-6
near "quantum-vqe: the VQE exact energy equals the builder's FCI" \
	"$(sk_out vqe ucc exact_energy)" "$(sk_out vqe h exact_energy)" 1e-9
sk_py "quantum-vqe: UCC on 4-qubit H2 has one parameter and converged" \
	'import sys, json; p = json.loads(sys.argv[1]); assert len(p) == 1 and sys.argv[2] == "true", (p, sys.argv[2])' \
	"$(sk_out vqe ucc parameters)" "$(sk_out vqe ucc converged)"
sk_py "quantum-vqe: the history starts at E_HF, never rises, and ends at the eigenvalue" \
	'import sys, json; h = json.loads(sys.argv[1]); e, hf = float(sys.argv[2]), float(sys.argv[3])
assert len(h) >= 2 and abs(h[0] - hf) < 1e-9 and abs(h[-1] - e) < 1e-12, (h, e, hf)
assert all(b <= a + 1e-12 for a, b in zip(h, h[1:])), h' \
	"$(sk_out vqe ucc history)" "$e" "$(sk_out vqe h hf_energy)"
sk_py "quantum-vqe: error_mha is (eigenvalue - exact) x 1000" \
	'import sys; m, e, x = map(float, sys.argv[1:4]); assert abs(m - (e - x) * 1000) < 1e-9, (m, e, x)' \
	"$(sk_out vqe ucc error_mha)" "$e" "$(sk_out vqe ucc exact_energy)"
eh=$(sk_out vqe hea eigenvalue)
near "quantum-vqe: hardware-efficient (2 layers, seed 7) within chemical accuracy of -1.13728 Ha" "$eh" -1.13728 1.6e-3
sk_py "quantum-vqe: hardware-efficient has 2*4*3 = 24 parameters and a non-increasing history ending at its eigenvalue" \
	'import sys, json; p, h = json.loads(sys.argv[1]), json.loads(sys.argv[2]); e = float(sys.argv[3])
assert len(p) == 24 and abs(h[-1] - e) < 1e-12 and all(b <= a + 1e-12 for a, b in zip(h, h[1:])), (len(p), h[-3:], e)' \
	"$(sk_out vqe hea parameters)" "$(sk_out vqe hea history)" "$eh"
near "quantum-vqe: UCC on the 2-qubit H2 reaches the same energy (within 1e-6)" \
	"$(sk_out vqe ucc2 eigenvalue)" "$e" 1e-6

# Seed 4's first random start stops at the Hartree-Fock energy, 20.6 mHa
# too high; restarts (default 4) get past it.
t_eq "quantum-vqe: hardware-efficient seed 4 with one start and with four runs" succeeded \
	"$(sk_graph restarts <<'EOF'
{"nodes": [
  {"id": "h", "skill": "hamiltonian-builder", "inputs": {"bond_length": 0.7414}},
  {"id": "one", "skill": "quantum-vqe",
   "inputs": {"hamiltonian": {"from": "h.hamiltonian"}, "ansatz": "hardware-efficient", "seed": 4, "restarts": 1}},
  {"id": "four", "skill": "quantum-vqe",
   "inputs": {"hamiltonian": {"from": "h.hamiltonian"}, "ansatz": "hardware-efficient", "seed": 4}}]}
EOF
)"
sk_py "quantum-vqe: one start of seed 4 is stuck at E_HF (error > 20 mHa)" \
	'import sys; m = float(sys.argv[1]); assert m > 20, m' "$(sk_out restarts one error_mha)"
sk_py "quantum-vqe: four starts of seed 4 reach chemical accuracy, and each start's end is shown" \
	'import sys, json; m, s, e = float(sys.argv[1]), json.loads(sys.argv[2]), float(sys.argv[3])
assert m < 1.6 and len(s) == 4 and min(s) == e and max(s) - min(s) > 0.02, (m, s, e)' \
	"$(sk_out restarts four error_mha)" "$(sk_out restarts four start_energies)" "$(sk_out restarts four eigenvalue)"
t_eq "quantum-vqe: restarts 0 is refused, naming the range" yes \
	"$(sk_run r0 quantum-vqe '{"hamiltonian": {"n_qubits": 1, "terms": [{"pauli": "Z", "coeff": 1}]}, "ansatz": "hardware-efficient", "restarts": 0}' >/dev/null; sk_err r0 n | grep -q 'restarts must be' && echo yes)"

t_eq "quantum-vqe: Z + X (1 qubit, hardware-efficient) runs" succeeded \
	"$(sk_run zx quantum-vqe '{"hamiltonian": {"n_qubits": 1, "terms": [{"pauli": "Z", "coeff": 1}, {"pauli": "X", "coeff": 1.0}]}, "ansatz": "hardware-efficient"}')"
near "quantum-vqe: Z + X gives -sqrt(2)" "$(sk_out zx n eigenvalue)" -1.41421356 1e-6
near "quantum-vqe: Z + X exact energy is -sqrt(2)" "$(sk_out zx n exact_energy)" -1.41421356 1e-8

t_eq "quantum-vqe: Heisenberg XX + YY + ZZ (2 qubits, hardware-efficient) runs" succeeded \
	"$(sk_run heis quantum-vqe '{"hamiltonian": {"n_qubits": 2, "terms": [{"pauli": "XX", "coeff": 1}, {"pauli": "YY", "coeff": 1}, {"pauli": "ZZ", "coeff": 1}]}, "ansatz": "hardware-efficient"}')"
near "quantum-vqe: Heisenberg gives the singlet energy -3" "$(sk_out heis n eigenvalue)" -3 1e-6
near "quantum-vqe: Heisenberg exact energy is -3" "$(sk_out heis n exact_energy)" -3 1e-9

# 10 qubits, the largest allowed: sum of Z_i + 0.5 X_i, exact -10 sqrt(1.25).
ten=$(/usr/bin/python3 -c 'import json; n = 10; print(json.dumps({"n_qubits": n, "terms": [{"pauli": "I" * i + p + "I" * (n - i - 1), "coeff": c} for i in range(n) for p, c in (("Z", 1), ("X", 0.5))]}))')
t_eq "quantum-vqe: a 10-qubit field model (hardware-efficient, 1 layer) runs" succeeded \
	"$(sk_run ten quantum-vqe "{\"hamiltonian\": $ten, \"ansatz\": \"hardware-efficient\", \"layers\": 1, \"restarts\": 1}")"
near "quantum-vqe: 10 qubits: exact energy -10 sqrt(1.25) = -11.18034" "$(sk_out ten n exact_energy)" -11.1803399 1e-6
near "quantum-vqe: 10 qubits: VQE reaches it (within 1e-6)" "$(sk_out ten n eigenvalue)" -11.1803399 1e-6

sk_fails vbadp quantum-vqe '{"hamiltonian": {"n_qubits": 2, "terms": [{"pauli": "XQ", "coeff": 1}]}}' \
	"quantum-vqe: Pauli letter Q" "unknown Pauli letter(s) 'Q'"
sk_fails vbadl quantum-vqe '{"hamiltonian": {"n_qubits": 2, "terms": [{"pauli": "ZZZ", "coeff": 1}]}}' \
	"quantum-vqe: a 3-letter string on 2 qubits" "must be a string of 2 letters"
sk_fails vbadc quantum-vqe '{"hamiltonian": {"n_qubits": 1, "terms": [{"pauli": "Z", "coeff": "one"}]}}' \
	"quantum-vqe: coefficient \"one\"" "coeff must be a finite real number"
sk_fails vbadn quantum-vqe '{"hamiltonian": {"n_qubits": 11, "terms": [{"pauli": "ZZZZZZZZZZZ", "coeff": 1}]}}' \
	"quantum-vqe: 11 qubits" "n_qubits must be an integer from 1 to 10"
sk_fails vbada quantum-vqe '{"hamiltonian": {"n_qubits": 1, "terms": [{"pauli": "Z", "coeff": 1}]}, "ansatz": "qaoa"}' \
	"quantum-vqe: ansatz qaoa" "ansatz must be one of ucc, hardware-efficient"
sk_fails vbadu quantum-vqe '{"hamiltonian": {"n_qubits": 1, "terms": [{"pauli": "Z", "coeff": 1}, {"pauli": "X", "coeff": 1}]}}' \
	"quantum-vqe: ucc on a 1-qubit Z + X" "use ansatz 'hardware-efficient'"

# --- circuit-builder ---------------------------------------------------------------
t_eq "circuit-builder: Bell state (H 0; CNOT 0 1) runs" succeeded \
	"$(sk_run bell circuit-builder '{"n_qubits": 2, "gates": [{"gate": "H", "qubits": [0]}, {"gate": "CNOT", "qubits": [0, 1]}]}')"
sk_py "circuit-builder: Bell probabilities are {00: 0.5, 11: 0.5}" \
	'import sys, json; assert json.loads(sys.argv[1]) == {"00": 0.5, "11": 0.5}, sys.argv[1]' \
	"$(sk_out bell n probabilities)"
sk_py "circuit-builder: Bell amplitudes are 1/sqrt2 on 00 and 11, 0 elsewhere" \
	'import sys, json, math; s = json.loads(sys.argv[1]); r = 1 / math.sqrt(2)
want = [[r, 0], [0, 0], [0, 0], [r, 0]]
assert len(s) == 4 and all(abs(a - b) < 1e-12 for x, y in zip(s, want) for a, b in zip(x, y)), s' \
	"$(sk_out bell n state)"
t_eq "circuit-builder: Bell depth is 2" 2 "$(sk_out bell n depth)"
sk_files "circuit-builder: the Bell diagram is a valid SVG" svg "$(sk_path bell n circuit.svg)"
sk_py "circuit-builder: the Bell diagram has 2 wires, an H box, a control dot and a target" \
	'import sys, xml.etree.ElementTree as ET; r = ET.parse(sys.argv[1]).getroot(); ns = "{http://www.w3.org/2000/svg}"
texts = [t.text for t in r.iter(ns + "text")]
cls = [e.get("class") for e in r.iter()]
assert "q0" in texts and "q1" in texts and "q2" not in texts and "H" in texts, texts
assert cls.count("control") == 1 and cls.count("target") == 1 and cls.count("gate") == 1, cls' \
	"$(sk_path bell n circuit.svg)"

t_eq "circuit-builder: GHZ on 3 qubits runs" succeeded \
	"$(sk_run ghz circuit-builder '{"n_qubits": 3, "gates": [{"gate": "H", "qubits": [0]}, {"gate": "CNOT", "qubits": [0, 1]}, {"gate": "CNOT", "qubits": [1, 2]}]}')"
sk_py "circuit-builder: GHZ probabilities are {000: 0.5, 111: 0.5}" \
	'import sys, json; assert json.loads(sys.argv[1]) == {"000": 0.5, "111": 0.5}, sys.argv[1]' \
	"$(sk_out ghz n probabilities)"
t_eq "circuit-builder: GHZ depth is 3" 3 "$(sk_out ghz n depth)"

t_eq "circuit-builder: X on qubit 1 of 2 runs" succeeded \
	"$(sk_run x1 circuit-builder '{"n_qubits": 2, "gates": [{"gate": "X", "qubits": [1]}]}')"
sk_py "circuit-builder: X on qubit 1 gives 01 (qubit 0 leftmost)" \
	'import sys, json; assert json.loads(sys.argv[1]) == {"01": 1.0}, sys.argv[1]' \
	"$(sk_out x1 n probabilities)"

t_eq "circuit-builder: RY(pi) on |0> runs" succeeded \
	"$(sk_run ry circuit-builder '{"n_qubits": 1, "gates": [{"gate": "RY", "qubits": [0], "angle": 3.141592653589793}]}')"
sk_py "circuit-builder: RY(pi)|0> = |1> (amplitude +1)" \
	'import sys, json; s = json.loads(sys.argv[1]); assert abs(s[0][0]) + abs(s[0][1]) < 1e-12 and abs(s[1][0] - 1) < 1e-12 and abs(s[1][1]) < 1e-12, s' \
	"$(sk_out ry n state)"
t_eq "circuit-builder: the RY diagram shows the angle as π" yes \
	"$(as alice grep -q '>π<' "$(sk_path ry n circuit.svg)" && echo yes)"
sk_files "circuit-builder: the RY diagram is a valid SVG" svg "$(sk_path ry n circuit.svg)"

t_eq "circuit-builder: X; S; S runs" succeeded \
	"$(sk_run ss circuit-builder '{"n_qubits": 1, "gates": [{"gate": "X", "qubits": [0]}, {"gate": "S", "qubits": [0]}, {"gate": "S", "qubits": [0]}]}')"
sk_py "circuit-builder: S·S = Z: S S |1> = -|1>" \
	'import sys, json; s = json.loads(sys.argv[1]); assert abs(s[1][0] + 1) < 1e-12 and abs(s[1][1]) < 1e-12 and s[0] == [0, 0], s' \
	"$(sk_out ss n state)"
t_eq "circuit-builder: H; S; S; H runs" succeeded \
	"$(sk_run hssh circuit-builder '{"n_qubits": 1, "gates": [{"gate": "H", "qubits": [0]}, {"gate": "S", "qubits": [0]}, {"gate": "S", "qubits": [0]}, {"gate": "H", "qubits": [0]}]}')"
sk_py "circuit-builder: H S S H = H Z H = X: the phase shows as outcome 1" \
	'import sys, json; assert json.loads(sys.argv[1]) == {"1": 1.0}, sys.argv[1]' \
	"$(sk_out hssh n probabilities)"

sk_fails cbgate circuit-builder '{"n_qubits": 2, "gates": [{"gate": "FOO", "qubits": [0]}]}' \
	"circuit-builder: gate FOO" "unknown gate 'FOO'"
sk_fails cbrange circuit-builder '{"n_qubits": 2, "gates": [{"gate": "H", "qubits": [2]}]}' \
	"circuit-builder: qubit 2 of 2" "qubit 2 is out of range"
sk_fails cbsame circuit-builder '{"n_qubits": 2, "gates": [{"gate": "CNOT", "qubits": [1, 1]}]}' \
	"circuit-builder: CNOT 1 1" "needs two different qubits"
sk_fails cbn circuit-builder '{"n_qubits": 13, "gates": []}' \
	"circuit-builder: 13 qubits" "n_qubits must be an integer from 1 to 12"

# Wall times, for the record (comments, not checks).
for r in hb:n hb2:n hb3:n vqe:h vqe:ucc vqe:hea vqe:h2q vqe:ucc2 zx:n heis:n ten:n bell:n ghz:n; do
	echo "# time ${r%%:*}/${r#*:}: $(as alice cat "$SK_RUN/${r%%:*}/nodes/${r#*:}/time" 2>/dev/null | jq -c "{wall_s, max_rss_kb, cached}")"
done

t_done
