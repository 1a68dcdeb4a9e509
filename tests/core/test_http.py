"""The shared client's hooks on dlt's REST client (retry waits and logs, errors, strict envelopes), where they
differ from what the API-specific tests already show."""

from __future__ import annotations

import socket

import pytest
import requests
from dlt.sources.helpers.rest_client.paginators import SinglePagePaginator

from core.http import ApiClient, ApiError, RetryPolicy
from tests.fakes import FakeApiServer, RecordedRequest, Reply


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/anything"


def test_connection_errors_are_retried_then_reported_with_the_url() -> None:
    waits: list[float] = []
    url = _closed_port_url()
    policy = RetryPolicy(max_attempts=3, sleep=waits.append)
    with ApiClient(url, retry=policy, timeout=(1, 1)) as api, pytest.raises(ApiError) as failure:
        api.call("GET", url)
    assert waits == [1.0, 2.0]
    assert url in str(failure.value)
    assert failure.value.status is None


def test_retry_after_that_is_not_a_number_falls_back_to_backoff() -> None:
    response = requests.Response()
    response.headers["Retry-After"] = "Wed, 21 Oct 2015 07:28:00 GMT"
    assert RetryPolicy(backoff_seconds=3).retry_after(response, 2) == 6.0


def test_absurd_retry_after_is_capped() -> None:
    response = requests.Response()
    response.headers["Retry-After"] = "86400"
    assert RetryPolicy(max_retry_after_seconds=300).retry_after(response, 1) == 300.0


def test_policy_refuses_zero_attempts() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


class _Answering(FakeApiServer):
    """Answers every request with 200 `{"items": []}`, unless a test injected another reply first."""

    def handle(self, request: RecordedRequest) -> Reply:
        return Reply(200, {"items": []})


def test_each_retry_is_logged_with_the_url_status_and_wait(caplog: pytest.LogCaptureFixture) -> None:
    with _Answering() as api:
        api.inject(503, body={"errors": "down"})
        with ApiClient(api.base_url, retry=RetryPolicy(backoff_seconds=0.5, sleep=lambda _: None)) as client:
            assert client.call("GET", "/items") == {"items": []}
    [warning] = [r for r in caplog.records if r.name == "core.http"]
    assert warning.levelname == "WARNING"
    assert f"{api.base_url}/items" in warning.getMessage()
    assert "HTTP 503" in warning.getMessage()
    assert "in 0.5s" in warning.getMessage()


def test_a_page_that_is_not_json_is_a_clear_error() -> None:
    with _Answering() as api, pytest.raises(ApiError, match="not JSON") as failure:
        api.inject(200)  # an empty body
        with ApiClient(api.base_url) as client:
            list(client.pages("/items", paginator=SinglePagePaginator(), data_selector="items"))
    assert failure.value.status == 200


def test_a_page_without_the_expected_list_is_a_clear_error_not_an_empty_page() -> None:
    with _Answering() as api, pytest.raises(ApiError, match="expected an envelope") as failure:
        api.inject(200, body={"item": {"id": 1}})
        with ApiClient(api.base_url) as client:
            list(client.pages("/items", paginator=SinglePagePaginator(), data_selector="items"))
    assert failure.value.status == 200
