#!/usr/bin/env python3
"""Per-function difference of two callgrind dumps (e.g. the ones bench/instr.py keeps with
KEEP_DUMPS), in instructions per request: cgdiff.py A B REQUESTS [ROWS]. Prints A, B and B-A per
function, largest differences first (callgrind_annotate's listing, which for the runtime's frames
is inclusive)."""
import re, subprocess, sys
def load(path, n):
    out = subprocess.run(["callgrind_annotate", "--threshold=100", path], capture_output=True, text=True).stdout
    d = {}
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+) \([\s\d.]+%\)\s+(.*?) \[", line)
        if m and "PROGRAM TOTALS" not in line:
            name = m.group(2).split(":", 1)[1] if ":" in m.group(2) else m.group(2)
            d[name] = d.get(name, 0) + int(m.group(1).replace(",", "")) / n
    return d
a, b = load(sys.argv[1], int(sys.argv[3])), load(sys.argv[2], int(sys.argv[3]))
rows = sorted(set(a) | set(b), key=lambda k: -abs(b.get(k, 0) - a.get(k, 0)))
for k in rows[:int(sys.argv[4]) if len(sys.argv) > 4 else 30]:
    print(f"{a.get(k,0):10.0f} {b.get(k,0):10.0f} {b.get(k,0)-a.get(k,0):+10.0f}  {k[:130]}")
