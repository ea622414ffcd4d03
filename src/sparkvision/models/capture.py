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
import itertools
import re
import sys
import threading
import types
from collections.abc import Iterable, Iterator
from typing import Any

from sparkvision.errors import MissingExtraError, ModelError

#: ``package.module:attr.attr``
CALLABLE_PATTERN = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")

#: Classes that live on the driver only (matched by name, in pyspark or py4j modules).
DRIVER_ONLY = frozenset({
    "SparkSession", "SparkContext", "SQLContext", "HiveContext", "StreamingContext",
    "DataFrame", "RDD", "Column", "GroupedData", "DataFrameReader", "DataFrameWriter",
    "DataFrameWriterV2", "DataStreamReader", "DataStreamWriter", "StreamingQuery",
    "Catalog", "SparkConf", "JavaObject", "JavaGateway", "JavaMember", "JavaClass",
})

#: Pickled callables bigger than this are refused: ship a file instead.
MAX_CALLABLE_BYTES = 16 * 1024 * 1024

_MAX_DEPTH = 10
_MAX_ITEMS = 2000


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


def driver_only_type(obj: Any) -> str | None:
    """The class name if ``obj`` is a Spark/py4j object that exists only on the driver."""
    for cls in type(obj).__mro__:
        module = getattr(cls, "__module__", "") or ""
        spark_code = module.startswith(("pyspark", "py4j"))
        if spark_code and cls.__name__ in DRIVER_ONLY:
            return cls.__name__
        if module.startswith("py4j"):
            return cls.__name__
    return None


def find_driver_only(root: Any, name: str) -> tuple[str, str] | None:
    """The first path from ``root`` to a driver-only object, as cloudpickle would follow
    references, and that object's type; None when there is none."""
    seen: set[int] = set()
    stack: list[tuple[Any, str, int]] = [(root, name, 0)]
    while stack:
        obj, path, depth = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        bad = driver_only_type(obj)
        if bad is not None:
            return path, bad
        if depth >= _MAX_DEPTH:
            continue
        children = list(_children(obj))
        for label, child in reversed(children):
            stack.append((child, f"{path} -> {label}", depth + 1))
    return None


_LEAF_TYPES = (str, bytes, bytearray, int, float, complex, bool, type(None), range,
               types.ModuleType, types.BuiltinFunctionType, types.CodeType)


def _children(obj: Any) -> Iterator[tuple[str, Any]]:
    """What cloudpickle pickles along with ``obj``, as ``(label, object)`` pairs."""
    if isinstance(obj, _LEAF_TYPES) or _is_array(obj):
        return
    if isinstance(obj, types.MethodType):
        yield f"self ({type(obj.__self__).__name__})", obj.__self__
        yield "its function", obj.__func__
    elif isinstance(obj, types.FunctionType):
        yield from _function_children(obj)
    elif isinstance(obj, functools.partial):
        yield "partial function", obj.func
        yield from _arguments("partial argument", obj.args, obj.keywords)
    elif isinstance(obj, type):
        yield from _class_children(obj)
    elif isinstance(obj, dict):
        for key, value in itertools.islice(obj.items(), _MAX_ITEMS):
            yield f"[{key!r}] ({type(value).__name__})", value
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for i, value in enumerate(itertools.islice(obj, _MAX_ITEMS)):
            yield f"[{i}] ({type(value).__name__})", value
    else:
        yield from _instance_children(obj)


def _function_children(fn: types.FunctionType) -> Iterator[tuple[str, Any]]:
    code = fn.__code__
    for var, cell in zip(code.co_freevars, fn.__closure__ or (), strict=True):
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        yield f"closure variable '{var}' ({type(value).__name__})", value
    if not pickled_by_reference(fn):
        for global_name in sorted(_global_names(code)):
            if global_name in fn.__globals__:
                value = fn.__globals__[global_name]
                yield f"global '{global_name}' ({type(value).__name__})", value
    yield from _arguments("default argument", fn.__defaults__ or (), fn.__kwdefaults__ or {})


def _arguments(what: str, args: Iterable[Any],
               kwargs: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for i, value in enumerate(args):
        yield f"{what} {i} ({type(value).__name__})", value
    for key, value in kwargs.items():
        yield f"{what} '{key}' ({type(value).__name__})", value


def _class_children(cls: type) -> Iterator[tuple[str, Any]]:
    if pickled_by_reference(cls):
        return
    for key, value in list(vars(cls).items())[:_MAX_ITEMS]:
        if isinstance(value, (types.FunctionType, staticmethod, classmethod, property)):
            fn = getattr(value, "__func__", None) or getattr(value, "fget", None) or value
            if isinstance(fn, types.FunctionType):
                yield f"{cls.__name__}.{key}", fn
        elif not key.startswith("__"):
            yield f"{cls.__name__}.{key} ({type(value).__name__})", value


def _instance_children(obj: Any) -> Iterator[tuple[str, Any]]:
    state = getattr(obj, "__dict__", None)
    if isinstance(state, dict):
        for key, value in list(state.items())[:_MAX_ITEMS]:
            yield f".{key} ({type(value).__name__})", value
    for slot in getattr(type(obj), "__slots__", ()) or ():
        if isinstance(slot, str) and hasattr(obj, slot):
            value = getattr(obj, slot)
            yield f".{slot} ({type(value).__name__})", value
    if not pickled_by_reference(type(obj)):
        yield f"class {type(obj).__name__}", type(obj)


def _is_array(obj: Any) -> bool:
    module = type(obj).__module__
    return module == "numpy" or (module.startswith("torch") and type(obj).__name__ in
                                 ("Tensor", "Parameter", "device", "dtype"))


def _global_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def pickled_by_reference(obj: Any) -> bool:
    """Whether ``obj`` (a function or class) is pickled as an import of its module, not
    by value: true for code of installed packages and the standard library."""
    module = getattr(obj, "__module__", None)
    if not module:
        return False
    return installed_module(module)


def installed_module(module: str) -> bool:
    """Whether ``module`` comes from an installed distribution or the standard library,
    so every worker with the same environment can import it."""
    top = module.split(".", 1)[0]
    if top == "__main__":
        return False
    if top in sys.stdlib_module_names or top in sys.builtin_module_names:
        return True
    return top in _distributed_packages()


_dists: set[str] | None = None


def _distributed_packages() -> set[str]:
    global _dists
    if _dists is None:
        from importlib.metadata import packages_distributions

        _dists = set(packages_distributions())
    return _dists


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
        with pickled_by_value(_by_value_modules(obj)) as cloudpickle:
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


def _by_value_modules(obj: Any) -> list[str]:
    """Top-level packages of the user code ``obj`` reaches that are not installed."""
    found: set[str] = set()
    seen: set[int] = set()
    stack: list[tuple[Any, int]] = [(obj, 0)]
    while stack:
        item, depth = stack.pop()
        if id(item) in seen or depth > _MAX_DEPTH:
            continue
        seen.add(id(item))
        if isinstance(item, (types.FunctionType, type)):
            module = getattr(item, "__module__", None)
            if module and module in sys.modules and not installed_module(module):
                found.add(module.split(".", 1)[0])
        for _, child in _children(item):
            if isinstance(child, (types.FunctionType, type, types.MethodType)) or not isinstance(
                child, _LEAF_TYPES
            ):
                stack.append((child, depth + 1))
    return sorted(m for m in found if m in sys.modules and m != "__main__")


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
