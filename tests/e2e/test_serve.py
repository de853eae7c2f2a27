"""The acceptance session: ``moderation serve`` on the embedded database, driven over real HTTP."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from tests.e2e.conftest import Server, run_cli, start_server
from tests.helpers import ABUSIVE, CIVIL, assert_problem, auth


def create_key(data_dir: Path, role: str, name: str) -> str:
    done = run_cli(data_dir, "keys", "create", "--role", role, "--name", name)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


async def test_scripted_session(server: Server) -> None:
    submitter = create_key(server.data_dir, "submitter", "website")
    admin = create_key(server.data_dir, "admin", "ops")
    mod_a = create_key(server.data_dir, "moderator", "alice")
    mod_b = create_key(server.data_dir, "moderator", "bob")
    assert len({submitter, admin, mod_a, mod_b}) == 4

    async with aiohttp.ClientSession(server.url) as http:

        async def submit(body: dict, key: str = submitter) -> tuple[int, dict]:
            async with http.post("/v1/comments", json=body, headers=auth(key)) as resp:
                return resp.status, await resp.json(content_type=None)

        base = {"article_id": "turkey-pakistan", "author_id": "reader-7"}
        status, civil = await submit({**base, "text": CIVIL})
        assert status == 201 and civil["status"] == "approved"

        status, abusive = await submit({**base, "text": ABUSIVE})
        assert status == 201 and abusive["status"] in ("rejected", "pending") and abusive["reasons"]

        s1, once = await submit({**base, "text": CIVIL, "external_id": "ext-1"})
        s2, twice = await submit({**base, "text": CIVIL, "external_id": "ext-1"})
        assert (s1, s2) == (201, 200) and once["id"] == twice["id"]

        async with http.put("/v1/articles/premod-1", json={"mode": "premod"}, headers=auth(admin)) as resp:
            assert resp.status == 200
        status, held = await submit({"article_id": "premod-1", "author_id": "reader-8", "text": CIVIL})
        assert status == 201 and held["status"] == "pending"

        async with http.post(
            "/v1/review/claim", json={"limit": 10, "article_id": "premod-1"}, headers=auth(mod_a)
        ) as resp:
            items = (await resp.json())["items"]
        assert [i["id"] for i in items] == [held["id"]]
        async with http.post(
            f"/v1/review/{held['id']}/decision", json={"decision": "approve"}, headers=auth(mod_b)
        ) as resp:
            assert_problem(resp.status, resp.content_type, await resp.json(), 409, "lease_not_held")
        async with http.post(
            f"/v1/review/{held['id']}/decision", json={"decision": "approve"}, headers=auth(mod_a)
        ) as resp:
            assert resp.status == 200
        async with http.get(f"/v1/comments/{held['id']}", headers=auth(submitter)) as resp:
            detail = await resp.json()
        assert detail["status"] == "approved"
        assert detail["history"][-1]["actor_name"] == "alice"

        async with http.post(
            "/v1/comments", data=b"{oops", headers={**auth(submitter), "Content-Type": "application/json"}
        ) as resp:
            assert_problem(resp.status, resp.content_type, await resp.json(), 400, "invalid_json")
        async with http.post("/v1/comments", json={"article_id": "a", "text": "hi"}, headers=auth(submitter)) as resp:
            problem = await resp.json()
            assert_problem(resp.status, resp.content_type, problem, 422, "validation_error")
            assert problem["errors"][0]["field"] == "author_id"
        async with http.post("/v1/comments", json={**base, "text": "x" * 300_000}, headers=auth(submitter)) as resp:
            assert resp.status in (413, 422)
            assert (await resp.json())["status"] == resp.status
        async with http.post("/v1/comments", json={**base, "text": CIVIL}) as resp:
            assert_problem(resp.status, resp.content_type, await resp.json(), 401, "unauthorized")
        async with http.post("/v1/comments", json={**base, "text": CIVIL}, headers=auth(mod_a)) as resp:
            assert_problem(resp.status, resp.content_type, await resp.json(), 403, "forbidden")


async def test_data_survives_a_restart(data_dir: Path) -> None:
    first = start_server(data_dir, data_dir / "server.log")
    try:
        key = create_key(data_dir, "submitter", "website")
        async with aiohttp.ClientSession(first.url) as http:
            async with http.post(
                "/v1/comments", json={"article_id": "a", "author_id": "u", "text": CIVIL}, headers=auth(key)
            ) as resp:
                created = await resp.json()
                assert resp.status == 201
    finally:
        assert first.stop() == 0, first.log()
    # Start-up ends with the garbage collector settled (MODERATION_GC_TUNING, on by default).
    assert "objects frozen after start-up" in first.log()

    second = start_server(data_dir, data_dir / "server.log")
    try:
        async with aiohttp.ClientSession(second.url) as http:
            async with http.get(f"/v1/comments/{created['id']}", headers=auth(key)) as resp:
                assert resp.status == 200 and (await resp.json())["text"] == CIVIL
    finally:
        second.stop()


async def test_two_services_share_one_data_dir(data_dir: Path) -> None:
    a = start_server(data_dir, data_dir / "a.log")
    b = start_server(data_dir, data_dir / "b.log")
    try:
        key = create_key(data_dir, "submitter", "website")
        async with aiohttp.ClientSession() as http:
            ids = []
            for i, srv in enumerate((a, b, a, b)):
                async with http.post(
                    srv.url + "/v1/comments",
                    json={"article_id": "a", "author_id": "u", "text": f"{CIVIL} {i}", "external_id": f"e{i}"},
                    headers=auth(key),
                ) as resp:
                    assert resp.status == 201
                    ids.append((await resp.json())["id"])
            assert a.stop() == 0
            # b still works after a stopped: a must not have shut the shared database down.
            async with http.get(f"{b.url}/v1/comments/{ids[0]}", headers=auth(key)) as resp:
                assert resp.status == 200
    finally:
        a.stop()
        b.stop()


def test_keys_cli_prints_the_key_alone_on_the_last_line(data_dir: Path) -> None:
    done = run_cli(data_dir, "keys", "create", "--role", "trainer", "--name", "job")
    assert done.returncode == 0, done.stderr
    key = done.stdout.rstrip("\n").splitlines()[-1]
    assert key.startswith("cm_") and " " not in key and len(key) > 40
    listed = run_cli(data_dir, "keys", "list")
    assert "job" in listed.stdout and key not in listed.stdout
    assert run_cli(data_dir, "keys", "revoke", "--name", "job").returncode == 0
    assert run_cli(data_dir, "keys", "revoke", "--name", "job").returncode == 1
