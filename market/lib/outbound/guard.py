"""The private-address guard: the market only ever calls public addresses.

A vendor, webhook or LTI URL is attacker-controlled input (anyone can register a manifest), so
a call to it must never reach the market's own network: loopback, private ranges, the cloud
metadata address, and every IPv6 spelling that hides one of those. Staff can allow specific
``host:port`` pairs for development through ``settings.VENDOR_ALLOWED_PRIVATE_HOSTS``.

The guard is applied where the socket is opened (see ``transport.py`` and
``services/vendor_client/probe.py``) so the address connected to is the address that was
checked: a DNS answer that changes between the check and the connect (DNS rebinding) cannot
slip through.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}

_ADVICE = (
    "Vendor services must be reachable on a public address "
    "(ask staff to allowlist host:port for development)."
)


class BlockedAddress(ValueError):
    """A vendor URL or address the market refuses to call. The message says why and what to do."""


class HostNotResolvable(BlockedAddress):
    """A vendor host name that does not resolve: it cannot be checked, so it is not called."""


def _net(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(cidr)


# Most specific first: the first match gives the reason shown to people.
_BLOCKED_V4 = [
    (_net("0.0.0.0/32"), "it is the unspecified address"),
    (_net("0.0.0.0/8"), "it is in 0.0.0.0/8 ('this network')"),
    (_net("127.0.0.0/8"), "it is a loopback address"),
    (_net("10.0.0.0/8"), "it is a private address"),
    (_net("172.16.0.0/12"), "it is a private address"),
    (_net("192.168.0.0/16"), "it is a private address"),
    (_net("169.254.169.254/32"), "it is the cloud metadata address"),
    (_net("169.254.0.0/16"), "it is a link-local address"),
    (_net("100.64.0.0/10"), "it is a carrier-grade NAT (shared) address"),
    (_net("224.0.0.0/4"), "it is a multicast address"),
    (_net("255.255.255.255/32"), "it is the broadcast address"),
    (_net("240.0.0.0/4"), "it is a reserved address"),
    (_net("192.0.2.0/24"), "it is a documentation address"),
    (_net("198.51.100.0/24"), "it is a documentation address"),
    (_net("203.0.113.0/24"), "it is a documentation address"),
    (_net("192.0.0.0/24"), "it is a reserved (IETF protocol) address"),
    (_net("198.18.0.0/15"), "it is a reserved (benchmarking) address"),
    (_net("192.88.99.0/24"), "it is a reserved (6to4 relay) address"),
]

_BLOCKED_V6 = [
    (_net("::/128"), "it is the unspecified address"),
    (_net("::1/128"), "it is a loopback address"),
    (_net("fc00::/7"), "it is a private (unique local) address"),
    (_net("fe80::/10"), "it is a link-local address"),
    (_net("fec0::/10"), "it is a site-local address"),
    (_net("ff00::/8"), "it is a multicast address"),
    (_net("2001:db8::/32"), "it is a documentation address"),
    (_net("3fff::/20"), "it is a documentation address"),
    (_net("100::/64"), "it is a reserved (discard-only) address"),
    (_net("64:ff9b:1::/48"), "it is a private (local-use NAT64) address"),
]

_NAT64 = _net("64:ff9b::/96")
_IPV4_COMPATIBLE = _net("::/96")

# Forms that the C resolver (inet_aton) reads as an IPv4 address: 2130706433, 0177.0.0.1,
# 0x7f.1, 127.1. They never go to DNS, and a name whose last label is numeric is no DNS name.
_NUMERIC_HOST = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+))*\.?$", re.I)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address that an IPv6 transition form would carry the packet to, if any."""
    if ip.ipv4_mapped is not None:
        return "an IPv4-mapped IPv6 address", ip.ipv4_mapped
    if ip in _NAT64:
        return "a NAT64 address", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return "a 6to4 address", ip.sixtofour
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:
        return "an IPv4-compatible IPv6 address", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.teredo is not None:
        return "a Teredo address", ip.teredo[1]
    return None


def _reason_v4(ip: ipaddress.IPv4Address) -> str | None:
    for network, reason in _BLOCKED_V4:
        if ip in network:
            return reason
    if not ip.is_global:
        return "it is not a public address"
    return None


def _reason_v6(ip: ipaddress.IPv6Address) -> str | None:
    for network, reason in _BLOCKED_V6:
        if ip in network:
            return reason
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        form, v4 = embedded
        inner = _reason_v4(v4)
        if inner is not None:
            return f"it is {form} hiding {v4}, which {inner.removeprefix('it ')}"
        if form == "an IPv4-compatible IPv6 address":
            return f"it is {form} (deprecated)"
        if form == "a Teredo address":
            return "it is a Teredo tunnelling address"
        return None
    if not ip.is_global:
        return "it is not a public address"
    return None


def parse_ip(value: str | IPAddress) -> IPAddress | None:
    """An IP address from a literal (brackets and IPv6 zone allowed), or None for a name."""
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return value
    text = value.strip().strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def check_address(ip: str | IPAddress) -> str | None:
    """Why the market must not connect to ``ip`` ("it is a private address"), or None if public.

    A value that is not an IP address at all is refused too, so a caller can never mistake a
    typo for permission.
    """
    address = parse_ip(ip)
    if address is None:
        return "it is not an IP address"
    return _address_reason(address)


@functools.lru_cache(maxsize=8192)
def _address_reason(address: IPAddress) -> str | None:
    # Cached: probes check the same few thousand vendor addresses every minute.
    if isinstance(address, ipaddress.IPv4Address):
        return _reason_v4(address)
    return _reason_v6(address)


def normalize_host(host: str) -> str:
    """Lower-case, without IPv6 brackets or the trailing dot of a fully qualified name."""
    return host.strip().strip("[]").rstrip(".").lower()


def is_localhost_name(host: str) -> bool:
    """``localhost`` and ``*.localhost`` always mean this machine (RFC 6761): never asked of DNS."""
    name = normalize_host(host)
    return name == "localhost" or name.endswith(".localhost")


def numeric_host_address(host: str) -> IPAddress | None:
    """The address of an IP literal or of a legacy numeric IPv4 form (``0x7f.1``), else None.

    Raises BlockedAddress for a numeric-looking host that is no valid address (``999.1.1.1``),
    which would otherwise be sent to DNS.
    """
    address = parse_ip(host)
    if address is not None:
        return address
    name = normalize_host(host)
    if not _NUMERIC_HOST.match(name):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(name))
    except OSError:
        raise BlockedAddress(
            f"Refused to call {host}: it looks like an IPv4 address but is not a valid one."
        ) from None


@dataclass(frozen=True)
class Allowlist:
    """Staff-approved ``host:port`` / ``host:*`` pairs that may be called although not public."""

    entries: frozenset[tuple[str, int | None]] = frozenset()

    @classmethod
    def parse(cls, values: Iterable[str]) -> Allowlist:
        entries = set()
        for raw in values:
            value = raw.strip()
            if not value:
                continue
            host, sep, port = value.rpartition(":")
            if not sep or not host:
                raise ValueError(f"allowlist entry {raw!r} must be host:port or host:*")
            port_value = None if port == "*" else int(port)
            entries.add((_canonical_host(host), port_value))
        return cls(frozenset(entries))

    @classmethod
    def from_settings(cls) -> Allowlist:
        return cls.parse(getattr(settings, "VENDOR_ALLOWED_PRIVATE_HOSTS", None) or [])

    def allows(self, host: str | IPAddress, port: int) -> bool:
        if not self.entries:
            return False
        name = _canonical_host(str(host))
        return (name, port) in self.entries or (name, None) in self.entries


def _canonical_host(host: str) -> str:
    address = parse_ip(host)
    return str(address) if address is not None else normalize_host(host)


def refusal_message(host: str, ip: str | IPAddress, reason: str) -> str:
    """The one sentence shown to people when an address is refused."""
    address = parse_ip(ip)
    shown = _display_host(host)
    if parse_ip(host) != address or address is None:
        shown += f" ({_display_host(str(ip))})"
    return f"Refused to call {shown}: {reason}. {_ADVICE}"


def _display_host(host: str) -> str:
    bare = host.strip().strip("[]")
    return f"[{bare}]" if ":" in bare else bare


def blocked_reason(host: str, ip: str | IPAddress, port: int, allowlist: Allowlist) -> str | None:
    """The refusal message for connecting to ``ip`` on behalf of ``host``, or None if allowed.

    The allowlist is matched on the host name as written and on the resolved address, so
    ``127.0.0.1:8000`` also allows ``localhost:8000``.
    """
    reason = check_address(ip)
    if reason is None:
        return None
    if allowlist.allows(host, port) or allowlist.allows(str(ip), port):
        return None
    return refusal_message(host, ip, reason)


def _getaddrinfo(host: str, port: int) -> list[tuple[socket.AddressFamily, tuple]]:
    try:
        infos = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM)
    except UnicodeError as exc:
        raise HostNotResolvable(f"Refused to call {host}: it is not a valid host name.") from exc
    seen: set[tuple] = set()
    result = []
    for family, _type, _proto, _canon, sockaddr in infos:
        key = (family, sockaddr[0])
        if key not in seen:
            seen.add(key)
            result.append((family, sockaddr))
    return result


def resolve_checked(
    host: str, port: int, *, allowlist: Allowlist | None = None
) -> list[tuple[socket.AddressFamily, tuple]]:
    """Resolve ``host`` and return ``(family, sockaddr)`` pairs that are all safe to connect to.

    Every resolved address must pass (a name answering one public and one private address is
    refused as a whole). IP literals, legacy numeric forms and ``localhost`` never reach DNS.
    Raises BlockedAddress, or ``socket.gaierror`` when the name does not resolve.
    """
    allow = Allowlist.from_settings() if allowlist is None else allowlist
    literal = numeric_host_address(host)
    if literal is not None:
        addresses = [(_family_of(literal), _sockaddr(literal, port))]
    elif is_localhost_name(host):
        # Only IPv4 loopback: one address to allowlist, and no /etc/hosts or DNS look-up.
        addresses = [(socket.AF_INET, ("127.0.0.1", port))]
    else:
        addresses = _getaddrinfo(normalize_host(host), port)
    if not addresses:
        raise HostNotResolvable(f"Refused to call {host}: the name resolves to no address.")
    for _family, sockaddr in addresses:
        message = blocked_reason(host, sockaddr[0], port, allow)
        if message is not None:
            raise BlockedAddress(message)
    return addresses


def resolve_and_check(host: str, port: int) -> list[str]:
    """The checked IP addresses of ``host``; raises BlockedAddress if any one is not allowed."""
    return [sockaddr[0] for _family, sockaddr in resolve_checked(host, port)]


def _family_of(address: IPAddress) -> socket.AddressFamily:
    return socket.AF_INET if address.version == 4 else socket.AF_INET6


def _sockaddr(address: IPAddress, port: int) -> tuple:
    if address.version == 4:
        return (str(address), port)
    return (str(address), port, 0, 0)


def split_url(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of a vendor URL; raises BlockedAddress for anything not http(s)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BlockedAddress(f"Refused to call {url!r}: it is not a valid URL ({exc}).") from exc
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise BlockedAddress(
            f"Refused to call {url!r}: only http and https URLs can be called, "
            f"not {scheme or 'a URL without a scheme'}."
        )
    if not parts.hostname:
        raise BlockedAddress(f"Refused to call {url!r}: the URL has no host.")
    return scheme, parts.hostname, port if port is not None else DEFAULT_PORTS[scheme]


@functools.lru_cache(maxsize=8192)
def _url_parts(url: str) -> tuple[str, str, int, IPAddress | None, bool]:
    scheme, host, port = split_url(url)
    return scheme, host, port, numeric_host_address(host), is_localhost_name(host)


def precheck_url(url: str, *, allowlist: Allowlist | None = None) -> tuple[str, str, int]:
    """Refuse what can be refused without DNS: the scheme, IP-literal and localhost hosts.

    Returns ``(scheme, host, port)``. Host names are left to the connect-time check.
    """
    scheme, host, port, literal, local = _url_parts(url)
    if literal is None and not local:
        return scheme, host, port
    allow = Allowlist.from_settings() if allowlist is None else allowlist
    address = literal if literal is not None else "127.0.0.1"
    message = blocked_reason(host, address, port, allow)
    if message is not None:
        raise BlockedAddress(message)
    return scheme, host, port


def check_url(url: str) -> None:
    """Raise BlockedAddress unless ``url`` is http(s) and every address of its host is allowed.

    This resolves DNS now; the transport checks again at connect time, so a passing check is
    not a promise that a later call will go through.
    """
    _scheme, host, port = split_url(url)
    try:
        resolve_checked(host, port)
    except socket.gaierror as exc:
        raise HostNotResolvable(
            f"Refused to call {host}: the name does not resolve ({exc.strerror or exc})."
        ) from exc
