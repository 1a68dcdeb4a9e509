"""dlt sources that land CRM, shop and analytics data in DuckDB."""
