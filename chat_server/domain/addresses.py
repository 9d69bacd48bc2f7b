"""Client addresses: which peers are trusted proxies, and which are this machine itself."""

from __future__ import annotations

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
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return host in self.names
        return any(address in network for network in self.networks)


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
