"""Segment Spec messages of the demo: a person's sessions, the traffic that is not a customer, and delivery dirt.

`session` builds one visit's messages, `journeys` a person's visits, `extra_visitors` the bots, scrapers and
staff, `delivery` the late and re-delivered messages.
"""
