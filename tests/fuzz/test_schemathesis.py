"""Schemathesis against the running service's own /openapi.json, for every operation and every role.

A real ``moderation serve`` process (embedded PostgreSQL) is fuzzed with valid and invalid
requests generated from the document; every answer must be no 5xx, carry a documented status
code and content type, and match the documented schema and headers. Example counts are fixed and
derandomized so the run is bounded (about a minute) and the same in CI as on a laptop.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from service.domain.types import Role
from tests.e2e.conftest import Server, run_cli, start_server
from tests.helpers import server_dir

EXAMPLES_PER_MODE = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
STREAMS = {"/v1/review/events"}
UNLIMITED = {r.value: {"per_second": 100000, "burst": 100000} for r in Role}


@dataclass
class Target:
    server: Server
    keys: dict[Role, str]
    requests_sent: int = 0


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    env = {"MODERATION_RATE_LIMITS": json.dumps(UNLIMITED)}
    with server_dir("fuzz") as data_dir:
        data_dir.mkdir()
        server = start_server(data_dir, data_dir / "server.log", env=env)
        try:
            keys = {}
            for role in Role:
                done = run_cli(data_dir, "keys", "create", "--role", role.value, "--name", f"fuzz-{role.value}")
                assert done.returncode == 0, done.stderr
                keys[role] = done.stdout.strip().splitlines()[-1]
            yield Target(server, keys)
        finally:
            server.stop()


@pytest.mark.slow
@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_every_operation_conforms_for_every_role(target: Target, role: Role) -> None:
    schema = schemathesis.openapi.from_url(f"{target.server.url}/openapi.json")
    headers = {"Authorization": f"Bearer {target.keys[role]}"}
    failures: list[str] = []
    # Left out, with an open finding (docs/hardening.md): the live queue, a server-sent event stream.
    # /v1/training-data is in: it is documented as application/x-ndjson, what it answers.
    operations = [op for op in (result.ok() for result in schema.get_all_operations()) if op.path not in STREAMS]
    assert len(operations) >= 10
    with requests.Session() as session:
        for operation in operations:
            for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):

                @settings(
                    max_examples=EXAMPLES_PER_MODE,
                    deadline=None,
                    derandomize=True,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                )
                @given(case=operation.as_strategy(generation_mode=mode))
                def run(case: schemathesis.Case) -> None:
                    target.requests_sent += 1
                    case.call_and_validate(
                        base_url=target.server.url, session=session, headers=headers, checks=CHECKS, timeout=30
                    )

                try:
                    run()
                except Unsatisfiable:
                    # No invalid request exists for an operation without parameters or body.
                    assert mode is schemathesis.GenerationMode.NEGATIVE, operation.label
                except Exception as exc:  # collect every operation's failure, then report them all
                    failures.append(f"{role.value} {operation.label} [{mode.value}]: {exc}")
    log = target.server.log()
    assert "Traceback" not in log, log[-3000:]
    assert not failures, "\n\n".join(failures)


def test_fuzzing_sent_requests(target: Target) -> None:
    """Runs after the role tests (file order): the fuzzer really talked to the service."""
    if target.requests_sent == 0:
        pytest.skip("run together with the fuzz tests")
    print(f"\nschemathesis: {target.requests_sent} requests over {len(Role)} roles")
    assert target.requests_sent >= len(Role) * 10 * EXAMPLES_PER_MODE // 2
