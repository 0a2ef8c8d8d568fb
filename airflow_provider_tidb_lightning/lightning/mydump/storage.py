"""Where the dump's files are: a local directory, or a bucket prefix reached through fsspec.

Discovery lists an :class:`ObjectStorage` once (relative path, size, and the ETag or modification
time that the checkpoint's fingerprint adds); every data and schema file then carries its
storage's ``open`` (:attr:`.layout.DataFile.opener`), which the chunk splitter and the readers
call, so no stage after discovery needs to know where the dump is. A local directory is walked by
discovery and opened with :func:`open_local`. Object storage is reached through fsspec (s3fs,
gcsfs, adlfs, each an optional extra), which the engine imports only when a remote source is
asked for; the Airflow layer may hand in a filesystem it built from an Airflow connection instead
of credentials in the URL.

An object is read with ranged GETs of the size the reader asks for, each retried on a transient
error (a dropped connection, a throttled request, a server error) and logged, so a chunk reads only
its byte range and a compressed object streams; nothing is downloaded whole.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, TypeVar

from ..common.retry import RetryPolicy
from ..config.storage_url import StorageURL, is_remote, parse_storage_url
from ..errors import ConfigError, SourceError

log = logging.getLogger(__name__)

_T = TypeVar("_T")
_KEY = "mydumper.data-source-dir"
# Which extra to install for a service, named in the error when its fsspec driver is missing.
_EXTRAS = {"s3": ("s3fs", "s3"), "gcs": ("gcsfs", "gcs"), "azure": ("adlfs", "azure")}
_STORAGE_RETRY = RetryPolicy(attempts=6, first_delay=0.2, max_delay=5.0)


@dataclass(frozen=True)
class StorageObject:
    """One file of the dump: ``relative`` to the source root (``/``-separated), ``path`` to open it."""

    relative: str
    path: str
    size: int
    version: str = ""
    """ETag (or modification time) of an object; "" for a local file, whose size alone is fingerprinted."""


def open_local(path: str) -> BinaryIO:
    """Open a local file: the opener of a local dump's files."""
    try:
        return open(path, "rb")  # returned to the caller, who closes it
    except OSError as exc:
        raise SourceError(f"cannot open: {exc.strerror or exc}", path=path) from exc


def open_storage(source: str, *, filesystem: Any | None = None,
                 cancel: threading.Event | None = None) -> ObjectStorage | None:
    """The object storage an s3:// / gcs:// / azure:// ``source`` names; None for a local directory.

    ``filesystem`` is an fsspec filesystem already holding credentials (the operator builds one from
    an Airflow connection); without it one is built from the URL's query parameters, tidb-lightning's
    ``endpoint``, ``access-key``, ``secret-access-key``, ``region``, ``force-path-style``...
    """
    if not is_remote(source):
        return None
    url = parse_storage_url(source)
    return ObjectStorage(url, filesystem if filesystem is not None else _filesystem(url), cancel=cancel)


def _filesystem(url: StorageURL) -> Any:
    """An fsspec filesystem for ``url``'s service, configured from its query parameters."""
    package, extra = _EXTRAS[url.service]
    try:
        import fsspec  # noqa: PLC0415 - optional: only remote sources need it
    except ImportError as exc:
        raise ConfigError(f"{url.service}:// sources need fsspec and {package}: pip install "
                          f"'airflow-provider-tidb-lightning[{extra}]'", key=_KEY) from exc
    p = url.params
    options: dict[str, Any]
    if url.service == "s3":
        client: dict[str, Any] = {}
        if p.get("endpoint"):
            client["endpoint_url"] = p["endpoint"]
        if p.get("region"):
            client["region_name"] = p["region"]
        options = {"client_kwargs": client}
        if p.get("access-key"):
            options.update(key=p["access-key"], secret=p.get("secret-access-key", ""))
        if p.get("session-token"):
            options["token"] = p["session-token"]
        if p.get("force-path-style", "").lower() in ("true", "1"):
            options["config_kwargs"] = {"s3": {"addressing_style": "path"}}
        protocol = "s3"
    elif url.service == "gcs":
        options = {"endpoint_url": p["endpoint"]} if p.get("endpoint") else {}
        if p.get("credentials-file"):
            options["token"] = p["credentials-file"]
        protocol = "gcs"
    else:
        options = {key.replace("-", "_"): p[key] for key in ("account-name", "account-key", "sas-token") if p.get(key)}
        if p.get("endpoint"):
            options["account_host"] = p["endpoint"].split("://")[-1]
        protocol = "az"
    try:
        return fsspec.filesystem(protocol, skip_instance_cache=True, **options)
    except (ImportError, ValueError) as exc:
        raise ConfigError(f"{url.service}:// sources need {package}: pip install "
                          f"'airflow-provider-tidb-lightning[{extra}]' ({type(exc).__name__})", key=_KEY) from exc


def _is_transient(exc: BaseException) -> bool:
    """A storage error worth another try: a lost or timed-out connection, throttling, a 5xx."""
    if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError | NotADirectoryError):
        return False
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    text = f"{type(exc).__name__} {exc}".lower()
    return any(word in text for word in ("timeout", "timed out", "throttl", "slowdown", "slow down",
                                         "internalerror", "serviceunavailable", "503", "500", "502", "504",
                                         "connection", "reset by peer", "endpointconnectionerror"))


class ObjectStorage:
    """A bucket prefix through an fsspec filesystem: list it once, open any object by key from any thread."""

    def __init__(self, url: StorageURL, fs: Any, *, cancel: threading.Event | None = None) -> None:
        self.url = url
        self.fs = fs
        self.display = url.display
        """The URL as messages show it (secrets masked)."""
        self.root = f"{url.bucket}/{url.prefix}".rstrip("/")
        self._cancel = cancel
        self._sizes: dict[str, int] = {}  # from the listing: an open needs no HEAD request

    def call(self, what: str, action: Callable[[], _T]) -> _T:
        """Run one storage request, retrying transient failures with backoff and logging each retry.

        A permanent failure (no such bucket or key, access denied) becomes one SourceError line
        that names the masked URL and says what to check; credentials never appear in it.
        """
        attempt = 1
        while True:
            try:
                return action()
            except SourceError:
                raise
            except Exception as exc:  # noqa: BLE001 - every storage failure is classified here
                if _is_transient(exc) and attempt < _STORAGE_RETRY.attempts:
                    log.warning("storage: %s failed (%s: %s), try %d of %d", what, type(exc).__name__,
                                _one_line(exc), attempt + 1, _STORAGE_RETRY.attempts)
                    _STORAGE_RETRY.sleep(attempt, self._cancel)
                    attempt += 1
                    continue
                raise self._error(what, exc) from None

    def _error(self, what: str, exc: BaseException) -> SourceError:
        text = f"{type(exc).__name__}: {_one_line(exc)}"
        lowered = text.lower()
        if "nosuchbucket" in lowered or "bucket does not exist" in lowered or (
                isinstance(exc, FileNotFoundError) and what == "list"):
            hint = f"bucket or prefix not found: check that {self.url.bucket!r} exists and the URL's prefix is right"
        elif isinstance(exc, PermissionError) or any(word in lowered for word in (
                "accessdenied", "access denied", "forbidden", "invalidaccesskeyid", "signaturedoesnotmatch",
                "403", "credentials", "unauthorized")):
            hint = ("access refused: check the credentials (the URL's access-key / secret-access-key, or the "
                    "Airflow connection given as source_conn_id) and that they may read this bucket")
        else:
            hint = f"storage error ({text})"
        return SourceError(f"{self.display}: cannot {what}: {hint}")

    def list(self) -> Iterator[StorageObject]:
        """Every object below the prefix, in sorted key order (one paginated listing)."""
        found = self.call("list", lambda: self.fs.find(self.root, detail=True))
        if not found:
            raise SourceError(f"{self.display}: no objects under this prefix: check the bucket and the prefix")
        for path in sorted(found):
            info = found[path]
            if info.get("type") == "directory":
                continue
            relative = path[len(self.root):].lstrip("/")
            size = self._sizes[path] = int(info.get("size") or 0)
            yield StorageObject(relative, path, size, _version(info))

    def listed_size(self, path: str) -> int | None:
        """The size :meth:`list` saw for the object at ``path``; None when the listing had no such object."""
        return self._sizes.get(path)

    def open(self, path: str) -> BinaryIO:
        """A seekable stream of the object at ``path`` (a key from :meth:`list`), read by ranged GETs."""
        return io.BufferedReader(_RangeReader(self, path, self._sizes.get(path)), buffer_size=256 * 1024)


def _version(info: dict[str, Any]) -> str:
    """An object's ETag, else its modification time: what tells two objects of the same size apart."""
    for key in ("ETag", "etag", "md5_hash", "content_settings"):
        if info.get(key):
            return str(info[key]).strip('"')
    for key in ("LastModified", "last_modified", "mtime", "updated"):
        if info.get(key):
            return str(info[key])
    return ""


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


class _RangeReader(io.RawIOBase):
    """An object read by ranged GETs: one request per ``readinto``, retried on a transient failure."""

    def __init__(self, storage: ObjectStorage, path: str, size: int | None) -> None:
        super().__init__()
        self._storage = storage
        self._path = path
        self._pos = 0
        self._size = size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def size(self) -> int:
        if self._size is None:
            self._size = int(self._storage.call(f"read {self._path}", lambda: self._storage.fs.size(self._path)))
        return self._size

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            self._pos = offset
        elif whence == io.SEEK_CUR:
            self._pos += offset
        else:
            self._pos = self.size() + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer: Any) -> int:
        want = len(buffer)
        if want == 0 or self._pos >= self.size():
            return 0
        start, end = self._pos, min(self._pos + want, self.size())
        data: bytes = self._storage.call(f"read {self._path}",
                                         lambda: self._storage.fs.cat_file(self._path, start=start, end=end))
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)
