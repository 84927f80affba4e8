"""AppNexus judged by the vendor's own documentation: every example payload under fixtures/appnexus/ (each names the
page it comes from) parses through the models and round-trips through ``to_payload``, the client reads each answer
as the page shows it (served over a real socket), and the sandbox answers in the same shapes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from adops_async import AuthError
from adops_async.core.models import VendorModel
from adops_async.sandbox import Request, Response, Sandbox, route, serve
from adops_async.sandbox.appnexus import AppNexusSandbox
from adops_async.vendors import appnexus
from adops_async.vendors.appnexus import AppNexus, AppNexusReportJob

pytestmark = pytest.mark.anyio

FIXTURES = Path(__file__).parent / "fixtures" / "appnexus"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


def answer(name: str) -> dict[str, Any]:
    inner: dict[str, Any] = fixture(name)["answer"]["response"]
    return inner


def test_every_fixture_names_its_page() -> None:
    names = sorted(p.name for p in FIXTURES.glob("*.json"))
    assert len(names) >= 10
    for name in names:
        data = fixture(name)
        assert data["source"].startswith("https://learn.microsoft.com/en-us/xandr/"), name
        assert data["note"], name
        assert data["request"].split()[0] in {"GET", "POST", "PUT", "DELETE"}, name


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.json") if "model" in fixture(p.name)))
def test_documented_objects_parse_and_round_trip_without_loss(name: str) -> None:
    data = fixture(name)
    model: type[VendorModel] = getattr(appnexus, data["model"])
    documented = data["answer"]["response"][data["key"]]
    parsed = model.model_validate(documented)
    assert parsed.to_payload() == documented
    assert parsed.id == int(documented["id"])


class Replay(Sandbox):
    """Answers each request with the documented example for it (nothing else): the pages' shapes, byte for byte."""

    vendor = "appnexus-docs"

    @route("POST", "/auth")
    async def auth(self, request: Request) -> Response:
        wrong = request.json()["auth"]["username"] == "wrong"
        return Response.json(fixture("error_noauth.json" if wrong else "auth.json")["answer"])

    @route("GET", "/member")
    async def member(self, request: Request) -> Response:
        return Response.json(fixture("member_get.json")["answer"])

    @route("PUT", "/member")
    async def member_put(self, request: Request) -> Response:
        return Response.json(fixture("member_put.json")["answer"])

    @route("GET", "/user")
    async def user(self, request: Request) -> Response:
        assert request.arg("current") is not None
        return Response.json(fixture("user_current.json")["answer"])

    @route("PUT", "/creative")
    async def creative(self, request: Request) -> Response:
        return Response.json(fixture("creative_put.json")["answer"])

    @route("PUT", "/thirdparty-pixel")
    async def pixel(self, request: Request) -> Response:
        return Response.json(fixture("thirdparty_pixel_put.json")["answer"])

    @route("DELETE", "/deal")
    async def deal(self, request: Request) -> Response:
        return Response.json(fixture("deal_delete.json")["answer"])

    @route("GET", "/media-type")
    async def media_types(self, request: Request) -> Response:
        return Response.json(fixture("media_type_list.json")["answer"])

    @route("POST", "/report")
    async def report(self, request: Request) -> Response:
        return Response.json(fixture("report_post.json")["answer"])

    @route("GET", "/report")
    async def report_status(self, request: Request) -> Response:
        return Response.json(fixture("report_ready.json")["answer"])


async def test_the_client_reads_every_documented_answer() -> None:
    with serve(Replay()) as url:
        async with AppNexus(username="api-user", password="secret", base_url=url) as an:
            member = await an.current_member()
            assert (member.id, member.name, member.timezone) == (186, "My Network", "EST5EDT")
            user = await an.current_user()
            assert (user.id, user.username, user.user_type) == (14311, "rloveland", "admin")
            body = fixture("creative_put.json")["body"]["creative"]
            creative = await an.creatives.update(503577, body)
            assert creative.id == 503577
            assert [p["id"] for p in creative.model_extra["pixels"]] == [196, 197]  # type: ignore[index]
            updated = await an.members.update(185, {"reselling_exposure": "public"})  # answers only a status
            assert (updated.id, updated.model_extra) == (185, {"reselling_exposure": "public"})
            pixel = await an.resource("thirdparty-pixel").update(123, {"advertisers": [{"id": 789}]})
            assert pixel.id == 123
            await an.resource("deal").delete(61)
            kinds = [m async for m in an.resource("media-type").list()]
            assert [(m.id, m.name) for m in kinds] == [(1, "Banner")]
            job = await an.reports.submit(report_type="network_analytics", columns=["day"], report_interval="today")
            assert isinstance(job, AppNexusReportJob)
            assert job.id == "ca9955709eade9a0e89f5cda5345c12r"
            assert await job.check()
            assert job.info["row_count"] == "35"
            assert an.report_slots.held(an.clock.now()) == 0
        async with AppNexus(username="wrong", password="x", base_url=url) as refused:
            with pytest.raises(AuthError, match="No match found"):
                await refused.current_member()


def same_shape(documented: Any, answered: Any, where: str = "response") -> list[str]:
    """Where ``answered`` lacks a key the documented example has, or holds another JSON type (a documented ``null``
    matches anything; an empty documented list or object matches any list or object)."""
    if documented is None:
        return []
    if isinstance(documented, dict):
        if not isinstance(answered, dict):
            return [f"{where}: an object is documented, {type(answered).__name__} answered"]
        gaps = [f"{where}.{key}: missing" for key in documented if key not in answered]
        return gaps + [
            gap for key in documented if key in answered for gap in same_shape(documented[key], answered[key], key)
        ]
    if isinstance(documented, list):
        if not isinstance(answered, list):
            return [f"{where}: a list is documented, {type(answered).__name__} answered"]
        return same_shape(documented[0], answered[0], f"{where}[0]") if documented and answered else []
    kinds = (bool, int, float, str)
    expected = next(k for k in kinds if isinstance(documented, k))
    return [] if type(answered) is expected else [f"{where}: {expected.__name__} documented, {answered!r} answered"]


async def test_the_sandbox_answers_in_the_documented_shapes() -> None:
    app = AppNexusSandbox(report_delay=0)
    creative = app.add("creative", name=None, brand_id=1, media_url="https://creative.com/300x250", pixels=[])
    deal = app.add("deal", name="a deal")
    with serve(app) as url:
        async with httpx.AsyncClient(base_url=url) as http:
            login = await http.post("/auth", json={"auth": {"username": "api-user", "password": "secret"}})
            auth = {"authorization": login.json()["response"]["token"]}

            async def call(method: str, path: str, body: Any = None) -> Any:
                sent = await http.request(method, path, json=body, headers=auth)
                return sent.json()["response"]

            shapes = {
                "auth.json": login.json()["response"],
                "member_get.json": await call("GET", "/member"),
                "user_current.json": await call("GET", "/user?current&fields=username,user_type,id"),
                "creative_put.json": await call(
                    "PUT", f"/creative?id={creative['id']}", fixture("creative_put.json")["body"]
                ),
                "deal_delete.json": await call("DELETE", f"/deal?id={deal['id']}"),
                "report_post.json": await call("POST", "/report", fixture("report_post.json")["body"]),
            }
            report_id = shapes["report_post.json"]["report_id"]
            shapes["report_ready.json"] = await call("GET", f"/report?id={report_id}")
            shapes["error_noauth.json"] = (
                await http.post("/auth", json={"auth": {"username": "api-user", "password": "Wr0ngP@ss"}})
            ).json()["response"]
    for name, answered in shapes.items():
        documented = answer(name)
        key = fixture(name).get("key")
        if key:  # the envelope is the shape; the object's fields are the sandbox's data (an object, id an int)
            documented = {**documented, key: {}}
            assert isinstance(answered[key]["id"], int), name
        assert same_shape(documented, answered) == [], name
    assert shapes["deal_delete.json"]["start_element"] is None
    assert app.violations == []
