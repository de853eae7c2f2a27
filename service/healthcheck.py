"""``python -m service.healthcheck``: exit 0 when the local service answers ``/healthz``, else 1.

The container's HEALTHCHECK runs this, so the image needs no curl. It asks ``127.0.0.1`` on
``MODERATION_PORT`` (the address the service listens on inside the container).
"""

from __future__ import annotations

import sys
import urllib.request

from service.settings import Settings


def check(port: int, timeout_s: float = 3.0) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=timeout_s) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def main() -> int:
    ok = check(Settings().port)
    if not ok:
        print("unhealthy: /healthz did not answer 200", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
