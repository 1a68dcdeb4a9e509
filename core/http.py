"""HTTP for the API clients: dlt's REST client and retrying session, plus the few hooks they lack.

dlt provides the transport (`dlt.sources.helpers`): `RESTClient` with its paginators and auth classes, over
the requests session of `dlt.sources.helpers.requests.Client`, which retries 429, 5xx and dropped connections a
bounded number of times with exponential backoff. `ApiClient` is that client with these hooks:

- `RetryPolicy.wait`: a 429 waits as long as `Retry-After` says, in seconds with decimals as Shopify sends them
  ("2.0"; dlt reads only whole seconds or a date), capped against an absurd value; anything else backs off
  exponentially. Its `sleep` is injectable, so tests run retries without waiting.
- `ApiError`: what a caller gets when retries ran out or the status will not get better by asking again (400,
  401, 404, ...): the method, URL, status and what the server said, never a bare `HTTPError`.
- strict envelopes: a page without the expected list is an `ApiError`, where dlt's data selector would
  yield an empty page and only log a warning.
- `require_config`: a missing base URL or token is named with the variable that sets it.

Credentials travel only in headers (dlt's auth classes), so URLs in errors and logs never carry them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from dlt.common import jsonpath
from dlt.sources.helpers import requests
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.paginators import BasePaginator
from requests.auth import AuthBase

if TYPE_CHECKING:
    from tenacity import RetryCallState

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

    def wait(self, state: RetryCallState) -> float:
        """The wait hook of dlt's retrying session (a tenacity `wait`): Retry-After, else the backoff."""
        response = _failed_response(state)
        if response is None:
            return self.backoff(state.attempt_number)
        return self.retry_after(response, state.attempt_number)


class ApiClient(RESTClient):
    """dlt's `RESTClient` on dlt's retrying session, with the retry policy, `ApiError`s and strict envelopes.

    `pages` follows a dlt paginator and yields the non-empty pages; `call` sends one request and decodes it.
    A context manager: leaving it closes the session.
    """

    def __init__(
        self,
        base_url: str,
        auth: AuthBase | None = None,
        *,
        retry: RetryPolicy | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self.retry = retry or RetryPolicy()
        session = requests.Client(
            request_timeout=timeout, raise_for_status=False, request_max_attempts=self.retry.max_attempts
        ).session
        session.send = session.send.retry_with(  # type: ignore[method-assign]
            wait=self.retry.wait, sleep=self.retry.sleep, before_sleep=_log_retry
        )
        super().__init__(base_url, headers={"Accept": "application/json"}, auth=auth, session=session)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    def pages(
        self,
        path: str,
        *,
        paginator: BasePaginator,
        data_selector: str,
        method: str = "GET",
        params: Mapping[str, Any] | None = None,
        json: dict[str, Any] | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """The lists under `data_selector`, page after page as `paginator` says; empty pages are skipped."""
        with self._failures(method, path):
            for page in self.paginate(
                path,
                method=method,  # type: ignore[arg-type]
                params=dict(params or {}),
                json=json,
                paginator=paginator,
                data_selector=data_selector,
                hooks={"response": [_raise_for_status]},
            ):
                if page:
                    yield page

    def call(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json: Any = None) -> Any:
        """Send one request (retried as the policy says); its decoded JSON body, None when it has none."""
        with self._failures(method, path):
            response = self.request(
                path, method=method, params=params, json=json, hooks={"response": [_raise_for_status]}
            )
        return _decode(response) if response.content else None

    def extract_response(self, response: requests.Response, data_selector: jsonpath.TJsonPath) -> list[Any]:
        """The list under `data_selector`; ApiError when the body is not JSON or holds no such list."""
        body = _decode(response)
        found = jsonpath.find_values(data_selector, body)
        if len(found) != 1 or not isinstance(found[0], list):
            raise ApiError(
                f"{response.request.method} {response.url}: expected an envelope {{{data_selector!r}: [...]}}, "
                f"got {str(body)[:200]}",
                url=response.url,
                status=response.status_code,
            )
        return found[0]

    @contextmanager
    def _failures(self, method: str, path: str) -> Iterator[None]:
        """Turn what dlt's session raises once it stops retrying into an ApiError naming URL and status."""
        try:
            yield
        except requests.HTTPError as error:
            raise _http_failure(error.response, self.retry.max_attempts) from error
        except (requests.ConnectionError, requests.Timeout, requests.ChunkedEncodingError) as error:
            url = getattr(error.request, "url", None) or path
            raise ApiError(
                f"{method} {url} failed after {self.retry.max_attempts} attempts; last: "
                f"{type(error).__name__}: {error}",
                url=url,
            ) from error


def _raise_for_status(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """Response hook: an error status raises inside the session, where the retry decides on it."""
    if not response.ok:
        raise requests.HTTPError(f"HTTP {response.status_code} {response.reason}", response=response)


def _is_retryable(status: int) -> bool:
    return status == 429 or 500 <= status < 600


def _failed_response(state: RetryCallState) -> requests.Response | None:
    """The error response behind a retry, None for a dropped connection or a timeout."""
    if state.outcome is None:
        return None
    error = state.outcome.exception()
    if isinstance(error, requests.HTTPError):
        return error.response
    if error is None and isinstance(state.outcome.result(), requests.Response):
        return state.outcome.result()
    return None


def _log_retry(state: RetryCallState) -> None:
    response = _failed_response(state)
    error = state.outcome.exception() if state.outcome else None
    if response is not None:
        what, url = f"HTTP {response.status_code} {response.reason}", response.url
    else:
        what, url = f"{type(error).__name__}: {error}", getattr(getattr(error, "request", None), "url", "?")
    log.warning("%s failed (%s); retry %d in %.1fs", url, what, state.attempt_number, state.upcoming_sleep)


def _excerpt(response: requests.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:_BODY_EXCERPT_CHARS] + ("..." if len(text) > _BODY_EXCERPT_CHARS else "")


def _http_failure(response: requests.Response, attempts: int) -> ApiError:
    method, status = response.request.method, response.status_code
    if _is_retryable(status):
        message = f"{method} {response.url} failed after {attempts} attempts; last: HTTP {status} {response.reason}"
    else:
        hint = " (check the access token and its scopes)" if status in (401, 403) else ""
        message = f"{method} {response.url} returned HTTP {status} {response.reason}{hint}"
    return ApiError(f"{message}: {_excerpt(response)}", url=response.url, status=status)


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
