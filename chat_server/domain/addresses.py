"""Client addresses: which peers are trusted proxies, and which are this machine itself."""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass, field

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class AddressSet:
    """Addresses and networks as uvicorn's FORWARDED_ALLOW_IPS lists them ("*" is every one)."""

    everyone: bool = False
    networks: tuple[Network, ...] = ()
    names: frozenset[str] = field(default_factory=frozenset)  # e.g. a unix socket path

    @classmethod
    def parse(cls, spec: str) -> AddressSet:
        items = [item.strip() for item in spec.split(",") if item.strip()]
        if "*" in items:
            return cls(everyone=True)
        networks: list[Network] = []
        names: set[str] = set()
        for item in items:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                names.add(item)
        return cls(False, tuple(networks), frozenset(names))

    def __contains__(self, host: object) -> bool:
        if self.everyone:
            return True
        if not isinstance(host, str) or not host:
            return False
        return _member(self, host)


# Asked for every connection (uvicorn's per-address cap, the gateway's socket cap), and each
# answer parses the address: a proxy set and a client's address give the same one each time.
@functools.lru_cache(maxsize=4096)
def _member(addresses: AddressSet, host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host in addresses.names
    return any(address in network for network in addresses.networks)


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
