from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from urllib.parse import unquote_plus

import pytest
import xmltodict
from hypothesis import given
from hypothesis import strategies as st

from s3compat.errors import S3Error
from s3compat.listing import ListParams, encode_token
from s3compat.xmlbodies import (
    S3_NS,
    BucketEntry,
    CompletedPart,
    ObjectEntry,
    Owner,
    PartEntry,
    UploadEntry,
    parse_complete_multipart,
    parse_complete_multipart_parts,
    parse_create_bucket,
    parse_delete_objects,
    parse_tagging,
    parse_tagging_header,
    parse_versioning,
    render_acl,
    render_complete_multipart,
    render_copy_object_result,
    render_copy_part_result,
    render_delete_result,
    render_initiate_multipart,
    render_list_buckets,
    render_list_multipart_uploads,
    render_list_parts,
    render_list_v1,
    render_list_v2,
    render_location,
    render_tagging,
    render_versioning,
    xml_text,
)

OWNER = Owner("abc123", "sangraha")
T = datetime(2026, 11, 26, 2, 15, 11, tzinfo=UTC)
# Every character XML 1.0 can carry (surrogates excluded: keys are valid UTF-8).
_NON_XML = "".join(chr(c) for c in range(32) if c not in (9, 10, 13)) + "\ufffe\uffff"
xml_chars = st.characters(blacklist_categories=["Cs"], blacklist_characters=_NON_XML)
any_text = st.text(xml_chars, max_size=40)


def parse(body: bytes) -> dict:
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    return xmltodict.parse(
        body,
        strip_whitespace=False,
        force_list=(
            "Contents",
            "CommonPrefixes",
            "Deleted",
            "Error",
            "Part",
            "Upload",
            "Tag",
            "Bucket",
        ),
    )


def v2params(**kw) -> ListParams:
    base = dict(
        prefix="",
        delimiter="",
        max_keys=1000,
        start_after="",
        cursor=None,
        encoding_type=None,
        fetch_owner=False,
        version=2,
    )
    base.update(kw)
    return ListParams(**base)


# ------------------------------------------------------------------ escaping


def test_xml_text_escapes_markup_and_non_xml_characters():
    assert xml_text('a&b<c>"d') == "a&amp;b&lt;c&gt;&quot;d"
    assert xml_text("\x01\r\n\t\ufffe") == "&#x1;&#xD;\n\t&#xFFFE;"


@given(st.text(xml_chars))
def test_xml_text_round_trips_through_expat(value):
    body = f"<a>{xml_text(value)}</a>".encode()
    assert (xmltodict.parse(body, strip_whitespace=False)["a"] or "") == value


# ------------------------------------------------------------------ list buckets


def test_render_list_buckets():
    doc = parse(render_list_buckets(OWNER, [BucketEntry("b1", T), BucketEntry("b&2", T)]))
    root = doc["ListAllMyBucketsResult"]
    assert root["@xmlns"] == S3_NS
    assert root["Owner"] == {"ID": "abc123", "DisplayName": "sangraha"}
    assert root["Buckets"]["Bucket"] == [
        {"Name": "b1", "CreationDate": "2026-11-26T02:15:11.000Z"},
        {"Name": "b&2", "CreationDate": "2026-11-26T02:15:11.000Z"},
    ]


def test_render_list_buckets_empty():
    doc = parse(render_list_buckets(OWNER, []))
    assert doc["ListAllMyBucketsResult"]["Buckets"] is None


# ------------------------------------------------------------------ list objects


def test_render_list_v2_basic():
    entry = ObjectEntry("a<b>&c", T, "etag1", 5, owner=OWNER)
    body = render_list_v2(
        v2params(prefix="a", delimiter="/", max_keys=2, start_after="0", cursor="a"),
        name="bkt",
        contents=[entry],
        common_prefixes=["a/"],
        is_truncated=True,
        next_token="NEXT",
    )
    root = parse(body)["ListBucketResult"]
    assert root["@xmlns"] == S3_NS
    assert root["Name"] == "bkt"
    assert root["Prefix"] == "a"
    assert root["Delimiter"] == "/"
    assert root["MaxKeys"] == "2"
    assert root["KeyCount"] == "2"
    assert root["IsTruncated"] == "true"
    assert root["ContinuationToken"] == encode_token("a")
    assert root["NextContinuationToken"] == "NEXT"
    assert root["StartAfter"] == "0"
    assert "EncodingType" not in root
    assert root["Contents"] == [
        {
            "Key": "a<b>&c",
            "LastModified": "2026-11-26T02:15:11.000Z",
            "ETag": '"etag1"',
            "Size": "5",
            "StorageClass": "STANDARD",
        }
    ]
    assert root["CommonPrefixes"] == [{"Prefix": "a/"}]


def test_render_list_v2_owner_only_with_fetch_owner_and_no_optional_elements():
    entry = ObjectEntry("k", T, "e", 1, owner=OWNER)
    root = parse(
        render_list_v2(
            v2params(fetch_owner=True),
            name="b",
            contents=[entry],
            common_prefixes=[],
            is_truncated=False,
            next_token="ignored",
        )
    )["ListBucketResult"]
    assert root["Contents"][0]["Owner"] == {"ID": "abc123", "DisplayName": "sangraha"}
    for absent in (
        "Delimiter",
        "ContinuationToken",
        "NextContinuationToken",
        "StartAfter",
        "CommonPrefixes",
    ):
        assert absent not in root
    assert root["Prefix"] is None
    assert root["IsTruncated"] == "false"


def test_render_list_v2_url_encoding():
    params = v2params(prefix="a b", delimiter="&", start_after="x+y", encoding_type="url")
    root = parse(
        render_list_v2(
            params,
            name="b",
            contents=[ObjectEntry("a b/\x01", T, "e", 1)],
            common_prefixes=["a b&"],
            is_truncated=False,
            next_token=None,
        )
    )["ListBucketResult"]
    assert root["EncodingType"] == "url"
    assert root["Prefix"] == "a+b"
    assert root["Delimiter"] == "%26"
    assert root["StartAfter"] == "x%2By"
    assert root["Contents"][0]["Key"] == "a+b/%01"
    assert root["CommonPrefixes"] == [{"Prefix": "a+b%26"}]


@given(st.lists(any_text.filter(bool), max_size=5), st.lists(any_text, max_size=3), any_text)
def test_list_v2_round_trips_any_key(keys, prefixes, prefix):
    entries = [ObjectEntry(k, T, "e", 1) for k in keys]
    root = parse(
        render_list_v2(
            v2params(prefix=prefix),
            name="b",
            contents=entries,
            common_prefixes=prefixes,
            is_truncated=False,
            next_token=None,
        )
    )["ListBucketResult"]
    assert [c["Key"] for c in root.get("Contents", [])] == keys
    assert [(c["Prefix"] or "") for c in root.get("CommonPrefixes", [])] == prefixes
    assert (root["Prefix"] or "") == prefix


@given(st.lists(st.text(max_size=30).filter(bool), max_size=5))
def test_list_v2_url_encoding_round_trips_control_characters(keys):
    keys = [k.encode("utf-8", "surrogatepass").decode("utf-8", "replace") for k in keys]
    entries = [ObjectEntry(k, T, "e", 1) for k in keys]
    body = render_list_v2(
        v2params(encoding_type="url"),
        name="b",
        contents=entries,
        common_prefixes=[],
        is_truncated=False,
        next_token=None,
    )
    root = parse(body)["ListBucketResult"]
    assert [unquote_plus(c["Key"]) for c in root.get("Contents", [])] == keys


def test_render_list_v1_next_marker_only_with_delimiter_and_truncation():
    p1 = ListParams("", "/", 1, "m&", None, None, True, 1)
    root = parse(
        render_list_v1(
            p1,
            name="b",
            contents=[ObjectEntry("k", T, "e", 1, owner=OWNER)],
            common_prefixes=[],
            is_truncated=True,
            next_marker="k",
        )
    )["ListBucketResult"]
    assert root["Marker"] == "m&"
    assert root["NextMarker"] == "k"
    assert root["Contents"][0]["Owner"]["ID"] == "abc123"
    p2 = ListParams("", "", 1, "", None, None, True, 1)
    root = parse(
        render_list_v1(
            p2, name="b", contents=[], common_prefixes=[], is_truncated=True, next_marker="k"
        )
    )["ListBucketResult"]
    assert "NextMarker" not in root
    assert root["Marker"] is None
    assert "KeyCount" not in root


def test_render_list_v1_url_encodes_markers():
    p = ListParams("p q", "/", 1, "m n", None, "url", True, 1)
    root = parse(
        render_list_v1(
            p,
            name="b",
            contents=[],
            common_prefixes=["p q/"],
            is_truncated=True,
            next_marker="p q/",
        )
    )["ListBucketResult"]
    assert root["Marker"] == "m+n"
    assert root["NextMarker"] == "p+q/"
    assert root["Prefix"] == "p+q"
    assert root["EncodingType"] == "url"


# ------------------------------------------------------------------ small documents


def test_render_location():
    assert parse(render_location("us-east-1"))["LocationConstraint"] == {"@xmlns": S3_NS}
    assert parse(render_location(None))["LocationConstraint"] == {"@xmlns": S3_NS}
    assert parse(render_location("eu-west-1"))["LocationConstraint"]["#text"] == "eu-west-1"


def test_render_versioning():
    assert "Status" not in parse(render_versioning(None))["VersioningConfiguration"]
    assert parse(render_versioning("Enabled"))["VersioningConfiguration"]["Status"] == "Enabled"


def test_render_acl_grants_owner_full_control():
    root = xmltodict.parse(render_acl(OWNER), process_namespaces=True)
    policy = root[S3_NS + ":AccessControlPolicy"]
    grant = policy[S3_NS + ":AccessControlList"][S3_NS + ":Grant"]
    grantee = grant[S3_NS + ":Grantee"]
    assert grantee["@http://www.w3.org/2001/XMLSchema-instance:type"] == "CanonicalUser"
    assert grantee[S3_NS + ":ID"] == "abc123"
    assert grant[S3_NS + ":Permission"] == "FULL_CONTROL"


def test_render_copy_results():
    root = parse(render_copy_object_result("e1", T))["CopyObjectResult"]
    assert root["ETag"] == '"e1"' and root["LastModified"] == "2026-11-26T02:15:11.000Z"
    root = parse(render_copy_part_result('"e2"', T, checksums={"ChecksumCRC32": "AAAA"}))
    assert root["CopyPartResult"]["ETag"] == '"e2"'
    assert root["CopyPartResult"]["ChecksumCRC32"] == "AAAA"


def test_render_delete_result_quiet_keeps_errors_only():
    body = render_delete_result(["a", "b&"], [("c", "AccessDenied", "Access Denied")], False)
    root = parse(body)["DeleteResult"]
    assert root["Deleted"] == [{"Key": "a"}, {"Key": "b&"}]
    assert root["Error"] == [{"Key": "c", "Code": "AccessDenied", "Message": "Access Denied"}]
    root = parse(render_delete_result(["a"], [], True))["DeleteResult"]
    assert "Deleted" not in root and "Error" not in root


def test_render_multipart_documents():
    root = parse(render_initiate_multipart("b", "k&", "u1"))["InitiateMultipartUploadResult"]
    assert (root["Bucket"], root["Key"], root["UploadId"]) == (["b"], "k&", "u1")
    root = parse(render_complete_multipart("http://h/b/k", "b", "k", "abc-2"))
    assert root["CompleteMultipartUploadResult"]["ETag"] == '"abc-2"'
    assert root["CompleteMultipartUploadResult"]["Location"] == "http://h/b/k"


def test_render_list_parts():
    parts = [PartEntry(1, T, "e1", 5 * 2**20), PartEntry(2, T, "e2", 10)]
    root = parse(
        render_list_parts(
            bucket="b",
            key="k",
            upload_id="u",
            owner=OWNER,
            parts=parts,
            part_number_marker=0,
            next_part_number_marker=None,
            max_parts=2,
            is_truncated=True,
        )
    )["ListPartsResult"]
    assert root["NextPartNumberMarker"] == "2"
    assert root["Initiator"]["ID"] == "abc123"
    assert [p["PartNumber"] for p in root["Part"]] == ["1", "2"]
    assert root["Part"][0]["ETag"] == '"e1"'
    assert root["IsTruncated"] == "true"


def test_render_list_multipart_uploads():
    uploads = [UploadEntry("k 1", "u1", T, OWNER)]
    root = parse(
        render_list_multipart_uploads(
            bucket="b",
            uploads=uploads,
            common_prefixes=["p/"],
            prefix="",
            delimiter="/",
            next_key_marker="k 1",
            next_upload_id_marker="u1",
            is_truncated=True,
            encoding_type="url",
        )
    )["ListMultipartUploadsResult"]
    assert root["Upload"][0]["Key"] == "k+1"
    assert root["Upload"][0]["Initiated"] == "2026-11-26T02:15:11.000Z"
    assert root["NextKeyMarker"] == "k+1"
    assert root["CommonPrefixes"] == [{"Prefix": "p/"}]


# ------------------------------------------------------------------ parsers


def test_parse_create_bucket():
    assert parse_create_bucket(b"") is None
    assert parse_create_bucket(b"  \n") is None
    body = (
        f'<CreateBucketConfiguration xmlns="{S3_NS}"><LocationConstraint>eu-west-1'
        "</LocationConstraint></CreateBucketConfiguration>"
    ).encode()
    assert parse_create_bucket(body) == "eu-west-1"
    assert parse_create_bucket(b"<CreateBucketConfiguration/>") is None
    with pytest.raises(S3Error):
        parse_create_bucket(b"<Other/>")


def test_parse_versioning():
    body = f'<VersioningConfiguration xmlns="{S3_NS}"><Status>Suspended</Status>'
    assert parse_versioning((body + "</VersioningConfiguration>").encode()) == "Suspended"
    with pytest.raises(S3Error):
        parse_versioning(b"<VersioningConfiguration><Status>On</Status></VersioningConfiguration>")


def _delete_body(keys, quiet=None, ns=True):
    objs = "".join(f"<Object><Key>{k}</Key></Object>" for k in keys)
    q = "" if quiet is None else f"<Quiet>{quiet}</Quiet>"
    xmlns = f' xmlns="{S3_NS}"' if ns else ""
    return f"<Delete{xmlns}>{q}{objs}</Delete>".encode()


def test_parse_delete_objects():
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Delete xmlns="{S3_NS}">\n'
        "  <Quiet>true</Quiet>\n  <Object><Key> spaced &amp; key </Key></Object>\n"
        "  <Object><Key>v</Key><VersionId>123</VersionId></Object>\n</Delete>"
    ).encode()
    assert parse_delete_objects(body) == ([(" spaced & key ", None), ("v", "123")], True)
    assert parse_delete_objects(_delete_body(["a"], ns=False)) == ([("a", None)], False)
    assert parse_delete_objects(_delete_body(["a"], quiet="False")) == ([("a", None)], False)


@pytest.mark.parametrize(
    "body",
    [
        _delete_body([]),
        _delete_body([f"k{i}" for i in range(1001)]),
        _delete_body(["a"], quiet="maybe"),
        b"<Delete><Object><VersionId>1</VersionId></Object></Delete>",
        b"<Delete><Object><Key>a</Key><Key>b</Key></Object></Delete>",
        b"<Delete><Object><Key><x/></Key></Object></Delete>",
        b"<Delete><Object><Key>a</Key></Object>",
        b"<Remove><Object><Key>a</Key></Object></Remove>",
        b"",
        b"\xff\xfe",
        b'<!DOCTYPE d [<!ENTITY e "x">]><Delete><Object><Key>&e;</Key></Object></Delete>',
        b'<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><Delete><Object><Key>&x;'
        b"</Key></Object></Delete>",
        b"<Delete><Object><Key>a</Key></Object></Delete>" + b" " * (8 * 1024 * 1024),
    ],
)
def test_bad_delete_bodies_are_malformed_xml(body):
    with pytest.raises(S3Error) as info:
        parse_delete_objects(body)
    assert info.value.code == "MalformedXML"


def test_parse_delete_objects_accepts_1000_keys():
    keys, quiet = parse_delete_objects(_delete_body([f"k{i}" for i in range(1000)]))
    assert len(keys) == 1000 and not quiet


@given(st.lists(st.text(xml_chars, min_size=1, max_size=30), min_size=1, max_size=8), st.booleans())
def test_delete_objects_round_trip(keys, quiet):
    from s3compat.xmlbodies import xml_text as esc

    objs = "".join(f"<Object><Key>{esc(k)}</Key></Object>" for k in keys)
    body = f'<Delete xmlns="{S3_NS}"><Quiet>{str(quiet).lower()}</Quiet>{objs}</Delete>'
    assert parse_delete_objects(body.encode()) == ([(k, None) for k in keys], quiet)


def test_tagging_round_trip():
    tags = {"project": "sangraha", "a b": "c+d=e", "unicode": "ऑब्जेक्ट", "empty": ""}
    assert parse_tagging(render_tagging(tags)) == tags


def test_tagging_empty_tag_set():
    assert parse_tagging(render_tagging({})) == {}


@pytest.mark.parametrize(
    ("tags", "code"),
    [
        ({f"k{i}": "v" for i in range(11)}, "BadRequest"),
        ({"k" * 129: "v"}, "InvalidTag"),
        ({"k": "v" * 257}, "InvalidTag"),
        ({"aws:reserved": "v"}, "InvalidTag"),
        ({"bad<char>": "v"}, "InvalidTag"),
        ({"k": "bad&value"}, "InvalidTag"),
    ],
)
def test_bad_tags(tags, code):
    with pytest.raises(S3Error) as info:
        parse_tagging(render_tagging(tags))
    assert info.value.code == code


def test_bucket_tagging_allows_50():
    tags = {f"k{i}": "v" for i in range(50)}
    assert parse_tagging(render_tagging(tags), max_tags=50) == tags


def test_duplicate_tag_keys_are_invalid_tag():
    body = (
        b"<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag>"
        b"<Tag><Key>a</Key><Value>2</Value></Tag></TagSet></Tagging>"
    )
    with pytest.raises(S3Error) as info:
        parse_tagging(body)
    assert info.value.code == "InvalidTag"


def test_tagging_without_tag_set_is_malformed():
    with pytest.raises(S3Error) as info:
        parse_tagging(b"<Tagging></Tagging>")
    assert info.value.code == "MalformedXML"


def test_parse_tagging_header():
    assert parse_tagging_header("a=1&b=x%20y&c=&d") == {"a": "1", "b": "x y", "c": "", "d": ""}
    assert parse_tagging_header("") == {}
    with pytest.raises(S3Error) as info:
        parse_tagging_header("a=1&a=2")
    assert info.value.code == "InvalidTag"
    with pytest.raises(S3Error) as info:
        parse_tagging_header("a=%ff")
    assert info.value.code == "InvalidArgument"


def _complete_body(parts):
    items = "".join(f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>" for n, e in parts)
    return f'<CompleteMultipartUpload xmlns="{S3_NS}">{items}</CompleteMultipartUpload>'.encode()


def test_parse_complete_multipart():
    body = _complete_body([(1, "&quot;aa&quot;"), (2, "bb"), (5, '"cc"')])
    assert parse_complete_multipart(body) == [(1, "aa"), (2, "bb"), (5, "cc")]


def test_parse_complete_multipart_checksums():
    body = (
        b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>a</ETag>"
        b"<ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part></CompleteMultipartUpload>"
    )
    assert parse_complete_multipart_parts(body) == [
        CompletedPart(1, "a", {"ChecksumCRC32": "AAAAAA=="})
    ]


@pytest.mark.parametrize(
    ("parts", "code"),
    [
        ([], "MalformedXML"),
        ([(0, "a")], "MalformedXML"),
        ([(10001, "a")], "MalformedXML"),
        ([("x", "a")], "MalformedXML"),
        ([(1, "")], "MalformedXML"),
        ([(2, "a"), (1, "b")], "InvalidPartOrder"),
        ([(1, "a"), (1, "b")], "InvalidPartOrder"),
    ],
)
def test_bad_complete_multipart(parts, code):
    with pytest.raises(S3Error) as info:
        parse_complete_multipart(_complete_body(parts))
    assert info.value.code == code


def test_complete_multipart_accepts_10000_parts():
    parts = [(i, "0123456789abcdef0123456789abcdef") for i in range(1, 10001)]
    assert len(parse_complete_multipart(_complete_body(parts))) == 10000


PARSERS = [
    parse_create_bucket,
    parse_versioning,
    parse_delete_objects,
    parse_tagging,
    parse_complete_multipart,
]


@pytest.mark.parametrize("parser", PARSERS)
@given(body=st.binary(max_size=300))
def test_parsers_raise_only_s3error_on_arbitrary_bytes(parser, body):
    with contextlib.suppress(S3Error):
        parser(body)


xml_fragments = st.recursive(
    st.sampled_from(["", "x", "1", "true", "&amp;", "<!-- c -->", "&#1;", "&e;", "<![CDATA[z]]>"]),
    lambda inner: st.builds(
        lambda tag, kids, attr: f"<{tag}{attr}>{''.join(kids)}</{tag}>",
        st.sampled_from(
            [
                "Delete",
                "Object",
                "Key",
                "VersionId",
                "Quiet",
                "Tagging",
                "TagSet",
                "Tag",
                "Value",
                "CompleteMultipartUpload",
                "Part",
                "PartNumber",
                "ETag",
                "CreateBucketConfiguration",
                "LocationConstraint",
                "VersioningConfiguration",
                "Status",
                "s3:Key",
            ]
        ),
        st.lists(inner, max_size=4),
        st.sampled_from(["", f' xmlns="{S3_NS}"', ' a="1"', ' xmlns:s3="urn:x"']),
    ),
    max_leaves=20,
)


@pytest.mark.parametrize("parser", PARSERS)
@given(doc=xml_fragments)
def test_parsers_raise_only_s3error_on_structured_xml(parser, doc):
    with contextlib.suppress(S3Error):
        parser(doc.encode())


def test_billion_laughs_is_malformed_xml():
    body = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b"<Tagging><TagSet><Tag><Key>&lol2;</Key><Value>v</Value></Tag></TagSet></Tagging>"
    )
    with pytest.raises(S3Error) as info:
        parse_tagging(body)
    assert info.value.code == "MalformedXML"


# ------------------------------------------------------------------ as botocore reads them


def _botocore_parse(operation: str, body: bytes) -> dict:
    import botocore.session
    from botocore.parsers import create_parser

    model = botocore.session.get_session().get_service_model("s3")
    shape = model.operation_model(operation).output_shape
    return create_parser("rest-xml").parse({"body": body, "headers": {}, "status_code": 200}, shape)


@given(st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=4, unique=True))
def test_botocore_decodes_url_encoded_v2_listing_back_to_keys(keys):
    from botocore.handlers import decode_list_object_v2

    keys = [k.encode("utf-8", "surrogatepass").decode("utf-8", "replace") for k in keys]
    params = v2params(prefix="p q", delimiter="/", encoding_type="url", fetch_owner=True)
    body = render_list_v2(
        params,
        name="b",
        contents=[ObjectEntry(k, T, "e", 1, owner=OWNER) for k in keys],
        common_prefixes=["p q/x+y/"],
        is_truncated=True,
        next_token=encode_token("k"),
    )
    parsed = _botocore_parse("ListObjectsV2", body)
    decode_list_object_v2(parsed, context={"encoding_type_auto_set": True})
    assert [c["Key"] for c in parsed["Contents"]] == keys
    assert parsed["Prefix"] == "p q"
    assert parsed["CommonPrefixes"] == [{"Prefix": "p q/x+y/"}]
    assert parsed["KeyCount"] == len(keys) + 1
    assert parsed["NextContinuationToken"] == encode_token("k")
    assert parsed["Contents"][0]["Owner"] == {"ID": "abc123", "DisplayName": "sangraha"}


def test_botocore_reads_acl_list_parts_and_delete_result():
    acl = _botocore_parse("GetBucketAcl", render_acl(OWNER))
    assert acl["Grants"] == [
        {
            "Grantee": {"ID": "abc123", "DisplayName": "sangraha", "Type": "CanonicalUser"},
            "Permission": "FULL_CONTROL",
        }
    ]
    deleted = _botocore_parse(
        "DeleteObjects", render_delete_result(["a"], [("b", "AccessDenied", "no")], False)
    )
    assert deleted["Deleted"] == [{"Key": "a"}]
    assert deleted["Errors"] == [{"Key": "b", "Code": "AccessDenied", "Message": "no"}]
    parts = _botocore_parse(
        "ListParts",
        render_list_parts(
            bucket="b",
            key="k",
            upload_id="u",
            owner=OWNER,
            parts=[PartEntry(3, T, "e", 5)],
            part_number_marker=0,
            next_part_number_marker=None,
            max_parts=1000,
            is_truncated=False,
        ),
    )
    assert parts["Parts"][0]["PartNumber"] == 3 and parts["NextPartNumberMarker"] == 3
    uploads = _botocore_parse(
        "ListMultipartUploads",
        render_list_multipart_uploads(
            bucket="b",
            uploads=[UploadEntry("k", "u", T, OWNER)],
        ),
    )
    assert uploads["Uploads"][0]["UploadId"] == "u"
    assert uploads["Uploads"][0]["Initiator"]["ID"] == "abc123"
