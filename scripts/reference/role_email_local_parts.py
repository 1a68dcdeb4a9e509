"""Seed role_email_local_parts: local parts of email addresses that name a role, not a person (info@, sales@).

From the npm package role-based-email-addresses (Mixmax, MIT), vendored unchanged under
vendor/role-based-email-addresses/ (src/index.js, LICENSE, package.json): `npm pack role-based-email-addresses`.
Its four lists (marketing, notification, meeting, other) hold addresses such as info, sales, admin, noreply,
no-reply, support, test, postmaster. The seed keeps each lower-cased local part once, with the list it comes
from; macro `is_role_email` reads it, so that a shared mailbox never links the people who write from it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from scripts.reference.seeds import VENDOR_DIR, Seed, Source

PACKAGE_DIR = VENDOR_DIR / "role-based-email-addresses"
SEED = Seed(
    name="role_email_local_parts",
    header=("local_part", "role_kind"),
    source=Source(
        distribution="role-based-email-addresses",
        licence="MIT",
        derivation="every string of the four exported lists of src/index.js, lower-cased",
        vendored=True,
    ),
)
LIST_PATTERN = re.compile(r"const (?P<name>[A-Z]+) = \[(?P<body>.*?)\];", re.DOTALL)
ITEM_PATTERN = re.compile(r"'([^']+)'")


def role_lists() -> dict[str, list[str]]:
    """The package's lists by name (MARKETING, NOTIFICATION, MEETING, OTHER), items as written."""
    source = (PACKAGE_DIR / "src" / "index.js").read_text(encoding="utf-8")
    lists = {match["name"]: ITEM_PATTERN.findall(match["body"]) for match in LIST_PATTERN.finditer(source)}
    if not lists or not all(lists.values()):
        raise ValueError(f"{PACKAGE_DIR / 'src' / 'index.js'} no longer has the shape `const NAME = ['...', ...];`")
    return lists


def rows() -> Iterator[tuple[str, str]]:
    seen: set[str] = set()
    # a local part listed twice keeps its first list in the package's own order
    for name, items in role_lists().items():
        for item in items:
            local_part = item.strip().lower()
            if local_part and local_part not in seen:
                seen.add(local_part)
                yield local_part, name.lower()
