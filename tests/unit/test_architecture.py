"""docs/architecture.md against the code: every module on the map, nothing on the map that
is gone; modules under 400 lines; no import cycle."""

from __future__ import annotations

import ast
import pathlib
import re

import sparkvision

SRC = pathlib.Path(sparkvision.__file__).parent
DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def package_map() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("## The package map")
    return text[start:text.index("## ", start + 3)]


def modules() -> list[pathlib.Path]:
    return sorted(p for p in SRC.rglob("*.py") if p.name != "__init__.py")


def mapped_names() -> set[str]:
    """``folder/name.py`` for every module the map lists: a name is under the folder of the
    nearest less indented line that names a folder (``models/`` ... ``  loaders/``)."""
    names: set[str] = set()
    folders: list[tuple[int, str]] = []
    block = package_map().split("```")[1]
    for line in block.splitlines():
        if line.lstrip().startswith("tools/"):
            break
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        first = line.split()[0]
        if first.endswith("/") and first != "src/sparkvision/":
            folders = [(i, f) for i, f in folders if i < indent] + [(indent, first)]
            continue
        folders = [(i, f) for i, f in folders if i < indent]
        prefix = "".join(f for _, f in folders)
        # the names column: what comes before the description (two spaces or more)
        column = re.split(r"\s{2,}", line.strip())[0]
        for name in re.findall(r"(?<![\w/.])([\w/]+\.py)\b", column):
            names.add(prefix + name)
    return names


def test_every_module_is_on_the_map_and_the_map_names_no_missing_module():
    present = {str(p.relative_to(SRC)) for p in modules()}
    mapped = {n for n in mapped_names() if n != "__init__.py"}
    assert present - mapped == set(), "modules missing from docs/architecture.md"
    assert mapped - present == set(), "docs/architecture.md names modules that do not exist"


def test_no_module_over_400_lines():
    long = {str(p.relative_to(SRC)): n for p in modules()
            if (n := len(p.read_text().splitlines())) > 400}
    assert long == {}


def test_no_import_cycle_between_modules():
    graph: dict[str, set[str]] = {}
    names = {".".join(p.relative_to(SRC.parent).with_suffix("").parts[:-1]
                      if p.name == "__init__.py" else
                      p.relative_to(SRC.parent).with_suffix("").parts): p
             for p in SRC.rglob("*.py")}
    for name, path in names.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                target = node.module
                for alias in node.names:
                    full = f"{target}.{alias.name}"
                    deps.add(full if full in names else target)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
        graph[name] = {d for d in deps if d in names and d != name}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for dep in graph[node]:
            if state.get(dep) == 1:
                raise AssertionError("import cycle: " + " -> ".join(
                    [*trail[trail.index(dep):], dep] if dep in trail else [node, dep]))
            if dep not in state:
                visit(dep, [*trail, dep])
        state[node] = 2

    for name in graph:
        if name not in state:
            visit(name, [name])
