"""A Segment-compatible collector: the HTTP Tracking API in, analytics landing files out.

`make_server()` for tests and embedding, `serve()` for `warehouse collect`. See server.py for the API it
speaks and writer.py for the durability it promises.
"""

from ingestion.collector.server import CollectorLimits, CollectorServer, CollectorStats, make_server, serve

__all__ = ["CollectorLimits", "CollectorServer", "CollectorStats", "make_server", "serve"]
