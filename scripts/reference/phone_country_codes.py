"""Seed phone_country_codes: per ISO country, its international calling code and national (trunk) prefix.

From the metadata of phonenumbers (Python port of Google's libphonenumber, Apache-2.0): `country_code` and
`national_prefix` of `PhoneMetadata.metadata_for_region` for every region libphonenumber knows that is an
ISO 3166-1 country (pycountry). The national prefix is what is dialled before a number within the country
and dropped from it internationally ("0" in most of Europe, "1" in North America, "8" in Russia, "06" in
Hungary); empty where there is none (Spain, Italy, Mexico). `min_national_digits` is the shortest national
significant number the region's numbering plan allows (the least of `general_desc.possible_length`): a
shorter number is no phone number.
"""

from __future__ import annotations

from collections.abc import Iterator

import phonenumbers
import pycountry

from scripts.reference.seeds import Seed, Source

SEED = Seed(
    name="phone_country_codes",
    header=("country_code", "dial_code", "national_prefix", "min_national_digits"),
    source=Source(
        distribution="phonenumbers",
        licence="Apache-2.0",
        derivation="PhoneMetadata.metadata_for_region(region): country_code, national_prefix and "
        "min(general_desc.possible_length), for every region in phonenumbers.SUPPORTED_REGIONS that is a "
        "pycountry country",
    ),
)


def rows() -> Iterator[tuple[str, str, str, str]]:
    iso_countries = {country.alpha_2 for country in pycountry.countries}
    for region in phonenumbers.SUPPORTED_REGIONS & iso_countries:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        shortest = min(metadata.general_desc.possible_length)
        yield region, str(metadata.country_code), metadata.national_prefix or "", str(shortest)
