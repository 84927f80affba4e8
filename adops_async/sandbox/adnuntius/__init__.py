"""A strict Adnuntius sandbox: ``/api/authenticate`` (password, refresh, 2FA), ``/api/v1/<resource>`` upserts in
transactions, HEAD, hidden objects, ``?id=a;b``, paging with a configurable page base, Translatable Message errors,
multipart asset upload, stats computed from the stored orders and line items, and a per-token rate limit answering
``429`` + ``Retry-After`` on the compressible clock.

Rule judged (:attr:`Sandbox.violations`, rule ``retry-after``): a request sent on a connection that already received
a 429 whose Retry-After window is still open. Such a request was provably sent after the client read "wait", so the
judgement is exact; requests that were already on other connections when the window opened still get 429 (counted
in :attr:`AdnuntiusSandbox.responses_429`) but are not violations, since the client could not have known.
"""

from ._app import AdnuntiusSandbox

__all__ = ["AdnuntiusSandbox"]
