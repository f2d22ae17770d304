#!/usr/bin/env python3
"""tests/write-loop.py: writes under faults, and what a store holds after.

  write-loop.py write ROOT ROUND N LOG
      open, write and close ROOT/fNN.md for NN in 0..N-1, each with the
      content of ROUND; appends "ok NN ROUND" or "failed NN ROUND WHY" to
      LOG for each (close is where a remote store says a write failed).
  write-loop.py verdict DIR N LOG...
      DIR/fNN.md holds what the store holds for each file (as its client
      reads it): prints one line per file that is torn, empty, or older
      than the last round a LOG says was acknowledged; "all good" if none.
"""
import os
import sys


def content(i, rnd):
    return ("file %d round %d\n" % (i, rnd)).encode() * (50 + i)


def write(root, rnd, n, log):
    with open(log, "a") as out:
        for i in range(n):
            try:
                fd = os.open(os.path.join(root, "f%02d.md" % i),
                             os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                try:
                    os.write(fd, content(i, rnd))
                finally:
                    os.close(fd)
                out.write("ok %d %d\n" % (i, rnd))
            except OSError as e:
                out.write("failed %d %d %s\n" % (i, rnd, e.strerror))


def verdict(folder, n, logs):
    last_ok, tried = {}, {}
    for log in logs:
        for line in open(log):
            f = line.split()
            i, rnd = int(f[1]), int(f[2])
            tried.setdefault(i, []).append(rnd)
            if f[0] == "ok":
                last_ok[i] = rnd
    bad = []
    for i in range(n):
        try:
            with open(os.path.join(folder, "f%02d.md" % i), "rb") as f:
                body = f.read()
        except OSError:
            body = b""
        versions = [r for r in tried.get(i, []) if content(i, r) == body]
        if not versions:
            bad.append("f%02d torn or empty (%d bytes)" % (i, len(body)))
        elif i in last_ok and versions[-1] < last_ok[i]:
            bad.append("f%02d holds round %d, round %d was acknowledged" %
                       (i, versions[-1], last_ok[i]))
    print("\n".join(bad) or "all good")


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "write":
        write(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    elif len(sys.argv) >= 5 and sys.argv[1] == "verdict":
        verdict(sys.argv[2], int(sys.argv[3]), sys.argv[4:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
