"""Several arq workers pulling AppNexus reports on one shared member quota (see README.md)."""
