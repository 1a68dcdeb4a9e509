"""What the reference modules read from CLDR (the Unicode Common Locale Data Repository, as babel ships it)."""

from __future__ import annotations

from functools import cache

from babel import Locale, UnknownLocaleError, localedata
from babel.core import get_global

OFFICIAL = frozenset({"official", "de_facto_official"})


def official_languages(territory: str) -> list[str]:
    """The territory's official (or de facto official) languages, most spoken first (CLDR territoryInfo)."""
    languages = get_global("territory_languages").get(territory, {})
    ranked = sorted(languages.items(), key=lambda item: (-item[1]["population_percent"], item[0]))
    return [language for language, facts in ranked if facts["official_status"] in OFFICIAL]


@cache
def languages_with_locale_data() -> frozenset[str]:
    """Every language that is official somewhere and that CLDR (babel) has locale data for."""
    available = set(localedata.locale_identifiers())
    official = {
        language
        for languages in get_global("territory_languages").values()
        for language, facts in languages.items()
        if facts["official_status"] in OFFICIAL
    }
    return frozenset(official & available)


def fresh_locale(identifier: str) -> Locale:
    """The locale `identifier` with its data loaded anew.

    babel merges a locale's data with its parents' in a process-wide cache, and the merge can leave one
    locale's months in another's (in babel 2.18, Azerbaijani's stand-alone months read "4月" after Japanese
    was loaded): the data then depends on what was loaded before. Emptying the cache first makes every read
    independent of the order, so the seeds are the same in any process.
    """
    parsed = Locale.parse(identifier)
    with localedata._cache_lock:
        localedata._cache.clear()
    return Locale(parsed.language, parsed.territory, parsed.script, parsed.variant)


def territory_locale(territory: str) -> Locale | None:
    """The locale of the territory's most spoken official language with data for it (en_US, de_DE, fr_CA)."""
    for language in official_languages(territory):
        try:
            return fresh_locale(f"{language}_{territory}")
        except (UnknownLocaleError, ValueError):
            continue
    return None
