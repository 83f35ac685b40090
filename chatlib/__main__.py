"""Lets you run ``python -m chatlib ...``; the command line lives in :mod:`chatlib.course.cli`."""

from chatlib.course.cli import main

raise SystemExit(main())
