"""How a person is written in each system: the dirty, but still linkable, identity of every source record.

`model` holds what a record says, `derive` decides it for a person (and keeps the linkability rule), `fields`
writes one field dirty, `fuzzy` makes the fuzzy-only duplicate.
"""
