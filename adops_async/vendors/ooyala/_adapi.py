"""The Ad API (``/v1``, JSON, ``x-o-api-key``): ads, video assets and other assets (docs/vendors/ooyala.md).

``PUT /v1/ads`` carries the id in the body and, "when updating an ad (PUT request), all fields must be set", so
:meth:`Ads.update` is read-modify-write like the Booking API, and :meth:`Ads.replace` is the explicit full write.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from ...core.client import BaseClient
from ...core.errors import DecodeError, ValidationFailed
from ...core.policies import Priority
from ...core.resources import Resource
from ._booking import KeyedLocks
from ._dialect import JSON_CODEC
from ._models import Ad, Asset

__all__ = ["VIDEO_EXTENSIONS", "Ads", "Assets", "id_from_location"]


def id_from_location(location: str | None, *, vendor: str = "ooyala") -> str:
    """The id at the end of a ``Location`` header (``.../v1/assets/<id>``), as the public Java client reads it."""
    found = (location or "").split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    if not found:
        raise DecodeError("the response had no Location with the new id", vendor=vendor)
    return found


class Ads(Resource[Ad]):
    """``/v1/ads``: create, get, update (read-modify-write), replace."""

    def __init__(self, client: BaseClient) -> None:
        super().__init__(client, "v1/ads", Ad)
        self._locks = KeyedLocks()

    def _body(self, obj: Ad | Mapping[str, Any]) -> dict[str, Any]:
        if isinstance(obj, Ad):
            return obj.to_payload()
        try:
            return Ad.model_validate(dict(obj)).to_payload()
        except ValueError as exc:
            raise ValidationFailed(f"bad Ad fields: {exc}", vendor=self.client.vendor) from None

    async def get(self, id: Any, *, priority: Priority | None = None) -> Ad:
        reply = await self.client.request("GET", self.item_url(id), codec=JSON_CODEC, priority=priority)
        return self.parse(reply.data)

    async def create(self, obj: Ad | Mapping[str, Any], *, priority: Priority | None = None) -> Ad:
        """``POST /v1/ads`` -> ``201`` + ``Location``, body = the ad."""
        body = self._body(obj)
        reply = await self.client.request("POST", self.path, payload=body, codec=JSON_CODEC, priority=priority)
        if isinstance(reply.data, Mapping):
            return self.parse(reply.data)
        return self.parse({**body, "id": id_from_location(reply.headers.get("location"))})

    async def replace(self, obj: Ad | Mapping[str, Any], *, priority: Priority | None = None) -> Ad:
        """``PUT /v1/ads`` with every field; the id goes in the body. Fields left out are not kept."""
        body = self._body(obj)
        if not body.get("id"):
            raise ValidationFailed("replace() needs the ad's id", vendor=self.client.vendor)
        reply = await self.client.request("PUT", self.path, payload=body, codec=JSON_CODEC, priority=priority)
        return self.parse(reply.data if isinstance(reply.data, Mapping) else body)

    async def update(self, id: Any, changes: Ad | Mapping[str, Any], *, priority: Priority | None = None) -> Ad:
        """Change some fields and keep the rest: GET the ad, merge, PUT it whole."""
        delta = self._body(changes)
        async with self._locks.hold(str(id)):
            reply = await self.client.request("GET", self.item_url(id), codec=JSON_CODEC, priority=priority)
            current = dict(reply.data or {})
            return await self.replace({**current, **delta, "id": current.get("id", str(id))}, priority=priority)


VIDEO_EXTENSIONS = (".mp4", ".mov", ".webm", ".flv", ".avi", ".mpg", ".mpeg", ".wmv", ".m4v")
"""File names :meth:`Assets.upload` sends to ``v1/assets/video``; every other file goes to ``v1/assets/resource``."""


class Assets:
    """``/v1/assets``: upload by URL (``downloadUri``) or by bytes; the new id comes from ``Location``.

    Per the Ad API asset examples (docs/vendors/ooyala.md): videos go to ``POST v1/assets/video`` and are transcoded
    only once attached to an ad; other files (images, flash) to ``POST v1/assets/resource`` and are never
    transcoded. Bytes travel as ``application/octet-stream`` with the file name in ``?fileName=``; by URL, the JSON
    body is ``{"name", "downloadUri"}``. Either way the name must carry the right extension (``.mp4``).
    """

    def __init__(self, client: BaseClient) -> None:
        self.client = client
        """The client every request goes through."""

    async def upload(
        self,
        name: str,
        *,
        download_uri: str | None = None,
        data: bytes | None = None,
        priority: Priority | None = None,
    ) -> str:
        """Create an asset where its name says it belongs (a video extension: video, else resource); its id."""
        kind = "video" if name.lower().endswith(VIDEO_EXTENSIONS) else "resource"
        return await self._upload(kind, name, download_uri, data, priority)

    async def upload_video(
        self,
        name: str,
        *,
        download_uri: str | None = None,
        data: bytes | None = None,
        priority: Priority | None = None,
    ) -> str:
        """Create a video asset (``v1/assets/video``); return its id."""
        return await self._upload("video", name, download_uri, data, priority)

    async def upload_resource(
        self,
        name: str,
        *,
        download_uri: str | None = None,
        data: bytes | None = None,
        priority: Priority | None = None,
    ) -> str:
        """Create a non-video asset, an image or a flash file (``v1/assets/resource``); return its id."""
        return await self._upload("resource", name, download_uri, data, priority)

    async def get(self, id: str, *, priority: Priority | None = None) -> Asset:
        """An asset's metadata: name and transcoding status (``GET v1/assets/<id>``)."""
        url = f"v1/assets/{quote(id, safe='')}"
        reply = await self.client.request("GET", url, codec=JSON_CODEC, priority=priority)
        try:
            return Asset.model_validate(reply.data)
        except ValueError as exc:
            raise DecodeError(f"unexpected asset shape: {exc}", vendor=self.client.vendor) from None

    async def _upload(
        self, kind: str, name: str, download_uri: str | None, data: bytes | None, priority: Priority | None
    ) -> str:
        if (download_uri is None) == (data is None):
            raise ValidationFailed("give exactly one of download_uri= or data=", vendor=self.client.vendor)
        if download_uri is not None:
            reply = await self.client.request(
                "POST",
                f"v1/assets/{kind}",
                payload={"name": name, "downloadUri": download_uri},
                codec=JSON_CODEC,
                priority=priority,
            )
        else:
            reply = await self.client.request(
                "POST",
                f"v1/assets/{kind}",
                params={"fileName": name},
                content=data,
                headers={"Content-Type": "application/octet-stream"},
                codec=JSON_CODEC,
                priority=priority,
            )
        return id_from_location(reply.headers.get("location"), vendor=self.client.vendor)
