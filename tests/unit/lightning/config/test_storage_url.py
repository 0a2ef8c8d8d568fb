"""Storage URLs as tidb-lightning writes them: parameters read, secrets masked, task identity without keys."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_tidb_lightning.lightning.config.storage_url import (
    is_remote,
    mask_url,
    parse_storage_url,
    source_identity,
)
from airflow_provider_tidb_lightning.lightning.errors import ConfigError

URL = ("s3://bkt/dumps/2025?endpoint=http://127.0.0.1:9000&region=us-west-2&force-path-style=true"
       "&access-key=AKIAEXAMPLE&secret-access-key=s3cr%2Bt%2Fkey&session_token=TOKEN")


def test_parameters_are_read_with_either_spelling():
    url = parse_storage_url(URL)
    assert (url.service, url.bucket, url.prefix) == ("s3", "bkt", "dumps/2025")
    assert url.params["secret-access-key"] == "s3cr+t/key" and url.params["session-token"] == "TOKEN"
    assert url.params["endpoint"] == "http://127.0.0.1:9000" and url.params["force-path-style"] == "true"
    assert "s3cr" not in repr(url) and "TOKEN" not in repr(url)


@pytest.mark.parametrize(("source", "service"), [("gs://b/p", "gcs"), ("gcs://b", "gcs"), ("azblob://c/p", "azure"),
                                                  ("azure://c/p?account-name=acct", "azure")])
def test_scheme_spellings(source, service):
    assert parse_storage_url(source).service == service


def test_secrets_are_masked_and_identity_has_none():
    masked = mask_url(URL)
    assert "AKIAEXAMPLE" not in masked and "s3cr" not in masked and "TOKEN" not in masked
    assert "access-key=******" in masked and "endpoint=http://127.0.0.1:9000" in masked
    identity = source_identity(URL)
    assert identity == "s3://bkt/dumps/2025?endpoint=http://127.0.0.1:9000&force-path-style=true&region=us-west-2"
    rotated = URL.replace("AKIAEXAMPLE", "AKIAOTHER").replace("s3cr%2Bt", "new")
    assert source_identity(rotated) == identity  # a rotated key resumes the same task


@pytest.mark.parametrize(("source", "message"), [
    ("ftp://host/dump", "unsupported storage scheme ftp://"),
    ("s3:///dump", "names no bucket"),
    ("s3://bkt/d?acess-key=x&secret-access-key=SECRET", "unknown s3 parameter 'acess-key'"),
    ("s3://AKIA:SECRET@bkt/d", "not before the bucket name"),
])
def test_mistakes_name_the_key_and_hide_the_secret(source, message):
    with pytest.raises(ConfigError, match=message) as info:
        parse_storage_url(source)
    assert info.value.key == "mydumper.data-source-dir" and "SECRET" not in str(info.value)


def test_local_paths_are_left_alone():
    for path in ("/data/dump", "relative/dump", "file:///data/dump", "local:///d"):
        assert not is_remote(path) and mask_url(path) == path and source_identity(path) == path


@given(st.text(min_size=1, max_size=40).filter(lambda s: s.strip()))
def test_no_secret_value_survives_masking(secret):
    from urllib.parse import quote

    source = f"s3://bkt/p?secret-access-key={quote(secret, safe='')}&access-key={quote(secret, safe='')}&region=x"
    masked = mask_url(source)
    assert masked == "s3://bkt/p?secret-access-key=******&access-key=******&region=x"
