"""Reference seeds of the cleaning, generated from well-kept, installed packages (not from the demo generator).

Every seed under dbt_project/seeds/ whose content comes from a package has one module here that writes it.
The convention, which every module follows:

- The module is named after its seed (`country_aliases.py` writes `dbt_project/seeds/country_aliases.csv`).
- It exposes `SEED = Seed(name=..., header=(...), source=...)`, a `scripts.reference.seeds.Seed`: the seed's name,
  its CSV header, and its provenance (`Source`: package, version read from the installed distribution,
  licence, how the rows are derived). The seed's YAML entry (any _*.yml under dbt_project/seeds/) says the same:
  its description names the package, its version and licence, and `config.meta` holds `source_package`,
  `source_version`, `source_licence` (starting with the SPDX id of `Source.licence`) and `generated_by`
  (`scripts/reference/<module>.py`); tests/scripts/test_reference_seeds.py checks both.
- It exposes `rows() -> Iterable[tuple[str, ...]]`: the seed's rows, as strings, in header order. Rows are
  deduplicated and sorted by `write_seed`, so a module need not care about order.
- It needs no network and no randomness: run twice, it writes the same bytes (tests/scripts/test_reference_seeds.py
  regenerates every module's seed and compares it with the checked-in file).

`python -m scripts.reference` regenerates every seed (or `python -m scripts.reference country_aliases ...` only
those named); `scripts.reference.seeds.write_seed(module)` writes one. A new module is found by its name: it only
has to define `SEED` and `rows`.
"""
