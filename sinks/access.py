"""Who may read what the dashboard serves over HTTP: its page, API, event stream, metrics and
the Atom feeds. Framework-free: the server turns a request into an :class:`Asked` and acts on
the :class:`Verdict`.

Every request passes two checks before anything is read:

1. Host. The ``Host`` header must name this server: localhost, 127.0.0.1, ::1, the listen
   address, or one of ``allowed_hosts``; else 421. A page on another site whose name the
   attacker points at this machine (DNS rebinding) sends its own name, and is refused.
2. Credentials, when a token or a trusted proxy header is configured: the token as
   ``Authorization: Bearer``, as the password of basic auth or as ``?token=`` (the dashboard
   answers that one with a session cookie and a redirect to the clean URL); the cookie; or the
   trusted proxy header on a request from a trusted proxy address. Else 401. Feed readers
   (paths under ``reader_prefix``) keep their URL and no cookies: there a token in the URL is
   taken as it is, without the redirect, and a 401 asks for basic auth.

Tokens are compared in constant time, over their SHA-256 digests so that not even their length
shows. Every response also carries :data:`SECURITY_HEADERS` (each server adds its own
Content-Security-Policy and Cache-Control).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from newsradar.settings import HttpAccessSettings

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
"""Headers on every response of both servers, errors and event streams included."""
COOKIE_MAX_AGE_SECONDS = 30 * 24 * 3600
"""How long a browser keeps the dashboard's session cookie; a new token ends it at once."""
_PORT = re.compile(r":[0-9]{1,5}")
_NAME = re.compile(r"[a-z0-9.-]{1,253}|[0-9a-f:.]{2,45}")


@dataclass(frozen=True)
class Asked:
    """What the gate reads of a request."""

    target: str
    """The request target as sent: path and query, still percent-encoded."""
    host: str | None
    """The Host header; None when it is missing or given twice."""
    header: Callable[[str], str | None]
    """Any other header by name (case-insensitive)."""
    peer: str | None
    """The address the connection comes from."""
    tls: bool = False


@dataclass(frozen=True)
class Verdict:
    """``status`` 200: go on. 303: the token in the URL was right; redirect to ``location``
    setting ``cookie``. 400, 401, 421: refused, ``reason`` says why and what to do."""

    status: int
    reason: str = ""
    location: str = ""
    cookie: str = ""
    challenge: str = ""
    """The WWW-Authenticate header of a 401."""


ADMITTED = Verdict(200)


class Gate:
    """The Host allow-list and the credentials of one server (``key`` names its settings
    section in messages, e.g. ``dashboard``)."""

    def __init__(
        self,
        settings: HttpAccessSettings,
        key: str,
        *,
        cookie_name: str | None = None,
        open_paths: frozenset[str] = frozenset(),
        challenge: str,
        reader_prefix: str | None = None,
        reader_challenge: str = "",
    ) -> None:
        self.key = key
        self.cookie_name = cookie_name
        self.open_paths = open_paths
        self.challenge = challenge
        self.reader_prefix = reader_prefix
        self.reader_challenge = reader_challenge or challenge
        loopback = {"localhost", "127.0.0.1", "::1"}
        self.hosts = frozenset(
            {*loopback, *settings.allowed_hosts, settings.host.lower().strip("[]")}
        )
        secret = settings.token.get_secret_value() if settings.token is not None else None
        self._secret = secret
        self._token_digest = _digest(secret) if secret is not None else None
        self._cookie_value = (
            hmac.new(secret.encode(), b"newsradar session cookie", hashlib.sha256).hexdigest()
            if secret is not None
            else None
        )
        self.proxy_header = settings.trusted_proxy_header
        self._proxies = [ipaddress.ip_network(p, strict=False) for p in settings.trusted_proxies]

    @property
    def protected(self) -> bool:
        return self._token_digest is not None or self.proxy_header is not None

    def check(self, asked: Asked) -> Verdict:
        refused = self._check_host(asked.host) or self._check_target(asked.target)
        if refused is not None or not self.protected:
            return refused or ADMITTED
        split = urlsplit(asked.target)
        query = parse_qsl(split.query, keep_blank_values=True)
        given = [value for name, value in query if name == "token"]
        if split.path in self.open_paths:
            return ADMITTED
        reader = self.reader_prefix is not None and split.path.startswith(self.reader_prefix)
        if not given:
            has = self._has_credentials(asked)
            return ADMITTED if has else self._refusal("access token needed", reader)
        if not self._is_token(given[0]):
            return self._refusal("wrong token", reader)
        if self.cookie_name is None or reader:  # feed readers keep the URL, and no cookies
            return ADMITTED
        # In a browser: the token leaves the address bar (and history) for a cookie.
        rest = urlencode([(name, value) for name, value in query if name != "token"])
        # One leading slash: "//evil.example" would send the browser elsewhere.
        path = "/" + quote(split.path.lstrip("/\\"), safe="/%:@!$&'()*+,;=-._~")
        flags = "; Secure" if self._secure(asked) else ""
        return Verdict(
            303,
            location=path + (f"?{rest}" if rest else ""),
            cookie=(
                f"{self.cookie_name}={self._cookie_value}; Path=/; "
                f"Max-Age={COOKIE_MAX_AGE_SECONDS}; HttpOnly; SameSite=Strict{flags}"
            ),
        )

    def _check_host(self, header: str | None) -> Verdict | None:
        host = _host_name(header) if header is not None else None
        if host is None:
            return Verdict(400, f"{self.key}: the request needs exactly one valid Host header")
        if host not in self.hosts:
            return Verdict(
                421,
                f"{self.key}: this server does not answer to the name {host[:100]!r}; if it is "
                f"one of this server's names, add it to {self.key}.allowed_hosts",
            )
        return None

    def _check_target(self, target: str) -> Verdict | None:
        try:
            urlsplit(target)
        except ValueError:  # e.g. "http://[::1/": an authority that is not one
            return Verdict(400, f"{self.key}: the request target is not a URL path")
        return None

    def _refusal(self, what: str, reader: bool = False) -> Verdict:
        challenge = self.reader_challenge if reader else self.challenge
        if self._token_digest is None:
            return Verdict(
                401,
                f"{self.key}: only requests through the authenticating reverse proxy are "
                f"served ({self.key}.trusted_proxy_header)",
                challenge=challenge,
            )
        if self.cookie_name is not None and not reader:
            how = (
                f"open it once as /?token=<{self.key}.token> (that sets a cookie), or send "
                "Authorization: Bearer <token>"
            )
        else:
            how = (
                f"add ?token=<{self.key}.token> to the feed URL, or give the token as the "
                "password of basic auth (any user name)"
            )
        return Verdict(401, f"{self.key}: {what}; {how}", challenge=challenge)

    def _has_credentials(self, asked: Asked) -> bool:
        if (
            self.proxy_header is not None
            and self._from_proxy(asked)
            and asked.header(self.proxy_header)
        ):
            return True
        if self._token_digest is None:
            return False
        scheme, _, value = (asked.header("Authorization") or "").strip().partition(" ")
        if scheme.lower() == "bearer" and self._is_token(value.strip()):
            return True
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return False
            if self._is_token(decoded.partition(":")[2]):
                return True
        return self.cookie_name is not None and self._has_cookie(asked.header("Cookie") or "")

    def _has_cookie(self, header: str) -> bool:
        assert self._cookie_value is not None
        for part in header.split(";"):
            name, _, value = part.strip().partition("=")
            if name == self.cookie_name and hmac.compare_digest(
                value.encode("utf-8", "surrogatepass"), self._cookie_value.encode()
            ):
                return True
        return False

    def _is_token(self, candidate: str) -> bool:
        assert self._token_digest is not None
        return hmac.compare_digest(_digest(candidate), self._token_digest)

    def _from_proxy(self, asked: Asked) -> bool:
        try:
            peer = ipaddress.ip_address(asked.peer or "")
        except ValueError:
            return False
        return any(peer in network for network in self._proxies)

    def _secure(self, asked: Asked) -> bool:
        forwarded = (asked.header("X-Forwarded-Proto") or "").lower()
        return asked.tls or (forwarded == "https" and self._from_proxy(asked))


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def _host_name(header: str) -> str | None:
    """The name in a Host header (lower case, without port or brackets), or None if it is not
    one."""
    value = header.strip().lower()
    if value.startswith("["):
        name, bracket, rest = value[1:].partition("]")
        if not bracket:
            return None
    else:
        name, colon, port = value.partition(":")
        rest = f":{port}" if colon else ""
    if rest and not _PORT.fullmatch(rest):
        return None
    name = name.rstrip(".")
    return name if _NAME.fullmatch(name) else None
