"""Vendor clients: declarations (auth, gate, dialect, resources, paging) on top of :mod:`adops_async.core`."""
