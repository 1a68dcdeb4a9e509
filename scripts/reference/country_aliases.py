"""Seed country_aliases: spellings of countries, normalized as the cleaning normalizes input, to ISO alpha-2.

Spellings, most trusted first (an alias two countries claim at the same level is dropped; at different
levels the more trusted one keeps it):

1. the ISO 3166-1 codes, alpha-2 and alpha-3 (pycountry);
2. the English names: pycountry's `name`, `official_name` and `common_name` ("Bolivia, Plurinational State
   of", "Bolivia");
3. retired or reserved codes CLDR maps to exactly one country today (babel's `territory_aliases`: "UK" ->
   GB, "ZR" -> CD, "BUR" -> MM);
4. each country's name in its own official languages (CLDR's `territory_languages`, status official or
   de facto official), translated by pycountry's gettext catalogues (iso3166-1 domain): "Deutschland",
   "España", "Éire", "Nederland";
5. its names in every other language official somewhere, from the same catalogues: "Estados Unidos",
   "Vereinigte Staaten", "Allemagne";
6. the constituent countries ISO 3166-2 lists as subdivisions of type Country (pycountry.subdivisions):
   "England", "Scotland", "Wales" -> GB.

Every spelling is stored as `normalized_spelling` writes it (accents and case folded, everything but
letters and digits dropped: "U.S.A." -> "usa"), which is what macro country_to_iso2 does to its input.
"""

from __future__ import annotations

import gettext
from collections import defaultdict
from collections.abc import Iterable, Iterator

import pycountry
from babel.core import get_global

from scripts.reference.cldr import languages_with_locale_data, official_languages
from scripts.reference.seeds import Seed, Source, normalized_spelling

SEED = Seed(
    name="country_aliases",
    header=("alias", "country_code"),
    source=Source(
        distribution="pycountry",
        licence="LGPL-2.1-only (pycountry, its iso-codes data and translations); CLDR data via babel (Unicode-3.0)",
        derivation="ISO codes and English names from pycountry.countries, CLDR territory aliases with one "
        "target, each country's name in its own official languages, then in every language official somewhere, "
        "from pycountry's iso3166-1 catalogues, ISO 3166-2 constituent countries; normalized by "
        "scripts.reference.seeds.normalized_spelling; an alias two countries claim at its most trusted level dropped",
    ),
)


def english_names(country: object) -> list[str]:
    return [getattr(country, field) for field in ("name", "official_name", "common_name") if hasattr(country, field)]


def cldr_aliases(iso2_codes: set[str], iso3_codes: set[str]) -> Iterator[tuple[str, str]]:
    """(retired or reserved code, country) for CLDR territory aliases that name exactly one current country."""
    for alias, targets in get_global("territory_aliases").items():
        if alias.isalpha() and len(targets) == 1 and targets[0] in iso2_codes and alias not in iso2_codes | iso3_codes:
            yield alias, targets[0]


def catalogue(language: str, country_code: str) -> gettext.NullTranslations | None:
    """pycountry's iso3166-1 translations into `language` (or its variant for the country, e.g. nb_NO)."""
    for candidate in (language, f"{language}_{country_code}"):
        try:
            return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[candidate])
        except FileNotFoundError:
            continue
    return None


def translated(country: object, language: str) -> Iterator[str]:
    """The country's names in `language`, where pycountry translates them."""
    translations = catalogue(language.split("_")[0], country.alpha_2)
    if translations is not None:
        yield from (translations.gettext(name) for name in english_names(country))


def constituent_countries() -> Iterator[tuple[str, str]]:
    """(name, ISO alpha-2 of the country) of the ISO 3166-2 subdivisions of type Country ("Wales" -> GB)."""
    for subdivision in pycountry.subdivisions:
        if subdivision.type == "Country":
            # "Wales [Cymru GB-CYM]": the bracket holds another name and a code
            yield subdivision.name.split(" [")[0], subdivision.country_code


def spellings() -> Iterator[tuple[int, str, str]]:
    """(trust level, spelling as written, ISO alpha-2), level 1 most trusted."""
    countries = list(pycountry.countries)
    iso2 = {country.alpha_2 for country in countries}
    iso3 = {country.alpha_3 for country in countries}
    for country in countries:
        yield 1, country.alpha_2, country.alpha_2
        yield 1, country.alpha_3, country.alpha_2
        yield from ((2, name, country.alpha_2) for name in english_names(country))
        own = official_languages(country.alpha_2)
        for language in own:
            yield from ((4, name, country.alpha_2) for name in translated(country, language))
        for language in sorted(languages_with_locale_data() - set(own)):
            yield from ((5, name, country.alpha_2) for name in translated(country, language))
    yield from ((3, alias, code) for alias, code in cldr_aliases(iso2, iso3))
    yield from ((6, name, code) for name, code in constituent_countries())


def unambiguous(candidates: Iterable[tuple[int, str, str]]) -> Iterator[tuple[str, str]]:
    """Each alias with the one country its most trusted level names; dropped when that level names two."""
    claims: dict[str, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    for level, spelling, code in candidates:
        alias = normalized_spelling(spelling)
        if alias:
            claims[alias][level].add(code)
    for alias, by_level in claims.items():
        codes = by_level[min(by_level)]
        if len(codes) == 1:
            yield alias, next(iter(codes))


def rows() -> Iterator[tuple[str, str]]:
    return unambiguous(spellings())
