"""Running a city process: uvicorn on the given address, the schema brought up to date first."""
from __future__ import annotations

import uvicorn

from city.app import create_app
from city.city import City


def serve(dsn: str, host: str, port: int, workers_pool: int = 10) -> None:
    city = City(dsn, pool_size=workers_pool)
    try:
        uvicorn.run(create_app(city), host=host, port=port, log_level="info")
    finally:
        city.close()
