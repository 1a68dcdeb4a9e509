"""The generator's own sources of dirt: how people write names, countries and dates, and who else visits.

These lists are written by hand from what CRM exports, checkout forms and web logs look like, and are kept
independent of the cleaning on purpose. The dbt project's reference seeds come from well-kept packages
(`nicknames`, `pycountry`, `phonenumbers`, `crawler-user-agents`, Babel's CLDR data); this module imports none
of them, nor anything under `dbt_project/`, and it deliberately holds spellings and pet names no such list has,
so that the ground truth measures the cleaning on data nobody tuned it for (tests/demo_data/test_dirt.py checks
both).
"""

from __future__ import annotations

NICKNAMES: dict[str, tuple[str, ...]] = {
    # English diminutives everyone knows: a cleaning that misses these misses the obvious.
    "Robert": ("Bob", "Rob", "Bobby", "Robbie"),
    "William": ("Bill", "Will", "Billy"),
    "Elizabeth": ("Liz", "Beth", "Lizzie", "Bitsy"),
    "Katherine": ("Kate", "Katie", "Kat", "Kitty"),
    "Catherine": ("Cathy", "Cat", "Cate"),
    "James": ("Jim", "Jimmy", "Jamie"),
    "Michael": ("Mike", "Mikey", "Mick"),
    "Richard": ("Rick", "Rich", "Richie"),
    "Thomas": ("Tom", "Tommy"),
    "Christopher": ("Chris", "Topher"),
    "Daniel": ("Dan", "Danny"),
    "Matthew": ("Matt", "Matty"),
    "Anthony": ("Tony", "Ant"),
    "Joseph": ("Joe", "Joey"),
    "Jennifer": ("Jen", "Jenny", "Jenna"),
    "Jessica": ("Jess", "Jessie"),
    "Patricia": ("Pat", "Trish", "Patsy"),
    "Susan": ("Sue", "Suze"),
    "Alexander": ("Alex", "Xander"),
    "Benjamin": ("Ben", "Benji"),
    "Samuel": ("Sam", "Sammy"),
    "Nicholas": ("Nick", "Nico"),
    "Jonathan": ("Jon", "Jonty"),
    "Andrew": ("Andy", "Drew"),
    "Edward": ("Ed", "Eddie", "Ned"),
    "Rebecca": ("Becky", "Bex"),
    "Victoria": ("Vicky", "Tori", "Vix"),
    "Margaret": ("Maggie", "Peggy", "Mags"),
    "Kimberly": ("Kim", "Kimmy"),
    "Stephanie": ("Steph", "Stef"),
    "Samantha": ("Sam", "Sammie"),
    "Deborah": ("Debbie", "Debs"),
    "Melissa": ("Mel", "Missy"),
    "Michelle": ("Shelly", "Shell"),
    "Cynthia": ("Cindy",),
    "Barbara": ("Babs", "Bunny"),
    "Timothy": ("Tim", "Timmo"),
    "Kenneth": ("Ken", "Kenny"),
    "Gregory": ("Greg",),
    "Steven": ("Steve", "Stevo"),
    "Peter": ("Pete",),
    "Isabella": ("Izzy", "Bella"),
    "Olivia": ("Liv", "Livvy"),
    "Amelia": ("Millie",),
    "Charlotte": ("Lottie", "Charlie"),
    "Amanda": ("Mandy", "Manda"),
    "Natalie": ("Nat", "Nattie"),
    "Ashley": ("Ash",),
    # German, Dutch, French: how colleagues and family write the names of the shop's European customers.
    "Johannes": ("Hannes", "Jo"),
    "Maximilian": ("Max", "Maxi"),
    "Wolfgang": ("Wolfi",),
    "Jürgen": ("Jogi",),
    "Ulrike": ("Ulli", "Rike"),
    "Stefan": ("Steffen",),
    "Raphaël": ("Raph",),
    "Aurélie": ("Lili",),
    "Élodie": ("Lolo",),
    "Juliette": ("Juju",),
    "Margaux": ("Margot",),
    # Spanish and Italian hypocorisms, which English lists rarely carry.
    "Francisco": ("Paco", "Curro", "Pancho"),
    "José": ("Pepe",),
    "Manuel": ("Manolo", "Manu"),
    "Javier": ("Javi",),
    "Alejandro": ("Álex", "Jandro"),
    "Antonio": ("Toño", "Toni"),
    "Giuseppe": ("Beppe", "Peppe", "Pino"),
    "Giovanni": ("Gianni", "Nanni"),
    "Alessandro": ("Sandro", "Ale"),
    "Francesca": ("Franci", "Checca"),
    "Valentina": ("Vale",),
    "Matteo": ("Teo",),
    # Irish: the anglicised or pet form a customer types on an English keyboard.
    "Seán": ("Shaun",),
    "Siobhán": ("Shiv",),
    "Niamh": ("Neev",),
}
"""Formal first name -> the short or pet names the same person goes by on another record.

Written from how people sign emails and fill forms in the shop's countries: common diminutives, and pet names,
foreign hypocorisms and anglicisations ("Bunny", "Topher", "Jogi", "Curro", "Shiv") that no nickname list
is guaranteed to hold."""

COUNTRY_SPELLINGS: dict[str, tuple[str, ...]] = {
    # What people type into a free-text country field: codes, short forms, local-language names, typos.
    "US": (
        "US",
        "USA",
        "U.S.",
        "U.S.A.",
        "United States",
        "United States of America",
        "America",
        "Untied States",
        "Estados Unidos",
        "Vereinigte Staaten",
    ),
    "CA": ("CA", "CAN", "Canada", "Kanada", "Canda", "Canadá"),
    "GB": (
        "GB",
        "UK",
        "U.K.",
        "United Kingdom",
        "Great Britain",
        "England",
        "Scotland",
        "Wales",
        "Britain",
        "Untied Kingdom",
        "Royaume-Uni",
    ),
    "IE": ("IE", "IRL", "Ireland", "Éire", "Eire", "Republic of Ireland", "Irland", "Irleand", "ROI"),
    "DE": (
        "DE",
        "DEU",
        "Germany",
        "Deutschland",
        "Allemagne",
        "Alemania",
        "Germnay",
        "BRD",
        "Federal Republic of Germany",
    ),
    "FR": ("FR", "FRA", "France", "Frankreich", "Francia", "Farnce", "République française"),
    "NL": (
        "NL",
        "NLD",
        "Netherlands",
        "The Netherlands",
        "Nederland",
        "Holland",
        "Niederlande",
        "Pays-Bas",
        "Netherland",
        "Netherlnads",
    ),
    "ES": ("ES", "ESP", "Spain", "España", "Espana", "Spanien", "Espagne", "Spian"),
    "IT": ("IT", "ITA", "Italy", "Italia", "Italien", "Italie", "Itlay"),
    "AU": ("AU", "AUS", "Australia", "Aus", "Oz", "Australien", "Austrlia", "Commonwealth of Australia"),
}
"""Every base spelling of a country the CRM may contain, by ISO2 code.

From what free-text country fields hold in practice: the ISO codes, the everyday short forms, the country's
own name and its name in a neighbour's language, constituent countries ("Scotland"), and keyboard typos
("Untied States", "Germnay"). The generator writes one of these, sometimes in another letter case. Some
(typos, "Oz", "ROI") are in no country database: a cleaning that maps them has been tuned to this list."""

DOB_FORMATS: dict[str, tuple[str, ...]] = {
    # Slash and dash dates: the order follows the country's habit (month first in the US only).
    "US": ("{m:02d}/{d:02d}/{Y}", "{m}/{d}/{Y}", "{m}/{d}/{y:02d}", "{m:02d}-{d:02d}-{Y}"),
    "other": ("{d:02d}/{m:02d}/{Y}", "{d}/{m}/{Y}", "{d:02d}/{m:02d}/{y:02d}", "{d:02d}-{m:02d}-{Y}"),
    # German-speaking and Dutch CRMs write dots.
    "DE": ("{d:02d}.{m:02d}.{Y}", "{d}.{m}.{Y}", "{d:02d}.{m:02d}.{y:02d}"),
    "NL": ("{d:02d}-{m:02d}-{Y}", "{d:02d}.{m:02d}.{Y}"),
    # Month names, as typed into a free-text field or exported by a form builder, anywhere.
    "any": (
        "{Month} {d}, {Y}",
        "{d} {Month} {Y}",
        "{d} {Mon} {y:02d}",
        "{d} {Mon} {Y}",
        "{Mon} {d} {Y}",
        "{d}-{Mon}-{Y}",
        "{D} {MON} {Y}",
        "{Y}{m:02d}{d:02d}",
        "{Y}/{m:02d}/{d:02d}",
        "{Y}-{m}-{d}",
    ),
}
"""Date-of-birth layouts seen in CRM exports, as str.format templates: {d} {m} {Y} day, month, year; {y} the
year's last two digits; {D} the day zero-padded; {Month}, {Mon}, {MON} the English month name, its three
letters, and those in capitals. Two-digit years and day-first slashes are ambiguous by design."""

PLACEHOLDER_DATES_OF_BIRTH: tuple[str, ...] = ("1900-01-01", "1970-01-01", "01/01/1900", "1/1/1900", "01.01.1900")
"""What a CRM holds when a required birth date was unknown: the system's minimum date, the Unix epoch, or a
form's default, as the import wrote it. Not a birth date, so no evidence that two records are one person."""

APARTMENT_FORMATS: dict[str, tuple[str, ...]] = {
    "US": ("Apt {n}{letter}", "Apt. {n}", "#{n}", "Unit {n}", "Suite {n}"),
    "CA": ("Apt {n}", "Unit {n}", "#{n}", "Suite {n}"),
    "GB": ("Flat {n}", "Flat {n}{letter}", "Apartment {n}"),
    "IE": ("Apt {n}", "Apartment {n}", "Flat {n}"),
    "AU": ("Unit {n}", "Apt {n}", "{n}/"),
    "DE": ("Wohnung {n}", "App. {n}", "{n}. OG"),
    "FR": ("Appt {n}", "Bât {letter}, appt {n}", "Apt {n}"),
    "NL": ("{n}-hoog", "huis {n}", "{letter}"),
    "ES": ("{n}º {letter}", "Piso {n}, puerta {letter}"),
    "IT": ("Int. {n}", "Scala {letter}, int. {n}", "Interno {n}"),
}
"""How a flat or unit is written where the shop's customers live ({n} a number, {letter} a letter). "{n}/"
is the Australian unit prefix ("4/12 George Street"), "Unit {n}" on a line of its own; the others follow the
street address."""

LOOKALIKE_GIVEN_NAMES: dict[str, tuple[str, ...]] = {
    "John": ("Joan", "Jon"),
    "Daniel": ("Danielle", "Daniela"),
    "Christopher": ("Christine", "Christina"),
    "Christine": ("Christopher", "Christian"),
    "Robert": ("Roberta",),
    "Paul": ("Paula", "Pauline"),
    "Michael": ("Michelle", "Michaela"),
    "Michelle": ("Michael", "Michel"),
    "Stephen": ("Stephanie",),
    "Steven": ("Stephanie", "Stevie"),
    "Stephanie": ("Stephen", "Steven"),
    "Patricia": ("Patrick",),
    "Patrick": ("Patricia",),
    "Samuel": ("Samantha",),
    "Samantha": ("Samuel",),
    "Joseph": ("Josephine",),
    "Alexander": ("Alexandra", "Alexa"),
    "Nicholas": ("Nicola", "Nicole"),
    "Charles": ("Charlotte", "Charlene"),
    "Charlotte": ("Charles",),
    "Victoria": ("Victor",),
    "Gabriel": ("Gabriela", "Gabrielle"),
    "Louis": ("Louise", "Louisa"),
    "Jean": ("Jeanne", "Joan"),
    "Antonio": ("Antonia",),
    "Francisco": ("Francisca",),
    "Manuel": ("Manuela",),
    "Alejandro": ("Alejandra",),
    "Giovanni": ("Giovanna",),
    "Alessandro": ("Alessandra",),
    "Francesca": ("Francesco",),
    "Giulia": ("Giulio",),
    "Luca": ("Lucia", "Luka"),
    "Marco": ("Mario", "Marta"),
    "Johannes": ("Johanna",),
    "Felix": ("Felicitas",),
    "Marie": ("Mario", "Maria"),
    "Sophie": ("Sophia",),
    "Emma": ("Emil",),
    "Anna": ("Anne", "Hanna"),
    "Hanna": ("Hannah", "Hannes"),
    "Leon": ("Leonie",),
    "Lars": ("Lara",),
    "Jules": ("Julie",),
    "Camille": ("Camilla",),
    "Carmen": ("Carmelo",),
    "Olivia": ("Oliver",),
    "Oliver": ("Olivia",),
    "Harry": ("Harriet",),
    "George": ("Georgia", "Georgina"),
    "Leo": ("Leah", "Lea"),
    "James": ("Jane", "Jamie"),
    "William": ("Willa", "Wilma"),
    "David": ("Davina",),
    "Richard": ("Ricarda",),
    "Thomas": ("Thomasina", "Tomás"),
    "Anthony": ("Antonia",),
    "Mark": ("Marta", "Marc"),
    "Donald": ("Donna",),
    "Donna": ("Donald",),
    "Andrew": ("Andrea",),
    "Brian": ("Briana",),
    "Edward": ("Edwina",),
    "Jonathan": ("Joanna",),
    "Frank": ("Frances", "Francine"),
    "Peter": ("Petra",),
    "Mary": ("Marty", "Mario"),
    "Jessica": ("Jesse",),
    "Karen": ("Karl", "Karin"),
    "Lisa": ("Luisa", "Elisa"),
    "Sandra": ("Sander",),
    "Emily": ("Emil",),
    "Carol": ("Carl",),
    "Laura": ("Lauren", "Laurence"),
    "Angela": ("Angelo",),
    "Natalie": ("Nathan",),
    "Noah": ("Noa",),
    "Jack": ("Jackie", "Jacqueline"),
    "Charlie": ("Charlotte",),
    "Seán": ("Shauna",),
    "Stefan": ("Stefanie",),
    "Lucas": ("Lucie", "Lucia"),
    "Léa": ("Léo",),
    "Lea": ("Leo",),
    "Juliette": ("Julien",),
    "José": ("Josefa", "Josefina"),
    "Lucía": ("Lucio",),
    "Marta": ("Marco", "Martín"),
    "Giuseppe": ("Giuseppina",),
    "Valentina": ("Valentino",),
    "Sanne": ("Sander",),
}
"""Given names that a sibling, spouse or child at the same address may have: one letter or one ending apart
(John/Joan, Daniel/Danielle, Christopher/Christine), the names that make a household look like one person
written twice."""

BOT_USER_AGENTS: tuple[str, ...] = (
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.6778.69 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
    "python-requests/2.32.3",
    "curl/8.5.0",
    "Wget/1.21.4",
    "Go-http-client/1.1",
    "Scrapy/2.11.2 (+https://scrapy.org)",
)
"""Self-declared crawlers and scripts as they appear in a shop's access logs: search engines, SEO tools, link
previews, AI crawlers, headless browsers, HTTP libraries. A bot filter should catch every one by its user
agent."""

SCRAPER_NETWORKS: tuple[str, ...] = ("34.", "35.", "52.", "54.", "3.", "18.")
"""First octets of the large cloud providers' address space, where scrapers rent their machines."""

INTERNAL_IP_PREFIX = "203.0.113."
"""The shop's office network (TEST-NET-3, RFC 5737): traffic from here is staff testing, not customers."""

SHOP_DOMAIN = "shop.example.com"
"""The shop's own domain (RFC 2606): its pages, and the mailbox of staff test orders below."""

TEST_ORDER_EMAIL = "test+{n}@" + SHOP_DOMAIN
"""The address staff place test orders with (plus-addressed, one per order)."""

STAFF_LOGIN_EMAIL = "qa+{n}@" + SHOP_DOMAIN
"""The address staff log in with when they test the storefront from the office."""
