"""HTTP transports for the live APIs (HubSpot CRM v3, Shopify Admin REST).

The dlt sources call these to read the same records they otherwise read from landing files; configuration
(base URLs, tokens) is always passed in by the caller, never defaulted here. See docs/apis.md.
"""

from ingestion.http.transport import ApiError, RetryPolicy

__all__ = ["ApiError", "RetryPolicy"]
