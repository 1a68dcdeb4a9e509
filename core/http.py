"""What every API client here shares: one `requests` session, timeouts, bounded retries, clear errors.

The retry rules are the ones HubSpot and Shopify document: a 429 says how long to wait (`Retry-After`, in
seconds), a 5xx or a dropped connection is worth a few more tries with exponential backoff, and anything else
(400, 401, 404, ...) will not get better by asking again. Retries are bounded; when they run out the caller
gets an `ApiError` that names the URL, the status and what the server said, never a bare `HTTPError`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import requests

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 60.0)
"""(connect, read) seconds: a stalled API must not hang a pipeline run forever."""

_BODY_EXCERPT_CHARS = 300


class ApiError(RuntimeError):
    """An API call that failed for good: carries the URL and the last HTTP status (None: no response)."""

    def __init__(self, message: str, *, url: str, status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry. `sleep` is injectable so tests can run retries without waiting."""

    max_attempts: int = 6
    """Attempts in all, the first one included."""
    backoff_seconds: float = 1.0
    """Wait before the first retry of a 5xx or connection error; doubled for each further retry."""
    max_backoff_seconds: float = 60.0
    max_retry_after_seconds: float = 300.0
    """A guard against an absurd `Retry-After`, not a second budget."""
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")

    def backoff(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1-based) of a 5xx or connection error."""
        return min(self.max_backoff_seconds, self.backoff_seconds * 2 ** (retry - 1))

    def retry_after(self, response: requests.Response, retry: int) -> float:
        """The server's `Retry-After` (seconds, Shopify sends e.g. "2.0"), else the backoff."""
        header = response.headers.get("Retry-After", "").strip()
        try:
            seconds = float(header)
        except ValueError:
            return self.backoff(retry)
        return min(max(seconds, 0.0), self.max_retry_after_seconds)


def _excerpt(response: requests.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:_BODY_EXCERPT_CHARS] + ("..." if len(text) > _BODY_EXCERPT_CHARS else "")


def _is_retryable(status: int) -> bool:
    return status == 429 or 500 <= status < 600


class ApiSession:
    """A `requests.Session` with fixed (auth) headers, timeouts and the retry policy; a context manager.

    Credentials travel only in headers, so URLs in errors and logs never carry them.
    """

    def __init__(
        self,
        headers: Mapping[str, str],
        *,
        retry: RetryPolicy | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
    ) -> None:
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self._session = session or requests.Session()
        self._session.headers.update({"Accept": "application/json", **headers})

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> requests.Response:
        """Send one request, retrying 429 / 5xx / connection errors; the 2xx response, or ApiError."""
        last_failure = ""
        last_status: int | None = None
        for attempt in range(1, self.retry.max_attempts + 1):
            try:
                response = self._session.request(method, url, params=params, json=json, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                last_failure, last_status = f"{type(exc).__name__}: {exc}", None
                wait = self.retry.backoff(attempt)
            else:
                if response.ok:
                    return response
                if not _is_retryable(response.status_code):
                    raise _client_error(method, response)
                last_failure = f"HTTP {response.status_code} {response.reason}: {_excerpt(response)}"
                last_status = response.status_code
                wait = self.retry.retry_after(response, attempt)
            if attempt == self.retry.max_attempts:
                break
            log.warning(
                "%s %s failed (%s); retry %d/%d in %.1fs",
                method,
                url,
                last_failure,
                attempt,
                self.retry.max_attempts - 1,
                wait,
            )
            self.retry.sleep(wait)
        raise ApiError(
            f"{method} {url} failed after {self.retry.max_attempts} attempts; last: {last_failure}",
            url=url,
            status=last_status,
        )

    def get_json(self, url: str, params: Mapping[str, Any] | None = None) -> tuple[Any, requests.Response]:
        """GET and decode JSON; the response is returned too, for its paging headers."""
        response = self.request("GET", url, params=params)
        return _decode(response), response

    def post_json(self, url: str, body: Any) -> Any:
        return _decode(self.request("POST", url, json=body))


def _client_error(method: str, response: requests.Response) -> ApiError:
    hint = " (check the access token and its scopes)" if response.status_code in (401, 403) else ""
    return ApiError(
        f"{method} {response.url} returned HTTP {response.status_code} {response.reason}{hint}: "
        f"{_excerpt(response)}",
        url=response.url,
        status=response.status_code,
    )


def _decode(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise ApiError(
            f"{response.request.method} {response.url} returned HTTP {response.status_code} "
            f"with a body that is not JSON: {_excerpt(response)}",
            url=response.url,
            status=response.status_code,
        ) from exc


def require_config(name: str, value: str | None, env_var: str) -> str:
    """Fail early, naming the setting, when a base URL or token was not configured."""
    if not value or not value.strip():
        raise ValueError(f"{name} is not set: configure it in .dlt/secrets.toml or the {env_var} variable")
    return value.strip()
