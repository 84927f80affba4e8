"""adops-async: an async client for ad-operations APIs that never breaks a vendor's request rules.

Every call of a client goes through one pipeline: a gate that enforces the vendor's rule (one request in flight,
N reads per minute, a token bucket, a server-imposed cooldown), credentials, HTTP via httpx, typed errors, and safe
retries. See :mod:`adops_async.gates` for the gate policies.
"""

from . import observe
from .core.auth import Auth, HeaderAuth, NoAuth, Token, TokenAuth
from .core.client import BaseClient, Call, Reply
from .core.clock import AnyioClock, Clock, ScaledClock, VirtualClock
from .core.codecs import Codec, JsonCodec, XmlCodec
from .core.dialect import Dialect, ErrorInfo
from .core.errors import (
    AdOpsError,
    AuthError,
    ClientClosed,
    Conflict,
    DecodeError,
    ErrorContext,
    GateWaitTooLong,
    IncompleteData,
    IntegrityError,
    InvalidCredential,
    LeaseLost,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
    QuotaStoreUnavailable,
    RateLimited,
    ServerError,
    TransportError,
    ValidationFailed,
)
from .core.gate import Gate
from .core.jobs import JobSlots
from .core.meters import MemoryStore
from .core.models import VendorModel
from .core.paging import AsyncPaginator, OffsetPaging, Page, PageNumberPaging, PageRequest, PagingStyle, SinglePage
from .core.policies import Cooldown, Kind, Limiter, MaxInFlight, Policy, Priority, ReadWriteQuota, Serial, TokenBucket
from .core.priority import priority
from .core.redact import Secret
from .core.resources import Resource
from .core.retry import RetryPolicy
from .core.shared import RedisStore
from .observe import ResponseMeta, response_meta
from .ops import AdOps, Advertiser, Campaign, Creative, Entity, LineItem, SourceFailure
from .vendors.adnuntius import Adnuntius
from .vendors.appnexus import AppNexus, LoginBudget
from .vendors.ooyala import OoyalaPulse
from .vendors.pulsepro import PulsePro

__version__ = "0.1.0"
"""This package's version."""

__all__ = [
    "AdOps",
    "AdOpsError",
    "Advertiser",
    "Adnuntius",
    "AnyioClock",
    "AppNexus",
    "AsyncPaginator",
    "Auth",
    "AuthError",
    "BaseClient",
    "Call",
    "Campaign",
    "ClientClosed",
    "Clock",
    "Codec",
    "Conflict",
    "Cooldown",
    "Creative",
    "DecodeError",
    "Dialect",
    "Entity",
    "ErrorContext",
    "ErrorInfo",
    "Gate",
    "GateWaitTooLong",
    "HeaderAuth",
    "IncompleteData",
    "IntegrityError",
    "JobSlots",
    "InvalidCredential",
    "LeaseLost",
    "Limiter",
    "JsonCodec",
    "Kind",
    "LineItem",
    "LoginBudget",
    "MaxInFlight",
    "MemoryStore",
    "NoAuth",
    "NotFound",
    "OoyalaPulse",
    "OffsetPaging",
    "Page",
    "PageNumberPaging",
    "PageRequest",
    "PagingStyle",
    "PermissionDenied",
    "Policy",
    "Priority",
    "PulsePro",
    "QuotaExceeded",
    "QuotaStoreUnavailable",
    "RateLimited",
    "RedisStore",
    "ReadWriteQuota",
    "Reply",
    "ResponseMeta",
    "Resource",
    "RetryPolicy",
    "ScaledClock",
    "Secret",
    "Serial",
    "ServerError",
    "SinglePage",
    "SourceFailure",
    "Token",
    "TokenAuth",
    "TokenBucket",
    "TransportError",
    "ValidationFailed",
    "VendorModel",
    "VirtualClock",
    "XmlCodec",
    "__version__",
    "observe",
    "priority",
    "response_meta",
]
