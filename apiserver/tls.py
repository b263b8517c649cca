"""Serving over TLS: a CA made for this server and a serving certificate it signs.

client-go (so kubectl and every Go controller) sends bearer tokens only over TLS, and some
clients insist on https; a kubeconfig for a TLS server carries the CA as
``certificate-authority-data``. Everything is generated in memory at start (ECDSA P-256: ~0.3 ms for
both certificates), and lives as long as the server; nothing is trusted system-wide.
"""
from __future__ import annotations

import datetime
import ipaddress
import os
import tempfile
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# The names kube-apiserver's serving certificate carries, plus loopback.
DEFAULT_NAMES = ("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                 "kubernetes.default.svc.cluster.local")
DEFAULT_IPS = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class ServingCertificate:
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes

    @classmethod
    def generate(cls, hosts: tuple[str, ...] = (), days: int = 365) -> "ServingCertificate":
        now = datetime.datetime.now(datetime.timezone.utc)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubesim-ca")])
        ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
              .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=days))
              .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
              .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                           content_commitment=False, key_encipherment=False, data_encipherment=False,
                                           key_agreement=False, encipher_only=False, decipher_only=False),
                             critical=True)
              .sign(ca_key, hashes.SHA256()))
        key = ec.generate_private_key(ec.SECP256R1())
        names: list[x509.GeneralName] = []
        for h in (*DEFAULT_NAMES, *DEFAULT_IPS, *hosts):
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(h)))
            except ValueError:
                names.append(x509.DNSName(h))
        unique = list(dict.fromkeys(names))
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
                .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=days))
                .add_extension(x509.SubjectAlternativeName(unique), critical=False)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .sign(ca_key, hashes.SHA256()))
        pem = serialization.Encoding.PEM
        return cls(ca.public_bytes(pem), cert.public_bytes(pem),
                   key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))

    def write(self, directory: str | None = None) -> tuple[str, str, str]:
        """(cert file, key file, CA file) in ``directory`` (a new private temporary one by default)."""
        directory = directory or tempfile.mkdtemp(prefix="kubesim-tls-")
        paths = []
        for name, data in (("tls.crt", self.cert_pem), ("tls.key", self.key_pem), ("ca.crt", self.ca_pem)):
            path = os.path.join(directory, name)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            paths.append(path)
        return paths[0], paths[1], paths[2]
