"""Access keys the gateway accepts.

The root key (``SANGRAHA_ACCESS_KEY`` / ``SANGRAHA_SECRET_KEY``) may do
everything.  Further keys with per-bucket permissions plug in here.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

__all__ = ["Credentials"]


@dataclass(frozen=True, slots=True)
class Credentials:
    root_access_key: str
    root_secret_key: str = field(repr=False)

    def secret_for(self, access_key: str) -> str | None:
        """The secret of ``access_key``, or None when the key is unknown."""
        if hmac.compare_digest(access_key.encode(), self.root_access_key.encode()):
            return self.root_secret_key
        return None
