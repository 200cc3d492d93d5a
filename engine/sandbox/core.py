"""The sandbox's mutable heart: accounts, configuration, faults, limiter and request log.

One `threading.Lock` guards it: handlers run on the server's event-loop thread while tests read
`state`/`requests` or call `reset()` from their own thread. Handlers never await while holding
it, so it is uncontended in the serving path.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.sandbox.auth import Authenticator
from engine.sandbox.faults import Faults
from engine.sandbox.ratelimit import RateLimitConfig, RateLimiter, config_from
from engine.sandbox.requestlog import DEFAULT_SIZE, RequestLog
from engine.sandbox.seed import DEMO_PASSWORD, DEMO_USER, load_data_file, merge_documents, seed_document
from engine.sandbox.store import Account


class SandboxCore:
    def __init__(
        self,
        seed: str = "demo",
        users: Mapping[str, str] | None = None,
        rate_limits: RateLimitConfig | Mapping[str, Any] | str | int | bool | None = None,
        data: str | Path | Mapping[str, Any] | None = None,
        request_log_size: int = DEFAULT_SIZE,
        faults: Mapping[str, Any] | None = None,
    ) -> None:
        doc = seed_document(seed)
        if data is not None:
            extra = load_data_file(data) if isinstance(data, str | Path) else copy.deepcopy(dict(data))
            doc = merge_documents(doc, extra)
        file_users = doc.pop("users", None)
        chosen = users if users is not None else (file_users or {DEMO_USER: DEMO_PASSWORD})
        if not chosen:
            raise ValueError("the sandbox needs at least one API user")
        self.seed_name = seed
        self._doc = doc
        self.users = dict(chosen)
        self.lock = threading.Lock()
        self.auth = Authenticator(self.users)
        self.faults = Faults()
        self.initial_faults = copy.deepcopy(dict(faults or {}))
        self.faults.configure_from(copy.deepcopy(self.initial_faults))
        self.log = RequestLog(request_log_size)
        self.rate_config = config_from(rate_limits)
        self.limiter = RateLimiter(self.rate_config) if self.rate_config else None
        self.accounts: dict[str, Account] = {}
        self._build_accounts()

    def _build_accounts(self) -> None:
        self.accounts = {}
        for index, user in enumerate(self.users):
            doc = copy.deepcopy(self._doc)
            doc["accountId"] = int(doc.get("accountId", 1)) + index
            self.accounts[user] = Account(user, doc)

    @property
    def default_user(self) -> str:
        return next(iter(self.users))

    def reset(self) -> None:
        """Back to the start: seed state, empty request log and rate-limit counters, and the faults
        given at construction (none unless `faults=` / CLI fault options were used)."""
        with self.lock:
            self._build_accounts()
            self.log.clear()
            self.faults.configure_from(copy.deepcopy(self.initial_faults))
            if self.limiter:
                self.limiter.clear()

    def set_rate_limits(self, limits: RateLimitConfig | Mapping[str, Any] | str | int | bool | None) -> None:
        config = config_from(limits)
        with self.lock:
            self.rate_config = config
            self.limiter = RateLimiter(config) if config else None
            for account in self.accounts.values():
                account.enrolment_times.clear()

    def snapshot(self, user: str | None = None) -> dict[str, Any]:
        name = user or self.default_user
        with self.lock:
            account = self.accounts.get(name)
            if account is None:
                raise KeyError(f"no sandbox account for user {name!r}")
            state = account.snapshot()
        if len(self.accounts) > 1:
            state["users"] = list(self.accounts)
        return state

    def requests(self) -> list[dict[str, Any]]:
        with self.lock:
            return self.log.entries()

    def clear_requests(self) -> None:
        with self.lock:
            self.log.clear()
