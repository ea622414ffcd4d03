"""What the tests share: images they draw (:mod:`helpers.drawing`, :mod:`helpers.badfiles`,
:mod:`helpers.photos`), the one way they run the ``sparkvision`` command
(:mod:`helpers.cli`), a headless browser (:mod:`helpers.devtools`) and the target of a
spawned process (:mod:`helpers.race_quantize`).

``tests/`` is on ``sys.path`` (``pythonpath`` in pyproject.toml), so this package is
imported as ``helpers``. ``tests/byo_nets.py`` stays a top-level module: it plays a user's
own model module, named as ``byo_nets:CALLABLE`` and shipped to Spark's workers as one file.
"""
