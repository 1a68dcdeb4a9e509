"""The demo shop's Shopify records of one person in one batch: customers, orders and checkouts.

Order and checkout plans are pure functions of (seed, person, batch), so an increment can recompute a
customer's running orders_count and total_spent from earlier batches without reading files. `orders`,
`checkouts` and `customers` each plan and write one entity; `basket` (line items, tax) and `address` are what
their records share.
"""
