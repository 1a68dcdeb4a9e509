"""Clean reference data the generator draws people from, one module per domain.

`places` (countries, cities, streets, the shop's time zone), `names` (given names and surnames) and `internet`
(email providers, browsers). How they are written dirty (nicknames, country spellings, date formats, bots, the
staff network) lives in `demo_data.dirt_sources`, the generator's own lists, independent of the cleaning's.
`INTERNAL_IP_PREFIX` and `SHOP_DOMAIN` are re-exported from there for the demo's deployment settings.
"""

from __future__ import annotations

# re-exported: the demo's deployment settings read them here
from demo_data.dirt_sources import INTERNAL_IP_PREFIX as INTERNAL_IP_PREFIX
from demo_data.dirt_sources import SHOP_DOMAIN as SHOP_DOMAIN
