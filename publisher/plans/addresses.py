"""Which internet addresses a webhook may go to: only globally routable unicast ones.

One rule for `publisher check` (a channel's URL written as an address, or localhost) and for
the webhook sender (every address the name resolves to), so the two never disagree.
"""

from __future__ import annotations

import ipaddress
import socket
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

__all__ = ["Address", "host_problem", "not_public", "unwrapped"]

Address = IPv4Address | IPv6Address

# IPv6 forms that carry an IPv4 address inside them, and reach it: the address inside is the
# one to judge (2002:7f00:1:: is 127.0.0.1 through a 6to4 relay).
_NAT64 = IPv6Network("64:ff9b::/96")  # RFC 6052, the well-known prefix
# Globally routable IPv6 unicast is 2000::/3 (RFC 4291); everything else is local, reserved
# or special, whatever a given Python's is_global table says.
_GLOBAL_UNICAST = IPv6Network("2000::/3")
# IPv4 blocks that Python 3.11's is_global still counts as global: 192.0.0.0/24 is IETF
# protocol assignments (RFC 6890; 192.0.0.8 is a "dummy" address) and 192.88.99.0/24 the
# deprecated 6to4 relay anycast (RFC 7526). Newer Pythons agree; older ones need telling.
_NOT_GLOBAL_V4 = (IPv4Network("192.0.0.0/24"), IPv4Network("192.88.99.0/24"))
_PRIVATE = (  # RFC 1918 and unique local IPv6 (RFC 4193): what people call private networks
    IPv4Network("10.0.0.0/8"),
    IPv4Network("172.16.0.0/12"),
    IPv4Network("192.168.0.0/16"),
    IPv6Network("fc00::/7"),
)


def unwrapped(address: Address) -> Address:
    """The IPv4 address an IPv6 one stands for (IPv4-mapped ::ffff:a.b.c.d, 6to4 2002::/16,
    NAT64 64:ff9b::/96), else the address itself."""
    if isinstance(address, IPv4Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def not_public(address: Address) -> str | None:
    """None for a globally routable unicast address; otherwise plain words for what it is
    ("a loopback address"), naming the IPv4 address inside a wrapped IPv6 one."""
    inner = unwrapped(address)
    what = _kind(inner)
    if what is None:
        return None
    return what if inner == address else f"{what} ({inner} wrapped in IPv6)"


def _kind(address: Address) -> str | None:
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if any(address in net for net in _PRIVATE):
        return "a private network address"
    special = (
        not address.is_global
        or address.is_reserved
        or (isinstance(address, IPv4Address) and any(address in n for n in _NOT_GLOBAL_V4))
        or (isinstance(address, IPv6Address) and address not in _GLOBAL_UNICAST)
    )
    return "a special-purpose address" if special else None


def host_problem(host: str) -> str | None:
    """For a URL's host as written in a file: why it can never be a public receiver (an
    address that is not public, or localhost), or None when only a DNS lookup could tell."""
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return f"{host} always means the machine the publisher runs on"
    address = _literal(name)
    if address is None:
        return None
    what = not_public(address)
    return None if what is None else f"{host} is {what}"


def _literal(name: str) -> Address | None:
    try:
        return ipaddress.ip_address(name.split("%", maxsplit=1)[0])
    except ValueError:
        pass
    try:
        # The old IPv4 spellings resolvers still accept: 2130706433, 0x7f.1, 127.1.
        return IPv4Address(socket.inet_aton(name))
    except (OSError, UnicodeError, ValueError):
        return None
