"""A Segment-compatible collector: the HTTP Tracking API in, analytics landing files out.

`make_server()` for tests and embedding, `serve()` for `warehouse collect`. See server.py for the API it
speaks and how it stands up to hostile clients, messages.py and contract.py for what it accepts (timestamps by
the loader's own rule), message_ids.py for reused message ids, and writer.py for the durability it promises.
"""

from collector.server import CollectorLimits, CollectorServer, CollectorStats, make_server, serve

__all__ = ["CollectorLimits", "CollectorServer", "CollectorStats", "make_server", "serve"]
