from __future__ import annotations

from urllib.parse import unquote_plus

import pytest
from hypothesis import given
from hypothesis import strategies as st

from s3compat.errors import S3Error
from s3compat.listing import (
    ListParams,
    decode_token,
    encode_key,
    encode_token,
    parse_list_v1,
    parse_list_v2,
)

keys = st.text(st.characters(blacklist_categories=["Cs"]), max_size=300)


def test_parse_list_v2_defaults():
    assert parse_list_v2({"list-type": "2"}) == ListParams(
        prefix="",
        delimiter="",
        max_keys=1000,
        start_after="",
        cursor=None,
        encoding_type=None,
        fetch_owner=False,
        version=2,
    )


def test_parse_list_v2_all_parameters():
    token = encode_token("photos/2006/")
    params = parse_list_v2(
        {
            "list-type": "2",
            "prefix": "photos/",
            "delimiter": "/",
            "max-keys": "5",
            "start-after": "a",
            "continuation-token": token,
            "encoding-type": "URL",
            "fetch-owner": "true",
        }
    )
    assert params == ListParams("photos/", "/", 5, "a", "photos/2006/", "url", True, 2)


def test_parse_list_v1_uses_marker_as_start_after_and_shows_owner():
    params = parse_list_v1({"marker": "m", "max-keys": "0", "continuation-token": "ignored"})
    assert params == ListParams("", "", 0, "m", None, None, True, 1)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", 0), ("1000", 1000), ("1001", 1000), ("2147483647", 1000), ("007", 7)],
)
def test_max_keys_clamps_to_1000(value, expected):
    assert parse_list_v2({"max-keys": value}).max_keys == expected


@pytest.mark.parametrize("value", ["-1", "abc", "", "1.5", " 5", "+5", "1_0", "2147483648", "٣"])
def test_bad_max_keys_is_invalid_argument_with_aws_message(value):
    for parse in (parse_list_v1, parse_list_v2):
        with pytest.raises(S3Error) as info:
            parse({"max-keys": value})
        assert info.value.code == "InvalidArgument"
        assert info.value.message == "Argument maxKeys must be an integer between 0 and 2147483647"
        assert info.value.extra == {"ArgumentName": "maxKeys", "ArgumentValue": value}


@pytest.mark.parametrize("value", ["", "xml", "urlx", "base64"])
def test_unknown_encoding_type_is_invalid_argument(value):
    with pytest.raises(S3Error) as info:
        parse_list_v2({"encoding-type": value})
    assert info.value.code == "InvalidArgument"


@pytest.mark.parametrize("token", ["", "garbage", "AAAA", "%%%", "a" * 5000, "AQ", "AQAAAAAA=="])
def test_bad_continuation_token_is_invalid_argument(token):
    with pytest.raises(S3Error) as info:
        parse_list_v2({"continuation-token": token})
    assert info.value.code == "InvalidArgument"
    assert info.value.message == "The continuation token provided is incorrect"


@given(keys)
def test_token_round_trips_and_is_stable_and_url_safe(cursor):
    token = encode_token(cursor)
    assert decode_token(token) == cursor
    assert encode_token(cursor) == token
    assert token.replace("-", "").replace("_", "").isalnum()


@given(st.text(max_size=200))
def test_garbage_tokens_are_rejected_with_s3error_only(token):
    try:
        cursor = decode_token(token)
    except S3Error as exc:
        assert exc.code == "InvalidArgument"
    else:
        assert encode_token(cursor) == token


@given(keys, st.integers(0, 400), st.integers(1, 255))
def test_tampered_tokens_are_rejected(cursor, position, delta):
    token = encode_token(cursor)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    i = position % len(token)
    replacement = alphabet[(alphabet.index(token[i]) + delta) % 64]
    tampered = token[:i] + replacement + token[i + 1 :]
    if tampered == token:
        return
    with pytest.raises(S3Error):
        decode_token(tampered)


def test_encode_key_url_matches_aws_examples():
    assert encode_key("test_file(3).png", "url") == "test_file%283%29.png"
    assert encode_key("a b+c/d&e", "url") == "a+b%2Bc/d%26e"
    assert encode_key("\x01ü", "url") == "%01%C3%BC"
    assert encode_key("a b", None) == "a b"


@given(keys)
def test_encode_key_url_is_undone_by_botocore_unquote_plus(key):
    encoded = encode_key(key, "url")
    assert unquote_plus(encoded) == key
    assert encoded.isascii()
    assert not any(c in encoded for c in "<>&\"' \x00\r\n")


# ------------------------------------------------------------------ paginate

from s3compat.listing import ListPage, paginate  # noqa: E402


def _params(prefix="", delimiter="", max_keys=1000, start_after="", cursor=None):
    return ListParams(prefix, delimiter, max_keys, start_after, cursor, None, False, 2)


def _model(keys, params):
    """Brute force: keys after the start position (skipping a whole group when the start
    position is one), grouped by delimiter, then cut to max_keys."""
    after = params.cursor if params.cursor is not None else params.start_after
    has_after = params.cursor is not None or bool(after)
    after_rest = after[len(params.prefix) :] if after.startswith(params.prefix) else ""
    after_is_group = (
        has_after
        and after.startswith(params.prefix)
        and bool(params.delimiter)
        and after_rest.find(params.delimiter) == len(after_rest) - len(params.delimiter)
        and params.delimiter in after_rest
    )
    items: list[tuple[str, str]] = []
    seen_groups: set[str] = set()
    for k in sorted(set(keys)):
        if not k.startswith(params.prefix):
            continue
        if has_after and (k <= after or (after_is_group and k.startswith(after))):
            continue
        rest = k[len(params.prefix) :]
        if params.delimiter and params.delimiter in rest:
            group = params.prefix + rest[: rest.index(params.delimiter) + len(params.delimiter)]
            if group not in seen_groups:
                seen_groups.add(group)
                items.append(("prefix", group))
        else:
            items.append(("key", k))
    if params.max_keys == 0:
        return [], False
    return items[: params.max_keys], len(items) > params.max_keys


def _page_items(page: ListPage[str]) -> list[tuple[str, str]]:
    merged = [("key", k) for k in page.contents] + [("prefix", p) for p in page.common_prefixes]
    return sorted(merged, key=lambda item: item[1])


key_alphabet = st.text(st.sampled_from("ab/-é\U0001f600"), max_size=6)


@given(
    keys=st.lists(key_alphabet, max_size=30),
    prefix=st.text(st.sampled_from("ab/"), max_size=2),
    delimiter=st.sampled_from(["", "/", "b", "a/"]),
    max_keys=st.integers(0, 6),
    start_after=st.text(st.sampled_from("ab/"), max_size=3),
)
def test_paginate_agrees_with_brute_force_model(keys, prefix, delimiter, max_keys, start_after):
    params = _params(prefix, delimiter, max_keys, start_after)
    page = paginate(sorted(set(keys)), params, key=lambda k: k)
    expected, truncated = _model(keys, params)
    assert _page_items(page) == expected
    assert page.is_truncated == truncated
    if expected:
        assert page.next_cursor == expected[-1][1]


@given(
    keys=st.lists(key_alphabet, max_size=40),
    prefix=st.text(st.sampled_from("ab/"), max_size=2),
    delimiter=st.sampled_from(["", "/", "b"]),
    max_keys=st.integers(1, 5),
)
def test_following_tokens_lists_everything_exactly_once(keys, prefix, delimiter, max_keys):
    ordered = sorted(set(keys))
    whole = paginate(ordered, _params(prefix, delimiter, 10**6), key=lambda k: k)
    seen: list[tuple[str, str]] = []
    cursor = None
    for _ in range(100):
        page = paginate(
            ordered, _params(prefix, delimiter, max_keys, cursor=cursor), key=lambda k: k
        )
        seen.extend(_page_items(page))
        if not page.is_truncated:
            break
        cursor = decode_token(encode_token(page.next_cursor))
    assert seen == _page_items(whole)


def test_paginate_groups_common_prefixes_and_counts_them_as_keys():
    keys = ["a.txt", "photos/2006/jan.jpg", "photos/2006/feb.jpg", "photos/2007/x", "z"]
    page = paginate(sorted(keys), _params(delimiter="/", max_keys=2), key=lambda k: k)
    assert page.contents == ["a.txt"]
    assert page.common_prefixes == ["photos/"]
    assert page.is_truncated and page.next_cursor == "photos/"
    nxt = paginate(sorted(keys), _params(delimiter="/", cursor="photos/"), key=lambda k: k)
    assert nxt.contents == ["z"] and nxt.common_prefixes == [] and not nxt.is_truncated


def test_paginate_max_keys_zero_is_empty_and_not_truncated():
    page = paginate(["a"], _params(max_keys=0), key=lambda k: k)
    assert page == ListPage()
