"""The serving copy BI tools and activation read: published from the warehouse with a copy and an atomic swap."""
