"""dlt sources, one package per source system: crm (HubSpot), shop (Shopify), analytics (Segment)."""
