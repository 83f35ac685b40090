"""How the course quotes what a program sent: in a check's report, a participant's complaint.

A message a program sent may hold a carriage return or a terminal escape sequence (``\x1b[2K``
wipes a line): printed raw, it would rewrite the report itself. Everything the course quotes
goes through :func:`in_quotes` or :func:`quoted_lines`, which show such characters as escapes.
"""

import unicodedata


def escaped(text: str) -> str:
    """``text`` safe to print in a report: every invisible character shown as an escape.

    Letters of every alphabet stay as they are; only control, format and unassigned
    characters (and lone surrogates) become ``\\r``, ``\\x1b``, ``\\u2028``...
    """
    if text.isprintable():
        return text
    return "".join(
        char.encode("unicode_escape", "backslashreplace").decode("ascii")
        if unicodedata.category(char).startswith(("C", "Z")) and char != " "
        else char
        for char in text
    )


def in_quotes(text: str) -> str:
    """One message as a report quotes it: ``"Hi\\r"``, escaped (see :func:`escaped`)."""
    return f'"{escaped(text)}"'


def quoted_lines(lines: list[str]) -> str:
    """Received lines for a message: ``nothing``, or ``"a", then "b"`` (six at most shown)."""
    if not lines:
        return "nothing"
    shown = [in_quotes(line) for line in lines[:6]]
    more = f" and {len(lines) - 6} more" if len(lines) > 6 else ""
    return ", then ".join(shown) + more


def error_text(error: BaseException) -> str:
    """An error in words for a message: its text, or its type when the text is empty.

    ``str(TimeoutError())`` is "": a message must never say "failed ()".
    """
    return str(error) or type(error).__name__
