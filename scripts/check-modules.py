#!/usr/bin/env python3
"""The module check of the test command: no import circles, and `app` in one-way layers.

Reads every workspace crate's `src/` (no build, standard library only, well under a second),
builds the graph of its modules from `use` declarations, `crate::`/`super::`/`self::` paths
and paths through child modules, follows `use`/`pub use` re-exports (and globs) to the module
that defines the item, and fails, naming the modules and the file:line of each edge, when:

  1. modules of a crate import each other in a circle (a strongly connected component of
     the graph; the shortest circle through it is printed, then every edge inside it);
  2. a module of a layered crate (LAYERS below) imports a module of a higher layer, or sits
     in no layer.

A node is a file module (`x.rs`, `x/mod.rs`), the crate root (lib.rs) included; inline
modules (`mod imp { .. }`, the `cfg` switch of a file) belong to their file. Every path is an
edge, a re-export too: a `mod.rs` that re-exports its child while the child uses the
`mod.rs`'s own items is a circle (move those items into a child of their own), and so is a
crate root whose items are used by the modules it uses (e.g. a state type in lib.rs). Test code (`#[cfg(test)] mod ..`) is left out: tests
may reach anywhere. A `#[cfg(..)]` on anything else is ignored: every configuration counts.

    scripts/check-modules.py             # report, exit 0
    scripts/check-modules.py --strict    # exit 1 on anything not in ALLOW / ALLOW_UNLAYERED
    scripts/check-modules.py -v          # also every edge of the allowed circles
    scripts/check-modules.py --root DIR  # check another checkout
    scripts/check-modules.py --self-test # the checker's own tests (fixture trees below)
"""

import os
import re
import sys
import tempfile
import unittest
from collections import defaultdict, deque

CRATES = ["sync-core", "client", "server", "app", "frontend"]

# Layers, lowest first: a module may import its own layer and the layers below it. A module
# is in the layer of its first path segment; "" is the crate root (lib.rs: `App`).
LAYERS = {
    "app": [
        ("io", {"io"}),
        ("model", {"model"}),
        ("components", {"components"}),
        ("App", {""}),
    ],
}

# Circles allowed for a while, e.g. while a refactor removes them: a circle found is
# allowed while its modules are a subset of one entry ("" is the crate root), as
# ("app", {"", "editor"}). Empty: every circle fails the test command.
ALLOW = []

# Top-level modules of a layered crate allowed to sit in no layer, e.g. while they move
# into one, as {"app": {"lock"}}. Empty: every module must be in a layer.
ALLOW_UNLAYERED = {}

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


# ---------------------------------------------------------------- reading Rust source

def strip(src):
    """Blanks comments, string and char literals (newlines kept, so lines still count)."""
    out = []
    i, n = 0, len(src)

    def blank(s):
        return "".join("\n" if c == "\n" else " " for c in s)

    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(blank(src[i:j]))
            i = j
        elif src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(blank(src[i:j]))
            i = j
        elif c in "rb" and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_")) and \
                re.match(r"(br|r)#*\"", src[i:i + 300]):
            m = re.match(r"(br|r)(#*)\"", src[i:])
            close = '"' + m.group(2)
            j = src.find(close, i + m.end())
            j = n if j < 0 else j + len(close)
            out.append(blank(src[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            j += 1
            out.append(blank(src[i:j]))
            i = j
        elif c == "'":
            m = re.match(r"'(\\(x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|.)|[^\\'])'", src[i:i + 16])
            if m:
                out.append(blank(m.group(0)))
                i += m.end()
            else:  # a lifetime
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def matching_brace(text, start):
    """Index just past the `}` closing the `{` at `start`."""
    depth = 0
    for j in range(start, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return j + 1
    return len(text)


def is_test_cfg(text, pos):
    """True when the attributes just before `pos` hold `#[cfg(test)]` (or all(test, ..))."""
    back = text[max(0, pos - 400):pos]
    k = max(back.rfind(";"), back.rfind("}"), back.rfind("{"))
    attrs = back[k + 1:]
    return re.search(r"#\s*\[\s*cfg\s*\(\s*(all\s*\(\s*)?test\b", attrs) is not None


def parse_use_tree(s):
    """`a::{b, c::d as e, f::*}` -> [(["a","b"], None, False, at), (["a","c","d"], "e", False,
    at), (["a","f"], None, True, at)], `at` the offset in `s` of the path's last segment."""
    found = list(re.finditer(r"::|\{|\}|,|\*|" + IDENT, s))
    toks = [m.group(0) for m in found]
    pos = 0

    def tree(prefix):
        nonlocal pos
        out = []
        path = list(prefix)
        while pos < len(toks):
            t = toks[pos]
            if t == "::":
                pos += 1
            elif t == "{":
                pos += 1
                while pos < len(toks) and toks[pos] != "}":
                    if toks[pos] == ",":
                        pos += 1
                        continue
                    out += tree(path)
                pos += 1
                return out
            elif t == "*":
                pos += 1
                return out + [(path, None, True, found[pos - 1].start())]
            elif t in (",", "}"):
                break
            elif t == "as":
                alias = toks[pos + 1]
                pos += 2
                return out + [(path, alias, False, found[pos - 3].start())]
            else:
                path = path + [t]
                pos += 1
        last = found[pos - 1].start() if pos else 0
        return out + ([(path, None, False, last)] if len(path) > len(prefix) else [])

    return tree([])


class Module:
    def __init__(self, crate, path, file):
        self.crate, self.path, self.file = crate, path, file  # path: tuple of segments
        self.children = {}        # name -> Module (file modules and inline ones)
        self.parent = None
        self.node = None          # the file module it belongs to (itself for file modules)
        self.imports = {}         # name -> (segments, line) from `use` (pub or not)
        self.globs = []           # (segments, line)
        self.defined = set()      # item names
        self.refs = []            # (segments, line): every path to resolve into an edge

    @property
    def name(self):
        return "::".join(self.path)


def module_file(dir_, name):
    for cand in (os.path.join(dir_, name + ".rs"), os.path.join(dir_, name, "mod.rs")):
        if os.path.isfile(cand):
            return cand
    return None


def load_file(crate, root_dir, path, file, parent, modules):
    """Reads one file module and, through its `mod x;` lines, the modules below it."""
    mod = Module(crate, path, file)
    mod.parent, mod.node = parent, mod
    modules[path] = mod
    with open(file, encoding="utf-8") as f:
        text = strip(f.read())
    base = os.path.basename(file)
    if path == () or base == "mod.rs":
        child_dir = os.path.dirname(file)
    else:
        child_dir = os.path.join(os.path.dirname(file), os.path.splitext(base)[0])
    read_body(crate, root_dir, mod, mod, text, 0, len(text), child_dir, modules)
    return mod


def line_of(text, pos):
    return text.count("\n", 0, pos) + 1


def read_body(crate, root_dir, mod, node, text, start, end, child_dir, modules):
    """Reads the items of `mod` in text[start:end] (its inline child modules recursively)."""
    body = text[start:end]
    # Inline and file child modules.
    holes = []
    for m in re.finditer(r"(?<![\w:])mod\s+(" + IDENT + r")\s*([;{])", body):
        if any(a <= m.start() < b for a, b in holes):
            continue
        abs_pos = start + m.start()
        name = m.group(1)
        test = is_test_cfg(text, abs_pos)
        if m.group(2) == "{":
            b0 = start + m.end() - 1
            b1 = matching_brace(text, b0)
            holes.append((m.start(), b1 - start))
            if test:
                continue
            child = mod.children.get(name)
            if child is None:  # `mod imp {}` twice, under two cfgs: one module
                child = Module(crate, mod.path + (name,), node.file)
                child.parent, child.node = mod, node
                mod.children[name] = child
                modules[child.path] = child
            read_body(crate, root_dir, child, node, text, b0 + 1, b1 - 1,
                      os.path.join(child_dir, name), modules)
        elif not test:
            f = module_file(child_dir, name)
            if f is None:
                print(f"check-modules: {node.file}:{line_of(text, abs_pos)}: "
                      f"no file for `mod {name};`", file=sys.stderr)
                continue
            child = load_file(crate, root_dir, mod.path + (name,), f, mod, modules)
            mod.children[name] = child
    own = list(body)
    for a, b in holes:
        own[a:b] = [" " if ch != "\n" else "\n" for ch in own[a:b]]
    own = "".join(own)

    for m in re.finditer(r"(?<![\w:])(?:fn|struct|enum|trait|type|const|static|union)\s+(" +
                         IDENT + ")", own):
        mod.defined.add(m.group(1))
    for m in re.finditer(r"macro_rules!\s*(" + IDENT + ")", own):
        mod.defined.add(m.group(1))

    # `use` declarations: recorded as imports, then blanked so the path scan skips them.
    own_l = list(own)
    for m in re.finditer(r"(?<![\w:])use\s+(?=[A-Za-z_:{])", own):
        j = own.find(";", m.end())
        if j < 0:
            continue
        tree = own[m.end():j]
        for segs, alias, glob, at in parse_use_tree(tree):
            line = line_of(text, start + m.end() + at)
            if segs and segs[0] == "" or not segs:
                continue
            if segs[-1] == "self":
                segs = segs[:-1]
            if not segs:
                continue
            mod.refs.append((segs, line))
            if glob:
                mod.globs.append((segs, line))
            elif alias != "_":
                mod.imports[alias or segs[-1]] = (segs, line)
        own_l[m.start():j + 1] = [" " if ch != "\n" else "\n" for ch in own[m.start():j + 1]]
    own = "".join(own_l)

    # Paths in code: crate::.., super::.., self::.., and child-module::.. .
    path_re = r"(?<![\w:])(?<!in )((?:" + IDENT + r")(?:\s*::\s*" + IDENT + r")+)"
    for m in re.finditer(path_re, own):
        segs = re.split(r"\s*::\s*", m.group(1))
        first = segs[0]
        if first in ("crate", "super", "self") or first in mod.children or \
                first in mod.imports:
            mod.refs.append((segs, line_of(text, start + m.start())))


def load_crate(crate, src_dir):
    modules = {}
    roots = []
    for root_file in ("lib.rs", "main.rs"):
        f = os.path.join(src_dir, root_file)
        if os.path.isfile(f):
            mods = {}
            load_file(crate, src_dir, (), f, None, mods)
            roots.append((root_file, mods))
    bin_dir = os.path.join(src_dir, "bin")
    if os.path.isdir(bin_dir):
        for b in sorted(os.listdir(bin_dir)):
            if b.endswith(".rs"):
                mods = {}
                load_file(crate, bin_dir, (), os.path.join(bin_dir, b), None, mods)
                roots.append(("bin/" + b, mods))
    return roots


# ---------------------------------------------------------------- resolving paths

def resolve(modules, mod, segs, seen=None):
    """The module a path from `mod` lands in: (module, whole path named modules), or
    (None, False) for another crate."""
    seen = set() if seen is None else seen
    key = (mod.path, tuple(segs))
    if key in seen:
        return mod, False
    seen.add(key)
    i = 0
    cur = mod
    if segs[0] == "crate":
        cur, i = modules[()], 1
    elif segs[0] in ("super", "self"):
        while i < len(segs) and segs[i] in ("super", "self"):
            if segs[i] == "super":
                cur = cur.parent if cur.parent is not None else cur
            i += 1
    elif segs[0] not in mod.children and segs[0] not in mod.imports:
        return None, False
    while i < len(segs):
        s = segs[i]
        if s in cur.children:
            cur = cur.children[s]
        elif s in cur.imports:
            target, exact = resolve(modules, cur, cur.imports[s][0], seen)
            if target is None:
                return (None, False) if cur is mod else (cur, False)
            if not exact:
                return target, False
            cur = target
        elif s in cur.defined:
            return cur, False
        else:
            for g, _ in cur.globs:
                gm, exact = resolve(modules, cur, g, seen)
                if gm is not None and exact and (
                        s in gm.children or s in gm.imports or s in gm.defined or gm.globs):
                    t, e = resolve(modules, gm, ["self"] + segs[i:], seen)
                    if t is not None and (t is not gm or s in gm.defined or e):
                        return t, e
            return cur, False
        i += 1
    return cur, True


def build_graph(modules, workspace):
    """{from node name: {to node name: [file:line, ..]}} over file modules."""
    edges = defaultdict(lambda: defaultdict(list))
    for mod in modules.values():
        for segs, line in mod.refs:
            target, _ = resolve(modules, mod, segs)
            if target is None:
                continue
            a, b = mod.node.name, target.node.name
            if a != b:
                site = f"{os.path.relpath(mod.node.file, workspace)}:{line}"
                if site not in edges[a][b]:
                    edges[a][b].append(site)
    return edges


def sccs(nodes, edges):
    """Tarjan's strongly connected components of more than one node, each sorted."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        work = [(v, iter(sorted(edges.get(v, {}))))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        while work:
            node, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges.get(w, {})))))
                    advanced = True
                    break
                if w in on:
                    low[node] = min(low[node], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def shortest_cycle(comp, edges):
    """A shortest circle through the first module of a component."""
    members = set(comp)
    start = comp[0]
    prev = {start: None}
    q = deque([start])
    while q:
        v = q.popleft()
        for w in sorted(edges.get(v, {})):
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if w in members and w not in prev:
                prev[w] = v
                q.append(w)
    return comp + [start]


def show(name):
    return name or "(crate root)"


def layer_of(crate, name):
    top = name.split("::")[0] if name else ""
    for i, (_, tops) in enumerate(LAYERS[crate]):
        if top in tops:
            return i, top
    return None, top


def check(workspace, crates, allow, allow_unlayered, out, verbose=True):
    """Prints the findings; returns how many are errors (in strict mode, those not allowed)."""
    errors = 0
    used = set()
    for crate in crates:
        src = os.path.join(workspace, crate, "src")
        if not os.path.isdir(src):
            continue
        for root_file, modules in load_crate(crate, src):
            edges = build_graph(modules, workspace)
            nodes = {m.node.name for m in modules.values()}
            label = crate if root_file == "lib.rs" else f"{crate} ({root_file})"
            for comp in sccs(nodes, edges):
                hits = [i for i, (c, s) in enumerate(allow) if c == crate and set(comp) <= s]
                used.update(hits)
                allowed = bool(hits)
                tag = "allowed circle" if allowed else "CIRCLE"
                if not allowed:
                    errors += 1
                cyc = shortest_cycle(comp, edges)
                out.append(f"{tag} in {label}: {', '.join(show(c) for c in comp)}")
                out.append("  e.g. " + " -> ".join(show(c) for c in cyc))
                if allowed and not verbose:
                    continue
                for a in comp:
                    for b in sorted(edges.get(a, {})):
                        if b in comp:
                            sites = edges[a][b]
                            more = f" (+{len(sites) - 1} more)" if len(sites) > 1 else ""
                            out.append(f"  {show(a)} -> {show(b)}  {sites[0]}{more}")
            if crate not in LAYERS or root_file != "lib.rs":
                continue
            names = [LAYERS[crate][i][0] for i in range(len(LAYERS[crate]))]
            unlayered = sorted({layer_of(crate, n)[1] for n in nodes
                                if layer_of(crate, n)[0] is None})
            allowed_here = allow_unlayered.get(crate, set())
            for top in unlayered:
                if top not in allowed_here:
                    errors += 1
                    out.append(f"UNLAYERED in {crate}: module {top} is in no layer of LAYERS "
                               f"({' -> '.join(names)}): move it, or add it to a layer")
            quiet = [t for t in unlayered if t in allowed_here]
            if quiet:
                out.append(f"allowed unlayered in {crate} (ALLOW_UNLAYERED): {', '.join(quiet)}")
            for a in sorted(edges):
                for b in sorted(edges[a]):
                    la, _ = layer_of(crate, a)
                    lb, _ = layer_of(crate, b)
                    if la is not None and lb is not None and lb > la:
                        errors += 1
                        out.append(f"LAYER in {crate}: {show(a)} ({names[la]}) imports "
                                   f"{show(b)} ({names[lb]}), a higher layer  "
                                   f"{edges[a][b][0]}")
    for i, (c, s) in enumerate(allow):
        if i not in used and c in crates:
            out.append(f"note: ALLOW entry {c} {sorted(s)} matches no circle any more: "
                       f"remove it")
    return errors


def main(argv):
    if "--self-test" in argv:
        suite = unittest.defaultTestLoader.loadTestsFromTestCase(SelfTest)
        ok = unittest.TextTestRunner(verbosity=1).run(suite).wasSuccessful()
        return 0 if ok else 1
    strict = "--strict" in argv
    workspace = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if "--root" in argv:  # another checkout, e.g. a worktree
        workspace = os.path.abspath(argv[argv.index("--root") + 1])
    out = []
    errors = check(workspace, CRATES, ALLOW, ALLOW_UNLAYERED, out, "-v" in argv)
    print("\n".join(out))
    if errors:
        print(f"check-modules: {errors} finding(s) not allowed: a module imports one that "
              f"imports it back, or a layer above it (see above)")
        return 1 if strict else 0
    print("check-modules: no circle, layers one-way"
          + (" (apart from the ALLOW lists)" if any("allowed" in o for o in out) else ""))
    return 0


# ---------------------------------------------------------------- the checker's own tests

class SelfTest(unittest.TestCase):
    def run_tree(self, files, crate="demo", layers=None, allow=(), allow_unlayered=None):
        with tempfile.TemporaryDirectory() as ws:
            for rel, body in files.items():
                p = os.path.join(ws, crate, "src", rel)
                os.makedirs(os.path.dirname(p), exist_ok=True)
                with open(p, "w", encoding="utf-8") as f:
                    f.write(body)
            saved = dict(LAYERS)
            if layers is not None:
                LAYERS[crate] = layers
            try:
                out = []
                errors = check(ws, [crate], list(allow), allow_unlayered or {}, out)
            finally:
                LAYERS.clear()
                LAYERS.update(saved)
            return errors, "\n".join(out)

    def test_no_circle(self):
        errors, out = self.run_tree({
            "lib.rs": "pub mod a;\npub mod b;\nuse a::A;\n",
            "a.rs": "use crate::b::B;\npub struct A(B);\n",
            "b.rs": "pub struct B;\n// use crate::a::A; in a comment\n"
                    "const S: &str = \"crate::a::A in a string\";\n",
        })
        self.assertEqual((errors, out), (0, ""))

    def test_circle_named_with_lines(self):
        errors, out = self.run_tree({
            "lib.rs": "pub mod a;\npub mod b;\n",
            "a.rs": "use crate::b::B;\npub struct A;\n",
            "b.rs": "pub struct B;\nfn f() -> crate::a::A {\n    crate::a::A\n}\n",
        })
        self.assertEqual(errors, 1)
        self.assertIn("CIRCLE in demo: a, b", out)
        self.assertIn("a -> b  demo/src/a.rs:1", out)
        self.assertIn("b -> a  demo/src/b.rs:2 (+1 more)", out)

    def test_grouped_multiline_use_and_super(self):
        errors, out = self.run_tree({
            "lib.rs": "pub mod x;\npub mod y;\n",
            "x/mod.rs": "pub mod inner;\npub use inner::*;\npub struct X;\n",
            "x/inner.rs": "use super::super::{\n    y::{self, Y},\n};\n",
            "y.rs": "pub struct Y;\npub fn g() { let _ = crate::x::X; }\n",
        })
        self.assertEqual(errors, 1)
        self.assertIn("CIRCLE in demo: x, x::inner, y", out)
        self.assertIn("x::inner -> y  demo/src/x/inner.rs:2", out)

    def test_reexport_resolves_to_defining_module(self):
        # `b` names `crate::A`, re-exported by the root from `a`: the edge goes to `a`, so
        # the root's re-export alone makes no circle with `b`.
        errors, out = self.run_tree({
            "lib.rs": "pub mod a;\npub mod b;\npub use a::A;\n",
            "a.rs": "pub struct A;\n",
            "b.rs": "use crate::A;\n",
        })
        self.assertEqual((errors, out), (0, ""))
        errors, out = self.run_tree({
            "lib.rs": "pub mod a;\npub mod b;\npub use a::*;\n",
            "a.rs": "use crate::b::f;\npub struct A;\n",
            "b.rs": "pub fn f() {}\nfn g() -> crate::A { todo!() }\n",
        })
        self.assertEqual(errors, 1)
        self.assertIn("b -> a  demo/src/b.rs:2", out)

    def test_inline_and_test_modules(self):
        # An inline `mod imp` (a cfg switch) belongs to its file; `#[cfg(test)]` code is
        # left out.
        errors, out = self.run_tree({
            "lib.rs": "pub mod a;\npub mod b;\n",
            "a.rs": "pub use imp::*;\n#[cfg(feature = \"x\")]\nmod imp {\n"
                    "    use super::super::b::B;\n    pub fn f(_: B) {}\n}\n"
                    "#[cfg(not(feature = \"x\"))]\nmod imp {\n    pub fn f() {}\n}\n",
            "b.rs": "pub struct B;\n#[cfg(test)]\nmod tests {\n    use crate::a::f;\n}\n",
        })
        self.assertEqual((errors, out), (0, ""))

    def test_layers(self):
        layers = [("io", {"io"}), ("model", {"model"}), ("App", {""})]
        tree = {
            "lib.rs": "pub mod io;\npub mod model;\npub mod extra;\n"
                      "pub const D: u32 = 1;\nuse model::M;\n",
            "io/mod.rs": "pub mod db;\n",
            "io/db.rs": "pub fn load() -> crate::model::state::M { todo!() }\n",
            "model/mod.rs": "pub mod state;\npub use state::M;\n",
            "model/state.rs": "pub struct M;\nconst X: u32 = crate::D;\n",
            "extra.rs": "",
        }
        errors, out = self.run_tree(tree, layers=layers)
        self.assertEqual(errors, 4, out)
        self.assertIn("CIRCLE in demo: (crate root), model::state", out)
        self.assertIn("LAYER in demo: io::db (io) imports model::state (model), a higher "
                      "layer  demo/src/io/db.rs:1", out)
        self.assertIn("model::state (model) imports (crate root) (App)", out)
        self.assertIn("UNLAYERED in demo: module extra is in no layer", out)
        errors, out = self.run_tree(tree, layers=layers,
                                    allow_unlayered={"demo": {"extra"}})
        self.assertEqual(errors, 3, out)

    def test_allow_list(self):
        tree = {
            "lib.rs": "pub mod a;\npub mod b;\n",
            "a.rs": "use crate::b::B;\npub struct A;\n",
            "b.rs": "use crate::a::A;\npub struct B;\n",
        }
        errors, out = self.run_tree(tree, allow=[("demo", {"a", "b", "c"})])
        self.assertEqual(errors, 0)
        self.assertIn("allowed circle in demo: a, b", out)
        errors, _ = self.run_tree(tree, allow=[("demo", {"a"})])
        self.assertEqual(errors, 1)

    def test_strip_keeps_lifetimes_and_raw_strings(self):
        s = "fn f<'a>(x: &'a str) -> char { let _ = r#\"crate::a\"#; '\"' }\n"
        t = strip(s)
        self.assertEqual(len(s), len(t))
        self.assertNotIn("crate::a", t)
        self.assertIn("&'a str", t)
        self.assertIn("}", t)

    def test_use_tree(self):
        self.assertEqual([t[:3] for t in parse_use_tree("a::{b, c::d as e, f::*, self}")],
                         [(["a", "b"], None, False), (["a", "c", "d"], "e", False),
                          (["a", "f"], None, True), (["a", "self"], None, False)])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
