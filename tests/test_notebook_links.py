"""The lessons read as one course: their links lead where they say, and no helper comes unannounced.

These tests read the notebooks as files, without a kernel, so they take no time:

- each lesson ``notebooks/NN_*.ipynb`` opens and ends with a navigation line,
  ``[← 01 Echo](01_echo.ipynb) · [03 Broadcast →](03_broadcast.ipynb)``, whose links lead to the
  lessons before and after it in file-name order (the course overview, ``../README.md``, before
  the first and after the last), and whose labels name the number of the lesson they lead to;
- every relative link in the lessons' markdown, and in ``notebooks/README.md``, leads to a file
  that exists, and that README lists every lesson, in order;
- every chatlib name a lesson's code uses (a name imported from chatlib, or ``notebook.X``) is
  named, in `code` quotes, in a markdown cell before the first code cell that uses it: the
  learner reads what a helper does before a cell relies on it;
- no code cell starts a server on a port number written in it, nor names a
  ``localhost:PORT`` address: on a shared machine (a JupyterHub) a fixed port is everyone's.

The lessons are found with a glob, so a new lesson is checked as soon as it exists.
"""

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbformat import NotebookNode

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
LESSONS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
LESSONS_README = NOTEBOOKS / "README.md"
COURSE_OVERVIEW = "../README.md"  # Before the first lesson and after the last.

LINK = re.compile(r"\[(?P<label>[^\]]+)\]\((?P<target>[^)\s]+)\)")
FENCED_BLOCK = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
CODE_SPAN = re.compile(r"`([^`]+)`")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # http:, mailto:, ...: not a file.
BACK, FORWARD = "←", "→"


def lesson_params() -> list[pytest.param]:
    """One test parameter per lesson, named by its file name."""
    return [pytest.param(path, id=path.name) for path in LESSONS]


def read(path: Path) -> NotebookNode:
    """The notebook at ``path``, as nbformat 4."""
    return nbformat.read(path, as_version=4)


def where(path: Path, index: int, cell: NotebookNode) -> str:
    """Where a cell is, for a failure message: the notebook, its index and its first line."""
    lines = cell.source.strip().splitlines()
    return f"{path.name}, cell {index} (`{lines[0] if lines else ''}`)"


# --- Navigation ---------------------------------------------------------------------------------


@dataclass
class Link:
    """A markdown link: what it says and where it leads."""

    label: str
    target: str


@dataclass
class Navigation:
    """A navigation line: the link back (label starts with ←) and the link on (ends with →)."""

    back: Link
    forward: Link


def links_in(markdown: str) -> list[Link]:
    """The links of a markdown text, leaving out fenced code blocks (they show code, not links)."""
    prose = FENCED_BLOCK.sub("", markdown)
    return [Link(m["label"].strip(), m["target"]) for m in LINK.finditer(prose)]


def navigation_in(cell: NotebookNode) -> Navigation | None:
    """The cell's navigation line, or None when it has none (or is not markdown)."""
    if cell.cell_type != "markdown":
        return None
    for line in cell.source.splitlines():
        links = links_in(line)
        back = [link for link in links if link.label.startswith(BACK)]
        forward = [link for link in links if link.label.endswith(FORWARD)]
        if back and forward:
            return Navigation(back[0], forward[0])
    return None


def neighbours(path: Path) -> tuple[str, str]:
    """Where the lesson's back and forward links must lead, relative to the notebooks folder."""
    position = LESSONS.index(path)
    before = LESSONS[position - 1].name if position > 0 else COURSE_OVERVIEW
    after = LESSONS[position + 1].name if position + 1 < len(LESSONS) else COURSE_OVERVIEW
    return before, after


def problems_with_link(link: Link, expected: str, what: str) -> list[str]:
    """What is wrong with a navigation link that should lead to ``expected``."""
    if link.target != expected:
        return [f"its {what} link [{link.label}]({link.target}) should lead to {expected}"]
    number = expected[:2]
    if number.isdigit() and number not in link.label:
        return [f"its {what} link leads to {expected} but its label {link.label!r} names another"]
    return []


@pytest.mark.parametrize("path", lesson_params())
def test_lesson_links_to_its_neighbours_at_the_top_and_the_bottom(path: Path) -> None:
    """The first and last cells link back to the lesson before and on to the lesson after."""
    notebook = read(path)
    before, after = neighbours(path)
    problems = []
    for end, cell in (("first", notebook.cells[0]), ("last", notebook.cells[-1])):
        navigation = navigation_in(cell)
        if navigation is None:
            problems.append(f"its {end} cell has no line [{BACK} ...](...) · [... {FORWARD}](...)")
            continue
        problems += problems_with_link(navigation.back, before, f"{end} cell's {BACK}")
        problems += problems_with_link(navigation.forward, after, f"{end} cell's {FORWARD}")
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


# --- Relative links -----------------------------------------------------------------------------


def broken_links(markdown: str, folder: Path) -> list[Link]:
    """The relative links of ``markdown`` that lead to no file, seen from ``folder``."""
    broken = []
    for link in links_in(markdown):
        if SCHEME.match(link.target) or link.target.startswith("#"):
            continue
        file = link.target.split("#", 1)[0]
        if not (folder / file).exists():
            broken.append(link)
    return broken


@pytest.mark.parametrize("path", lesson_params())
def test_every_relative_link_of_a_lesson_leads_to_a_file(path: Path) -> None:
    """A link in any markdown cell of the lesson leads to a file of the repository."""
    problems = [
        f"{where(path, index, cell)} links [{link.label}]({link.target}): no such file"
        for index, cell in enumerate(read(path).cells)
        if cell.cell_type == "markdown"
        for link in broken_links(cell.source, path.parent)
    ]
    assert not problems, "\n".join(problems)


def test_lessons_readme_lists_every_lesson_in_order_with_working_links() -> None:
    """notebooks/README.md ("The lesson, in order") links every lesson, in file-name order."""
    readme = LESSONS_README.read_text(encoding="utf-8")
    broken = [f"[{link.label}]({link.target})" for link in broken_links(readme, NOTEBOOKS)]
    assert not broken, f"{LESSONS_README.name} links to files that do not exist: {broken}"
    listed = [link.target for link in links_in(readme) if link.target.endswith(".ipynb")]
    assert list(dict.fromkeys(listed)) == [path.name for path in LESSONS]


def test_link_checks_catch_a_wrong_neighbour_a_wrong_label_and_a_missing_file(
    tmp_path: Path,
) -> None:
    """The checks above fail where they should: they are not satisfied by any notebook."""
    nav = nbformat.v4.new_markdown_cell("[← 01 Echo](01_echo.ipynb) · [03 Broadcast →](03.ipynb)")
    navigation = navigation_in(nav)
    assert navigation is not None
    assert problems_with_link(navigation.back, "01_echo.ipynb", "←") == []
    assert problems_with_link(navigation.forward, "02_uppercase.ipynb", "→") == [
        "its → link [03 Broadcast →](03.ipynb) should lead to 02_uppercase.ipynb"
    ]
    assert problems_with_link(navigation.back, "00_intro.ipynb", "←") != []
    assert problems_with_link(Link("← 02 Old", "01_echo.ipynb"), "01_echo.ipynb", "←") != []
    assert navigation_in(nbformat.v4.new_markdown_cell("[01 Echo](01_echo.ipynb)")) is None
    (tmp_path / "here.md").write_text("")
    markdown = "[ok](here.md#part) [gone](gone.md) [web](https://example.invalid/) [top](#top)"
    assert [link.target for link in broken_links(markdown, tmp_path)] == ["gone.md"]


# --- Helpers named before they are used ---------------------------------------------------------


def parse_cell(source: str) -> ast.Module:
    """A code cell's syntax tree; cells may ``await`` at the top level, as in a notebook."""
    flags = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    return compile(source, "<cell>", "exec", flags=flags)


def chatlib_imports(tree: ast.Module) -> set[str]:
    """The names a cell imports from chatlib (``from chatlib.echo import echo_once``: echo_once)."""
    return {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "chatlib"
        for alias in node.names
    }


def chatlib_names_used(tree: ast.Module, imported: set[str]) -> set[str]:
    """The chatlib names a cell uses: each imported name, and ``notebook.X`` as X."""
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in imported:
            used.add(node.id)
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in imported
        ):
            used.add(node.attr)
    return used


def named_in_code_quotes(markdown: str) -> set[str]:
    """Every identifier that appears in `code quotes` or in a fenced code block of a markdown text.

    The fenced blocks are taken out first: their three backticks would pair up wrongly with
    the single backticks of the prose that follows.
    """
    blocks = FENCED_BLOCK.findall(markdown)
    spans = CODE_SPAN.findall(FENCED_BLOCK.sub("", markdown))
    return {word for text in blocks + spans for word in re.findall(r"[A-Za-z_]\w*", text)}


def helpers_used_before_named(path: Path, notebook: NotebookNode) -> list[str]:
    """A line for each chatlib name that a code cell uses before any markdown cell names it."""
    imported: set[str] = set()
    named: set[str] = set()
    problems = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown":
            named |= named_in_code_quotes(cell.source)
        elif cell.cell_type == "code" and cell.source.strip():
            tree = parse_cell(cell.source)
            imported |= chatlib_imports(tree)
            for name in sorted(chatlib_names_used(tree, imported) - named):
                problems.append(
                    f"{where(path, index, cell)} uses `{name}` before any text names it"
                )
                named.add(name)  # Report each name once, where it is first used.
    return problems


@pytest.mark.parametrize("path", lesson_params())
def test_every_chatlib_helper_is_named_before_a_cell_uses_it(path: Path) -> None:
    """A lesson says what a chatlib helper is before the first cell that relies on it."""
    problems = helpers_used_before_named(path, read(path))
    assert not problems, "say what each helper does before this cell:\n" + "\n".join(problems)


def test_helper_check_catches_a_helper_used_before_it_is_named() -> None:
    """The check reports a helper used too early, and accepts it once the text names it."""
    imports = nbformat.v4.new_code_cell("from chatlib.course import notebook")
    early = nbformat.v4.new_code_cell("server = await notebook.start_server(echo)")
    notebook = nbformat.v4.new_notebook(cells=[imports, early])
    assert helpers_used_before_named(Path("example.ipynb"), notebook) == [
        "example.ipynb, cell 1 (`server = await notebook.start_server(echo)`) uses"
        " `notebook` before any text names it",
        "example.ipynb, cell 1 (`server = await notebook.start_server(echo)`) uses"
        " `start_server` before any text names it",
    ]
    told = nbformat.v4.new_markdown_cell("`notebook.start_server(handler)` serves it.")
    notebook.cells.insert(1, told)
    assert helpers_used_before_named(Path("example.ipynb"), notebook) == []
    fenced = "```text\nA ──▶ B\n```\n\nThen `notebook.stop_everything()` stops it."
    assert {"notebook", "stop_everything"} <= named_in_code_quotes(fenced)


# --- No fixed ports -----------------------------------------------------------------------------

# The calls that start something listening, and the address a fixed port would show up in.
STARTERS = {"serve", "start_server", "start_program", "start_redis", "free_port"}
FIXED_ADDRESS = re.compile(r"(localhost|127\.0\.0\.1|\[::1\]):\d+")


def fixed_ports_in(tree: ast.Module) -> list[str]:
    """What in a cell names a fixed port: a number given to a starter, or a literal address."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            function = node.func
            name = (
                function.attr
                if isinstance(function, ast.Attribute)
                else getattr(function, "id", "")
            )
            if name in STARTERS:
                values = [*node.args, *(keyword.value for keyword in node.keywords)]
                found += [
                    f"{name}(... {value.value} ...)"
                    for value in values
                    if isinstance(value, ast.Constant)
                    and isinstance(value.value, int)
                    and not isinstance(value.value, bool)
                    and value.value != 0
                ]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [match.group(0) for match in FIXED_ADDRESS.finditer(node.value)]
    return found


def fixed_ports(path: Path, notebook: NotebookNode) -> list[str]:
    """A line for each code cell of the notebook that names a fixed port."""
    return [
        f"{where(path, index, cell)} names a fixed port: {', '.join(sorted(found))}"
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and cell.source.strip()
        if (found := fixed_ports_in(parse_cell(cell.source)))
    ]


@pytest.mark.parametrize("path", lesson_params())
def test_no_code_cell_starts_a_server_on_a_fixed_port(path: Path) -> None:
    """Servers get ports from the system, and URLs come from the servers, never typed in."""
    problems = fixed_ports(path, read(path))
    assert not problems, "let the system choose (port 0), print server.url:\n" + "\n".join(problems)


def test_fixed_port_check_catches_a_port_number_and_a_typed_address() -> None:
    """The check reports what the old lessons did, and accepts what they do now."""
    old = nbformat.v4.new_code_cell(
        'server = await notebook.start_server(echo, 8701)\nurl = "ws://localhost:8701"'
    )
    new = nbformat.v4.new_code_cell(
        'server = await notebook.start_server(echo, title="Echo")\nPORT = free_port()'
    )
    notebook = nbformat.v4.new_notebook(cells=[old, new])
    assert fixed_ports(Path("example.ipynb"), notebook) == [
        "example.ipynb, cell 0 (`server = await notebook.start_server(echo, 8701)`) names a"
        " fixed port: localhost:8701, start_server(... 8701 ...)"
    ]
