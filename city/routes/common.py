"""What every route of the city needs: the City of the app."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from city.city import City


def city_of(request: Request) -> City:
    city: City = request.app.state.city
    return city


CityDep = Annotated[City, Depends(city_of)]
