"""Can Spark's Python workers run the model? One tiny probe job says so before the real one.

A Pandas UDF of sparkvision fails on a worker whose Python lacks sparkvision (or the
engine's package) with a long worker traceback, once per task attempt. Instead,
:func:`check_workers` runs a plain row UDF on one row first: it imports sparkvision and its
executor on a worker, finds (without importing: Keras, for one, needs its backend chosen
first) the engine's package and the module of a ``module:callable``, and returns what is
missing, with the worker's ``sys.executable``; the driver turns a failure into one
:class:`WorkerSetupError` that names that interpreter and the fixes. The probe function is
compiled from source here, so it reaches the workers pickled by value and needs nothing of
sparkvision to be unpickled.

It runs once per session and set of packages, the same way on a classic session and on
Spark Connect. A worker that cannot start at all (no pyspark there, a missing interpreter,
another Python version) fails the probe job; that failure is translated the same way.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from sparkvision.config import ModelSpec
from sparkvision.errors import WorkerSetupError
from sparkvision.runtime.session import default_parallelism, is_connect, session_key

_PROBE_SOURCE = '''
def probe(_):
    import importlib, importlib.util, json, platform, socket, sys
    missing = {}
    for name in MODULES:
        try:
            if name.split(".")[0] in IMPORTED:
                importlib.import_module(name)
            elif importlib.util.find_spec(name) is None:
                raise ModuleNotFoundError("No module named " + repr(name))
        except BaseException as exc:
            missing[name] = type(exc).__name__ + ": " + str(exc)
    version = None
    if "sparkvision" not in missing:
        version = getattr(sys.modules["sparkvision"], "__version__", None)
    return json.dumps({"python": sys.executable, "version": platform.python_version(),
                       "host": socket.gethostname(), "missing": missing,
                       "sparkvision": version})
'''

#: engine -> the package it imports on the workers
ENGINE_PACKAGES = {"onnx": "onnxruntime", "openvino": "openvino", "torch": "torch",
                   "keras": "keras"}
FORMAT_PACKAGES = {"hf": "transformers"}

#: packages the probe imports (sparkvision's own and engines whose import has no side
#: effect on later imports); the others it only finds: keras picks its backend once, at
#: its first import, and a user's module may do anything when imported
PROBE_IMPORTS = ("sparkvision", "onnxruntime", "openvino", "torch", "pyarrow")

_checked: set[tuple[str, tuple[str, ...]]] = set()


def required_modules(spec: ModelSpec, execution: str = "iterator") -> tuple[str, ...]:
    """What a worker needs to run ``spec``: sparkvision's executor, the engine's package,
    the (top-level) module of a ``module:callable`` architecture, and pyarrow for the Pandas
    UDFs.

    >>> from sparkvision.config import ModelSpec
    >>> required_modules(ModelSpec(name="m", engine="onnx"))
    ('sparkvision', 'sparkvision.executor.runner', 'onnxruntime', 'pyarrow')
    """
    names = ["sparkvision", "sparkvision.executor.runner"]
    for part in (spec, spec.backbone):
        if part is None:
            continue
        names.append(ENGINE_PACKAGES.get(part.engine, part.engine))
        if part.format in FORMAT_PACKAGES:
            names.append(FORMAT_PACKAGES[part.format])
        if isinstance(part.arch, str) and ":" in part.arch:
            names.append(part.arch.split(":", 1)[0].split(".")[0])
    if execution != "udf":
        names.append("pyarrow")
    return tuple(dict.fromkeys(names))


#: the most probe tasks of one check (one per core up to this)
MAX_PROBES = 512


def check_workers(spark: Any, spec: ModelSpec, execution: str = "iterator") -> None:
    """Raise :class:`WorkerSetupError` if a Python worker of ``spark`` cannot import what
    ``spec`` needs; a no-op after the first success for the same session and packages.

    The probe is one task per core (up to :data:`MAX_PROBES`), each importing sparkvision
    and the engine's package (:data:`PROBE_IMPORTS`; not only finding them: a package that
    is there but fails to import is caught here).
    Spark keeps those Python workers for the job that follows, so the model pass does not
    wait for interpreters to start and the engine's package to import.
    """
    modules = required_modules(spec, execution)
    key = (session_key(spark), modules)
    if key in _checked:
        return
    reports = _run_probe(spark, modules, min(MAX_PROBES, default_parallelism(spark)))
    problems = list(dict.fromkeys(p for r in reports if (p := _problem(r))))
    if problems:
        more = (f" ({len(problems) - 1} other problem(s) on other workers: fix this one "
                "and run again to see them)" if len(problems) > 1 else "")
        raise WorkerSetupError(problems[0] + more)
    _checked.add(key)


def _probe_udf(modules: tuple[str, ...]) -> Any:
    from pyspark.sql.functions import udf

    namespace: dict[str, Any] = {"__name__": "sparkvision_worker_probe",
                                 "MODULES": list(modules), "IMPORTED": PROBE_IMPORTS}
    exec(compile(_PROBE_SOURCE, "<sparkvision worker probe>", "exec"), namespace)
    return udf(namespace["probe"], "string", useArrow=False)


def _run_probe(spark: Any, modules: tuple[str, ...], tasks: int = 1) -> list[dict[str, Any]]:
    """The distinct reports of ``tasks`` probe tasks (one row each)."""
    probe = _probe_udf(modules)
    try:
        rows = spark.range(0, tasks, 1, tasks).select(probe("id").alias("r")).collect()
    except Exception as exc:
        translated = worker_setup_error(exc, spark)
        if translated is None:
            raise
        raise translated from None
    return [json.loads(text) for text in dict.fromkeys(row["r"] for row in rows)]


def _problem(report: dict[str, Any]) -> str | None:
    from sparkvision._version import __version__

    missing = report.get("missing") or {}
    where = (f"Spark's Python workers run {report['python']} (Python {report['version']}) "
             f"on host {report['host']}")
    if missing:
        return f"{where}, which cannot import {_describe(missing)}. {fixes()}"
    if report.get("sparkvision") != __version__:
        return (f"{where}, which has sparkvision {report.get('sparkvision')}, but this driver "
                f"runs sparkvision {__version__}: install the same version on the workers "
                f"(or point them at the driver's Python). {fixes()}")
    return None


def _describe(missing: dict[str, str]) -> str:
    """``a, b (not installed); c (ImportError: ...)``: a submodule of a missing package is
    not listed again."""
    absent = [n for n, why in missing.items() if why.startswith("ModuleNotFoundError")
              and f"'{n.split('.')[0]}'" in why]
    top = {n.split(".")[0] for n in absent}
    shown = [n for n in absent if n == n.split(".")[0] or n.split(".")[0] not in top]
    other = [f"{n} ({why[:300]})" for n, why in missing.items() if n not in absent]
    parts = ([f"{', '.join(shown)} (not installed there)"] if shown else []) + other
    return "; ".join(parts)


def fixes() -> str:
    """What to do when the workers' Python lacks sparkvision or a package."""
    return (
        "Fix one of: run the workers on a Python that has sparkvision and its engine "
        "installed (PYSPARK_PYTHON=/path/to/python before the session starts, or --conf "
        "spark.pyspark.python=/path/to/python; a Spark Connect server takes it where it "
        "starts); or install sparkvision (pip install sparkvision, with the extra of your "
        "model's engine) into the workers' Python on every node; code of your own "
        "(module:callable) can be shipped with `py_files` (spark.addArtifacts(path, "
        "pyfile=True))"
    )


_NO_MODULE = re.compile(r"No module named '?([\w.]+)'?")
_NO_PROGRAM = re.compile(r'Cannot run program "([^"]+)"')
_VERSION = re.compile(r"Python in worker has different version:?\s*([^\n]*)", re.IGNORECASE)


def worker_setup_error(exc: BaseException, spark: Any = None) -> WorkerSetupError | None:
    """A :class:`WorkerSetupError` for a Spark job failure caused by the workers' Python
    (a module it cannot import, a missing interpreter, another Python version), else None."""
    text = str(exc)
    python = configured_python(spark)
    program = _NO_PROGRAM.search(text)
    if program:
        return WorkerSetupError(f"Spark could not start the Python workers: there is no "
                                f"interpreter {program.group(1)} on the worker. {fixes()}")
    version = _VERSION.search(text)
    if version:
        return WorkerSetupError(f"Spark's Python workers run another Python version than "
                                f"this driver ({version.group(1).strip()[:200]}); they "
                                f"run {python}. {fixes()}")
    module = _NO_MODULE.search(text)
    if module and "ModuleNotFoundError" in text:
        return WorkerSetupError(f"Spark's Python workers ({python}) cannot import "
                                f"{module.group(1)} (ModuleNotFoundError: No module named "
                                f"'{module.group(1)}'). {fixes()}")
    return None


def configured_python(spark: Any = None) -> str:
    """The interpreter the session's workers are set to run, as far as the driver knows."""
    value = None
    if spark is not None:
        try:
            value = spark.conf.get("spark.pyspark.python", None)
        except Exception:  # noqa: BLE001 - a stopped session
            value = None
    if not value and not (spark is not None and is_connect(spark)):
        value = os.environ.get("PYSPARK_PYTHON")
    return value or "python3 (Spark's default)"
