"""The TLS listener settings reach uvicorn (sangraha.cli._uvicorn_config)."""

from __future__ import annotations

import pytest

from sangraha.cli import _uvicorn_config
from sangraha.settings import Settings, SettingsError


def test_without_tls_files_the_listener_is_plain_http():
    config = _uvicorn_config(object(), Settings())
    assert not config.is_ssl


def test_tls_files_are_passed_to_uvicorn():
    settings = Settings(tls_cert_file="/certs/cert.pem", tls_key_file="/certs/key.pem")
    config = _uvicorn_config(object(), settings)
    assert config.is_ssl
    assert config.ssl_certfile == "/certs/cert.pem"
    assert config.ssl_keyfile == "/certs/key.pem"


@pytest.mark.parametrize(
    "settings",
    [Settings(tls_cert_file="/certs/cert.pem"), Settings(tls_key_file="/certs/key.pem")],
)
def test_half_a_tls_configuration_is_refused(settings):
    with pytest.raises(SettingsError, match="both"):
        _uvicorn_config(object(), settings)
