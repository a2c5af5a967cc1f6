#!/usr/bin/env python3
"""Bytes of function code per crate in a wasm module that has a name section (standard
library only): the measurement behind docs/performance.md's breakdown of the start-up module.

    scripts/wasm-crates.py target/front/wasm32-unknown-unknown/wasm-release/frontend_split.wasm

Use a module before wasm-bindgen and wasm-opt (which drop the names): the release profile
keeps the symbols (`strip = false`), and `frontend_split.wasm` is cargo-leptos' start-up
module after `--split`, `frontend.wasm` the whole program. A function is counted under the
first crate named in its (v0 or legacy mangled, or demangled) name; the sizes are of code
before wasm-opt, so compare shares, not bytes, with the shipped modules.
"""
import re
import sys
from collections import Counter


def leb(b, i):
    r = s = 0
    while True:
        x = b[i]
        i += 1
        r |= (x & 0x7F) << s
        s += 7
        if x < 0x80:
            return r, i


def sections(b):
    i = 8
    while i < len(b):
        sid = b[i]
        size, j = leb(b, i + 1)
        yield sid, b[j:j + size]
        i = j + size


def main(path):
    b = open(path, 'rb').read()
    imported = 0
    bodies = []
    names = {}
    for sid, data in sections(b):
        if sid == 2:  # imports: functions among them shift the indices
            n, i = leb(data, 0)
            for _ in range(n):
                for _ in range(2):
                    l, i = leb(data, i)
                    i += l
                kind = data[i]
                i += 1
                if kind == 0:
                    _, i = leb(data, i)
                    imported += 1
                elif kind == 1:
                    i += 1
                    flags, i = leb(data, i)
                    _, i = leb(data, i)
                    if flags & 1:
                        _, i = leb(data, i)
                elif kind == 2:
                    flags, i = leb(data, i)
                    _, i = leb(data, i)
                    if flags & 1:
                        _, i = leb(data, i)
                elif kind == 3:
                    i += 2
        elif sid == 10:
            n, i = leb(data, 0)
            for _ in range(n):
                size, i = leb(data, i)
                bodies.append(size)
                i += size
        elif sid == 0:
            l, i = leb(data, 0)
            if data[i:i + l] != b'name':
                continue
            i += l
            while i < len(data):
                sub = data[i]
                size, j = leb(data, i + 1)
                if sub == 1:
                    n, k = leb(data, j)
                    for _ in range(n):
                        idx, k = leb(data, k)
                        l, k = leb(data, k)
                        names[idx] = data[k:k + l].decode('utf-8', 'replace')
                        k += l
                i = j + size
    per = Counter()
    for n, size in enumerate(bodies):
        name = names.get(imported + n, '?')
        per[crate(name)] += size
    total = sum(per.values())
    print(f'{path}: {total} bytes of function code, {len(bodies)} functions')
    for c, size in per.most_common(30):
        print(f'{size:>10} {100 * size / total:5.1f}%  {c}')


def crate(name):
    m = re.match(r'_ZN(\d+)', name)
    if m and not name.startswith('_R'):  # legacy mangling: _ZN<len><ident>...
        l = int(m.group(1))
        return name[len(m.group(0)):len(m.group(0)) + l]
    if name.startswith('_R'):  # v0 mangling: the first crate root, C[s<disambiguator>_]<len><ident>
        for m in re.finditer(r'C(?:s[0-9a-zA-Z]*_)?(\d+)', name):
            l = int(m.group(1))
            ident = name[m.end():m.end() + l]
            if re.fullmatch(r'[a-z_][a-z0-9_]*', ident):
                return ident
    m = re.match(r'<?(?:&?(?:mut )?|dyn )?([a-z_][a-z0-9_]*)(?:\[[0-9a-f]+\])?::', name)
    if m:
        return m.group(1)
    return name.split('::')[0][:40] if '::' in name else '(other: ' + name[:30] + ')'


if __name__ == '__main__':
    main(sys.argv[1])
