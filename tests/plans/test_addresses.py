"""Which addresses a webhook may go to: a table of addresses through the one rule that both
`publisher check` and the webhook sender use. Pure functions: no test here opens a socket."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from publisher.plans.addresses import host_problem, not_public, unwrapped

LOOPBACK = "a loopback address"
PRIVATE = "a private network address"
SPECIAL = "a special-purpose address"


@pytest.mark.parametrize(
    ("address", "what"),
    [
        # Public unicast: allowed.
        ("93.184.216.34", None),
        ("8.8.8.8", None),
        ("2606:2800:220:1:248:1893:25c8:1946", None),
        ("2002:5db8:d822::1", None),  # 6to4 wrapping 93.184.216.34
        ("64:ff9b::808:808", None),  # NAT64 wrapping 8.8.8.8
        ("::ffff:93.184.216.34", None),  # IPv4-mapped public
        # IPv4 that is not public.
        ("127.0.0.1", LOOPBACK),
        ("127.255.255.254", LOOPBACK),
        ("0.0.0.0", "the unspecified address"),
        ("10.0.0.1", PRIVATE),
        ("172.16.0.1", PRIVATE),
        ("192.168.1.1", PRIVATE),
        ("169.254.169.254", "a link-local address"),  # cloud metadata
        ("100.64.0.1", SPECIAL),  # shared address space (carrier-grade NAT)
        ("192.0.0.8", SPECIAL),  # IETF protocol assignments: Python 3.11 calls it global
        ("192.0.0.9", SPECIAL),
        ("192.0.2.1", SPECIAL),  # documentation
        ("192.88.99.1", SPECIAL),  # 6to4 relay anycast, deprecated
        ("198.18.0.1", SPECIAL),  # benchmarking
        ("240.0.0.1", SPECIAL),  # reserved
        ("255.255.255.255", SPECIAL),  # broadcast
        ("224.0.0.1", "a multicast address"),
        ("239.255.255.250", "a multicast address"),
        # IPv6 that is not public.
        ("::1", LOOPBACK),
        ("::", "the unspecified address"),
        ("fe80::1", "a link-local address"),
        ("fd00::1", PRIVATE),
        ("fec0::1", SPECIAL),  # site-local, deprecated
        ("2001:db8::1", SPECIAL),  # documentation
        ("2001::1", SPECIAL),  # Teredo
        ("64:ff9b:1::1", SPECIAL),  # local-use NAT64
        ("::7f00:1", SPECIAL),  # IPv4-compatible, deprecated
        ("100::1", SPECIAL),  # discard-only
        ("ff02::1", "a multicast address"),
        ("ff0e::1", "a multicast address"),
        # IPv4 wrapped in IPv6: judged as the IPv4 address inside.
        ("::ffff:127.0.0.1", f"{LOOPBACK} (127.0.0.1 wrapped in IPv6)"),
        ("::ffff:10.0.0.1", f"{PRIVATE} (10.0.0.1 wrapped in IPv6)"),
        ("2002:7f00:1::", f"{LOOPBACK} (127.0.0.1 wrapped in IPv6)"),
        ("2002:a9fe:a9fe::", "a link-local address (169.254.169.254 wrapped in IPv6)"),
        ("2002:c000:8::", f"{SPECIAL} (192.0.0.8 wrapped in IPv6)"),
        ("64:ff9b::7f00:1", f"{LOOPBACK} (127.0.0.1 wrapped in IPv6)"),
        ("64:ff9b::a00:1", f"{PRIVATE} (10.0.0.1 wrapped in IPv6)"),
        ("64:ff9b::e000:1", "a multicast address (224.0.0.1 wrapped in IPv6)"),
    ],
)
def test_only_globally_routable_unicast_addresses_are_public(
    address: str, what: str | None
) -> None:
    assert not_public(ip_address(address)) == what


@pytest.mark.parametrize(
    ("address", "inside"),
    [
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("2002:7f00:1::", "127.0.0.1"),
        ("64:ff9b::c000:201", "192.0.2.1"),
        ("2606:2800:220:1::1", "2606:2800:220:1::1"),  # nothing inside
        ("192.0.2.1", "192.0.2.1"),
    ],
)
def test_the_ipv4_address_inside_an_ipv6_one(address: str, inside: str) -> None:
    assert unwrapped(ip_address(address)) == ip_address(inside)


@pytest.mark.parametrize(
    ("host", "problem"),
    [
        ("hooks.example.org", None),  # a name: only a lookup can tell, and the sender does it
        ("93.184.216.34", None),
        ("localhost", "localhost always means the machine the publisher runs on"),
        ("LocalHost.", "LocalHost. always means the machine the publisher runs on"),
        ("hooks.localhost", "hooks.localhost always means the machine the publisher runs on"),
        ("127.0.0.1", "127.0.0.1 is a loopback address"),
        ("[::1]", "[::1] is a loopback address"),
        ("::1", "::1 is a loopback address"),
        ("fe80::1%eth0", "fe80::1%eth0 is a link-local address"),
        ("2130706433", "2130706433 is a loopback address"),  # 127.0.0.1 as one number
        ("0x7f.1", "0x7f.1 is a loopback address"),  # and in the old short hex form
        ("192.0.0.8", "192.0.0.8 is a special-purpose address"),
        ("2002:7f00:1::", "2002:7f00:1:: is a loopback address (127.0.0.1 wrapped in IPv6)"),
    ],
)
def test_a_host_written_in_a_channel_file(host: str, problem: str | None) -> None:
    assert host_problem(host) == problem
