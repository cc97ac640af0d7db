"""Sessions, session tokens, clients and the JWKS through clerk-backend-api 7.0.0
(clerk.sessions.*, clerk.clients.*, clerk.jwks.get_jwks)."""

from __future__ import annotations

import time

import jwt
import pytest
from clerk_backend_api import models

from conftest import id_pattern, keys_file_json


@pytest.fixture
def user_session(clerk, make_user):
    user = make_user()
    session = clerk.sessions.create(request={"user_id": user.id})
    return user, session


def _verify_with_jwks(clerk, token: str) -> dict:
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    jwks = clerk.jwks.get_jwks()
    matching = [k for k in (jwks.keys or []) if k.kid == header["kid"]]
    assert matching, f"no key with kid {header['kid']} in GET /v1/jwks"
    key = jwt.PyJWK(matching[0].model_dump(exclude_none=True))
    return jwt.decode(token, key=key.key, algorithms=["RS256"], leeway=5, options={"verify_aud": False})


def test_create_session(clerk, user_session):
    user, session = user_session
    assert isinstance(session, models.Session)
    assert session.object == models.SessionObject.SESSION
    assert id_pattern("sess").match(session.id)
    assert session.user_id == user.id
    assert id_pattern("client").match(session.client_id)
    assert session.status == models.Status.ACTIVE
    now_ms = int(time.time() * 1000)
    assert session.expire_at > now_ms
    assert session.abandon_at >= session.expire_at
    assert isinstance(session.last_active_at, int)


def test_create_session_for_missing_user_is_404(clerk):
    with pytest.raises(models.ClerkErrors) as exc:
        clerk.sessions.create(request={"user_id": "user_2xxxxxxxxxxxxxxxxxxxxxxxxxx"})
    assert exc.value.status_code == 404


def test_get_and_list_sessions(clerk, user_session):
    user, session = user_session
    got = clerk.sessions.get(session_id=session.id)
    assert isinstance(got, models.Session)
    assert got.id == session.id
    assert got.client_id == session.client_id
    assert got.status == models.Status.ACTIVE

    # Without `paginated` the list is a bare JSON array (bapi.yml Session.List).
    by_user = clerk.sessions.list(user_id=user.id)
    assert [s.id for s in by_user] == [session.id]
    assert all(isinstance(s, models.Session) for s in by_user)
    by_client = clerk.sessions.list(client_id=session.client_id)
    assert session.id in [s.id for s in by_client]
    active = clerk.sessions.list(user_id=user.id, status=models.QueryParamStatus.ACTIVE)
    assert [s.id for s in active] == [session.id]
    assert clerk.sessions.list(user_id=user.id, status=models.QueryParamStatus.REVOKED) == []


def test_create_token_and_verify_against_jwks_and_pem(clerk, user_session):
    user, session = user_session
    token = clerk.sessions.create_token(session_id=session.id)
    assert isinstance(token, models.CreateSessionTokenResponseBody)
    assert token.object == models.CreateSessionTokenObject.TOKEN
    assert token.jwt and token.jwt.count(".") == 2

    claims = _verify_with_jwks(clerk, token.jwt)
    assert claims["sub"] == user.id
    assert claims["sid"] == session.id
    assert claims["v"] == 2
    for k in ("iat", "nbf", "exp"):
        assert isinstance(claims[k], int)
    assert abs(claims["iat"] - time.time()) < 300
    assert claims["exp"] > claims["iat"]

    # The PEM printed by `tessera keys` verifies the same token.
    pem = keys_file_json().get("public_key_pem")
    assert pem, "`tessera keys` printed no public_key_pem"
    claims2 = jwt.decode(token.jwt, key=pem, algorithms=["RS256"], leeway=5, options={"verify_aud": False})
    assert claims2["sid"] == session.id


def test_tampered_token_is_rejected(clerk, user_session):
    _, session = user_session
    token = clerk.sessions.create_token(session_id=session.id).jwt
    header, payload, signature = token.split(".")
    forged_payload = jwt.utils.base64url_encode(
        jwt.utils.base64url_decode(payload).replace(session.id.encode(), b"sess_2aaaaaaaaaaaaaaaaaaaaaaaaaa")
    ).decode()
    forged = ".".join([header, forged_payload, signature])
    with pytest.raises(jwt.InvalidSignatureError):
        _verify_with_jwks(clerk, forged)


def test_revoke_session_then_no_token(clerk, user_session):
    user, session = user_session
    clerk.sessions.create_token(session_id=session.id)
    revoked = clerk.sessions.revoke(session_id=session.id)
    assert isinstance(revoked, models.Session)
    assert revoked.id == session.id
    assert revoked.status == models.Status.REVOKED
    assert clerk.sessions.get(session_id=session.id).status == models.Status.REVOKED
    with pytest.raises(models.ClerkBaseError) as exc:
        clerk.sessions.create_token(session_id=session.id)
    assert 400 <= exc.value.status_code < 500
    assert clerk.sessions.list(user_id=user.id, status=models.QueryParamStatus.ACTIVE) == []


def test_create_token_for_missing_session_is_404(clerk):
    with pytest.raises(models.ClerkErrors) as exc:
        clerk.sessions.create_token(session_id="sess_2xxxxxxxxxxxxxxxxxxxxxxxxxx")
    assert exc.value.status_code == 404


def test_get_client(clerk, user_session):
    _, session = user_session
    client = clerk.clients.get(client_id=session.client_id)
    assert isinstance(client, models.Client)
    assert client.id == session.client_id
    assert session.id in client.session_ids
    assert session.id in [s.id for s in client.sessions]
    assert isinstance(client.created_at, int)


def test_list_clients(clerk, user_session):
    _, session = user_session
    try:
        clients = clerk.clients.list(limit=500)
    except models.ClerkErrors as e:
        if e.status_code == 410:
            pytest.skip("GET /v1/clients answers 410 (deprecated endpoint, allowed by bapi.yml)")
        raise
    assert all(isinstance(c, models.Client) for c in clients)
    assert session.client_id in [c.id for c in clients]


def test_get_jwks(clerk):
    jwks = clerk.jwks.get_jwks()
    assert isinstance(jwks, models.Jwks)
    assert jwks.keys, "JWKS has at least one key"
    for key in jwks.keys:
        assert key.kty == "RSA"
        assert key.alg == "RS256"
        assert key.use == "sig"
        assert key.kid
        assert key.n
        assert key.e == "AQAB"


def _force_organization_selection(on: bool) -> None:
    # Tessera's own setting: the SDK's update_organization_settings has no parameter for it.
    import json
    import urllib.request

    from conftest import API_URL, SECRET_KEY

    req = urllib.request.Request(
        f"{API_URL}/v1/instance/organization_settings",
        data=json.dumps({"enabled": True, "force_organization_selection": on}).encode(),
        headers={"authorization": f"Bearer {SECRET_KEY}", "content-type": "application/json"},
        method="PATCH",
    )
    with urllib.request.urlopen(req) as resp:
        assert resp.status == 200


def test_pending_session_with_forced_organization_selection(clerk, make_user):
    user = make_user()
    _force_organization_selection(True)
    try:
        pending = clerk.sessions.create(request={"user_id": user.id})
        assert pending.status == models.Status.PENDING
        assert [t.key for t in pending.tasks or []] == ["choose-organization"]
        token = clerk.sessions.create_token(session_id=pending.id)
        assert jwt.decode(token.jwt, options={"verify_signature": False})["sts"] == "pending"

        org = clerk.organizations.create(request={"name": "Pending Co", "created_by": user.id})
        try:
            chosen = clerk.sessions.create(request={"user_id": user.id, "active_organization_id": org.id})
            assert chosen.status == models.Status.ACTIVE
            assert not chosen.tasks
            claims = jwt.decode(
                clerk.sessions.create_token(session_id=chosen.id).jwt, options={"verify_signature": False}
            )
            assert claims["sts"] == "active"
            assert claims["o"]["id"] == org.id
        finally:
            clerk.organizations.delete(organization_id=org.id)
        # The first session is still pending: nothing chose for it.
        assert clerk.sessions.get(session_id=pending.id).status == models.Status.PENDING
    finally:
        _force_organization_selection(False)
