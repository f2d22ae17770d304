#!/usr/bin/env python3
"""tests/readme-run.py MOUNT USER [DIR]: run a README transcript block (on
stdin), from DIR under MOUNT when the reader is already there,
the way a reader would, against a test mount, and print one "ok - ..." or
"not ok - ..." line per command (tests/lib.sh's format).

Each "$ command" runs with bash as USER (after "$ su - NAME", as NAME) in
the folder a reader would be in ("$ cd" moves); "volumes" and
"/path/to/volumes" are MOUNT. The lines after a command are its output:
compared word by word (ls prints columns to a terminal, one name a line
to a pipe), numbers to 1e-9 (the last digit of a float is the
machine's), except that a line "..." ends the comparison (what follows is
abridged), timestamps at the start of a line are not compared, and for
"ls -l" only the mode and the name are. A command shown without output
only has to succeed. "less" and "xdg-open" become "test -r" (a reader
looks; a test reads)."""
import os
import re
import subprocess
import sys

mount, user = sys.argv[1], sys.argv[2]
block = sys.stdin.read().split("\n")
TIME = re.compile(r"^\d{4}-\d\d-\d\dT[\d:.]+Z ")

cmds = []
for line in block:
    if line.startswith("$ "):
        cmds.append([line[2:], []])
    elif cmds and line.strip():
        cmds[-1][1].append(line)

cwd = os.path.join(mount, sys.argv[3]) if len(sys.argv) > 3 else mount
fails = 0


def mapped(cmd):
    cmd = cmd.replace("/path/to/volumes", mount)
    return re.sub(r"(?<![\w/.-])volumes(?=[/ ]|$)", mount, cmd)


def norm(lines, cmd):
    out = []
    for l in lines:
        l = TIME.sub("", l.rstrip())
        if re.match(r"^\s*ls -l", cmd):
            if l.startswith("total "):
                continue
            if re.match(r"^[-d][rwx-]{9}", l):
                f = l.split()
                l = f[0] + " " + f[-1]
        out.append(l)
    return out


def same(exp, got):
    a = " ".join(exp).split()
    b = " ".join(got).split()
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x == y:
            continue
        try:
            fx, fy = float(x.rstrip(",")), float(y.rstrip(","))
        except ValueError:
            return False
        if abs(fx - fy) > 1e-9 * max(abs(fx), abs(fy), 1e-300):
            return False
    return True


for cmd, want in cmds:
    bare = re.sub(r"\s+#.*$", "", cmd)
    if bare.startswith("su - "):
        user = bare.split()[2]
        cwd = mount
        print("ok - %s" % cmd)
        continue
    if bare.startswith("cd "):
        cwd = os.path.normpath(os.path.join(cwd, mapped(bare[3:].strip())))
        print("ok - %s" % cmd)
        continue
    bare = re.sub(r"^(less|xdg-open) ", "test -r ", bare)
    p = subprocess.run(["setpriv", "--reuid=" + user, "--regid=" + user,
                        "--init-groups", "--reset-env", "--", "bash", "-c",
                        mapped(bare)], cwd=cwd, capture_output=True,
                       text=True, timeout=300)
    got = norm(p.stdout.rstrip("\n").split("\n") if p.stdout else [], cmd)
    exp = norm(want, cmd)
    if "..." in exp:
        k = exp.index("...")
        exp, got = exp[:k], got[:k]
    if not exp:
        got = []
    if p.returncode == 0 and same(exp, got):
        print("ok - %s" % cmd)
    else:
        fails += 1
        print("not ok - %s" % cmd)
        print("#   exit %d, expected:" % p.returncode)
        for l in exp:
            print("#     " + l)
        print("#   got:")
        for l in (got or ["(nothing)"]) + p.stderr.split("\n")[:3]:
            print("#     " + l)
sys.exit(1 if fails else 0)
