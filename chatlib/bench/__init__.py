"""How fast a room can fan messages out, measured: ``python -m chatlib.bench``.

The benchmark starts each server variant (:mod:`chatlib.bench.variants`) in a process of its
own, connects receivers and senders to it from the benchmark's process
(:mod:`chatlib.bench.load`), measures throughput, latency, CPU and memory
(:mod:`chatlib.bench.measure`, :mod:`chatlib.bench.sessions`) and prints a table and JSON
(:mod:`chatlib.bench.report`). ``python -m chatlib.bench.scaling`` measures one room over
two server processes and Redis.

This file imports none of them: ``python -m chatlib.bench.variants`` imports this package
first, and a package that had already imported ``variants`` made Python warn that the
module it is about to run is in ``sys.modules`` already (a ``RuntimeWarning``).
"""
