"""Seed phone_country_codes: per ISO country, its international calling code and national (trunk) prefix.

From the metadata of phonenumbers (Python port of Google's libphonenumber, Apache-2.0): `country_code` and
`national_prefix` of `PhoneMetadata.metadata_for_region` for every region libphonenumber knows that is an
ISO 3166-1 country (pycountry). The national prefix is what is dialled before a number within the country
and dropped from it internationally ("0" in most of Europe, "1" in North America, "8" in Russia, "06" in
Hungary); empty where there is none (Spain, Italy, Mexico). `min_national_digits` is the shortest national
significant number the region's numbering plan allows (the least of `general_desc.possible_length`): a
shorter number is no phone number.

`mobile_pattern` and `fixed_line_pattern` are the region's patterns of a mobile and of a fixed-line national
significant number (`PhoneMetadata.mobile` / `.fixed_line.national_number_pattern`, to be matched in full);
empty where the region has none. A number matching the mobile pattern and not the fixed-line one is a mobile
(libphonenumber's MOBILE); where the two overlap (the United States and Canada, whose patterns are one and
the same) it is FIXED_LINE_OR_MOBILE and tells nothing about who answers it.
"""

from __future__ import annotations

from collections.abc import Iterator

import phonenumbers
import pycountry

from scripts.reference.seeds import Seed, Source

SEED = Seed(
    name="phone_country_codes",
    header=(
        "country_code", "dial_code", "national_prefix", "min_national_digits", "mobile_pattern", "fixed_line_pattern",
    ),
    source=Source(
        distribution="phonenumbers",
        licence="Apache-2.0",
        derivation="PhoneMetadata.metadata_for_region(region): country_code, national_prefix and "
        "min(general_desc.possible_length), mobile.national_number_pattern and fixed_line.national_number_pattern, "
        "for every region in phonenumbers.SUPPORTED_REGIONS that is a "
        "pycountry country",
    ),
)


def rows() -> Iterator[tuple[str, str, str, str, str, str]]:
    iso_countries = {country.alpha_2 for country in pycountry.countries}
    for region in phonenumbers.SUPPORTED_REGIONS & iso_countries:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        shortest = min(metadata.general_desc.possible_length)
        yield (
            region, str(metadata.country_code), metadata.national_prefix or "", str(shortest),
            national_number_pattern(metadata.mobile), national_number_pattern(metadata.fixed_line),
        )


def national_number_pattern(description: phonenumbers.PhoneNumberDesc | None) -> str:
    """The pattern of one type of national number; empty where the region has no number of that type."""
    return (description.national_number_pattern or "") if description is not None else ""
