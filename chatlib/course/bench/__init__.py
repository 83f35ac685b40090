"""How fast a room can fan messages out, measured: ``python -m chatlib.course.bench``.

The benchmark starts each server variant (:mod:`.variants`) in a process of its own,
connects receivers and senders to it from the benchmark's process (:mod:`.load`), measures
throughput, latency, CPU and memory (:mod:`.measure`, :mod:`.sessions`) and prints a table and
JSON (:mod:`.report`). ``python -m chatlib.course.bench.scaling`` measures one room over two
server processes and Redis.

This file imports none of them: ``python -m chatlib.course.bench.variants`` imports this package
first, and a package that had already imported ``variants`` made Python warn that the
module it is about to run is in ``sys.modules`` already (a ``RuntimeWarning``).
"""
