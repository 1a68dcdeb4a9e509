"""Shopify Admin REST transport against a local fake that follows Shopify's Link paging and auth rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.http import ApiError, RetryPolicy
from ingestion.sources.shop.shopify_api import iter_resource
from tests.fakes import FakeShopify, make_shop_object

TOKEN = "shpat_test"
VERSION = "2024-01"
START = datetime(2025, 1, 1, tzinfo=UTC)


def _objects(count: int, **fields: object) -> list[dict]:
    return [make_shop_object(i, START + timedelta(hours=i), **fields) for i in range(count)]


def _ids(pages: list[list[dict]]) -> list[int]:
    return [obj["id"] for page in pages for obj in page]


def test_link_header_paging_returns_every_object_once() -> None:
    customers = _objects(12)
    with FakeShopify({"customers": customers}, token=TOKEN) as api:
        pages = list(iter_resource(api.base_url, TOKEN, VERSION, "customers", page_size=5))
    assert _ids(pages) == [c["id"] for c in customers]
    assert [len(p) for p in pages] == [5, 5, 2]


def test_later_pages_carry_only_page_info_and_limit() -> None:
    with FakeShopify({"customers": _objects(6)}, token=TOKEN) as api:
        list(iter_resource(api.base_url, TOKEN, VERSION, "customers", "2024-12-01T00:00:00Z", page_size=2))
    first, *later = api.requests
    assert first.param("updated_at_min") == "2024-12-01T00:00:00Z"
    assert first.param("limit") == "2"
    assert all(set(r.query) == {"page_info", "limit"} for r in later)
    assert len(later) == 2


def test_access_token_header_is_sent() -> None:
    with FakeShopify({"products": _objects(1)}, token=TOKEN) as api:
        list(iter_resource(api.base_url, TOKEN, VERSION, "products"))
    assert api.requests[0].headers["x-shopify-access-token"] == TOKEN


def test_updated_at_min_returns_only_objects_changed_since() -> None:
    customers = _objects(10)
    with FakeShopify({"customers": customers}, token=TOKEN) as api:
        pages = list(iter_resource(api.base_url, TOKEN, VERSION, "customers", customers[7]["updated_at"]))
    assert _ids(pages) == [c["id"] for c in customers[7:]]


def test_envelope_is_unwrapped_and_objects_kept_as_delivered() -> None:
    orders = _objects(2, total_price="10.00", line_items=[{"id": 1, "quantity": 2}])
    with FakeShopify({"orders": orders}, token=TOKEN) as api:
        [page] = list(iter_resource(api.base_url, TOKEN, VERSION, "orders"))
    assert page == orders


def test_orders_are_asked_for_in_any_status() -> None:
    orders = _objects(3) + _objects(1, closed_at="2025-01-02T00:00:00+00:00")
    with FakeShopify({"orders": orders}, token=TOKEN) as api:
        pages = list(iter_resource(api.base_url, TOKEN, VERSION, "orders"))
    assert api.requests[0].param("status") == "any"
    assert len(_ids(pages)) == 4


def test_checkouts_sweep_open_and_closed_ones() -> None:
    open_ones = _objects(2, completed_at=None)
    closed = [make_shop_object(50, START, completed_at="2025-01-03T00:00:00+00:00")]
    with FakeShopify({"checkouts": open_ones + closed}, token=TOKEN) as api:
        pages = list(iter_resource(api.base_url, TOKEN, VERSION, "checkouts"))
    assert sorted(_ids(pages)) == sorted(c["id"] for c in open_ones + closed)
    assert [r.param("status") for r in api.requests] == ["open", "closed"]


def test_rate_limit_honours_retry_after_then_continues_paging() -> None:
    waits: list[float] = []
    with FakeShopify({"customers": _objects(6)}, token=TOKEN) as api:
        pages = iter_resource(
            api.base_url, TOKEN, VERSION, "customers", page_size=3, retry=RetryPolicy(sleep=waits.append)
        )
        first = next(pages)
        api.rate_limit(retry_after="2.0")
        rest = list(pages)
    assert waits == [2.0]
    assert len(_ids([first, *rest])) == 6


def test_server_errors_give_up_after_bounded_attempts_with_a_clear_error() -> None:
    waits: list[float] = []
    policy = RetryPolicy(max_attempts=3, backoff_seconds=1, sleep=waits.append)
    with FakeShopify({"customers": _objects(1)}, token=TOKEN) as api, pytest.raises(ApiError) as failure:
        api.inject(502, times=5, body={"errors": "Bad Gateway"})
        list(iter_resource(api.base_url, TOKEN, VERSION, "customers", retry=policy))
    assert waits == [1, 2]
    assert failure.value.status == 502
    assert "/admin/api/2024-01/customers.json" in str(failure.value)


def test_wrong_token_fails_without_retrying() -> None:
    with FakeShopify({"customers": _objects(1)}, token=TOKEN) as api, pytest.raises(ApiError, match="401"):
        list(iter_resource(api.base_url, "shpat_wrong", VERSION, "customers"))
    assert len(api.requests) == 1


def test_unknown_resource_is_refused_before_any_request() -> None:
    with pytest.raises(ValueError, match="unknown Shopify resource 'refunds'"):
        next(iter_resource("http://127.0.0.1:9", TOKEN, VERSION, "refunds"))


def test_a_body_without_the_envelope_is_a_clear_error() -> None:
    with FakeShopify({}, token=TOKEN) as api, pytest.raises(ApiError, match="expected an envelope"):
        api.inject(200, body={"customer": {"id": 1}})
        list(iter_resource(api.base_url, TOKEN, VERSION, "customers"))


def test_a_datetime_cursor_is_sent_as_iso_8601() -> None:
    customers = _objects(4)
    with FakeShopify({"customers": customers}, token=TOKEN) as api:
        pages = list(iter_resource(api.base_url, TOKEN, VERSION, "customers", START + timedelta(hours=2)))
    assert api.requests[0].param("updated_at_min") == "2025-01-01T02:00:00+00:00"
    assert _ids(pages) == [c["id"] for c in customers[2:]]
