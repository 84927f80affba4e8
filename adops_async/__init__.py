"""adops-async: an async client for ad-operations APIs that never breaks a vendor's request rules.

Every call of a client goes through one pipeline: a gate that enforces the vendor's rule (one request in flight,
N reads per minute, a token bucket, a server-imposed cooldown), credentials, HTTP via httpx, typed errors, and safe
retries. See :mod:`adops_async.gates` for the gate policies and :mod:`adops_async.extend` for the building blocks
of a client of another vendor.
"""

from . import observe
from .core.client import BaseClient
from .core.clock import AnyioClock, Clock, ScaledClock, VirtualClock
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
from .core.jobs import JobQuota, JobTicket
from .core.meters import MemoryStore
from .core.models import VendorModel
from .core.options import ClientOptions
from .core.paging import AsyncPaginator, Page
from .core.policies import Cooldown, Kind, Limiter, MaxInFlight, Policy, Priority, ReadWriteQuota, Serial, TokenBucket
from .core.priority import priority
from .core.redact import Secret
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
    "Adnuntius",
    "Advertiser",
    "AnyioClock",
    "AppNexus",
    "AsyncPaginator",
    "AuthError",
    "BaseClient",
    "Campaign",
    "ClientClosed",
    "ClientOptions",
    "Clock",
    "Conflict",
    "Cooldown",
    "Creative",
    "DecodeError",
    "Entity",
    "ErrorContext",
    "Gate",
    "GateWaitTooLong",
    "IncompleteData",
    "IntegrityError",
    "InvalidCredential",
    "JobQuota",
    "JobTicket",
    "Kind",
    "LeaseLost",
    "Limiter",
    "LineItem",
    "LoginBudget",
    "MaxInFlight",
    "MemoryStore",
    "NotFound",
    "OoyalaPulse",
    "Page",
    "PermissionDenied",
    "Policy",
    "Priority",
    "PulsePro",
    "QuotaExceeded",
    "QuotaStoreUnavailable",
    "RateLimited",
    "ReadWriteQuota",
    "RedisStore",
    "ResponseMeta",
    "RetryPolicy",
    "ScaledClock",
    "Secret",
    "Serial",
    "ServerError",
    "SourceFailure",
    "TokenBucket",
    "TransportError",
    "ValidationFailed",
    "VendorModel",
    "VirtualClock",
    "__version__",
    "observe",
    "priority",
    "response_meta",
]
