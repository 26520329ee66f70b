"""The private-address guard: which addresses and URLs the market refuses to call."""

import pytest

from market.lib.outbound.guard import (
    Allowlist,
    BlockedAddress,
    HostNotResolvable,
    check_address,
    check_url,
    resolve_and_check,
)

pytestmark = pytest.mark.usefixtures("connection_log", "no_allowlist")

BLOCKED_ADDRESSES = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("10.0.0.1", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "cloud metadata"),
    ("169.254.1.1", "link-local"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.255", "carrier-grade NAT"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "broadcast"),
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "this network"),
    ("192.0.2.1", "documentation"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("198.18.0.1", "benchmarking"),
    ("192.0.0.8", "IETF protocol"),
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("fd00::1", "unique local"),
    ("fc00::1", "unique local"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),
    ("fec0::1", "site-local"),
    ("ff02::1", "multicast"),
    ("2001:db8::1", "documentation"),
    ("::ffff:127.0.0.1", "hiding 127.0.0.1"),
    ("::ffff:10.0.0.1", "hiding 10.0.0.1"),
    ("::ffff:169.254.169.254", "cloud metadata"),
    ("::127.0.0.1", "IPv4-compatible"),
    ("::8.8.8.8", "IPv4-compatible"),
    ("2002:7f00:1::", "6to4 address hiding 127.0.0.1"),
    ("2002:a00:1::1", "hiding 10.0.0.1"),
    ("64:ff9b::7f00:1", "NAT64 address hiding 127.0.0.1"),
    ("64:ff9b::a9fe:a9fe", "cloud metadata"),
    ("64:ff9b:1::1", "local-use NAT64"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
    ("[::1]", "loopback"),
]


@pytest.mark.parametrize(("address", "words"), BLOCKED_ADDRESSES)
def test_check_address_refuses_non_public_addresses_with_a_reason(address, words):
    reason = check_address(address)

    assert reason is not None
    assert words in reason


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "2a00:1450::1"]
)
def test_check_address_allows_public_addresses(address):
    assert check_address(address) is None


def test_check_address_refuses_something_that_is_not_an_address():
    assert check_address("vendor.example") == "it is not an IP address"


# Each of these reaches the market's own machine or network if the guard is fooled.
DISGUISED_URLS = [
    "http://2130706433/",  # decimal 127.0.0.1
    "http://017700000001/",  # octal, one number
    "http://0177.0.0.1/",  # octal dotted
    "http://0x7f.1/",  # hex, short
    "http://0x7f000001/",  # hex, one number
    "http://127.1/",  # short form
    "http://127.0.0.1:8000/mt/health",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped
    "http://[::ffff:7f00:1]/",  # IPv4-mapped, hex spelling
    "http://[::127.0.0.1]/",  # IPv4-compatible
    "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "http://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
    "http://0.0.0.0/",
    "http://0/",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    "http://[fd00::1]/",
    "http://[fe80::1]/",
    "http://[fec0::1]/",
    "http://[::]/",
    "http://localhost/",
    "http://LOCALHOST./",
    "http://api.localhost:9000/",
    "https://user:pw@127.0.0.1/",
    "http://192.0.2.1/",
    "http://[2001:db8::1]/",
]


@pytest.mark.parametrize("url", DISGUISED_URLS)
def test_check_url_refuses_disguised_private_addresses_without_connecting(url, connection_log):
    with pytest.raises(BlockedAddress) as refused:
        check_url(url)

    assert str(refused.value).startswith("Refused to call ")
    assert "allowlist host:port" in str(refused.value)
    assert connection_log == []


def test_refusal_message_names_the_address_and_what_to_do():
    with pytest.raises(BlockedAddress) as refused:
        check_url("http://10.0.0.1/mt/health")

    assert str(refused.value) == (
        "Refused to call 10.0.0.1: it is a private address. Vendor services must be "
        "reachable on a public address (ask staff to allowlist host:port for development)."
    )


def test_refusal_message_shows_what_a_disguised_host_really_is():
    with pytest.raises(BlockedAddress, match=r"Refused to call 0x7f\.1 \(127\.0\.0\.1\)"):
        check_url("http://0x7f.1/")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://vendor.example/",
        "file:///etc/passwd",
        "gopher://127.0.0.1/",
        "vendor.example/mt/health",
        "http:///nohost",
        "http://vendor.example:99999/",
    ],
)
def test_check_url_refuses_what_is_not_an_http_url(url):
    with pytest.raises(BlockedAddress):
        check_url(url)


def test_numeric_looking_host_that_is_no_address_is_refused_without_dns(fake_dns):
    calls = fake_dns({})

    with pytest.raises(BlockedAddress, match="not a valid one"):
        check_url("http://999.1.1.1/")
    assert calls == []


def test_check_url_accepts_a_public_address():
    assert check_url("https://8.8.8.8/mt/health") is None


def test_a_name_is_refused_when_any_of_its_addresses_is_private(fake_dns):
    fake_dns({"mixed.test": [["93.184.216.34", "10.0.0.7"]]})

    with pytest.raises(BlockedAddress, match=r"mixed\.test \(10\.0\.0\.7\): it is a private"):
        check_url("https://mixed.test/")


def test_resolve_and_check_returns_every_checked_address(fake_dns):
    fake_dns({"vendor.test": [["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]]})

    assert resolve_and_check("vendor.test", 443) == [
        "93.184.216.34",
        "2606:2800:220:1:248:1893:25c8:1946",
    ]


def test_a_name_that_does_not_resolve_is_refused_as_unresolvable(fake_dns):
    fake_dns({})

    with pytest.raises(HostNotResolvable, match="does not resolve"):
        check_url("https://nowhere.test/")


def test_localhost_names_never_reach_the_resolver(fake_dns, settings):
    settings.VENDOR_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1:9001"]
    calls = fake_dns({})

    assert resolve_and_check("localhost", 9001) == ["127.0.0.1"]
    assert resolve_and_check("app.localhost.", 9001) == ["127.0.0.1"]
    assert calls == []


# --- the allowlist ------------------------------------------------------------------------


def test_allowlisted_ip_and_port_is_allowed_only_on_that_port(settings):
    settings.VENDOR_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1:8123"]

    assert check_url("http://127.0.0.1:8123/mt/health") is None
    with pytest.raises(BlockedAddress):
        check_url("http://127.0.0.1:8124/mt/health")
    with pytest.raises(BlockedAddress):
        check_url("http://10.0.0.1:8123/mt/health")


def test_allowlisted_ip_also_allows_its_disguised_spellings_on_that_port(settings):
    # Matching on the resolved address is what makes the allowlist impossible to dodge.
    settings.VENDOR_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1:8123"]

    assert check_url("http://localhost:8123/") is None
    assert check_url("http://2130706433:8123/") is None
    with pytest.raises(BlockedAddress):
        check_url("http://[::1]:8123/")


def test_allowlist_wildcard_port_allows_every_port_of_that_host(settings):
    settings.VENDOR_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1:*"]

    assert check_url("http://127.0.0.1:1/") is None
    assert check_url("http://127.0.0.1:65535/") is None
    with pytest.raises(BlockedAddress):
        check_url("http://127.0.0.2:80/")


def test_allowlist_matches_the_host_name_as_written(settings, fake_dns):
    settings.VENDOR_ALLOWED_PRIVATE_HOSTS = ["vendor.internal:8443"]
    fake_dns({"vendor.internal": [["10.1.2.3"]], "other.internal": [["10.1.2.3"]]})

    assert check_url("https://Vendor.Internal.:8443/") is None
    with pytest.raises(BlockedAddress):
        check_url("https://vendor.internal:443/")
    with pytest.raises(BlockedAddress):
        check_url("https://other.internal:8443/")


def test_allowlist_entries_for_ipv6_use_brackets(settings):
    settings.VENDOR_ALLOWED_PRIVATE_HOSTS = ["[::1]:8000"]

    assert check_url("http://[::1]:8000/") is None
    assert check_url("http://[0:0::1]:8000/") is None


def test_empty_allowlist_allows_no_private_address(settings):
    settings.VENDOR_ALLOWED_PRIVATE_HOSTS = []

    with pytest.raises(BlockedAddress):
        check_url("http://127.0.0.1:8000/")


@pytest.mark.parametrize("entry", ["127.0.0.1", "127.0.0.1:http", ":80"])
def test_malformed_allowlist_entries_are_rejected(entry):
    with pytest.raises(ValueError):
        Allowlist.parse([entry])
