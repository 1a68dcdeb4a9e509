"""A Segment-compatible collector: the HTTP Tracking API in, analytics landing files out.

`make_server()` for tests and embedding, `serve()` for `warehouse collect`. See server.py for its lifecycle
and connection slots, handler.py for the API it speaks, head.py and connection.py for how it stands up to
hostile clients, messages.py and contract.py for what it accepts (timestamps by the loader's own rule),
message_ids.py for reused message ids, writer.py for the durability it promises, limits.py and stats.py for
its knobs and counters.
"""

from collector.limits import CollectorLimits
from collector.server import CollectorServer, make_server, serve
from collector.stats import CollectorStats

__all__ = ["CollectorLimits", "CollectorServer", "CollectorStats", "make_server", "serve"]
