"""Run the store with gunicorn (threaded workers), optionally over HTTPS with a local certificate."""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path

from gunicorn.app.base import BaseApplication

from lookbook.db import Database
from lookbook.web.settings import Settings


class StoreServer(BaseApplication):
    """gunicorn, configured from arguments instead of a config file; each worker builds its own app."""

    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from lookbook.web.app import create_app

        return create_app()


def local_certificate(directory: Path, hosts: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")) -> tuple[Path, Path]:
    """A self-signed certificate for development, made once and kept in the data directory."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Lookbook development certificate")])
    alt_names = []
    for host in hosts:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alt_names.append(x509.DNSName(host))
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def serve(*, host: str, port: int, workers: int, threads: int, https: bool) -> None:
    """Start gunicorn in the foreground; settings are checked here first so a bad configuration fails fast."""
    if https:
        os.environ["LOOKBOOK_HTTPS"] = "1"
    settings = Settings.from_env()
    # Migrate once here, before the workers start, so they never race to create the same tables.
    Database(settings.database_url).dispose()
    os.environ["LOOKBOOK_MIGRATE_ON_START"] = "0"
    options = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "timeout": 60,
        "graceful_timeout": 20,
        "accesslog": "-",
        "errorlog": "-",
        "loglevel": "info",
        # Keep Authorization and tokens out of the access log: method, path, status, size, time only.
        "access_log_format": '%(h)s "%(r)s" %(s)s %(b)s %(M)sms',
    }
    if https:
        cert, key = local_certificate(settings.tls_directory)
        options.update(certfile=str(cert), keyfile=str(key))
    StoreServer(options).run()
