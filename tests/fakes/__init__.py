"""Local stand-ins for the live APIs (HubSpot, Shopify): real HTTP on 127.0.0.1, their paging and auth rules.

Any test that needs an API can start one in a `with` block; see `FakeApiServer` for failure injection.
"""

from tests.fakes.hubspot import FakeHubSpot, make_contact
from tests.fakes.server import FakeApiServer, RecordedRequest, Reply
from tests.fakes.shopify import FakeShopify, make_shop_object

__all__ = [
    "FakeApiServer",
    "FakeHubSpot",
    "FakeShopify",
    "RecordedRequest",
    "Reply",
    "make_contact",
    "make_shop_object",
]
