"""Benchmarks: sparkvision's execution modes against the peers and the machine's limits.

- :mod:`.dataset`: the synthetic JPEG set (``sparkvision make-dataset``);
- :mod:`.base`: the runner life cycle and measurements every runner shares;
- :mod:`.modes`: sparkvision's modes (python, udf, pandas, iterator) and the ceilings;
- :mod:`.peers`: the seed system, ``predict_batch_udf``, Ray Data and Daft;
- :mod:`.sweep`: ``sparkvision bench`` (one child process per runner);
- :mod:`.results`: ``results.csv``, ``bench.png`` and ``report.md``
  (``sparkvision bench-report``).

See docs/benchmarks.md. Importing this package imports none of its modules: the command line
parses its arguments without loading the runners.
"""
