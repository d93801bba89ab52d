#!/usr/bin/env python3
"""Which functions' own instructions moved between two callgrind profiles (say, the
compile example before and after a change): each function's self count in both, and the
difference, largest first, divided by PER (e.g. the number of operators compiled).

Usage: callgrind_diff.py NEW.out OLD.out [PER] [ROWS]"""
import collections
import re
import subprocess
import sys


def self_costs(profile):
    out = subprocess.run(['callgrind_annotate', '--inclusive=no', '--threshold=100', profile],
                         capture_output=True, text=True, check=True).stdout
    costs = collections.Counter()
    for line in out.splitlines():
        if 'Auto-annotated source' in line:
            break
        m = re.match(r'\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*)$', line)
        if m and 'PROGRAM TOTALS' not in line:
            # Builds from other checkouts (worktrees) name the same file by another path.
            name = re.sub(r'^.*?/((?:engine|js-bindings|shell|bench)/src/)', r'\1', m.group(2).split(' [')[0])
            costs[name] += int(m.group(1).replace(',', ''))
    return costs


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    new, old = self_costs(sys.argv[1]), self_costs(sys.argv[2])
    per = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
    rows = int(sys.argv[4]) if len(sys.argv) > 4 else 30
    print(f'{"difference":>12} {"new":>12} {"old":>12}  function')
    for name in sorted(set(new) | set(old), key=lambda k: -abs(new[k] - old[k]))[:rows]:
        print(f'{(new[name] - old[name]) / per:12.1f} {new[name] / per:12.1f} {old[name] / per:12.1f}  {name[-140:]}')


main()
