"""Gate throughput and latency: wrk (a second process) against gunicorn on PostgreSQL.

    DATABASE_URL unused: the benchmark makes its own database `bench_gate` on 127.0.0.1 and drops it.
    .venv/bin/python -m bench.gate [--duration 10] [--rounds 3] [--connections 8,16,32] [--workers 4]

Baseline in the same run: GET /api/v1/me/, a trivial endpoint behind the same token authentication. The two
endpoints are loaded in turn, round by round, for each connection count; the throughput ratio gate / trivial
is taken per round and reported as min and median (bench/rounds.py), the request rates and latencies as
medians over the rounds.
Goal (issue): the gate at >= 500 requests/s with p99 <= 50 ms on a 2-core machine. Prints figures, asserts nothing.
"""

import argparse
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB = "bench_gate"
PG = "postgres://postgres@127.0.0.1:5432"


def _env(key_file: Path) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": f"{PG}/{DB}",
        "SECRET_KEY": "bench-only",
        "DEBUG": "false",
        "AUDIT_SIGNING_KEY_FILE": str(key_file),
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "governance.settings",
        "CELERY_BROKER_URL": "",
        "EMBEDDED_BEAT": "false",  # measure the gate, not periodic jobs running beside it in every worker
        # As deployed, behind a TLS proxy that says so; plain http without it is redirected to https.
        "BEHIND_TLS_PROXY": "true",
    }


def _psql(sql: str) -> None:
    subprocess.run(["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c", sql], check=True)


def _prepare(env: dict) -> tuple[str, str]:
    """Migrates a fresh database and makes one approved version; returns (token, sha256)."""
    _psql(f"DROP DATABASE IF EXISTS {DB}")
    _psql(f"CREATE DATABASE {DB}")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    code = "from bench.gate import _seed; print(_seed())"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    token, sha = out.stdout.split()[-2:]
    return token, sha


def _seed() -> str:
    """Runs inside Django: the rows a gate query reads (registration itself is not what is measured)."""
    import django

    django.setup()
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from accounts.services import service_account_create
    from registry.models import ApprovalRequest, Artifact, ModelVersion, RegisteredModel

    team, _ = Group.objects.get_or_create(name="team:bench")
    account, token = service_account_create(name="bench-ci", team=team.name)
    user = account.user
    model = RegisteredModel.objects.create(name="credit-scoring", risk_tier="high", owner=user, team=team)
    sha = secrets.token_hex(32)
    artifact = Artifact.objects.create(sha256=sha, size=1, format="skops")
    version = ModelVersion.objects.create(model=model, version="1.0.0", artifact=artifact, submitted_by=user)
    ApprovalRequest.objects.create(
        version=version,
        target_stage="production",
        requested_by=user,
        policy={},
        status="approved",
        artifact_sha256=sha,
        decided_at=timezone.now(),
        expires_at=timezone.now() + timedelta(days=30),
    )
    return f"{token} {sha}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(env: dict, port: int, workers: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "governance.wsgi:application",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("gunicorn did not start")


def _wait_ready(url: str, token: str) -> None:
    """The socket opens before the workers have loaded the project; on a busy machine, well before."""
    headers = {"Authorization": f"Bearer {token}", "X-Forwarded-Proto": "https"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (http, ours)
    last: object = None
    for _ in range(240):
        try:
            with urllib.request.urlopen(request, timeout=5):  # noqa: S310
                return
        except OSError as exc:
            last = exc
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer 200 within two minutes: {last}")


def _wrk(url: str, token: str, args, connections: int) -> dict:
    command = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{args.duration}s",
        "--latency",
        "-H",
        f"Authorization: Bearer {token}",
        "-H",
        "X-Forwarded-Proto: https",
        url,
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    unit = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    latency = {p: float(v) * unit[u] for p, v, u in re.findall(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    if len(latency) != 3:
        raise RuntimeError(f"could not read wrk's output:\n{out}")
    if float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)) == 0:
        raise RuntimeError(f"no request completed:\n{out}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": latency["50"],
        "p90": latency["90"],
        "p99": latency["99"],
        "errors": int(non_2xx.group(1)) if non_2xx else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per endpoint and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--connections",
        type=lambda text: [int(c) for c in text.split(",")],
        default=[8, 16, 32],
        help="comma-separated: each endpoint is loaded once per count (latency grows with it: Little's law)",
    )
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed (Debian: apt-get install wrk)")
    with tempfile.TemporaryDirectory() as tmp:
        env = _env(Path(tmp) / "key.pem")
        token, sha = _prepare(env)
        port = _free_port()
        server = _serve(env, port, args.workers)
        try:
            base = f"http://127.0.0.1:{port}/api/v1"
            gate = f"{base}/models/credit-scoring/versions/1.0.0/gate/?stage=production&sha256={sha}"
            endpoints = (("trivial GET /me/", f"{base}/me/"), ("gate", gate))
            _wait_ready(f"{base}/me/", token)
            rows = [
                (name, connections, round_, _wrk(url, token, args, connections))
                for round_ in range(args.rounds)
                for connections in args.connections
                for name, url in endpoints
            ]
        finally:
            server.terminate()
            server.wait()
            _psql(f"DROP DATABASE IF EXISTS {DB}")
    _report(rows, args)


def _report(rows, args) -> None:
    print(
        f"gunicorn workers={args.workers}, {args.duration}s per endpoint and round, {args.rounds} rounds, "
        f"{os.cpu_count()} cores, load average now {os.getloadavg()[0]:.2f}"
    )
    print(f"{'endpoint':<18} {'conns':>6} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    medians = {}
    for connections in args.connections:
        for name in ("trivial GET /me/", "gate"):
            runs = [r for n, c, _, r in rows if n == name and c == connections]
            m = {key: statistics.median(r[key] for r in runs) for key in ("rps", "p50", "p90", "p99")}
            medians[name, connections] = m
            errors = sum(r["errors"] for r in runs)
            print(
                f"{name:<18} {connections:>6} {m['rps']:>8.0f} {m['p50']:>8.1f} {m['p90']:>8.1f} {m['p99']:>8.1f} "
                f"{errors:>8}"
            )
    for connections in args.connections:
        trivial = [r["rps"] for n, c, _, r in rows if n == "trivial GET /me/" and c == connections]
        gate = [r["rps"] for n, c, _, r in rows if n == "gate" and c == connections]
        ratios = [g / t for g, t in zip(gate, trivial, strict=True)]
        m = medians["gate", connections]
        print(
            f"{connections} connections: gate / trivial throughput per round: min {min(ratios):.2f}, "
            f"median {statistics.median(ratios):.2f}; goal >= 500 req/s: {'met' if m['rps'] >= 500 else 'NOT met'}; "
            f"goal p99 <= 50 ms: {'met' if m['p99'] <= 50 else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
