#!/usr/bin/env python3
"""tests/readme-blocks.py: the fenced blocks of README.md, one JSON object a
line: {"line": N, "lang": "sh", "text": "...", "key": "<first line>"}.
Fences of three or more backticks, closed by a fence at least as long
(CommonMark), so a ```` block that holds ``` blocks stays one block."""
import json
import re
import sys

path = sys.argv[1] if len(sys.argv) > 1 else "README.md"
fence = None
for n, line in enumerate(open(path, encoding="utf-8"), 1):
    if fence is None:
        m = re.match(r"^(`{3,})(\S*)\s*$", line)
        if m:
            fence, lang, start, body = m.group(1), m.group(2), n, []
        continue
    if re.match(r"^" + fence + r"`*\s*$", line):
        text = "".join(body)
        print(json.dumps({"line": start, "lang": lang, "text": text,
                          "key": text.split("\n", 1)[0]}))
        fence = None
    else:
        body.append(line)
