"""The course's machinery: what runs the lesson, not the lesson itself.

The programs learners read are one level up, in :mod:`chatlib`; this package uses them and
they never use it.

- :mod:`.checks`: each exercise's requirements, as checks that drive a running program;
- :mod:`.harness`: running programs and stand-in peers, and waiting for what they do;
- :mod:`.participants`: chat users played by code (the checks' Alice and Bob, notebook 06's);
- :mod:`.folders`: where the course folder and the learner's files are;
- :mod:`.wording`: how the course quotes what a program sent (escaped, in a report);
- :mod:`.notebook` and :mod:`.widget`: the helpers the notebooks import
  (``from chatlib.course import notebook``);
- :mod:`.tooling`: ``watch``, ``progress``, ``reset``, ``lab`` and the instructor's ``grade``;
- :mod:`.cli`: the command line, ``python -m chatlib ...``;
- :mod:`.bench`: the benchmark of notebook 05 (``python -m chatlib.course.bench``);
- :mod:`.redis_process`: a Redis server of one's own, for notebook 06, the tests and the
  benchmark;
- ``starters/``: the original starters, which ``progress`` and ``reset`` compare with.
"""
