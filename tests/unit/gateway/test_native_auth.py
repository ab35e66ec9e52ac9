"""HTTP Basic with the gateway's access keys."""

from __future__ import annotations

import base64

import pytest

from gateway.credentials import Credentials
from gateway.native.auth import authenticate
from gateway.native.errors import NativeError

CREDS = Credentials("AKROOT", "s3cr3t")


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_valid_credentials_return_the_access_key():
    assert authenticate(basic("AKROOT", "s3cr3t"), CREDS) == "AKROOT"
    assert authenticate("basic " + basic("AKROOT", "s3cr3t")[6:], CREDS) == "AKROOT"


def test_secret_may_contain_colons():
    creds = Credentials("AK", "a:b:c")
    assert authenticate(basic("AK", "a:b:c"), creds) == "AK"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer token",
        "Basic !!!notbase64",
        "Basic " + base64.b64encode(b"nocolon").decode(),
    ],
)
def test_missing_or_malformed_credentials_are_401_with_a_challenge(header):
    with pytest.raises(NativeError) as exc:
        authenticate(header, CREDS)
    assert exc.value.status == 401
    assert exc.value.headers["www-authenticate"].startswith("Basic ")


@pytest.mark.parametrize(
    ("user", "password"), [("AKROOT", "wrong"), ("NOBODY", "s3cr3t"), ("AKROOT", "")]
)
def test_wrong_credentials_are_403(user, password):
    with pytest.raises(NativeError) as exc:
        authenticate(basic(user, password), CREDS)
    assert exc.value.status == 403
    assert exc.value.code == "forbidden"
