"""Running the hub: uvicorn on the given address, with TLS when given a certificate."""
from __future__ import annotations

from pathlib import Path

import uvicorn

from hub.api import Hub, create_app


def serve(data_dir: Path, host: str, port: int, certfile: Path | None = None, keyfile: Path | None = None,
          priority_streak: int = 3) -> None:
    hub = Hub(data_dir, priority_streak)
    try:
        uvicorn.run(create_app(hub), host=host, port=port, log_level="info",
                    ssl_certfile=str(certfile) if certfile else None, ssl_keyfile=str(keyfile) if keyfile else None)
    finally:
        hub.close()
