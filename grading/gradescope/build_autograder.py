"""Build the zip an instructor uploads to Gradescope as the assignment's autograder.

Run it from the repository: ``python grading/gradescope/build_autograder.py [ZIP]``.

The zip holds, at its root (where Gradescope looks): ``setup.sh`` (installs chatlib),
``run_autograder`` (grades one submission) and ``chatlib-src/`` (this checkout's chatlib,
the package and its ``pyproject.toml``). Written to ``chatlib-autograder.zip`` in the
current folder, or to the path given.
"""

import stat
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SCRIPTS = ("setup.sh", "run_autograder")
SOURCE_FILES = ("pyproject.toml", "README.md")
EXECUTABLE = (stat.S_IFREG | 0o755) << 16  # A zip keeps Unix modes in the high 16 bits.


def add_script(archive: zipfile.ZipFile, path: Path) -> None:
    """Add an executable script at the root of the zip, its mode kept."""
    info = zipfile.ZipInfo(path.name)
    info.external_attr = EXECUTABLE
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, path.read_bytes())


def chatlib_files() -> list[Path]:
    """The package's files, without caches."""
    return sorted(
        path
        for path in (ROOT / "chatlib").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    )


def build(target: Path) -> Path:
    """Write the autograder zip to ``target``; its path."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in SCRIPTS:
            add_script(archive, HERE / name)
        for name in SOURCE_FILES:
            archive.write(ROOT / name, f"chatlib-src/{name}")
        for path in chatlib_files():
            archive.write(path, f"chatlib-src/{path.relative_to(ROOT).as_posix()}")
    return target


if __name__ == "__main__":
    written = build(Path(sys.argv[1] if len(sys.argv) > 1 else "chatlib-autograder.zip"))
    print(f"Upload {written} as the assignment's autograder (Configure Autograder > Zip file).")
