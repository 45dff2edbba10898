"""carp.record: the dataclass behaviours the front ends' classes rely on."""

from __future__ import annotations

import dataclasses

import pytest

from carp.record import FrozenInstanceError, asdict, field, fields, record, replace


@record
class Point:
    x: int
    y: int = 0
    tags: list[str] = field(default_factory=lambda: ["a"])


@dataclasses.dataclass
class DataPoint:  # the same class as a dataclass, for parity checks
    x: int
    y: int = 0
    tags: list[str] = dataclasses.field(default_factory=lambda: ["a"])


@record(frozen=True)
class Op:
    word: str


@record(frozen=True)
class Valued(Op):
    value: str


class Up(Op): ...


class Down(Op): ...


@record
class Outer:
    name: str
    points: list[Point]
    pair: tuple[Point, ...] = ()
    by_name: dict[str, Point] = field(default_factory=dict)
    inner: Point | None = None


def test_fields_in_order_with_inherited_ones_first() -> None:
    assert fields(Point) == ("x", "y", "tags")
    assert fields(Valued) == ("word", "value") == fields(Valued("w", "v"))
    assert fields(Up) == ("word",)
    assert Valued.__match_args__ == ("word", "value")


def test_subclasses_keep_inherited_fields_and_redefine_them_in_place() -> None:
    @record
    class Same(Point): ...

    @record
    class Moved(Point):
        x: int = 5
        z: int = 9

    @dataclasses.dataclass
    class DataMoved(DataPoint):
        x: int = 5
        z: int = 9

    assert vars(Same(1)) == vars(Point(1))
    assert fields(Moved) == tuple(f.name for f in dataclasses.fields(DataMoved))
    assert vars(Moved()) == vars(DataMoved()) == {"x": 5, "y": 0, "tags": ["a"], "z": 9}


def test_init_positional_keyword_and_defaults() -> None:
    assert vars(Point(1)) == {"x": 1, "y": 0, "tags": ["a"]}
    assert vars(Point(1, 2, ["b"])) == vars(Point(y=2, x=1, tags=["b"]))
    assert Valued("vhid", value="1").value == "1"


def test_default_factory_is_called_per_instance_and_leaves_no_class_attribute() -> None:
    a, b = Point(1), Point(1)
    a.tags.append("z")
    assert b.tags == ["a"]
    assert "tags" not in Point.__dict__ and Point.y == 0


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((), {}, "missing required argument: 'x'"),
        ((1, 2, [], 4), {}, "takes 4 positional arguments but 5 were given"),
        ((1,), {"x": 2}, "multiple values for argument 'x'"),
        ((1,), {"z": 2}, "unexpected keyword argument 'z'"),
    ],
)
def test_bad_arguments_raise_type_error_like_a_dataclass(
    args: tuple[object, ...], kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        Point(*args, **kwargs)
    with pytest.raises(TypeError):
        DataPoint(*args, **kwargs)


def test_repr_and_equality_match_a_dataclass() -> None:
    assert repr(Point(1, 2)) == repr(DataPoint(1, 2)).replace("DataPoint", "Point")
    assert repr(Up("up")) == "Up(word='up')"  # the subclass's own name
    assert Point(1, 2) == Point(1, 2) and Point(1, 2) != Point(1, 3)
    assert Point(1) != DataPoint(1)  # another class is never equal, as with dataclasses
    assert Point(1).__eq__(object()) is NotImplemented


def test_equality_needs_the_very_same_class() -> None:
    assert Up("x") != Down("x") and Up("x") != Op("x")
    assert Up("x") == Up("x")


def test_unfrozen_records_are_unhashable_like_dataclasses() -> None:
    assert Point.__hash__ is None is DataPoint.__hash__
    with pytest.raises(TypeError):
        hash(Point(1))


def test_frozen_records_refuse_assignment_and_hash_by_value() -> None:
    op = Valued("pass", "s")
    with pytest.raises(FrozenInstanceError):
        op.value = "t"  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del op.value  # type: ignore[misc]
    assert isinstance(FrozenInstanceError("x"), AttributeError)
    assert op.value == "s"
    assert hash(op) == hash(Valued("pass", "s")) and len({op, Valued("pass", "s")}) == 1
    assert hash(Up("up")) == hash(Up("up"))


def test_replace_makes_a_new_checked_instance() -> None:
    p = Point(1, 2, ["b"])
    q = replace(p, y=5)
    assert (q.x, q.y, q.tags) == (1, 5, ["b"]) and p.y == 2
    assert replace(Valued("a", "b"), value="c") == Valued("a", "c")
    assert type(replace(Up("up"))) is Up
    with pytest.raises(TypeError):
        replace(p, nope=1)


def test_asdict_recurses_into_records_and_containers() -> None:
    p = Point(1)
    outer = Outer("o", [p], (Point(2),), {"k": Point(3)}, Point(4))
    d = asdict(outer)
    assert d == {
        "name": "o",
        "points": [{"x": 1, "y": 0, "tags": ["a"]}],
        "pair": ({"x": 2, "y": 0, "tags": ["a"]},),
        "by_name": {"k": {"x": 3, "y": 0, "tags": ["a"]}},
        "inner": {"x": 4, "y": 0, "tags": ["a"]},
    }
    assert d["points"][0] == dataclasses.asdict(DataPoint(1))
    d["points"][0]["tags"].append("changed")  # containers are copies
    assert p.tags == ["a"]


def test_class_definition_errors() -> None:
    with pytest.raises(TypeError, match="non-default argument 'b' follows default"):

        @record
        class Bad:
            a: int = 0
            b: int

    with pytest.raises(ValueError, match="mutable default"):

        @record
        class Mutable:
            a: list[int] = []


def test_helpers_refuse_other_objects() -> None:
    with pytest.raises(TypeError, match="not a record class"):
        fields(object())
    with pytest.raises(TypeError):
        asdict(DataPoint(1))


def test_match_statement_uses_match_args() -> None:
    match Valued("vhid", "1"):
        case Valued(word, value):
            assert (word, value) == ("vhid", "1")
        case _:  # pragma: no cover
            pytest.fail("no match")
