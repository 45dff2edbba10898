"""The front ends write back the bytes they were given.

Python decodes argv (and the files sysctl -f reads) with surrogateescape, so a word that
is not UTF-8 becomes a string with lone surrogates; sys.stdout, which is strict, would
raise on printing it, and sys.stderr would print escapes.  A BSD program writes the
bytes it read: so do these.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO


def byte_faithful(*streams: TextIO) -> None:
    for stream in streams:
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:  # a TextIOWrapper (not a StringIO a test passes)
            reconfigure(errors="surrogateescape")
