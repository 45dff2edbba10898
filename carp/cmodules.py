"""CPython's C modules in place of their public wrappers, for the front ends' start-up.

ifconfig, sysctl and netstat start in ~30 ms, and a graceful failover waits for
`ifconfig carp0 down`.  The public modules would add, measured with python -X importtime
on this project's machines: socket ~10 ms (socket.py builds IntEnums), json 10-15 ms
(json.decoder imports re), hashlib ~3 ms (it loads OpenSSL).  Their C halves do the
same work without that.  An interpreter without _sha256 or _json gets hashlib or json
instead: the same results, a slower start (tests/unit/test_cmodules.py runs both ways).
_socket has no fallback because it needs none: socket.py itself is built on it.
"""

from __future__ import annotations

import _socket as socket

try:
    from _sha256 import sha256  # type: ignore[import-not-found]
except ImportError:
    from hashlib import sha256

try:
    import _json as json_c
except ImportError:
    json_c = None  # type: ignore[assignment]  # carp.cjson hands all to json then

__all__ = ["json_c", "sha256", "socket"]
