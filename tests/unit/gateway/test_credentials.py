"""The credentials file: parsing, validation, secrets and grants per key."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from gateway.access import Access
from gateway.credentials import Credentials, CredentialsError, load_keys
from sangraha.settings import Settings, SettingsError

TOML = """
# two keys besides the root key
[[keys]]
access_key = "reports"
secret_key = "reports-secret-1"
read = ["reports", "logs"]
write = ["reports"]

[[keys]]
access_key = "auditor"
secret_key = "auditor-secret-1"
read = ["*"]
"""


def _write(tmp_path: Path, text: str, name: str = "keys.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    path.chmod(0o600)
    return path


def _settings(path: Path | str = "") -> Settings:
    return Settings(access_key="ROOTKEY", secret_key="root-secret", credentials_file=str(path))


def test_toml_file_gives_each_key_its_secret_and_grants(tmp_path):
    creds = Credentials.from_settings(_settings(_write(tmp_path, TOML)))
    assert creds.secret_for("reports") == "reports-secret-1"
    assert creds.secret_for("auditor") == "auditor-secret-1"
    reports = creds.grant_for("reports")
    assert reports.allows("logs", Access.READ)
    assert not reports.allows("logs", Access.WRITE)
    assert reports.allows("reports", Access.WRITE)
    auditor = creds.grant_for("auditor")
    assert auditor.allows("anything", Access.READ)
    assert not auditor.allows("anything", Access.WRITE)


def test_json_file_has_the_same_structure(tmp_path):
    document = {
        "keys": [{"access_key": "ingest", "secret_key": "ingest-secret", "write": ["inbox"]}]
    }
    path = _write(tmp_path, json.dumps(document), "keys.json")
    creds = Credentials.from_settings(_settings(path))
    assert creds.secret_for("ingest") == "ingest-secret"
    assert creds.grant_for("ingest").allows("inbox", Access.WRITE)
    assert not creds.grant_for("ingest").allows("inbox", Access.READ)


def test_root_key_may_do_everything_and_stays_without_a_file():
    creds = Credentials.from_settings(_settings())
    assert creds.secret_for("ROOTKEY") == "root-secret"
    assert creds.grant_for("ROOTKEY").root
    assert creds.grant_for("ROOTKEY").allows("any-bucket", Access.WRITE)


def test_unknown_keys_have_no_secret_and_no_grants(tmp_path):
    creds = Credentials.from_settings(_settings(_write(tmp_path, TOML)))
    assert creds.secret_for("nobody") is None
    assert creds.secret_for("") is None
    grant = creds.grant_for("nobody")
    assert not grant.root
    assert not grant.allows("reports", Access.READ)


def test_empty_root_key_matches_nothing():
    creds = Credentials("", "")
    assert creds.secret_for("") is None
    assert not creds.grant_for("").root


def test_secrets_stay_out_of_reprs(tmp_path):
    creds = Credentials.from_settings(_settings(_write(tmp_path, TOML)))
    text = repr(creds) + repr(creds.keys)
    assert "root-secret" not in text
    assert "reports-secret-1" not in text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[keys]]\naccess_key = "a"\nsecret_key = "long-enough"\n', "access_key"),
        ('[[keys]]\naccess_key = "abc"\nsecret_key = "short"\n', "secret_key"),
        ('[[keys]]\naccess_key = "abc"\nsecret_key = "long-enough"\nread = "x"\n', "list"),
        ('[[keys]]\naccess_key = "abc"\nsecret_key = "long-enough"\nread = ["Bad_Name"]\n', "Bad"),
        ('[[keys]]\naccess_key = "abc"\nsecret_key = "long-enough"\nwirte = ["b1b"]\n', "wirte"),
        (
            '[[keys]]\naccess_key = "abc"\nsecret_key = "long-enough"\n'
            '[[keys]]\naccess_key = "abc"\nsecret_key = "long-enough"\n',
            "twice",
        ),
        ('keys = "abc"\n', "list"),
        ('[other]\nx = 1\n', "top-level"),
        ("not toml at all [", "not valid"),
    ],
)
def test_malformed_files_are_refused_with_the_reason(tmp_path, text, message):
    with pytest.raises(CredentialsError, match=message):
        load_keys(_write(tmp_path, text))


def test_malformed_json_is_refused(tmp_path):
    with pytest.raises(CredentialsError, match="not valid"):
        load_keys(_write(tmp_path, "{", "keys.json"))


def test_missing_file_is_a_settings_error(tmp_path):
    with pytest.raises(SettingsError, match="cannot read"):
        Credentials.from_settings(_settings(tmp_path / "absent.toml"))


def test_a_file_key_may_not_reuse_the_root_key(tmp_path):
    path = _write(tmp_path, '[[keys]]\naccess_key = "ROOTKEY"\nsecret_key = "long-enough"\n')
    with pytest.raises(CredentialsError, match="root key"):
        Credentials.from_settings(_settings(path))


def test_a_world_readable_file_is_warned_about(tmp_path, caplog):
    path = _write(tmp_path, TOML)
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="gateway.credentials"):
        load_keys(path)
    assert "chmod 600" in caplog.text


def test_settings_read_the_file_paths_from_the_environment():
    settings = Settings.from_env(
        {
            "SANGRAHA_CREDENTIALS_FILE": "/etc/sangraha/keys.toml",
            "SANGRAHA_TLS_CERT_FILE": "/etc/sangraha/cert.pem",
            "SANGRAHA_TLS_KEY_FILE": "/etc/sangraha/key.pem",
        }
    )
    assert settings.credentials_file == "/etc/sangraha/keys.toml"
    assert settings.tls_cert_file == "/etc/sangraha/cert.pem"
    assert settings.tls_key_file == "/etc/sangraha/key.pem"
