"""Remove secrets from what skyplan prints and logs: keys, tokens, passwords, SAS signatures."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

MASK = "***"
MIN_SECRET = 4  # environment values this long or longer are masked
#: Values shorter than this are masked only where they stand alone (not inside a longer word).
SHORT_SECRET = 8

#: (pattern, replacement) pairs applied to every line.
PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"), MASK),  # AWS access key IDs
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}"), rf"\1 {MASK}"),
    # GitHub tokens: personal (classic and fine-grained), OAuth, app, user-to-server, refresh
    (re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{12,}|github_pat_[A-Za-z0-9_]{12,})"), MASK),
    (
        re.compile(
            r"(?i)([?&](?:sig|se|sv|sp|st|skoid|sktid|x-goog-signature|x-amz-signature)=)"
            r"[^&\s\"']+"
        ),
        rf"\1{MASK}",
    ),  # SAS, signed URLs
    (re.compile(r"(?i)(AccountKey=)[^;\s\"']+"), rf"\1{MASK}"),  # Azure connection strings
    (
        re.compile(
            r"(?i)((?:password|passwd|secret|token|client_secret|access_key|secret_access_key"
            r"|private_key|api_key|account_key|sas_token)(?:[_-]?(?:key|value))?[\"']?\s*[:=]\s*"
            r"[\"']?)[^\s\"',}]+"
        ),
        rf"\1{MASK}",
    ),
    (
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)"),
        MASK,
    ),
)
SECRET_NAMES = re.compile(
    r"(?i)(SECRET|TOKEN|PASSWORD|PASSWD|PRIVATE|CREDENTIAL|ACCESS_KEY|SAS|_KEY$|^KEY$|AUTH)"
)


class Scrubber:
    """Masks the patterns above and the values of secret-looking environment variables."""

    def __init__(self, env: Mapping[str, str] | None = None):
        env = os.environ if env is None else env
        values = {v for k, v in env.items() if SECRET_NAMES.search(k) and len(v) >= MIN_SECRET}
        self._values = sorted((v for v in values if len(v) >= SHORT_SECRET), key=len, reverse=True)
        short = sorted((v for v in values if len(v) < SHORT_SECRET), key=len, reverse=True)
        self._short = (
            re.compile(
                r"(?<![A-Za-z0-9])(?:" + "|".join(re.escape(v) for v in short) + r")(?![A-Za-z0-9])"
            )
            if short
            else None
        )
        self._in_key = False

    def __call__(self, line: str) -> str:
        """The line with every secret masked (a PEM private key block is masked whole)."""
        if self._in_key:
            if "-----END" in line and "PRIVATE KEY-----" in line:
                self._in_key = False
            return MASK
        if "-----BEGIN" in line and "PRIVATE KEY-----" in line and "-----END" not in line:
            self._in_key = True
        for value in self._values:
            line = line.replace(value, MASK)
        if self._short is not None:
            line = self._short.sub(MASK, line)
        for pattern, replacement in PATTERNS:
            line = pattern.sub(replacement, line)
        return line
