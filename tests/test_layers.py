"""The package's layers, read from its imports: the lesson first, the machinery behind it.

The modules at the top of ``chatlib/`` are what learners are sent to read; ``chatlib.course``
is the course's machinery (docs/design.md, "Layers"). Imports run one way, from the
machinery to the lesson, and no module imports itself through a loop of others. Every import
counts, those inside functions and under ``TYPE_CHECKING`` too: a loop that only type hints
close is still a loop for the reader.
"""

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "chatlib"
MACHINERY = "chatlib.course"
# ``python -m chatlib`` runs the command line, which is machinery: the entry point is the one
# file at the top that may import it, and nothing imports the entry point.
ENTRY_POINT = "chatlib.__main__"


def module_name(path: Path) -> str:
    """``chatlib/course/checks/core.py`` -> ``chatlib.course.checks.core``."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(module: str) -> Iterator[tuple[str, int]]:
    """Each chatlib module that ``module`` imports, with the line that imports it.

    ``from chatlib.x import name`` imports ``chatlib.x.name`` when that is a module,
    ``chatlib.x`` otherwise.
    """
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [
                f"{node.module}.{alias.name}"
                if f"{node.module}.{alias.name}" in MODULES
                else node.module
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            if target == "chatlib" or target.startswith("chatlib."):
                yield target, node.lineno


def is_machinery(module: str) -> bool:
    return module == MACHINERY or module.startswith(MACHINERY + ".")


def test_the_lesson_imports_nothing_of_the_machinery():
    lesson = [name for name in MODULES if not is_machinery(name) and name != ENTRY_POINT]
    assert "chatlib.chat_server" in lesson and "chatlib.echo" in lesson  # The test reads them.
    wrong = [
        f"{MODULES[module].relative_to(ROOT)}:{line} imports {target}"
        for module in lesson
        for target, line in imports_of(module)
        if is_machinery(target) or target == ENTRY_POINT
    ]
    assert not wrong, "the lesson must not use the course's machinery:\n" + "\n".join(wrong)


def test_no_module_imports_itself_through_others():
    graph = {module: {target for target, _ in imports_of(module)} for module in MODULES}
    loops = []
    finished: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            loops.append(" -> ".join([*path[path.index(module) :], module]))
            return
        if module in finished:
            return
        for target in sorted(graph.get(module, ())):
            if target != module:
                visit(target, [*path, module])
        finished.add(module)

    for module in MODULES:
        visit(module, [])
    assert not loops, "import loops:\n" + "\n".join(loops)


def test_the_folder_guide_names_every_program_of_the_lesson():
    """chatlib/README.md is what a learner who opens chatlib/ reads first: it lists every
    file at the top, so a module added without a line there fails here."""
    guide = (PACKAGE / "README.md").read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\(([\w./]+)\)", guide))
    at_the_top = {
        path.name + ("/" if path.is_dir() else "")
        for path in PACKAGE.iterdir()
        if (path.suffix == ".py" and not path.name.startswith("__"))
        or (path.is_dir() and (path / "__init__.py").exists())
    }
    assert "course/" in at_the_top and "chat_server.py" in at_the_top
    assert at_the_top - linked == set(), "chatlib/README.md does not name these"
    assert linked - at_the_top == set(), "chatlib/README.md names files that are not there"
