"""The source systems: one dlt pipeline, one landing folder and one raw schema (`raw_<system>`) each. A module of
its own, without dlt, so that `warehouse --help` can name them and stay fast."""

SYSTEMS = ("crm", "shop", "analytics", "mailchimp", "helpdesk")
