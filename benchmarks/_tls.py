"""A throw-away test CA for the benchmarks' HTTPS variants (`--tls`)."""

from __future__ import annotations

from collections.abc import MutableMapping
from pathlib import Path


def write_test_ca(folder: Path, environ: MutableMapping[str, str]) -> list[str]:
    """Write a CA and a 127.0.0.1/localhost certificate into `folder`; the CA is trusted through
    `environ["SSL_CERT_FILE"]`. Returns the server's `[certfile, keyfile]`."""
    import trustme

    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    cert, key, bundle = folder / "server.pem", folder / "server.key", folder / "ca.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    for extra in leaf.cert_chain_pems[1:]:
        extra.write_to_path(str(cert), append=True)
    leaf.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(bundle))
    environ["SSL_CERT_FILE"] = str(bundle)
    return [str(cert), str(key)]
