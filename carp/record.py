"""`@record`: the part of `@dataclass` the front ends use, at a fraction of the start-up.

Importing dataclasses costs ~25 ms (it pulls in inspect, ast and dis) and every
decorated class ~1.5 ms more (it exec()s generated source).  `ifconfig carp0 down`
has to start fast, so its classes use this instead: the same semantics for what they
need, with generic methods shared by every record class.

* Fields are the class's own annotations in order, after those of record bases (a
  redefined field keeps its place).  Every annotation is a field (there is no
  ClassVar/InitVar handling).
* A class attribute is the field's default; `field(default_factory=f)` calls f per
  instance.  A field without a default may not follow one with a default.
* `__init__` (positional or keyword), `__repr__`, `__eq__` (same class, equal fields) and
  `__match_args__`.  Unfrozen records are unhashable, as dataclasses are;
  `frozen=True` forbids assignment (FrozenInstanceError) and hashes the fields.
* `replace(obj, **changes)`, `fields(obj_or_class)`, `asdict(obj)` and `build(cls, dict)`
  (`cls(**dict)`, faster) as module functions.

A record class must not define `__init__`, `__repr__`, `__eq__` or `__hash__` itself.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar, dataclass_transform, overload

    _T = TypeVar("_T")
    Spec = tuple[tuple[str, Any, Callable[[], Any] | None], ...]  # name, default, factory
else:  # importing typing costs ~5 ms; only type checkers need it

    def dataclass_transform(**_: object) -> Callable[[_T], _T]:
        return lambda f: f

_MISSING = object()
_SPEC = "__record_spec__"  # class attribute: ((name, default, factory), ...)
_NAMES = "__record_names__"  # class attribute: the field names, in order
# Values asdict returns as they are without asking whether they are records.
_LEAVES = frozenset({str, int, bool, float, type(None)})


class FrozenInstanceError(AttributeError):
    """Assignment to a field of a frozen record."""


class _Factory:
    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


def field(*, default_factory: Callable[[], _T]) -> _T:
    """A field whose default is made fresh for every instance (a list, a dict)."""
    return _Factory(default_factory)  # type: ignore[return-value]


def _spec(cls: type) -> Spec:
    spec: Spec | None = getattr(cls, _SPEC, None)
    if spec is None:
        raise TypeError(f"{cls.__qualname__} is not a record class")
    return spec


def fields(obj: object) -> tuple[str, ...]:
    """The field names of a record class or instance, in order."""
    return tuple(name for name, _, _ in _spec(obj if isinstance(obj, type) else type(obj)))


def replace(obj: _T, **changes: Any) -> _T:
    """A new record like obj with some fields changed (through __init__, so checked)."""
    values = {name: getattr(obj, name) for name in fields(obj)}
    values.update(changes)
    return type(obj)(**values)


def asdict(obj: object) -> dict[str, Any]:
    """obj as a dict, recursing into records, lists, tuples and dicts.

    Other values are shared, not deep-copied as dataclasses.asdict does: the records
    here hold only immutable leaves (str, int, bool, None)."""
    names: tuple[str, ...] = getattr(type(obj), _NAMES, None) or fields(obj)  # raises
    out = {}
    for name in names:
        value = getattr(obj, name)
        out[name] = value if type(value) in _LEAVES else _plain(value)
    return out


def build(cls: type[_T], values: dict[str, Any]) -> _T:
    """cls(**values), without __init__'s generic per-argument work: the store reads a
    thousand interfaces per command, and this takes a third of the time.  Arguments
    __init__ would refuse (unknown, missing) go to it, to raise its TypeError."""
    obj = cls.__new__(cls)
    d = obj.__dict__
    for name, default, factory in _spec(cls):
        if name in values:
            continue
        if factory is not None:
            d[name] = factory()
        elif default is _MISSING:
            return cls(**values)
        else:
            d[name] = default
    d.update(values)
    if len(d) != len(_spec(cls)):
        return cls(**values)
    return obj


def _plain(value: Any) -> Any:
    if hasattr(type(value), _SPEC):
        return asdict(value)
    if isinstance(value, list | tuple):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    return value


# -- the methods every record class shares ------------------------------------------


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    spec = _spec(type(self))
    name_of = type(self).__qualname__
    if len(args) > len(spec):
        raise TypeError(
            f"{name_of}.__init__() takes {len(spec) + 1} positional arguments "
            f"but {len(args) + 1} were given"
        )
    for i, (name, default, factory) in enumerate(spec):
        if i < len(args):
            if name in kwargs:
                raise TypeError(f"{name_of}.__init__() got multiple values for argument '{name}'")
            value = args[i]
        elif name in kwargs:
            value = kwargs.pop(name)
        elif factory is not None:
            value = factory()
        elif default is not _MISSING:
            value = default
        else:
            raise TypeError(f"{name_of}.__init__() missing required argument: '{name}'")
        # object.__setattr__ also gets past a frozen record's __setattr__.
        object.__setattr__(self, name, value)
    if kwargs:
        unexpected = next(iter(kwargs))
        raise TypeError(f"{name_of}.__init__() got an unexpected keyword argument '{unexpected}'")


def _values(self: Any) -> tuple[Any, ...]:
    return tuple(getattr(self, name) for name, _, _ in _spec(type(self)))


def _repr(self: Any) -> str:
    inner = ", ".join(f"{name}={getattr(self, name)!r}" for name, _, _ in _spec(type(self)))
    return f"{type(self).__qualname__}({inner})"


def _eq(self: Any, other: object) -> bool:
    if other.__class__ is not self.__class__:
        return NotImplemented
    # The instance dict holds exactly the fields (set by __init__ or build): compared in
    # C, a third of the time of field tuples -- carpd compares a thousand interfaces.
    return self.__dict__ == other.__dict__


def _hash(self: Any) -> int:
    return hash(_values(self))


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field '{name}'")


def _frozen_delattr(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field '{name}'")


def _make(cls: type[_T], frozen: bool) -> type[_T]:
    spec = {entry[0]: entry for entry in getattr(cls, _SPEC, ())}  # inherited fields
    for name in cls.__dict__.get("__annotations__", {}):
        value = cls.__dict__.get(name, _MISSING)
        factory = None
        if isinstance(value, _Factory):
            factory, value = value.make, _MISSING
            delattr(cls, name)  # as dataclasses do: no class attribute for a factory field
        elif isinstance(value, list | dict | set):
            raise ValueError(f"mutable default {type(value)} for field {name}: use field()")
        spec[name] = (name, value, factory)  # a redefined field keeps its place
    defaulted = False
    for name, default, factory in spec.values():
        if default is not _MISSING or factory is not None:
            defaulted = True
        elif defaulted:
            raise TypeError(f"non-default argument '{name}' follows default argument")
    setattr(cls, _SPEC, tuple(spec.values()))
    setattr(cls, _NAMES, tuple(spec))
    cls.__match_args__ = tuple(spec)  # type: ignore[attr-defined, misc]
    cls.__init__ = _init  # type: ignore[method-assign]
    cls.__repr__ = _repr  # type: ignore[method-assign]
    cls.__eq__ = _eq  # type: ignore[method-assign]
    if frozen:
        cls.__setattr__ = _frozen_setattr  # type: ignore[method-assign]
        cls.__delattr__ = _frozen_delattr  # type: ignore[method-assign]
        cls.__hash__ = _hash  # type: ignore[method-assign]
    else:
        cls.__hash__ = None  # type: ignore[assignment]  # mutable and compared by value
    return cls


if TYPE_CHECKING:

    @overload
    def record(cls: type[_T], /) -> type[_T]: ...

    @overload
    def record(*, frozen: bool = False) -> Callable[[type[_T]], type[_T]]: ...


@dataclass_transform(field_specifiers=(field,))
def record(cls: type[_T] | None = None, /, *, frozen: bool = False) -> Any:
    """Class decorator: `@record` or `@record(frozen=True)`."""
    if cls is None:
        return lambda c: _make(c, frozen)
    return _make(cls, frozen)
