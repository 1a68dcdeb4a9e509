"""What people use online: email providers (current, old and work) and the browsers they visit the shop with.

Crawlers' user agents and the staff network are dirt, in `demo_data.dirt_sources`.
"""

from __future__ import annotations

EMAIL_DOMAINS: tuple[str, ...] = (
    "gmail.com",
    "gmail.com",
    "gmail.com",
    "yahoo.com",
    "outlook.com",
    "hotmail.com",
    "icloud.com",
    "proton.me",
    "gmx.de",
    "web.de",
    "orange.fr",
    "libero.it",
    "hotmail.co.uk",
    "bigpond.com",
    "eircom.net",
)
OLD_EMAIL_DOMAINS: tuple[str, ...] = ("aol.com", "msn.com", "ymail.com", "btinternet.com", "t-online.de")
"""Providers of the old addresses fuzzy-only duplicates carry: none is a current or work domain."""
WORK_EMAIL_DOMAINS: tuple[str, ...] = (
    "acme-corp.com",
    "globex.io",
    "initech.com",
    "umbrella.co",
    "hooli.com",
    "stark-industries.com",
)

BROWSER_USER_AGENTS: tuple[str, ...] = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 "
    "Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/18.1 "
    "Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile "
    "Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
    "Safari/537.36",
)
