"""A real S3 API on 127.0.0.1: moto's server in a thread, with credentials that it checks.

The server starts with authentication off just long enough to create an IAM user allowed every
S3 action and an access key for it; then authentication is switched on, so a wrong key is
refused the way AWS refuses it (403 InvalidAccessKeyId / SignatureDoesNotMatch). Dumps are
uploaded under a prefix of one bucket with ``upload_dir``.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

BUCKET = "dumps"
REGION = "us-east-1"
_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}


@dataclass(frozen=True)
class S3Endpoint:
    endpoint: str  # http://127.0.0.1:<port>
    access_key: str
    secret_key: str

    def client(self, *, access_key: str | None = None, secret_key: str | None = None) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id=access_key or self.access_key,
                            aws_secret_access_key=secret_key or self.secret_key)

    def url(self, prefix: str, *, bucket: str = BUCKET, secret_key: str | None = None) -> str:
        """A tidb-lightning storage URL with the endpoint and credentials as (percent-encoded) query parameters."""
        return (f"s3://{bucket}/{prefix}?endpoint={self.endpoint}&region={REGION}&force-path-style=true"
                f"&access-key={quote(self.access_key)}&secret-access-key={quote(secret_key or self.secret_key)}")

    def leaks_secret(self, text: str) -> bool:
        """Whether ``text`` holds the secret key, as it is or percent-encoded as in :meth:`url`."""
        return self.secret_key in text or quote(self.secret_key) in text

    def upload_dir(self, directory: Path, prefix: str) -> list[str]:
        """Upload every file below ``directory`` to ``s3://dumps/<prefix>/``; returns the keys."""
        client = self.client()
        keys = []
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            key = f"{prefix}/{path.relative_to(directory).as_posix()}"
            client.upload_file(str(path), BUCKET, key)
            keys.append(key)
        return keys


def start_s3() -> tuple[Any, S3Endpoint]:
    """Start the server; returns it (to ``stop()``) and the endpoint with a valid key."""
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    # Port 0: the server binds a port the kernel picks. A port picked here and bound by the server later could
    # be taken in between, and start() then waits forever for a server that never comes up.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{server.get_host_and_port()[1]}"
    iam = boto3.client("iam", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="setup",
                       aws_secret_access_key="setup")
    iam.create_user(UserName="lightning")
    iam.put_user_policy(UserName="lightning", PolicyName="s3", PolicyDocument=json.dumps(_POLICY))
    key = iam.create_access_key(UserName="lightning")["AccessKey"]
    s3 = S3Endpoint(endpoint, key["AccessKeyId"], key["SecretAccessKey"])
    s3.client(access_key="setup", secret_key="setup").create_bucket(Bucket=BUCKET)
    request = urllib.request.Request(f"{endpoint}/moto-api/reset-auth", data=b"0", method="POST",
                                     headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=10) as response:  # from now on every request is checked
        response.read()
    return server, s3
