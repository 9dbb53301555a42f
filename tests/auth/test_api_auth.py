"""Bearer tokens, the caller's profile, wrong passwords, throttling and role checks (API)."""

from __future__ import annotations

import httpx

from tests.factories import PASSWORD, api_token, make_opd, make_user


async def test_token_by_nip_and_email_then_me(client: httpx.AsyncClient) -> None:
    make_opd(code="DINKES", name="Dinas Kesehatan")
    user = make_user(nip="199001012015031002", email="dewi@example.go.id", opd_code="DINKES")
    for username in ("199001012015031002", "DEWI@example.go.id", "19900101 201503 1 002"):
        headers = await api_token(client, username)
        me = await client.get("/api/v1/me", headers=headers)
        assert me.status_code == 200
        body = me.json()
        assert body["id"] == user.id
        assert body["nip"] == "199001012015031002"
        assert body["roles"] == ["learner"]
        assert body["opd"] == {"code": "DINKES", "name": "Dinas Kesehatan"}
    token = (
        await client.post("/api/v1/auth/token", data={"username": user.email, "password": PASSWORD})
    ).json()
    assert token["token_type"] == "bearer" and token["expires_in"] > 0


async def test_wrong_password_is_401_with_clear_error(client: httpx.AsyncClient) -> None:
    user = make_user()
    response = await client.post(
        "/api/v1/auth/token", data={"username": user.email, "password": "salah-sekali-123"}
    )
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_credentials",
        "detail": "NIP/email atau kata sandi salah.",
    }
    unknown = await client.post(
        "/api/v1/auth/token", data={"username": "nobody@example.go.id", "password": "x"}
    )
    assert unknown.status_code == 401


async def test_me_without_token_is_401(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/me")).status_code == 401
    bad = await client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401
    assert bad.json()["error"] == "invalid_token"


async def test_login_throttled_per_account_with_retry_after(
    client: httpx.AsyncClient, settings
) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    for _ in range(settings.login_max_failures_per_account):
        r = await client.post(
            "/api/v1/auth/token", data={"username": user.email, "password": "wrong"}
        )
        assert r.status_code == 401
    # Even the right password is refused while the account is locked, via NIP as well.
    for username in (user.email, user.nip):
        locked = await client.post(
            "/api/v1/auth/token", data={"username": username, "password": PASSWORD}
        )
        assert locked.status_code == 429
        assert locked.json()["error"] == "too_many_attempts"
        assert 0 < int(locked.headers["Retry-After"]) <= settings.login_window_seconds + 1
    # Another account from the same address is still allowed (below the address limit).
    other = make_user()
    assert (
        await client.post(
            "/api/v1/auth/token", data={"username": other.email, "password": PASSWORD}
        )
    ).status_code == 200


async def test_login_throttled_per_address(
    client: httpx.AsyncClient, settings, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(settings, "login_max_failures_per_address", 3)
    for i in range(3):
        r = await client.post(
            "/api/v1/auth/token", data={"username": f"guess{i}@x.id", "password": "x"}
        )
        assert r.status_code == 401
    user = make_user()
    blocked = await client.post(
        "/api/v1/auth/token", data={"username": user.email, "password": PASSWORD}
    )
    assert blocked.status_code == 429
    assert "Retry-After" in blocked.headers


async def test_throttle_survives_a_new_app_instance(client: httpx.AsyncClient, settings) -> None:  # type: ignore[no-untyped-def]
    """Counts live in the database, so another worker process sees them."""
    from app.main import create_app

    user = make_user()
    for _ in range(settings.login_max_failures_per_account):
        await client.post("/api/v1/auth/token", data={"username": user.email, "password": "wrong"})
    transport = httpx.ASGITransport(app=create_app(), client=("198.51.100.7", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as second:
        r = await second.post(
            "/api/v1/auth/token", data={"username": user.email, "password": PASSWORD}
        )
    assert r.status_code == 429


async def test_success_clears_account_failures(client: httpx.AsyncClient, settings) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    for _ in range(settings.login_max_failures_per_account - 1):
        await client.post("/api/v1/auth/token", data={"username": user.email, "password": "wrong"})
    await api_token(client, user.email)
    for _ in range(settings.login_max_failures_per_account - 1):
        r = await client.post(
            "/api/v1/auth/token", data={"username": user.email, "password": "wrong"}
        )
        assert r.status_code == 401


async def test_learner_calling_admin_endpoints_is_403(client: httpx.AsyncClient) -> None:
    learner = make_user(roles=("learner",))
    headers = await api_token(client, learner.email)
    for method, path, kwargs in (
        ("POST", "/api/v1/opds", {"json": {"code": "X", "name": "X"}}),
        ("POST", "/api/v1/users", {"json": {"nip": "199001012015031002", "name": "A"}}),
        ("GET", "/api/v1/users", {}),
        ("POST", "/api/v1/users/import", {"files": {"file": ("a.csv", b"NIP\n", "text/csv")}}),
    ):
        r = await client.request(method, path, headers=headers, **kwargs)
        assert r.status_code == 403, (path, r.text)
        assert r.json()["error"] == "forbidden_role"


async def test_learner_reads_only_own_user_record(client: httpx.AsyncClient) -> None:
    me = make_user()
    other = make_user()
    officer = make_user(roles=("training_officer",))
    headers = await api_token(client, me.email)
    assert (await client.get(f"/api/v1/users/{me.id}", headers=headers)).status_code == 200
    assert (await client.get(f"/api/v1/users/{other.id}", headers=headers)).status_code == 403
    staff = await api_token(client, officer.email)
    assert (await client.get(f"/api/v1/users/{other.id}", headers=staff)).status_code == 200


async def test_deactivation_ends_tokens_and_blocks_login(client: httpx.AsyncClient) -> None:
    admin = make_user(roles=("admin",))
    user = make_user()
    user_headers = await api_token(client, user.email)
    admin_headers = await api_token(client, admin.email)
    r = await client.patch(
        f"/api/v1/users/{user.id}", json={"is_active": False}, headers=admin_headers
    )
    assert r.status_code == 200 and r.json()["is_active"] is False
    assert (await client.get("/api/v1/me", headers=user_headers)).status_code == 401
    again = await client.post(
        "/api/v1/auth/token", data={"username": user.email, "password": PASSWORD}
    )
    assert again.status_code == 403
    assert again.json()["error"] == "account_inactive"


async def test_openapi_and_health(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/api/v1/openapi.json")).json()
    for path in (
        "/api/v1/auth/token",
        "/api/v1/me",
        "/api/v1/opds",
        "/api/v1/users",
        "/api/v1/users/import",
    ):
        assert path in spec["paths"]
    health = await client.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "database": "ok", "storage": "ok"}
