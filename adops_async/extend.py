"""Building blocks for a client of another vendor, or for changing how one of ours talks HTTP.

A vendor is a declaration on top of the core: a :class:`BaseClient` subclass given a :class:`Dialect` (how the vendor
says "error", which calls are idempotent, where the request id is), an :class:`Auth` strategy, a gate of policies
(:mod:`adops_async.gates`), a :class:`Codec` (JSON or XML) and :class:`Resource` collections with a paging style.
Every call of such a client goes through the same pipeline as ours (docs/design.md). The user API (clients, errors,
gates, ``AdOps``) stays at the top level of :mod:`adops_async`.
"""

from .core.auth import Auth, HeaderAuth, NoAuth, Token, TokenAuth
from .core.client import BaseClient, Call, CallOptions, Reply
from .core.codecs import Codec, JsonCodec, XmlCodec
from .core.dialect import Dialect, ErrorInfo
from .core.models import VendorModel, int_or_none, payload_of
from .core.options import ClientOptions
from .core.paging import AsyncPaginator, OffsetPaging, Page, PageNumberPaging, PageRequest, PagingStyle, SinglePage
from .core.reports import ReportJob, download, replacing
from .core.resources import Resource

__all__ = [
    "AsyncPaginator",
    "Auth",
    "BaseClient",
    "Call",
    "CallOptions",
    "ClientOptions",
    "Codec",
    "Dialect",
    "ErrorInfo",
    "HeaderAuth",
    "JsonCodec",
    "NoAuth",
    "OffsetPaging",
    "Page",
    "PageNumberPaging",
    "PageRequest",
    "PagingStyle",
    "Reply",
    "ReportJob",
    "Resource",
    "SinglePage",
    "Token",
    "TokenAuth",
    "VendorModel",
    "XmlCodec",
    "download",
    "int_or_none",
    "payload_of",
    "replacing",
]
