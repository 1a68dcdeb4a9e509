"""The shared retry rules, where they differ from what the API-specific tests already show."""

from __future__ import annotations

import socket

import pytest
import requests

from core.http import ApiClient, ApiError, RetryPolicy


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
