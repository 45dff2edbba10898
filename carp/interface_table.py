"""The store's carp interfaces as a mapping that makes objects only of what is read.

A command changes one interface of a thousand; carpd applies one.  Turning every
interface of the store's document into a CarpInterface and back on each command was most
of a write's cost at a thousand vhids (issue 11: 0.3 s a write).  Here each interface
stays the plain dict the store's document holds until someone reads it; the document
written back reuses those dicts, so an unchanged interface costs neither conversion.

* The documents (`plain`) are never mutated: an interface that was read is an object
  of its own (CarpInterface.from_dict shares nothing mutable with its document) and is
  written back from that object, whatever was done to it.
* `documents(interfaces)`: every interface as its document, for the scans that read
  one or two fields of each (a vhid taken on the carpdev, the highest index) without
  making a thousand objects.
* `carry_over(before)`: carpd carries on with the objects it made for the generation
  applied before, for the interfaces whose documents did not change.
"""

from __future__ import annotations

from _collections_abc import MutableMapping  # collections.abc's home, loaded at start-up

from carp.config import CarpInterface

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from typing import Any

    _Base = MutableMapping[str, CarpInterface]
else:
    _Base = MutableMapping


class InterfaceTable(_Base):
    """key -> CarpInterface, made from the store's document of it when first read."""

    def __init__(self, plain: dict[str, dict[str, Any]] | None = None) -> None:
        self._plain: dict[str, dict[str, Any]] = dict(plain or {})  # the documents
        self._objects: dict[str, CarpInterface] = {}  # those read (or set) so far
        # what each object read from a document was when made (the document may spell
        # it otherwise: without the fields at their defaults, or the passphrase)
        self._made: dict[str, dict[str, Any]] = {}
        self._keys: dict[str, None] = dict.fromkeys(self._plain)  # in insertion order

    # -- the mapping --------------------------------------------------------------------

    def __getitem__(self, key: str) -> CarpInterface:
        ci = self._objects.get(key)
        if ci is None:
            ci = self._objects[key] = CarpInterface.from_dict(self._plain[key])
            self._made[key] = ci.to_dict()
        return ci

    def __setitem__(self, key: str, ci: CarpInterface) -> None:
        self._keys[key] = None
        self._objects[key] = ci
        self._plain.pop(key, None)
        self._made.pop(key, None)

    def __delitem__(self, key: str) -> None:
        del self._keys[key]
        self._objects.pop(key, None)
        self._plain.pop(key, None)
        self._made.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"InterfaceTable({sorted(self._keys)})"

    # -- without making objects ------------------------------------------------------------

    def plain(self, key: str) -> dict[str, Any]:
        """The document of key as it would be written now (not to be mutated): the one
        read while its object is as it was made from it."""
        ci = self._objects.get(key)
        if ci is None:
            return self._plain[key]
        now = ci.to_dict()
        return self._plain[key] if key in self._made and now == self._made[key] else now

    def to_plain(self) -> dict[str, dict[str, Any]]:
        """Every interface's document, sorted by key (the store's layout)."""
        return {key: self.plain(key) for key in sorted(self._keys)}

    def copy(self) -> InterfaceTable:
        """A working copy: shares the documents (never mutated), not the objects."""
        twin = InterfaceTable(self._plain)
        twin._keys = dict(self._keys)
        for key, ci in self._objects.items():
            twin._objects[key] = CarpInterface.from_dict(ci.to_dict())
            if key in self._made:
                twin._made[key] = self._made[key]
        return twin

    def carry_over(self, before: InterfaceTable) -> None:
        """Each interface not read here whose document is the one `before` made its
        object from takes that object (carpd: one comparison, no conversion)."""
        for key, doc in self._plain.items():
            if key not in self._objects and key in before._objects and key in before._made:
                if before._plain.get(key) == doc:
                    self._objects[key] = before._objects[key]
                    self._made[key] = before._made[key]

def documents(interfaces: Mapping[str, CarpInterface]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(key, document) of every interface, to read only: an InterfaceTable's documents
    as they are, any other mapping's objects as dicts."""
    if isinstance(interfaces, InterfaceTable):
        return ((key, interfaces.plain(key)) for key in list(interfaces))
    return ((key, ci.to_dict()) for key, ci in list(interfaces.items()))


def carry_over(new: Mapping[str, CarpInterface], before: Mapping[str, CarpInterface]) -> None:
    """InterfaceTable.carry_over when both are tables (else nothing to carry)."""
    if isinstance(new, InterfaceTable) and isinstance(before, InterfaceTable):
        new.carry_over(before)
