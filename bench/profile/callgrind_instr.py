#!/usr/bin/env python3
"""Instructions executed at each machine instruction of one function, from a callgrind
profile recorded with `--dump-instr=yes`, beside its disassembly: where a hot compiler
function spends its instructions, which callgrind_annotate's per-line view (after fat LTO
has inlined everything into a few functions) does not show.

Usage: callgrind_instr.py PROFILE BINARY SYMBOL [PER]
  SYMBOL  a demangled name or a substring of one (the first match in `nm -C` is taken)
  PER     divide the counts by this (e.g. how often the function was called)
Only the instructions' own counts are shown: a call's callee is not added to it."""
import collections
import re
import subprocess
import sys


def symbol_range(binary, symbol):
    nm = subprocess.run(['nm', '-C', '-S', binary], capture_output=True, text=True, check=True).stdout
    for line in nm.splitlines():
        parts = line.split(' ', 3)
        if len(parts) == 4 and symbol in parts[3]:
            start, size = int(parts[0], 16), int(parts[1], 16)
            return start, start + size, parts[3]
    sys.exit(f'no symbol matching {symbol!r} in {binary}')


def self_counts(profile):
    """Instruction address -> count, from callgrind's compressed position lines."""
    counts = collections.Counter()
    previous = 0
    call_line_follows = False
    for line in open(profile):
        if not line.strip() or line[0].isalpha():
            # `calls=` announces a line whose cost is the callee's (inclusive): skip it.
            call_line_follows = line.startswith('calls=')
            continue
        fields = line.split()
        position = fields[0]
        if position.startswith('0x'):
            address = int(position, 16)
        elif position[0] in '+-':
            delta = int(position[1:], 0)
            address = previous + delta if position[0] == '+' else previous - delta
        elif position == '*':
            address = previous
        else:
            continue
        previous = address
        if call_line_follows:
            call_line_follows = False
            continue
        if len(fields) > 1:
            counts[address] += int(fields[-1])
    return counts


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    profile, binary, symbol = sys.argv[1:4]
    per = float(sys.argv[4]) if len(sys.argv) > 4 else 1.0
    start, end, name = symbol_range(binary, symbol)
    counts = self_counts(profile)
    listing = subprocess.run(
        ['objdump', '-d', '--no-show-raw-insn', '-M', 'intel',
         f'--start-address={start:#x}', f'--stop-address={end:#x}', binary],
        capture_output=True, text=True, check=True).stdout
    print(name)
    total = 0
    for line in listing.splitlines():
        m = re.match(r'\s*([0-9a-f]+):\s*(.*)', line)
        if not m:
            continue
        count = counts.get(int(m.group(1), 16), 0)
        total += count
        shown = f'{count / per:10.2f}' if count else ' ' * 10
        print(f'{shown}  {m.group(1)}: {m.group(2)}')
    print(f'total {total / per:.2f}')


main()
