"""Where the demo's people live: the countries the shop sells to, their cities and streets, and the shop's zone.

How a country is written dirty (its other spellings, date formats) is in `demo_data.dirt_sources`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Country:
    """A country the demo shop sells to, with what its addresses and phone numbers look like."""

    iso2: str
    iso3: str
    name: str
    currency: str
    calling_code: str
    trunk_prefix: str
    """Prefix dialled before the area code nationally ("0" in most of Europe, "" where there is none)."""
    area_codes: tuple[str, ...]
    subscriber_digits: int
    weight: int
    """Relative share of the population living there."""
    cities: tuple[tuple[str, str, str], ...]
    """(city, province, postal code prefix or pattern seed) triples."""


COUNTRIES: tuple[Country, ...] = (
    Country(
        "US",
        "USA",
        "United States",
        "USD",
        "1",
        "",
        ("415", "212", "312", "617", "206", "512", "303"),
        7,
        38,
        (
            ("San Francisco", "California", "941"),
            ("New York", "New York", "100"),
            ("Chicago", "Illinois", "606"),
            ("Boston", "Massachusetts", "021"),
            ("Seattle", "Washington", "981"),
            ("Austin", "Texas", "787"),
            ("Denver", "Colorado", "802"),
        ),
    ),
    Country(
        "CA",
        "CAN",
        "Canada",
        "CAD",
        "1",
        "",
        ("416", "604", "514", "403", "613"),
        7,
        8,
        (
            ("Toronto", "Ontario", "M5V"),
            ("Vancouver", "British Columbia", "V6B"),
            ("Montreal", "Quebec", "H2X"),
            ("Calgary", "Alberta", "T2P"),
            ("Ottawa", "Ontario", "K1P"),
        ),
    ),
    Country(
        "GB",
        "GBR",
        "United Kingdom",
        "GBP",
        "44",
        "0",
        ("20", "161", "131", "117", "770"),  # 07700 mobiles: 10 digits after the trunk 0
        7,
        12,
        (
            ("London", "Greater London", "SW1"),
            ("Manchester", "Greater Manchester", "M1"),
            ("Edinburgh", "Scotland", "EH1"),
            ("Bristol", "Bristol", "BS1"),
            ("Leeds", "West Yorkshire", "LS1"),
        ),
    ),
    Country(
        "IE",
        "IRL",
        "Ireland",
        "EUR",
        "353",
        "0",
        ("1", "21", "91", "87", "85"),
        7,
        3,
        (("Dublin", "Dublin", "D02"), ("Cork", "Cork", "T12"), ("Galway", "Galway", "H91")),
    ),
    Country(
        "DE",
        "DEU",
        "Germany",
        "EUR",
        "49",
        "0",
        ("30", "40", "89", "221", "151", "170"),
        8,
        10,
        (
            ("Berlin", "Berlin", "10"),
            ("Hamburg", "Hamburg", "20"),
            ("München", "Bayern", "80"),
            ("Köln", "Nordrhein-Westfalen", "50"),
            ("Frankfurt am Main", "Hessen", "60"),
        ),
    ),
    Country(
        "FR",
        "FRA",
        "France",
        "EUR",
        "33",
        "0",
        ("1", "4", "6", "7"),
        8,
        7,
        (
            ("Paris", "Île-de-France", "75"),
            ("Lyon", "Auvergne-Rhône-Alpes", "69"),
            ("Marseille", "Provence-Alpes-Côte d'Azur", "13"),
            ("Bordeaux", "Nouvelle-Aquitaine", "33"),
        ),
    ),
    Country(
        "NL",
        "NLD",
        "Netherlands",
        "EUR",
        "31",
        "0",
        ("20", "10", "30", "6"),
        7,
        5,
        (
            ("Amsterdam", "Noord-Holland", "10"),
            ("Rotterdam", "Zuid-Holland", "30"),
            ("Utrecht", "Utrecht", "35"),
        ),
    ),
    Country(
        "ES",
        "ESP",
        "Spain",
        "EUR",
        "34",
        "",
        ("91", "93", "62", "71"),  # every Spanish number has 9 digits, mobiles too
        7,
        5,
        (("Madrid", "Madrid", "28"), ("Barcelona", "Cataluña", "08"), ("Valencia", "Valencia", "46")),
    ),
    Country(
        "IT",
        "ITA",
        "Italy",
        "EUR",
        "39",
        "",
        ("347", "333", "320", "348"),
        7,
        5,
        (
            ("Roma", "Lazio", "00"),
            ("Milano", "Lombardia", "20"),
            ("Torino", "Piemonte", "10"),
            ("Napoli", "Campania", "80"),
        ),
    ),
    Country(
        "AU",
        "AUS",
        "Australia",
        "AUD",
        "61",
        "0",
        ("2", "3", "7", "4"),
        8,
        7,
        (
            ("Sydney", "New South Wales", "20"),
            ("Melbourne", "Victoria", "30"),
            ("Brisbane", "Queensland", "40"),
            ("Perth", "Western Australia", "60"),
        ),
    ),
)
"""The ten countries of the demo shop, with currencies USD, CAD, GBP, EUR (IE DE FR NL ES IT) and AUD."""

COUNTRY_BY_ISO2: dict[str, Country] = {country.iso2: country for country in COUNTRIES}

STREETS: dict[str, tuple[str, ...]] = {
    "US": (
        "Main Street",
        "Oak Avenue",
        "Maple Drive",
        "Pine Street",
        "Cedar Lane",
        "Elm Street",
        "Lake Road",
    ),
    "CA": ("King Street West", "Queen Street", "Yonge Street", "Granville Street", "Rue Sainte-Catherine"),
    "GB": ("High Street", "Station Road", "Church Lane", "Victoria Road", "Park Avenue", "Mill Lane"),
    "IE": ("Main Street", "Church Road", "Grafton Street", "Patrick Street", "Shop Street"),
    "DE": ("Hauptstraße", "Schulstraße", "Gartenstraße", "Bahnhofstraße", "Dorfstraße", "Bergstraße"),
    "FR": (
        "Rue de la Paix",
        "Avenue Victor Hugo",
        "Rue de la République",
        "Boulevard Voltaire",
        "Rue Pasteur",
    ),
    "NL": ("Kerkstraat", "Dorpsstraat", "Molenweg", "Stationsweg", "Prinsengracht", "Keizersgracht"),
    "ES": ("Calle Mayor", "Calle Real", "Avenida de la Constitución", "Calle de Alcalá", "Gran Vía"),
    "IT": ("Via Roma", "Via Garibaldi", "Corso Italia", "Via Dante", "Via Mazzini", "Via Verdi"),
    "AU": ("George Street", "Collins Street", "Queen Street", "Hay Street", "Chapel Street"),
}

SHOP_TIMEZONE = "America/New_York"
"""Shopify renders timestamps in the shop's time zone, with its UTC offset."""
