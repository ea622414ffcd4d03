"""A user's Python code that must reach the workers: check it on the driver, then ship it.

A model given as a Python callable (``model=build`` or ``arch=build``) runs on the
workers, so Spark has to pickle it, together with everything it references: the object
behind a bound method, closure variables, globals of functions defined in a notebook or
script. If any of that is a SparkSession, SparkContext, DataFrame, RDD or Column, Spark
fails on the workers with "SparkContext can only be used on the driver" (SPARK-5063),
after the job has started, with no hint of which reference was the problem.

:func:`callable_ref` looks for such references before any job starts and raises a
:class:`~sparkvision.errors.ModelError` that names the path from the callable to the
object (``ImageVectorizer.build -> self (ImageVectorizer) -> .spark (SparkSession)``)
and how to fix it. A callable that passes is pickled once, on the driver, into a
:class:`CallableRef` (by value when its module is not an installed package, so a
function from a notebook or a local script works on workers that lack that file), and
the workers unpickle it once per process.

``"module:callable"`` strings are imported by name on the workers instead
(:func:`load_callable`): the module must be importable there.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import io
import re
import sys
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from sparkvision.errors import MissingExtraError, ModelError
from sparkvision.models.code_walk import by_value_modules, find_driver_only

#: ``package.module:attr.attr``
CALLABLE_PATTERN = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")

#: Pickled callables bigger than this are refused: ship a file instead.
MAX_CALLABLE_BYTES = 16 * 1024 * 1024

class CallableRef:
    """A callable pickled on the driver: small, picklable, compared by content.

    It travels inside :class:`~sparkvision.config.ModelSpec` (``arch``); ``str()`` gives a
    stable text (name and digest) so the spec's ``model_id`` is the same in every process.
    """

    __slots__ = ("name", "payload", "digest")

    def __init__(self, name: str, payload: bytes) -> None:
        self.name = name
        self.payload = payload
        self.digest = hashlib.sha256(payload).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"callable:{self.name}:{self.digest}"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CallableRef) and other.digest == self.digest

    def __hash__(self) -> int:
        return hash(self.digest)

    def __deepcopy__(self, memo: dict) -> CallableRef:
        return self  # immutable; lets dataclasses.asdict copy a spec that holds one

    def __getstate__(self) -> tuple[str, bytes]:
        return (self.name, self.payload)

    def __setstate__(self, state: tuple[str, bytes]) -> None:
        name, payload = state
        CallableRef.__init__(self, name, payload)

    def load(self) -> Any:
        """The callable itself (unpickled once per process)."""
        with _loaded_lock:
            fn = _loaded.get(self.digest)
            if fn is None:
                import pickle

                try:
                    fn = pickle.loads(self.payload)
                except Exception as exc:
                    raise ModelError(
                        f"could not unpickle the model builder {self.name} on this worker: "
                        f"{type(exc).__name__}: {exc}. It references code that is not "
                        "installed here: install that package on the workers, or ship it with "
                        "`py_files` / spark.addArtifacts(path, pyfile=True)"
                    ) from exc
                _loaded[self.digest] = fn
            return fn


_loaded: dict[str, Any] = {}
_loaded_lock = threading.Lock()


def describe(obj: Any) -> str:
    """A short human name for a callable: ``module.Class.method``."""
    if isinstance(obj, functools.partial):
        return f"functools.partial({describe(obj.func)})"
    target = getattr(obj, "__func__", obj)
    return getattr(target, "__qualname__", None) or type(obj).__qualname__


def check_shippable(obj: Any, what: str) -> None:
    """Raise a :class:`ModelError` if ``obj`` references a driver-only Spark object."""
    name = describe(obj)
    found = find_driver_only(obj, name)
    if found is None:
        return
    path, kind = found
    raise ModelError(
        f"{what} {name} cannot be sent to the Spark workers: it captures a {kind}, which "
        f"exists only on the driver.\n    {path}\n"
        "Spark would fail on the workers with \"SparkContext can only be used on the driver\" "
        "(SPARK-5063). Fix: build the model in a function that does not reference Spark "
        "objects (a module-level function or a @staticmethod that takes plain values such "
        "as paths and sizes), or pass the model file or a 'module:callable' string; keep the "
        "SparkSession outside the object whose method you pass."
    )


def callable_ref(obj: Any, *, what: str = "the model builder") -> CallableRef:
    """Check ``obj`` on the driver and pickle it for the workers (see module docstring)."""
    if not callable(obj):
        raise ModelError(f"{what} must be callable; found {type(obj).__name__}")
    check_shippable(obj, what)
    name = describe(obj)
    try:
        with pickled_by_value(by_value_modules(obj)) as cloudpickle:
            buf = io.BytesIO()
            cloudpickle.dump(obj, buf)
            payload = buf.getvalue()
    except Exception as exc:  # anything unpicklable ends here
        raise ModelError(
            f"{what} {name} cannot be sent to the Spark workers: pickling it failed with "
            f"{type(exc).__name__}: {exc}. It (or something it references: the object of a "
            "bound method, closure variables, globals) holds an object that cannot be "
            "pickled, such as a lock, an open file or a connection. Build those inside the "
            "function instead of capturing them."
        ) from exc
    if len(payload) > MAX_CALLABLE_BYTES:
        raise ModelError(
            f"{what} {name} pickles to {len(payload) / 2**20:.0f} MiB (the limit is "
            f"{MAX_CALLABLE_BYTES // 2**20} MiB): it captures large data, such as a built "
            "model or weights. Load the weights inside the function from a file path, or "
            "save the model to a file and pass that"
        )
    return CallableRef(name, payload)


@contextlib.contextmanager
def pickled_by_value(modules: Iterable[str]) -> Iterator[Any]:
    """cloudpickle, with the code of ``modules`` (not installed on the workers) pickled by
    value instead of by import while the block runs."""
    from pyspark import cloudpickle

    registered = []
    for module in modules:
        try:
            cloudpickle.register_pickle_by_value(sys.modules[module])
            registered.append(module)
        except (ValueError, KeyError):
            pass
    try:
        yield cloudpickle
    finally:
        for module in registered:
            cloudpickle.unregister_pickle_by_value(sys.modules[module])


def load_callable(arch: Any) -> Any:
    """The callable behind ``arch``: a :class:`CallableRef`, a ``"module:callable"``
    string (imported here), or a callable."""
    if isinstance(arch, CallableRef):
        return arch.load()
    if callable(arch):
        return arch
    if not isinstance(arch, str) or not CALLABLE_PATTERN.match(arch):
        raise ModelError(
            f"expected 'module:callable' (e.g. 'mypkg.nets:build'); found {arch!r}"
        )
    module_name, attr = arch.split(":", 1)
    try:
        target: Any = importlib.import_module(module_name)
    except MissingExtraError:
        raise
    except ImportError as exc:
        if exc.name == "torch":
            raise MissingExtraError("torch", "torch", f"The model builder {arch}") from exc
        raise ModelError(
            f"could not import module {module_name!r} for {arch!r}: {exc}. It must be "
            "importable in every Python process that runs the model: install it, put it on "
            "PYTHONPATH, or ship it to the workers with `py_files` / "
            "spark.addArtifacts(path, pyfile=True)"
        ) from exc
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ModelError(
                f"module {module_name!r} has no attribute {attr!r} (from {arch!r})"
            ) from None
    if not callable(target):
        raise ModelError(f"{arch!r} is a {type(target).__name__}, not a callable")
    return target
