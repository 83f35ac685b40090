"""How fast a room can fan messages out, measured: ``python -m chatlib.bench``.

The benchmark starts each server variant (:mod:`chatlib.bench.variants`) in a process of its
own, connects receivers and senders to it from the benchmark's process
(:mod:`chatlib.bench.load`), measures throughput, latency, CPU and memory
(:mod:`chatlib.bench.measure`, :mod:`chatlib.bench.sessions`) and prints a table and JSON
(:mod:`chatlib.bench.report`).
"""

from chatlib.bench.sessions import BenchSettings, run_benchmark

__all__ = ["BenchSettings", "run_benchmark"]
