"""The error catalogue and its XML documents."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from s3compat.errors import CATALOGUE, S3Error, render_error_xml, status_for


def test_every_catalogue_code_renders_with_its_status():
    for code, entry in CATALOGUE.items():
        error = S3Error(code)
        assert error.status == entry.status == status_for(code)
        root = ET.fromstring(render_error_xml(error, "RID"))
        assert root.findtext("Code") == code
        assert root.findtext("RequestId") == "RID"


def test_unknown_code_is_refused():
    with pytest.raises(ValueError):
        S3Error("NoSuchThing")
    assert status_for("NoSuchThing") == 500


@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=60))
def test_resource_with_any_characters_stays_well_formed(resource):
    body = render_error_xml(S3Error("NoSuchKey"), "RID", "/bucket/" + resource)
    text = body.decode()
    # Characters XML cannot carry literally arrive as character references.
    assert "\x00" not in text and "\r" not in text
    if all(c in "\t\n" or " " <= c <= "\ud7ff" for c in resource):
        assert ET.fromstring(body).findtext("Resource") == "/bucket/" + resource
