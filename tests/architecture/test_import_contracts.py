"""The direction of the house (``.importlinter``): config wires the apps, the apps use the core, the core imports
no app. CI runs ``lint-imports`` on the tree; this test shows that the contract is the tree's, and that it fails
on a reversed import (a copy of the packages with one back arrow added)."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("config", "lims", "samples", "shipping")
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT), "--config", str(tree / ".importlinter"), "--no-cache"],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_tree_keeps_its_contracts():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" in result.stdout and "0 broken" in result.stdout


def test_a_core_module_importing_an_app_breaks_the_contract(tmp_path):
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    errors = tmp_path / "lims" / "errors.py"
    errors.write_text(errors.read_text() + "\nfrom samples.choices import ContainerStatus  # noqa\n")

    result = _lint(tmp_path)

    assert result.returncode != 0
    assert "lims.errors -> samples.choices" in result.stdout


# What each app opens to the other besides its models and choices (named in .importlinter too).
DOORS = {"samples": ("samples.api.tree", "samples.dewar_contents"), "shipping": ()}


def _shared_only(graph, importer_root: str, imported_root: str) -> list[str]:
    """Direct imports from ``importer_root`` into ``imported_root`` that reach past its models, its choices
    and its doors."""
    shared = (f"{imported_root}.models", f"{imported_root}.choices", *DOORS[imported_root])
    found = []
    for importer in sorted(graph.find_descendants(importer_root) | {importer_root}):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            if imported.split(".")[0] != imported_root or imported.startswith(shared) or imported == imported_root:
                continue
            found.append(f"{importer} -> {imported}")
    return found


def test_shipping_and_samples_share_only_models_and_choices_whatever_module_is_added():
    """The forbidden contracts name the other app's modules; this covers one added later too."""
    import grimp

    graph = grimp.build_graph(*PACKAGES)
    assert _shared_only(graph, "shipping", "samples") == []
    assert _shared_only(graph, "samples", "shipping") == []


def _cycles(edges: dict[str, list[str]]) -> list[list[str]]:
    """The groups of modules that import each other round (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in edges.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                group.append(other)
                if other == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_itself_round_a_cycle():
    """A service and its task, two services of two apps: none imports the other back (imports inside
    functions count: grimp reads them too). Work sent after commit names its task (lims.after_commit)."""
    import grimp

    graph = grimp.build_graph(*PACKAGES)
    edges = {module: sorted(graph.find_modules_directly_imported_by(module)) for module in graph.modules}
    assert _cycles(edges) == []
    assert _cycles({"a.services": ["a.tasks"], "a.tasks": ["a.services"], "b": ["a.tasks"]}) == [
        ["a.services", "a.tasks"]
    ]
