"""Realistic, dirty demo data in the public shapes of HubSpot, Shopify and Segment."""
