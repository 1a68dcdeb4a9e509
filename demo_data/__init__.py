"""Realistic, dirty demo data in the public shapes of HubSpot, Shopify and Segment.

`generator.generate()` writes one batch: `config` says what is asked, `manifest` what batch 0 fixed, `batch`
writes it person by person. For each person `people` draws who they are, `records` how each system writes them,
`crm`, `shop` and `analytics` what each system delivers, and `truth` the ground truth. Around them: `catalog`
(the products), `dirt` and `dirt_sources` (the dirt and its own lists), `reference` (the clean lists), `keys`
(ids, random streams, time formats) and `writers` (the files).
"""
