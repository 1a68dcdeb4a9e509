"""The deployment settings of the demo shop, taken from the demo generator: `eval "$(python -m scripts.demo_settings)"`.

A real deployment sets these for its own shop (README, Configuration); none is configured by default. The demo's
staff network and test-order address are the generator's (`demo_data.reference`), so `make demo` and the tests
build the demo data with the settings its shop would have, and the cleaning itself holds none of them.
"""

from __future__ import annotations

import re
import shlex

from demo_data.reference import INTERNAL_IP_PREFIX, SHOP_DOMAIN


def demo_settings() -> dict[str, str]:
    """Environment variables (name -> value) of the demo shop's deployment."""
    return {
        "WAREHOUSE_INTERNAL_IP_PREFIXES": INTERNAL_IP_PREFIX,
        # the staff's test orders go to test@ or test+<tag>@ of the shop's own domain
        "WAREHOUSE_TEST_ORDER_EMAIL_PATTERN": rf"^test(\+[^@]*)?@{re.escape(SHOP_DOMAIN)}$",
    }


def main() -> None:
    for name, value in demo_settings().items():
        print(f"export {name}={shlex.quote(value)}")


if __name__ == "__main__":
    main()
