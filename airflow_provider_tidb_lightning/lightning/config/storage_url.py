"""``mydumper.data-source-dir`` as tidb-lightning reads it: a local path or an object storage URL.

tidb-lightning (BR's storage package) accepts ``s3://bucket/prefix?endpoint=...&access-key=...``,
``gcs://`` (``gs://``) and ``azure://`` (``azblob://``) URLs whose query parameters carry the
endpoint, region and credentials. This module only reads the text: it knows which parameters
exist and which of them are secrets, so that every place that prints the source prints
:func:`mask_url` of it, and the task id is derived from :func:`source_identity`, which holds no
credential at all. Opening the storage is :mod:`..mydump.storage`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from ..errors import ConfigError

_KEY = "mydumper.data-source-dir"

# Scheme spellings tidb-lightning accepts, folded to one name per service.
SCHEMES = {"s3": "s3", "gcs": "gcs", "gs": "gcs", "azure": "azure", "azblob": "azure"}
LOCAL_SCHEMES = frozenset({"file", "local"})

# Parameters per service. Those marked for writing (ACLs, storage classes, encryption of new
# objects) are accepted so that a tidb-lightning URL works unchanged, and have no effect on reading.
PARAMETERS = {
    "s3": frozenset({"endpoint", "region", "access-key", "secret-access-key", "session-token", "force-path-style",
                     "provider", "storage-class", "sse", "sse-kms-key-id", "acl", "use-accelerate-endpoint",
                     "role-arn", "external-id", "object-lock-enabled"}),
    "gcs": frozenset({"endpoint", "credentials-file", "storage-class", "predefined-acl"}),
    "azure": frozenset({"endpoint", "account-name", "account-key", "sas-token", "access-tier", "encryption-scope",
                        "encryption-key"}),
}
# Never printed, never part of the task id.
SECRET_PARAMETERS = frozenset({"access-key", "secret-access-key", "session-token", "account-key", "sas-token",
                               "encryption-key", "external-id"})
MASK = "******"


@dataclass(frozen=True)
class StorageURL:
    """A parsed remote source: service (``s3``/``gcs``/``azure``), bucket or container, key prefix, parameters."""

    service: str
    bucket: str
    prefix: str
    params: dict[str, str] = field(default_factory=dict, repr=False)  # holds secrets: never in a repr

    @property
    def display(self) -> str:
        """The URL with every secret parameter masked: what logs and errors show."""
        return _unparse(self, mask=True)


def is_remote(source: str) -> bool:
    """Whether ``source`` names object storage (a URL whose scheme is not ``file``/``local``)."""
    scheme, sep, _ = source.partition("://")
    return bool(sep) and scheme.lower() not in LOCAL_SCHEMES


def parse_storage_url(source: str) -> StorageURL:
    """Read a remote ``data-source-dir``; raises ConfigError naming the key for an unknown scheme or parameter.

    Parameter names may use ``_`` for ``-`` (``access_key``), as tidb-lightning allows.
    """
    url = urlsplit(source)
    service = SCHEMES.get(url.scheme.lower())
    if service is None:
        raise ConfigError(f"unsupported storage scheme {url.scheme}:// (expected s3://, gcs://, azure:// or a "
                          "local path)", key=_KEY)
    if not url.netloc:
        raise ConfigError(f"the {url.scheme}:// URL names no bucket: {mask_url(source)}", key=_KEY)
    if "@" in url.netloc:
        raise ConfigError("credentials go in query parameters (access-key, secret-access-key...) or an Airflow "
                          f"connection, not before the bucket name: {mask_url(source)}", key=_KEY)
    params: dict[str, str] = {}
    for name, value in parse_qsl(url.query, keep_blank_values=True):
        name = name.strip().lower().replace("_", "-")
        if name not in PARAMETERS[service]:
            raise ConfigError(f"unknown {service} parameter {name!r} in {mask_url(source)} (known: "
                              f"{', '.join(sorted(PARAMETERS[service]))})", key=_KEY)
        params[name] = value
    return StorageURL(service, url.netloc, unquote(url.path).strip("/"), params)


def mask_url(source: str) -> str:
    """``source`` with secret query parameters and any URL password replaced by ``******``.

    Safe on anything: a local path or text that is not a URL comes back unchanged.
    """
    if not is_remote(source):
        return source
    url = urlsplit(source)
    netloc = url.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rpartition('@')[2]}"
    query = "&".join(f"{quote(name, safe='-_')}={_shown(name, value)}"
                     for name, value in parse_qsl(url.query, keep_blank_values=True))
    return f"{url.scheme}://{netloc}{url.path}" + (f"?{query}" if query else "")


def _shown(name: str, value: str) -> str:
    return MASK if name.strip().lower().replace("_", "-") in SECRET_PARAMETERS else quote(value, safe=":/")


def source_identity(source: str) -> str:
    """What identifies the source for a task id: the URL without credentials (so rotating a key resumes
    the same task), or the local path as given."""
    if not is_remote(source):
        return source
    parsed = parse_storage_url(source)
    kept = {name: value for name, value in parsed.params.items() if name not in SECRET_PARAMETERS}
    return _unparse(StorageURL(parsed.service, parsed.bucket, parsed.prefix, kept), mask=False)


def _unparse(url: StorageURL, *, mask: bool) -> str:
    query = "&".join(f"{name}={_shown(name, value) if mask else quote(value, safe=':/')}"
                     for name, value in sorted(url.params.items()))
    return f"{url.service}://{url.bucket}/{url.prefix}" + (f"?{query}" if query else "")
