"""Login abuse: brute force (many failures per client or per account) and credential stuffing
(many accounts failing from one client or one network).

Only failed login attempts touch the store, so ordinary traffic costs nothing here. The account
of a login attempt is `Observation.principal`: the keyed hash of the user name tried.

A stuffing run from a single address also trips brute force for that address: the two findings
describe the same source from two angles (volume, breadth) and each fires once per cooldown.
"""

from __future__ import annotations

import functools
import ipaddress

from otel_apisec.correlate.api import CorrelationFinding, Observation, StateStore
from otel_apisec.correlate.base import CLIENT, NETWORK, PRINCIPAL, client_of, fire, is_failed_login, state_key
from otel_apisec.correlate.config import CorrelationConfig
from otel_apisec.correlate.geo import parse_address
from otel_apisec.correlate.rules import correlator_name
from otel_apisec.detect.rules.abuse import BRUTE_FORCE, CREDENTIAL_STUFFING

__all__ = ["BruteForce", "CredentialStuffing", "network_of"]


@functools.lru_cache(maxsize=4096)
def network_of(address: str, ipv4_prefix: int, ipv6_prefix: int) -> str | None:
    """`203.0.113.0/24` for `203.0.113.9` (and the /64 of an IPv6 address); None for garbage."""
    ip = parse_address(address)
    if ip is None:
        return None
    prefix = ipv4_prefix if ip.version == 4 else ipv6_prefix
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


class BruteForce:
    name = correlator_name(BRUTE_FORCE)

    def __init__(self, config: CorrelationConfig) -> None:
        self.config = config

    def observe(self, obs: Observation, store: StateStore) -> list[CorrelationFinding]:
        if not is_failed_login(obs):
            return []
        cfg = self.config
        window = cfg.brute_force_window_s
        findings: list[CorrelationFinding] = []
        client = client_of(obs)
        if client:
            subject = {CLIENT: client}
            failures = store.count(state_key("bf.c", subject), obs.time_s, window)
            if failures >= cfg.brute_force_client_failures:
                findings += fire(
                    store, cfg.cooldown_s, BRUTE_FORCE, obs, subject,
                    {"failed_logins": failures, "threshold": cfg.brute_force_client_failures, "window_s": window},
                    f"{failures} failed logins from one client in {window:g} s",
                )
        if obs.principal:
            subject = {PRINCIPAL: obs.principal}
            failures = store.count(state_key("bf.a", subject), obs.time_s, window)
            clients = store.distinct(state_key("bf.ac", subject), client, obs.time_s, window) if client else 0
            if failures >= cfg.brute_force_account_failures:
                findings += fire(
                    store, cfg.cooldown_s, BRUTE_FORCE, obs, subject,
                    {"failed_logins": failures, "clients": clients,
                     "threshold": cfg.brute_force_account_failures, "window_s": window},
                    f"{failures} failed logins against one account from {clients} clients in {window:g} s",
                )
        return findings


class CredentialStuffing:
    name = correlator_name(CREDENTIAL_STUFFING)

    def __init__(self, config: CorrelationConfig) -> None:
        self.config = config

    def observe(self, obs: Observation, store: StateStore) -> list[CorrelationFinding]:
        client = client_of(obs)
        if not client or not obs.principal or not is_failed_login(obs):
            return []
        cfg = self.config
        window = cfg.stuffing_window_s
        findings: list[CorrelationFinding] = []
        groups: list[tuple[dict[str, str], int, str]] = [({CLIENT: client}, cfg.stuffing_client_accounts, "client")]
        network = network_of(client, cfg.stuffing_ipv4_prefix, cfg.stuffing_ipv6_prefix)
        if network:
            groups.append(({NETWORK: network}, cfg.stuffing_network_accounts, "network"))
        for subject, threshold, what in groups:
            accounts = store.distinct(state_key("cs", subject), obs.principal, obs.time_s, window)
            if accounts >= threshold:
                findings += fire(
                    store, cfg.cooldown_s, CREDENTIAL_STUFFING, obs, subject,
                    {"accounts": accounts, "threshold": threshold, "window_s": window},
                    f"failed logins for {accounts} different accounts from one {what} in {window:g} s",
                )
        return findings
