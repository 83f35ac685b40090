"""Lets you run ``python -m chatlib ...``; the command line lives in :mod:`chatlib.cli`."""

from chatlib.cli import main

raise SystemExit(main())
