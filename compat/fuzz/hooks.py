"""Checks schemathesis runs on every answer Tessera gives, besides its own
`not_a_server_error`: every error is Clerk's JSON envelope, and every answer to
a request with an Origin (the Frontend API run sends one) carries CORS headers."""

import json

import schemathesis


@schemathesis.check
def clerk_error_envelope(ctx, response, case):
    """4xx and 5xx answers are {"errors": [{code, message, long_message, meta}]}."""
    if response.status_code < 400:
        return
    content_type = (response.headers.get("content-type") or [""])[0]
    if not content_type.startswith("application/json"):
        raise AssertionError(f"{response.status_code} answered as {content_type!r}, not JSON")
    try:
        body = json.loads(response.content)
    except ValueError as e:
        raise AssertionError(f"{response.status_code} with a body that is not JSON: {e}") from e
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not errors:
        raise AssertionError(f"{response.status_code} without an errors list: {body!r:.200}")
    for err in errors:
        for key in ("code", "message", "long_message"):
            if not isinstance(err.get(key), str):
                raise AssertionError(f"error without a string {key}: {err!r:.200}")
        if not isinstance(err.get("meta"), dict):
            raise AssertionError(f"error without a meta object: {err!r:.200}")


@schemathesis.check
def cors_when_asked(ctx, response, case):
    """A request with an Origin gets Access-Control-Allow-Origin back, errors included."""
    sent = {k.lower(): v for k, v in (response.request.headers or {}).items()}
    if "origin" not in sent:
        return
    allowed = response.headers.get("access-control-allow-origin")
    if not allowed or allowed[0] != sent["origin"]:
        raise AssertionError(f"{response.status_code} without CORS for origin {sent['origin']}")
