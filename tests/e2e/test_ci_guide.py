"""docs/ci.md's job, run as written: its shell block, with bash, curl and jq, against the live server.

Only the placeholder address is replaced. The job's `sleep` is a stand-in that tells the test the job is polling
and waits until the test lets it go on, so the compliance officers decide while the job polls, and nothing here
waits on a clock. The job's inputs are the guide's own: docs/examples/make_inputs.py makes model.skops and
eval.csv, whose data crosses every applicant with each sex and race, so the groups are treated alike and the bias
audit passes; with --skewed the data is skewed against one sex, so its audit fails.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from approvals.selectors import approval_request_state
from approvals.services import approval_decide
from registry.models import ApprovalRequest, Deployment, ModelVersion
from reports.models import Report
from tests.conftest import ROOT
from tests.services import require

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
PLACEHOLDER = "API=https://verity.example.org/api/v1\n"
# A guard against a job that hangs, not a measurement: a healthy job polls or ends long before.
PATIENCE_S = 600
SLEEP = """#!/bin/sh
# The guide's `sleep`: says the job is polling, then waits until the test removes the mark.
touch "$JOB_DIR/polling"
while [ -e "$JOB_DIR/polling" ]; do {real_sleep} 0.05; done
"""


def guide_job() -> str:
    section = (ROOT / "docs" / "ci.md").read_text().split("\n## The job\n", 1)[1].split("\n## ", 1)[0]
    (script,) = re.findall(r"```sh\n(.*?)```", section, re.S)
    assert script.count(PLACEHOLDER) == 1
    return script


class Job:
    """The guide's job in a folder of its own: eval.csv and model.skops as the guide makes them, a deploy.sh
    that notes what it deployed."""

    def __init__(self, folder: Path, api: str, token: str, *, skewed: bool = False, **env):
        require(bool(shutil.which("curl") and shutil.which("jq")), "the CI guide's job needs curl and jq")
        self.folder = folder
        (folder / "bin").mkdir(parents=True)
        make_inputs = [sys.executable, str(ROOT / "docs" / "examples" / "make_inputs.py"), "--out", str(folder)]
        subprocess.run([*make_inputs, *(["--skewed"] if skewed else [])], check=True, capture_output=True)
        self._script(folder / "deploy.sh", 'echo "$@" >> deployed.txt\n')
        self._script(folder / "bin" / "sleep", SLEEP.format(real_sleep=shutil.which("sleep")))
        script = guide_job().replace(PLACEHOLDER, f"API={api}/api/v1\n")
        environ = {
            **os.environ,
            "PATH": f"{folder / 'bin'}:{os.environ['PATH']}",
            "JOB_DIR": str(folder),
            "VERITY_TOKEN": token,
            "CI_PIPELINE_ID": uuid.uuid4().hex[:12],
            "CI_REPOSITORY_URL": "https://git.example.org/risk/credit-scoring",
            "CI_COMMIT_SHA": "a1b2c3d4e5f6",
            **env,
        }
        self.stdout, self.stderr = open(folder / "stdout", "wb"), open(folder / "stderr", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            ["bash", "-c", script], cwd=folder, env=environ, stdout=self.stdout, stderr=self.stderr
        )

    @staticmethod
    def _script(path: Path, body: str) -> None:
        path.write_text(body if body.startswith("#!") else f"#!/bin/sh\n{body}")
        path.chmod(0o755)

    def polling(self) -> bool:
        """Waits until the job polls (True) or ends (False)."""
        deadline = time.monotonic() + PATIENCE_S
        while time.monotonic() < deadline:
            if (self.folder / "polling").exists():
                return True
            if self.process.poll() is not None:
                return False
            time.sleep(0.05)
        raise AssertionError(f"the job neither polled nor ended; it wrote:\n{self.output()}")

    def go_on(self) -> None:
        (self.folder / "polling").unlink()

    def end(self) -> int:
        code = self.process.wait(timeout=PATIENCE_S)
        self.stdout.close()
        self.stderr.close()
        return code

    def output(self) -> str:
        return (self.folder / "stdout").read_text() + "\n--- stderr ---\n" + (self.folder / "stderr").read_text()

    def answers(self) -> list[dict]:
        """The JSON answers the job printed, one per line."""
        lines = (self.folder / "stdout").read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]


@pytest.fixture
def job(tmp_path, live_server, ci_account):
    def start(*, skewed: bool = False, token: str | None = None, **env) -> Job:
        return Job(tmp_path / "job", live_server.url, token or ci_account.token, skewed=skewed, **env)

    return start


def test_the_guide_s_job_ends_with_the_gate_answering_yes(job, officer, officer2):
    running = job()
    assert running.polling(), running.output()
    request = ApprovalRequest.objects.get()
    evidence = approval_request_state(request)["evidence"]
    # The guide asked for everything the high tier needs, the model card included: only decisions are left.
    assert {item["requirement"] for item in evidence} >= {"explanation", "bias_audit", "model_card:GDPR"}
    assert all(item["status"] in ("done", "not_applicable") for item in evidence), evidence
    for person in (officer, officer2):
        approval_decide(request=request, user=person, verdict="approve", comment="Evidence reviewed.")
    running.go_on()
    assert running.end() == 0, running.output()

    gate = [answer for answer in running.answers() if "allowed" in answer]
    assert len(gate) == 1 and gate[0]["allowed"] is True and gate[0]["approval_request"] == request.pk
    assert (running.folder / "deployed.txt").read_text() == "model.skops\n"
    assert ModelVersion.objects.get(version="1.4.0").stage == "production"
    deployment = Deployment.objects.get()
    assert (deployment.environment, deployment.violation) == ("prod-eu", False)
    card = Report.objects.get()  # requested once, although the job read the request again after it
    assert (card.scope, card.status) == ("combined", "succeeded")


def test_a_job_that_waits_too_long_prints_what_blocks_the_approval(job):
    running = job(skewed=True, APPROVAL_TIMEOUT="0")
    assert not running.polling()
    assert running.end() == 1
    request = ApprovalRequest.objects.get()
    errors = (running.folder / "stderr").read_text()
    assert f"Approval request {request.pk} is still pending after 0s; blocking it:" in errors, running.output()
    assert "- approvals: 0 of 2 (at least 1 by compliance officers)" in errors
    # The failing check, with its feature, groups, value and limit, not only the verdict.
    blocker = re.search(r"^- bias_audit: failed: the bias audit \(job \d+\) verdict is fail: (.*)$", errors, re.M)
    assert blocker, errors
    assert re.fullmatch(
        r"feature sex, check min_selection_rate_ratio: selection rate ratio 0\.\d{4} "
        r"\(M 0\.\d{4} / F 0\.\d{4}\) is below the minimum 0\.8 \(four-fifths rule, .*\)",
        blocker[1].split("; ")[0],
    ), blocker[1]
    assert "model_card:" not in errors  # the card was requested before the deadline was checked
    assert not [answer for answer in running.answers() if "allowed" in answer]
    assert not (running.folder / "deployed.txt").exists()


def test_an_api_error_stops_the_job_and_shows_its_body(job):
    running = job(token="vt_not-a-token")
    assert not running.polling()
    assert running.end() != 0
    errors = (running.folder / "stderr").read_text()
    bodies = [json.loads(line) for line in errors.splitlines() if line.startswith("{")]
    # Step 1's error is shown and passed over; step 2's is shown and ends the job.
    assert len(bodies) == 2 and all(body["error"]["code"] for body in bodies), errors
    assert not ApprovalRequest.objects.exists()
