"""Scale-out of one large explanation over real Celery worker processes, against one process without Celery.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_explain SECRET_KEY=bench-only \\
        .venv/bin/python -m bench.explain_scale [--workers 1,2,4,8,16] [--rows 640000] [--chunk-rows 10000] \\
        [--keep-db]

A 100-tree, depth-8 random forest on 20 features explains --rows rows of a registered dataset, cut
into chunks of --chunk-rows. For each worker count N, N worker processes (`celery worker
--concurrency 1 --pool prefork`, each pinned to one thread: NUMBA_NUM_THREADS, OMP_NUM_THREADS and
the BLAS thread counts set to 1) on a private queue of the Redis in CELERY_BROKER_URL (default
redis://127.0.0.1:6379/12) run one explanation job from request to its recorded result. The clock
starts once every worker answers a ping. The baseline, in the same run: the same rows explained in
this process by the same code path without Celery (one chunk, one thread).

The database named in DATABASE_URL must start with "bench": the script creates it when missing,
migrates it and drops it at the end (unless --keep-db). Storage goes to a temporary folder.

Prints, for each N: wall time, rows/s, speed-up against N=1, parallel efficiency (speed-up / N) and
the efficiency against min(N, cores), which is what a machine with fewer cores than workers can
show. Goal: parallel efficiency at least 0.7 at 16 workers, on a machine with 16 cores or more.
Asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import django
import psycopg
from celery import group, shared_task
from django.db import connections
from psycopg import sql

REPO_ROOT = Path(__file__).resolve().parent.parent
FEATURES = [f"f{i}" for i in range(20)]
ONE_THREAD = {name: "1" for name in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-explain-") as scratch:
        _prepare_environment(Path(scratch), args)
        django.setup()
        name = _database_name()
        _create_database(name)
        try:
            _migrate()
            _run(args)
        finally:
            connections.close_all()
            if args.keep_db:
                print(f"kept database {name}", file=sys.stderr)
            else:
                _drop_database(name)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.explain_scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=_positive_list, default=[1, 2, 4, 8, 16], help="comma-separated counts")
    parser.add_argument("--rows", type=_positive, default=640_000, help="rows explained")
    parser.add_argument("--chunk-rows", type=_positive, default=10_000, help="EXPLAIN_CHUNK_ROWS")
    parser.add_argument("--keep-db", action="store_true", help="leave the benchmark database in place")
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _positive_list(text: str) -> list[int]:
    return sorted({_positive(part) for part in text.split(",") if part.strip()})


def _prepare_environment(scratch: Path, args: argparse.Namespace) -> None:
    """Settings for this process and the workers alike (they inherit the environment)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/12")
    os.environ.setdefault("AUDIT_SIGNING_KEY_FILE", str(scratch / "audit_signing_key.pem"))
    os.environ["STORAGE_ROOT"] = str(scratch / "storage")
    os.environ["EXPLAIN_MAX_ROWS"] = str(args.rows)
    os.environ["EXPLAIN_CHUNK_ROWS"] = str(args.chunk_rows)


def _database_name() -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit("bench.explain_scale needs PostgreSQL: set DATABASE_URL=postgres://.../bench_explain")
    if not str(db["NAME"]).startswith("bench"):  # the run drops it at the end
        raise SystemExit(f"refusing database {db['NAME']!r}: its name must start with 'bench'")
    return str(db["NAME"])


def _admin(statement: sql.Composed) -> None:
    from django.conf import settings

    db = settings.DATABASES["default"]
    params = {"host": db["HOST"], "port": db["PORT"], "user": db["USER"], "password": db["PASSWORD"]}
    with psycopg.connect(dbname="postgres", autocommit=True, **{k: v for k, v in params.items() if v}) as admin:
        admin.execute(statement)


def _create_database(name: str) -> None:
    _drop_database(name)  # a database left by an interrupted run would hold its jobs
    _admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _drop_database(name: str) -> None:
    _admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _migrate() -> None:
    from django.conf import settings
    from django.core.management import call_command

    from audits.keys import write_new_key

    call_command("migrate", verbosity=0, interactive=False)
    if not Path(settings.AUDIT_SIGNING_KEY_FILE).exists():
        write_new_key(settings.AUDIT_SIGNING_KEY_FILE)


def _run(args: argparse.Namespace) -> None:
    cores, usable = os.cpu_count() or 1, len(os.sched_getaffinity(0))
    version, dataset = _registered(args.rows)
    baseline = _baseline(version, dataset)
    print(
        f"cores: {cores} (os.cpu_count), {usable} usable by this process (sched_getaffinity); "
        f"python {platform.python_version()}; load average at start {os.getloadavg()[0]:.2f}"
    )
    chunks = -(-args.rows // args.chunk_rows)
    print(
        f"job: {args.rows:,} rows x 20 features, 100-tree depth-8 random forest, {chunks} chunks of "
        f"{args.chunk_rows:,} rows, LIME on the first 20 rows (in the claiming task, beside the chunks)"
    )
    print(
        f"baseline, this process, no Celery, one chunk, 1 thread: {baseline['seconds']:.2f} s, "
        f"{args.rows / baseline['seconds']:,.0f} rows/s"
    )
    print(
        f"{'workers':>7} {'wall s':>8} {'rows/s':>9} {'speed-up':>9} {'efficiency':>10} "
        f"{'eff. vs min(N,cores)':>20} {'merge s':>8} {'vs baseline':>11} {'load':>5} same result"
    )
    one = None  # the wall time with one worker; --workers is sorted, so it comes first when asked for
    for n in args.workers:
        figures = _scaled(version, dataset, n)
        one = figures["seconds"] if n == 1 else one
        speed_up = one / figures["seconds"] if one else float("nan")
        note = "  (more workers than cores: they share them)" if n > usable else ""
        print(
            f"{n:>7} {figures['seconds']:>8.2f} {args.rows / figures['seconds']:>9,.0f} {speed_up:>9.2f} "
            f"{speed_up / n:>10.2f} {speed_up / min(n, usable):>20.2f} {figures['merge']:>8.2f} "
            f"{baseline['seconds'] / figures['seconds']:>10.2f}x {figures['load']:>5.1f} "
            f"{'yes' if figures['sha256'] == baseline['sha256'] else 'NO'}{note}"
        )
    print("goal: parallel efficiency >= 0.7 at 16 workers (speed-up against 1 worker, divided by 16)")


def _registered(rows: int):
    import numpy as np
    import pandas as pd
    import skops.io
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.files import File
    from sklearn.ensemble import RandomForestClassifier

    from registry.services import dataset_register, model_register, model_version_register

    rng = np.random.default_rng(2)
    train = pd.DataFrame(rng.normal(size=(20_000, 20)).round(4), columns=FEATURES)
    labels = (train.f0 + train.f1 * train.f2 + rng.normal(0, 0.5, len(train)) > 0).astype(int)
    forest = RandomForestClassifier(n_estimators=100, max_depth=8, random_state=0, n_jobs=-1).fit(train, labels)
    forest.n_jobs = None  # threads would sum the trees' probabilities in a varying order, and use more cores
    frame = pd.DataFrame(rng.normal(size=(rows, 20)).round(4), columns=FEATURES)
    frame["y"] = forest.predict(frame[FEATURES])
    user = get_user_model().objects.create(username="bench-scientist")
    user.groups.add(Group.objects.get_or_create(name="team:bench")[0])
    model = model_register(user=user, name="bench-forest", risk_tier="low")
    schema = {"features": FEATURES, "target": "y", "positive_label": 1, "task": "binary_classification"}
    upload = File(io.BytesIO(frame.to_csv(index=False).encode()), name="rows.csv")
    dataset = dataset_register(user=user, name="rows", kind="evaluation", upload=upload, schema=schema)
    buffer = io.BytesIO()
    skops.io.dump(forest, buffer)
    buffer.seek(0)
    version, _ = model_version_register(
        user=user, model=model, version="1.0.0", upload=File(buffer, name="forest.skops"), metadata={}
    )
    return version, dataset


def _baseline(version, dataset) -> dict:
    """The runner's one-pass path in this process: the same loading, SHAP, LIME, charts and record."""
    import numba
    from django.test import override_settings

    from evidence.models import EvidenceJob
    from evidence.runner import run_job

    numba.set_num_threads(1)
    job = EvidenceJob.objects.create(
        kind="explanation",
        version=version,
        dataset=dataset,
        params={"run": "baseline"},
        requested_by="service:bench",
        artifact_sha256=version.artifact.sha256,
        dataset_sha256=dataset.sha256,
    )
    with override_settings(EXPLAIN_CHUNK_ROWS=10**9):
        _warm_up()
        start = time.perf_counter()
        run_job(job.pk)
        seconds = time.perf_counter() - start
    job.refresh_from_db()
    if job.status != "succeeded":
        raise SystemExit(f"the baseline failed: {job.error}")
    return {"seconds": seconds, "sha256": job.result_sha256}


def _warm_up() -> None:
    """Compiles the Tree SHAP kernel (cached on disk, so the workers only load it)."""
    import numpy as np
    import pandas as pd
    from sklearn.ensemble import RandomForestClassifier

    from evidence.explain import choose_explainer, shap_chunk
    from mlio.predictors import SklearnPredictor

    X = pd.DataFrame(np.random.default_rng(0).normal(size=(200, 20)), columns=FEATURES)
    model = RandomForestClassifier(n_estimators=2, max_depth=8, random_state=0).fit(X, X.f0 > 0)
    predictor = SklearnPredictor(model)
    shap_chunk(predictor, X, choose_explainer(predictor, class_label=True))


def _scaled(version, dataset, n: int) -> dict:
    from evidence.models import EvidenceJob
    from evidence.services import evidence_job_request
    from governance.celery import app

    queue = f"bench-{uuid.uuid4().hex[:8]}"
    workers = [_start_worker(queue, i) for i in range(n)]
    previous, app.conf.task_default_queue = app.conf.task_default_queue, queue
    try:
        _wait_for_pings([f"{queue}-{i}@localhost" for i in range(n)], workers)
        # One task per worker loads the compiled kernels, so the clock sees long-running workers.
        group(warm_up.si() for _ in range(n)).apply_async().get(timeout=300)
        load = os.getloadavg()[0]
        start = time.perf_counter()
        job = evidence_job_request(
            kind="explanation", version=version, dataset=dataset, actor="service:bench", params={"workers": n}
        )
        while (job := EvidenceJob.objects.get(pk=job.pk)).status not in ("succeeded", "failed"):
            time.sleep(0.05)
        seconds = time.perf_counter() - start
    finally:
        app.conf.task_default_queue = previous
        _stop(workers)
    if job.status != "succeeded":
        raise SystemExit(f"the job with {n} workers failed: {job.error}")
    last_chunk = max(job.chunks.values_list("finished_at", flat=True))
    merge = (job.finished_at - last_chunk).total_seconds()
    return {"seconds": seconds, "sha256": job.result_sha256, "merge": merge, "load": load}


@shared_task(name="bench.explain_scale.warm_up")
def warm_up() -> None:
    _warm_up()
    time.sleep(2)  # held long enough that the next warm-up message goes to another worker


def _start_worker(queue: str, number: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "celery", "-A", "governance", "worker", "--concurrency", "1", "--pool", "prefork"]
    command += ["-Q", queue, "-n", f"{queue}-{number}@localhost", "--without-mingle", "--without-gossip"]
    # Imported before the pool forks, so a worker's first chunk does not pay for importing shap and numba.
    command += ["--include", "evidence.runner,evidence.explain,bench.explain_scale", "-l", "WARNING"]
    env = {**os.environ, **ONE_THREAD, "CELERY_QUEUE": queue}
    return subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL)


def _wait_for_pings(names: list[str], workers: list[subprocess.Popen]) -> None:
    from governance.celery import app

    deadline, waiting = time.monotonic() + 120, set(names)
    while waiting and time.monotonic() < deadline:
        if any(worker.poll() is not None for worker in workers):
            raise SystemExit("a celery worker exited while starting")
        for reply in app.control.ping(destination=sorted(waiting), timeout=1.0):
            waiting -= set(reply)
    if waiting:
        raise SystemExit(f"{len(waiting)} celery workers did not answer within 120 s")


def _stop(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        worker.terminate()
    for worker in workers:
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()


if __name__ == "__main__":
    sys.exit(main())
