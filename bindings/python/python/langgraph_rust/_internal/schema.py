"""Reading state schemas (TypedDict, dataclass, Pydantic) into engine channels."""

from __future__ import annotations

import operator
import typing
from typing import Annotated, Any, Callable, get_args, get_origin

#: Marker types for managed values (see ``langgraph_rust.managed``).
class _Managed:
    kind = ""


class _RemainingStepsManager(_Managed):
    kind = "remaining_steps"


class _IsLastStepManager(_Managed):
    kind = "is_last_step"


_NATIVE_ADD_TYPES = (list, int, float, str)


def type_hints(schema: Any) -> dict[str, Any]:
    """The annotated keys of a state schema, with ``Annotated`` metadata kept."""
    if schema is None:
        return {}
    try:
        hints = typing.get_type_hints(schema, include_extras=True)
    except Exception:
        hints = dict(getattr(schema, "__annotations__", {}))
    return {
        k: v
        for k, v in hints.items()
        if get_origin(v) is not typing.ClassVar and (k == "__root__" or not k.startswith("__"))
    }


def _is_reducer(fn: Any) -> bool:
    if not callable(fn) or isinstance(fn, type):
        return False
    import inspect

    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return fn is operator.add
    params = [
        p for p in sig.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return len(params) == 2


def channel_of(key: str, typ: Any) -> tuple[str, str, Any, Any]:
    """``(key, kind, reducer, default)`` for the native builder."""
    if get_origin(typ) is Annotated:
        base, *meta = get_args(typ)
        for m in reversed(meta):
            if isinstance(m, type) and issubclass(m, _Managed):
                return (key, m.kind, None, None)
            if _is_reducer(m):
                origin = get_origin(base) or base
                default = None
                if isinstance(origin, type):
                    try:
                        default = origin()
                    except Exception:
                        default = None
                if m is operator.add and origin in _NATIVE_ADD_TYPES:
                    return (key, "reducer", "add", default)
                from ..graph.message import add_messages

                if m is add_messages:
                    return (key, "reducer", _add_messages_py, default if default is not None else [])
                return (key, "reducer", m, default)
    return (key, "last_value", None, None)


def _add_messages_py(left: Any, right: Any) -> Any:
    from ..graph.message import add_messages

    return add_messages(left, right)


def channels(*schemas: Any) -> tuple[list[tuple[str, str, Any, Any]], list[str]]:
    """Channels for the union of the schemas' keys (first declaration wins), and the keys of the
    first schema."""
    out: dict[str, tuple[str, str, Any, Any]] = {}
    first: list[str] = []
    for i, schema in enumerate(schemas):
        for key, typ in type_hints(schema).items():
            if i == 0:
                first.append(key)
            if key not in out or (out[key][1] == "last_value" and channel_of(key, typ)[1] != "last_value"):
                out[key] = channel_of(key, typ)
    return list(out.values()), first


def _is_dataclass(obj: Any) -> bool:
    # dataclasses is imported only by users of dataclasses (it imports inspect: slow).
    return hasattr(obj if isinstance(obj, type) else type(obj), "__dataclass_fields__")


def is_pydantic(schema: Any) -> bool:
    return isinstance(schema, type) and hasattr(schema, "model_fields") and hasattr(schema, "model_validate")


def coercer(schema: Any) -> Callable[[dict], Any] | None:
    """How a node's state dict becomes its schema's object (None: stays a dict)."""
    if schema is None or not isinstance(schema, type):
        return None
    if is_pydantic(schema):
        return lambda d: schema(**d)
    if _is_dataclass(schema):
        import dataclasses

        names = {f.name for f in dataclasses.fields(schema) if f.init}
        return lambda d: schema(**{k: v for k, v in d.items() if k in names})
    return None


def updates_of(obj: Any, keys: list[str]) -> dict | None:
    """Updates from a returned state object (Pydantic model or dataclass), LangGraph's rules."""
    if is_pydantic(type(obj)):
        keep = obj.model_fields_set
        defaults = {k: v.default for k, v in type(obj).model_fields.items()}
    elif _is_dataclass(obj) and not isinstance(obj, type):
        keep = None
        defaults = {}
    else:
        return None
    missing = object()
    out = {}
    for k in keys:
        value = getattr(obj, k, missing)
        if value is missing:
            continue
        if value is not None or defaults.get(k, missing) is not None or (keep is not None and k in keep):
            out[k] = value
    return out


def input_as_dict(obj: Any) -> Any:
    """Run input given as a state object becomes a dict of its fields."""
    if is_pydantic(type(obj)):
        return {k: getattr(obj, k) for k in type(obj).model_fields if k in obj.model_fields_set or getattr(obj, k) is not None}
    if _is_dataclass(obj) and not isinstance(obj, type):
        import dataclasses

        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    return obj
