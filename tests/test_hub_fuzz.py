"""Fuzz every operation of the hub's OpenAPI with schemathesis: no input gives a 5xx."""
from __future__ import annotations

import pytest
import requests
import schemathesis.openapi
from hypothesis import HealthCheck, given, settings

from tests.helpers.hubprocess import HubProcess

pytestmark = [pytest.mark.slow, pytest.mark.fuzz]  # schemathesis against a real hub process


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    with HubProcess(tmp_path_factory.mktemp("fuzz-hub")) as running:
        token = requests.post(f"{running.url}/api/v1/enroll",
                              json={"code": running.enroll_code(), "device_id": "kiosk-1"}, timeout=10).json()["token"]
        running.token = token
        yield running


def test_no_input_makes_the_hub_fail(hub):
    schema = schemathesis.openapi.from_url(f"{hub.url}/openapi.json")
    failures, calls, operations = [], [], 0
    for operation in schema.get_all_operations():
        op = operation.ok()
        operations += 1

        @settings(max_examples=25, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy())
        def check(case, headers):
            response = case.call(headers=headers, timeout=10)
            calls.append(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:200]}")

        for headers in ({}, {"Authorization": f"Bearer {hub.token}"}):
            check(headers=headers)
    assert operations >= 10 and len(calls) >= operations * 2 * 5  # every operation was really exercised
    assert not failures, "\n".join(failures[:10])
