"""The folders are the architecture: every import points down a layer, and no module imports itself round a circle.

Read from the source with `ast` (imports inside functions included), so an import that
runs up a layer fails here, not at a user's run time.
"""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "graphcomp"
LAYERS = ("core", "ops", "engine", "frontends", "render", "problems", "cli")


def _module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name):
    """(imported graphcomp module, line, inside a function?) for every import in module `name`."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    inside = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
              for n in ast.walk(f) if n is not f}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES else node.module
                       for a in node.names]
        else:
            continue
        out += [(t, node.lineno, id(node) in inside) for t in targets if t.split(".")[0] == "graphcomp"]
    return out


def _layer(name):
    parts = name.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else len(LAYERS)  # the package top


def test_every_module_is_in_a_layer():
    loose = [m for m in MODULES if m != "graphcomp" and _layer(m) == len(LAYERS)]
    assert not loose, f"modules outside the layers {LAYERS}: {loose}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_point_down_and_not_from_inside_functions(name):
    for target, line, in_function in _imports(name):
        where = f"{MODULES[name].relative_to(PACKAGE.parent)}:{line} imports {target}"
        assert not in_function, f"{where} inside a function"
        if name.startswith(target + ".") or target == "graphcomp":
            continue  # a package's own __init__ (what `import graphcomp.x.y` loads first)
        assert _layer(target) <= _layer(name), f"{where}, a layer above it"


def test_no_import_circle():
    graph = {m: {t for t, _, _ in _imports(m) if t in MODULES and not m.startswith(t + ".")} for m in MODULES}
    state, stack = {}, []
    for start in graph:  # iterative depth-first search: a grey node met again closes a circle
        if start in state:
            continue
        state[start] = "grey"
        stack.append((start, iter(sorted(graph[start]))))
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = "black"
                stack.pop()
            elif state.get(child) == "grey":
                path = [n for n, _ in stack]
                circle = path[path.index(child):] + [child]
                pytest.fail("import circle: " + " → ".join(circle))
            elif child not in state:
                state[child] = "grey"
                stack.append((child, iter(sorted(graph[child]))))


def test_the_layer_test_sees_an_upward_import(tmp_path, monkeypatch):
    """The checks above can fail: a core module that imports the engine is caught."""
    fake = tmp_path / "graphcomp" / "core" / "bad.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("def f():\n    from graphcomp.engine import sweeps\n")
    monkeypatch.setitem(MODULES, "graphcomp.core.bad", fake)
    monkeypatch.setattr(__import__(__name__), "PACKAGE", tmp_path / "graphcomp")
    with pytest.raises(AssertionError, match="inside a function"):
        test_imports_point_down_and_not_from_inside_functions("graphcomp.core.bad")
    fake.write_text("from graphcomp.engine import sweeps\n")
    with pytest.raises(AssertionError, match="a layer above it"):
        test_imports_point_down_and_not_from_inside_functions("graphcomp.core.bad")
