"""`rdagent:workloads.ui.ingress.auth` and `.certManager`: who may reach an exposed UI, and its certificate.

RD-Agent's UI has no login of its own and shows experiment traces and code, so an exposed UI sits
behind oauth2-proxy signing users in with an OIDC provider (staging and prod refuse an exposed UI
without it: config/stack.py). The certificate comes from `secrets.tlsCertificate`/`tlsPrivateKey`,
from an existing Secret (`ingress.tlsSecretName`), or from a cert-manager issuer.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from typing import Annotated, Literal

from pydantic import Field, model_validator

from rdagent_infra import defaults as seed
from rdagent_infra.config.base import DnsName, Model, path_error

COOKIE_SECRET_BYTES = (16, 24, 32)
_URL_SAFE = re.compile(r"^[A-Za-z0-9_-]*$")
_DOMAIN = r"^(\*|[a-z0-9]([-a-z0-9.]*[a-z0-9])?)$"


class UiAuthConfig(Model):
    """oauth2-proxy (one per routed UI Service) with an OIDC provider; secrets.oauth2ClientSecret and
    secrets.oauth2CookieSecret hold its client secret and cookie secret."""

    enabled: bool = False
    image: Annotated[str, Field(pattern=r"^\S+:[A-Za-z0-9._-]+$")] = seed.OAUTH2_PROXY_IMAGE
    # The provider's issuer (its /.well-known/openid-configuration is read at start), https only.
    oidcIssuerUrl: Annotated[str, Field(pattern=r"^https://[^\s/]+(/\S*)?$")] | None = None
    clientId: Annotated[str, Field(min_length=1)] | None = None
    # Who may sign in: users whose e-mail is in one of these domains and/or in one of these groups.
    emailDomains: list[Annotated[str, Field(pattern=_DOMAIN)]] = []
    allowedGroups: list[Annotated[str, Field(min_length=1)]] = []
    groupsClaim: Annotated[str, Field(min_length=1)] = "groups"
    replicas: Annotated[int, Field(ge=1, le=10)] = seed.OAUTH2_PROXY_REPLICAS
    # Where the proxy may connect to reach the OIDC provider (HTTPS).
    egressCidrs: Annotated[list[str], Field(min_length=1)] = ["0.0.0.0/0"]
    # The addresses whose X-Forwarded-* headers the proxy believes: the Gateway's or the ingress
    # controller's pods. Empty: the cluster's VPC in eks mode (the VPC CNI gives pods VPC addresses);
    # elsewhere every address, oauth2-proxy's default, which it warns about at start.
    trustedProxyCidrs: list[str] = []

    @model_validator(mode="after")
    def _complete(self) -> UiAuthConfig:
        if not self.enabled:
            return self
        for key in ("oidcIssuerUrl", "clientId"):
            if getattr(self, key) is None:
                raise path_error([key], "required when auth is enabled (the OIDC provider oauth2-proxy signs users in with)")
        if not self.emailDomains and not self.allowedGroups:
            raise path_error(["emailDomains"], "say who may sign in: set emailDomains (e.g. [example.com]) and/or allowedGroups")
        for index, cidr in enumerate(self.trustedProxyCidrs):
            try:
                ipaddress.ip_network(cidr, strict=True)
            except ValueError as exc:
                raise path_error(["trustedProxyCidrs", index], f"not a CIDR block ({exc})") from None
        return self


class CertManagerConfig(Model):
    """A cert-manager issuer that issues the UI's certificate into the TLS Secret (a Certificate object).

    On a cluster the stack creates (eks mode) the program installs cert-manager and creates the
    issuer: an ACME issuer (`acmeServer`, Let's Encrypt's by default) that solves HTTP-01 through
    the Gateway, registered with `acmeEmail`. On an existing cluster the issuer is the cluster's."""

    issuer: DnsName
    issuerKind: Literal["ClusterIssuer", "Issuer"] = "ClusterIssuer"
    acmeEmail: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    acmeServer: Annotated[str, Field(pattern=r"^https://\S+$")] = seed.ACME_SERVER


def cookie_secret_problem(value: str) -> str | None:
    """What oauth2-proxy would refuse in a cookie secret, or None.

    oauth2-proxy (pkg/encryption SecretBytes) decodes the secret as unpadded URL-safe base64 and uses
    the decoded bytes when they are 16, 24 or 32 long; otherwise the raw string, which must then be
    16, 24 or 32 bytes itself (an AES key).
    """
    unpadded = value.rstrip("=")
    decodable = _URL_SAFE.match(unpadded) and len(unpadded) % 4 != 1
    decoded = base64.urlsafe_b64decode(unpadded + "=" * (-len(unpadded) % 4)) if decodable else b""
    if len(decoded) in COOKIE_SECRET_BYTES or len(value.encode()) in COOKIE_SECRET_BYTES:
        return None
    return "must be 16, 24 or 32 bytes, or their URL-safe base64 (make one with: openssl rand -base64 32 | tr -- '+/' '-_')"
