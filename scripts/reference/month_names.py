"""Seed month_names: names and abbreviations of the months in the languages of the countries handled, for
reading dates of birth written with a month name ("7 March 1985", "7. März 1985", "7 mars 1985").

From CLDR as babel ships it: for every language that is official (or de facto official) in some ISO 3166
territory (CLDR territoryInfo) and that CLDR has locale data for, the wide and abbreviated month names in
both the format and the stand-alone context (genitive forms, as in "7 марта 1985", are the format context).
Each name is stored as `normalized_spelling` writes it (accents, case and dots dropped: "März" -> "marz",
"janv." -> "janv"), which is how macro parsed_date_of_birth reads the words of its input. Names with digits
("1月") are left out: those dates are read by their numbers. A name several months claim in different
languages ("jan" is January in 28 languages, June in Sesotho) goes to the month most languages give it, and
is dropped when that is a tie (Czech "srp" is August, Croatian "srp" July).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator

from scripts.reference.cldr import fresh_locale, languages_with_locale_data
from scripts.reference.seeds import Seed, Source, normalized_spelling

SEED = Seed(
    name="month_names",
    header=("month_name", "month", "languages"),
    source=Source(
        distribution="babel",
        licence="BSD-3-Clause (babel); CLDR data Unicode-3.0",
        derivation="Locale(language).months[format|stand-alone][wide|abbreviated] for every language official "
        "in some territory (babel territory_languages) with locale data; normalized; a name claimed by "
        "several months kept for the month most languages give it, dropped on a tie",
    ),
)


def claims() -> dict[str, dict[int, set[str]]]:
    """Per normalized month name: the months it names, each with the languages that give it that month."""
    found: dict[str, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    for language in sorted(languages_with_locale_data()):
        months = fresh_locale(language).months
        for context in ("format", "stand-alone"):
            for width in ("wide", "abbreviated"):
                for month, name in months[context][width].items():
                    spelling = normalized_spelling(name)
                    if spelling and not any(char.isdigit() for char in spelling):
                        found[spelling][month].add(language)
    return found


def rows() -> Iterator[tuple[str, str, str]]:
    for spelling, by_month in claims().items():
        votes = Counter({month: len(languages) for month, languages in by_month.items()})
        (month, top), *rest = votes.most_common()
        if rest and rest[0][1] == top:
            continue
        yield spelling, str(month), " ".join(sorted(by_month[month]))
