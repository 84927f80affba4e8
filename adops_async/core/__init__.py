"""The engine: one request pipeline, gates, retry, auth, paging, errors and codecs. Names nothing vendor-specific.

Import public names from :mod:`adops_async` and :mod:`adops_async.gates`; the module layout here may change.
"""
