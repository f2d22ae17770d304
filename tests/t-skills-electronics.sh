#!/usr/bin/env bash
# tests/t-skills-electronics.sh: the shipped electronics skill spice-rc,
# run through run/ as a user runs it. ngspice really runs in the sandbox;
# its measured tau and f3db are checked against R*C and 1/(2*pi*R*C), and
# its waveforms against the analytic step and Bode responses.
set -u
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/skills.sh"
command -v ngspice >/dev/null || t_skip_all "no ngspice (apt-get install ngspice)"
sk_start

# rc_check RUN R C: the measured values of run RUN against theory
rc_check()
{
	local run=$1 r=$2 c=$3 tau f3 te fe
	tau=$(sk_out "$run" n tau_s)
	f3=$(sk_out "$run" n f3db_hz)
	te=$(sk_out "$run" n tau_expected_s)
	fe=$(sk_out "$run" n f3db_expected_hz)
	sk_py "$run: tau_expected_s = R*C" \
		'import sys; r, c, te = map(float, sys.argv[1:])
assert abs(te - r * c) <= 1e-12 * r * c, te' "$r" "$c" "$te"
	sk_py "$run: f3db_expected_hz = 1/(2 pi R C)" \
		'import sys, math; r, c, fe = map(float, sys.argv[1:])
f = 1 / (2 * math.pi * r * c); assert abs(fe - f) <= 1e-12 * f, fe' \
		"$r" "$c" "$fe"
	sk_py "$run: measured tau $tau within 1% of R*C" \
		'import sys; r, c, t = map(float, sys.argv[1:])
assert abs(t - r * c) <= 0.01 * r * c, (t, r * c)' "$r" "$c" "$tau"
	sk_py "$run: measured f3db $f3 within 1% of 1/(2 pi R C)" \
		'import sys, math; r, c, f = map(float, sys.argv[1:])
fc = 1 / (2 * math.pi * r * c); assert abs(f - fc) <= 0.01 * fc, (f, fc)' \
		"$r" "$c" "$f3"
	# a result copied from the formula would be exact: ngspice's is not
	t_check_not "$run: tau is measured, not R*C copied" \
		test "$tau" = "$te"
}

# --- R = 1 kOhm, C = 1 uF: tau 1 ms, f3db 159.155 Hz ----------------------
t_eq "spice-rc (defaults: 1 kOhm, 1 uF) runs" succeeded \
	"$(sk_run rc1 spice-rc '{}')"
rc_check rc1 1000 1e-6
t_eq "tau_expected_s is 1 ms" 0.001 "$(sk_out rc1 n tau_expected_s)"
sk_py "f3db_hz is 159.155 Hz to 4 digits" \
	'import sys; assert "%.3f" % float(sys.argv[1]) == "159.155", sys.argv[1]' \
	"$(sk_out rc1 n f3db_hz)"

# ngspice really ran: its version line is in the output and matches the
# installed simulator; its own log is the node's stdout
want=$(ngspice -v 2>&1 | grep -o 'ngspice-[0-9A-Za-z.+]*' | head -n 1)
t_eq "simulator is the installed $want" "$want" "$(sk_out rc1 n simulator)"
stdout=$(as alice cat "$SK_RUN/rc1/nodes/n/stdout")
t_eq "ngspice's log is the node's stdout" yes \
	"$(grep -q 'ASCII raw file "tran.raw"' <<<"$stdout" &&
		grep -q 'ASCII raw file "ac.raw"' <<<"$stdout" &&
		grep -q "$want done" <<<"$stdout" && echo yes)"
sk_py "the transient ran to 5 tau with >= 5000 rows" \
	'import sys, re; rows = [int(x) for x in re.findall(r"No. of Data Rows : (\d+)", sys.argv[1])]
assert len(rows) == 2 and rows[0] >= 5000 and rows[1] == 601, rows' "$stdout"
t_eq "the netlist is the RC with .control tran and ac" yes \
	"$(sk_out rc1 n netlist | grep -q '^R1 in out 1000$' &&
		sk_out rc1 n netlist | grep -q '^C1 out 0 1e-06$' &&
		sk_out rc1 n netlist | grep -q '^tran ' &&
		sk_out rc1 n netlist | grep -q '^ac dec 100 ' && echo yes)"

# the waveforms: 200 points, matching the analytic curves
sk_py "time/vout: 200 points, 0..5 ms, vout = 1 - exp(-t/RC) within 0.5%" \
	'import sys, json, math; t = json.loads(sys.argv[1]); v = json.loads(sys.argv[2])
assert len(t) == len(v) == 200, (len(t), len(v))
assert t[0] == 0 and abs(t[-1] - 5e-3) < 1e-12, (t[0], t[-1])
assert all(b > a for a, b in zip(t, t[1:]))
err = max(abs(y - (1 - math.exp(-x / 1e-3))) for x, y in zip(t, v))
assert err < 0.005, err' "$(sk_out rc1 n time)" "$(sk_out rc1 n vout)"
sk_py "freq/gain_db: 200 log points over 6 decades, Bode within 0.05 dB" \
	'import sys, json, math; f = json.loads(sys.argv[1]); g = json.loads(sys.argv[2])
fc = 1 / (2 * math.pi * 1e-3)
assert len(f) == len(g) == 200, (len(f), len(g))
assert abs(f[0] / fc - 1e-3) < 1e-6 and abs(f[-1] / fc - 1e3) < 1e-3, (f[0], f[-1])
err = max(abs(y + 10 * math.log10(1 + (x / fc) ** 2)) for x, y in zip(f, g))
assert err < 0.05, err
assert abs(g[0]) < 0.01 and abs(g[-1] + 60) < 0.05, (g[0], g[-1])' \
	"$(sk_out rc1 n freq)" "$(sk_out rc1 n gain_db)"

# --- a second pair: R = 4.7 kOhm, C = 22 nF, 5 V, 50 points ---------------
t_eq "spice-rc 4.7 kOhm, 22 nF, 5 V runs" succeeded \
	"$(sk_run rc2 spice-rc '{"r_ohm": 4700, "c_farad": 22e-9, "vin": 5, "points": 50}')"
rc_check rc2 4700 22e-9
sk_py "rc2: tau 103.4 us, f3db 1539.2 Hz" \
	'import sys; t, f = map(float, sys.argv[1:])
assert "%.1f" % (t * 1e6) == "103.4" and "%.1f" % f == "1539.2", (t, f)' \
	"$(sk_out rc2 n tau_s)" "$(sk_out rc2 n f3db_hz)"
sk_py "rc2: 50 points, vout rises to 5 V (1 - e^-5 of it at 5 tau)" \
	'import sys, json, math; v = json.loads(sys.argv[1])
assert len(v) == 50 and v[0] == 0, (len(v), v[0])
assert abs(v[-1] - 5 * (1 - math.exp(-5))) < 0.01, v[-1]' \
	"$(sk_out rc2 n vout)"

# --- bad inputs ---------------------------------------------------------------
t_eq "r_ohm 0 fails" failed "$(sk_run bad1 spice-rc '{"r_ohm": 0}')"
t_eq "and says r_ohm's range" yes \
	"$(sk_err bad1 n | grep -q 'r_ohm must be between 0.001 and 1e+09 ohms, got 0' && echo yes)"
t_eq "r_ohm -1000 fails" failed "$(sk_run bad2 spice-rc '{"r_ohm": -1000}')"
t_eq "and says r_ohm's range" yes \
	"$(sk_err bad2 n | grep -q 'r_ohm must be between.*got -1000' && echo yes)"
t_eq "c_farad 1e3 fails" failed "$(sk_run bad3 spice-rc '{"c_farad": 1e3}')"
t_eq "and says c_farad's range" yes \
	"$(sk_err bad3 n | grep -q 'c_farad must be between 1e-15 and 1 F, got 1000' && echo yes)"
t_eq "vin 0 fails" failed "$(sk_run bad4 spice-rc '{"vin": 0}')"
t_eq "and says vin must be non-zero" yes \
	"$(sk_err bad4 n | grep -q 'vin must be non-zero' && echo yes)"
t_eq "R*C of 1e9 s fails" failed \
	"$(sk_run bad5 spice-rc '{"r_ohm": 1e9, "c_farad": 1}')"
t_eq "and says the time constant's limit" yes \
	"$(sk_err bad5 n | grep -q 'time constant) must be at most 1e5 s' && echo yes)"
# a string for a number input is refused when the graph is closed
out=$(printf '%s\n' '{"nodes": [{"id": "n", "skill": "spice-rc", "inputs": {"r_ohm": "abc"}}]}' |
	as alice sh -c "cat > '$SK_RUN/bad6.json'" 2>&1)
t_eq "r_ohm \"abc\" is refused at close (EINVAL)" yes \
	"$(grep -q 'Invalid argument' <<<"$out" && echo yes)"
t_eq "and run/bad6/error names the input and the type" yes \
	"$(as alice cat "$SK_RUN/bad6/error" |
		grep -q "node 'n': input 'r_ohm': type mismatch" && echo yes)"

# ngspice missing (the skill's code called directly with an empty PATH)
sk_py "no ngspice on the PATH is a clear error" \
	'import sys, os, re
code = re.search(r"```python\n(.*?)```", open(sys.argv[1]).read(), re.S).group(1)
g = {}; exec(code, g); os.environ["PATH"] = "/nonexistent"; os.chdir("/tmp")
try:
    g["execute"]({"r_ohm": 1000.0, "c_farad": 1e-6, "vin": 1.0, "points": 200})
except RuntimeError as e:
    assert "ngspice is not installed" in str(e), e
else:
    raise AssertionError("no error")' "$T_TOP/skills/electronics/spice-rc.md"

t_done
