"""Find references a callable holds to objects that exist only on the Spark driver.

Cloudpickle follows a callable's references (the object behind a bound method, closure
variables, globals, attributes, container items); :func:`find_driver_only` walks the
same references, breadth-limited, and names the first path to a SparkSession,
DataFrame, Column, py4j object... (see :mod:`sparkvision.models.capture`).
"""

from __future__ import annotations

import functools
import itertools
import sys
import types
from collections.abc import Iterable, Iterator
from typing import Any

#: Classes that live on the driver only (matched by name, in pyspark or py4j modules).
DRIVER_ONLY = frozenset({
    "SparkSession", "SparkContext", "SQLContext", "HiveContext", "StreamingContext",
    "DataFrame", "RDD", "Column", "GroupedData", "DataFrameReader", "DataFrameWriter",
    "DataFrameWriterV2", "DataStreamReader", "DataStreamWriter", "StreamingQuery",
    "Catalog", "SparkConf", "JavaObject", "JavaGateway", "JavaMember", "JavaClass",
})

_MAX_DEPTH = 10
_MAX_ITEMS = 2000


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


def by_value_modules(obj: Any) -> list[str]:
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
