"""Ad API asset upload as the asset examples show it (issue 17): bytes go as octet-stream with ``?fileName=``,
videos to ``v1/assets/video``, other files to ``v1/assets/resource``; on a real socket, judged by the sandbox."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from adops_async import ValidationFailed
from adops_async.sandbox import serve
from adops_async.sandbox.ooyala import OoyalaSandbox
from adops_async.vendors.ooyala import OoyalaPulse

pytestmark = pytest.mark.anyio

KEY = "sandbox-key"


@pytest.fixture
def served() -> Iterator[tuple[OoyalaSandbox, str]]:
    app = OoyalaSandbox()
    with serve(app) as url:
        yield app, url


async def test_bytes_go_with_file_name_and_each_kind_to_its_endpoint(served: tuple[OoyalaSandbox, str]) -> None:
    app, url = served
    async with OoyalaPulse(api_key=KEY, base_url=url) as pulse:
        video = await pulse.assets.upload_video("clip.mov", data=b"\x00" * 64)
        image = await pulse.assets.upload_resource("banner.png", data=b"\x89PNG" * 8)
        routed_video = await pulse.assets.upload("spot.mp4", data=b"\x01" * 16)
        routed_image = await pulse.assets.upload("logo.jpg", download_uri="https://cdn.test/logo.jpg")
        metadata = await pulse.assets.get(video)
        resource = await pulse.assets.get(image)
        with pytest.raises(ValidationFailed, match="extension"):
            await pulse.assets.upload_video("banner.png", data=b"\x00")
    assert {a: app.assets[a]["kind"] for a in (video, image, routed_video, routed_image)} == {
        video: "video",
        image: "resource",
        routed_video: "video",
        routed_image: "resource",
    }
    assert app.assets[video]["name"] == "clip.mov"
    assert app.assets[video]["source"] == "64 bytes"
    assert (metadata.id, metadata.name, metadata.transcoding_status) == (video, "clip.mov", "INITIAL")
    assert resource.transcoding_status == "NOT_AVAILABLE"
    posts = [r.path for r in app.records if r.method == "POST"]
    video_post, resource_post = "/v1/assets/video", "/v1/assets/resource"
    assert posts == [video_post, resource_post, video_post, resource_post, video_post]  # the refused one last
    assert app.violations == []


async def test_the_sandbox_wants_file_name_not_name(served: tuple[OoyalaSandbox, str]) -> None:
    app, url = served
    octet = {"x-o-api-key": KEY, "content-type": "application/octet-stream"}
    async with httpx.AsyncClient(base_url=url, headers=octet) as http:
        by_name = await http.post("/v1/assets/video", params={"name": "clip.mp4"}, content=b"\x00" * 8)
        quoted = await http.post("/v1/assets/video", params={"fileName": "'videoname.mp4'"}, content=b"\x00" * 8)
    assert by_name.status_code == 400
    assert "fileName" in by_name.json()["message"]
    assert quoted.status_code == 201  # the docs' example writes the name in quotes
    assert [a["name"] for a in app.assets.values()] == ["videoname.mp4"]
