import logging
import secrets
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files import File
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import ServiceAccount
from accounts.services import service_account_create, user_create
from core import roles

# The demo model belongs to DEMO_TEAM (scientist and demo-ci); marketer, of another team, sees the boundary.
DEMO_TEAM, OTHER_TEAM = "team:credit-risk", "team:marketing"
DEMO_USERS = [
    ("admin", None, None),
    ("officer", roles.COMPLIANCE_OFFICER, None),
    ("officer2", roles.COMPLIANCE_OFFICER, None),
    # Three: whoever waives evidence of a request may not approve it, and a request needs two approvals.
    ("officer3", roles.COMPLIANCE_OFFICER, None),
    ("auditor", roles.AUDITOR, None),
    ("scientist", roles.DATA_SCIENTIST, DEMO_TEAM),
    ("marketer", roles.DATA_SCIENTIST, OTHER_TEAM),
]
FEATURES = ["income", "debt_ratio", "age"]
UNCHANGED = "(unchanged: make demo-passwords sets new ones)"
TOKEN_SHOWN_ONCE = "(token shown when it was created)"  # noqa: S105  (words, not a secret)


class Command(BaseCommand):
    help = "Create one demo user per role, a CI service account, and a demo model awaiting approval."

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset-passwords",
            action="store_true",
            help="Give each demo user a new password and print it (passwords are otherwise shown once).",
        )
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="Where the demo is served.")

    def handle(self, *args, reset_passwords: bool = False, url: str = "http://127.0.0.1:8000", **options):
        self.stdout.write("Setting up the demo (the first run trains a model and gathers its evidence)...")
        with _quiet_libraries():
            with transaction.atomic():
                accounts = self._users(reset=reset_passwords)
            scientist = get_user_model().objects.get(username="scientist")
            self._demo_model(scientist)
        self.stdout.write(_box(_summary(accounts, url.rstrip("/"))))

    def _users(self, *, reset: bool) -> list[tuple[str, str, str]]:
        """(name, role, what to sign in with) for each demo account, newest secrets shown."""
        from accounts.services import user_password_set

        for name in (DEMO_TEAM, OTHER_TEAM):
            Group.objects.get_or_create(name=name)
        accounts = []
        for username, role, team in DEMO_USERS:
            existing = get_user_model().objects.filter(username=username).first()
            password = secrets.token_urlsafe(12)
            if existing is None:
                user_create(
                    username=username,
                    password=password,
                    role=role,
                    is_staff=True,
                    is_superuser=role is None,
                    actor="system:cli",
                    team=team,
                )
            elif reset:
                user_password_set(user=existing, password=password, actor="system:cli")
            else:
                password = UNCHANGED
            accounts.append((username, role or "superuser", password))
        token = TOKEN_SHOWN_ONCE
        if not ServiceAccount.objects.filter(name="demo-ci").exists():
            _, token = service_account_create(
                name="demo-ci", description="Demo CI pipeline", team=DEMO_TEAM, actor="system:cli"
            )
        accounts.append(("demo-ci", "ci (service account)", token))
        return accounts

    def _demo_model(self, user) -> None:
        """A synthetic credit model, registered through the same services as the API."""
        from approvals.services import approval_request_submit
        from registry.models import RegisteredModel
        from registry.services import dataset_register, model_register, model_version_register
        from reports.jobs import report_request

        if RegisteredModel.objects.filter(name="demo-credit-scoring").exists():
            self.stdout.write("  demo-credit-scoring is already set up")
            return
        frame = _applicants()
        with tempfile.TemporaryDirectory() as workdir:
            data_path, model_path = _write_demo_files(frame, Path(workdir))
            model = model_register(
                user=user,
                name="demo-credit-scoring",
                risk_tier="medium",
                frameworks=["GDPR"],
                data_classification=["personal_data"],
                intended_use="Demo: credit pre-screening",
            )
            schema = {
                "features": FEATURES,
                "target": "default",
                "positive_label": 1,
                "task": "binary_classification",
                "sensitive_features": ["sex"],
            }
            with open(data_path, "rb") as handle:
                dataset = dataset_register(
                    user=user,
                    name="demo-applicants",
                    kind="evaluation",
                    upload=File(handle),
                    schema=schema,
                    model=model,
                )
            with open(model_path, "rb") as handle:
                version, _ = model_version_register(
                    user=user,
                    model=model,
                    version="1.0.0",
                    upload=File(handle),
                    metadata={"metrics": {"accuracy": 0.8}},
                    sample_dataset=dataset,
                )
        approval_request_submit(version=version, target_stage="production", user=user, justification="Demo")
        # The evidence jobs ran in-process above; the GDPR model card is rendered from their results.
        report = report_request(version=version, scope="gdpr", user=user)
        self.stdout.write("  demo-credit-scoring 1.0.0 registered, awaiting approval for production")
        self.stdout.write(
            f"  its GDPR model card: report {report.pk} (admin: Reports; API: /api/v1/reports/{report.pk}/pdf/)"
        )


def _applicants() -> pd.DataFrame:
    rng = np.random.default_rng(2026)
    n = 2000
    frame = pd.DataFrame(
        {
            "income": rng.normal(50, 15, n).round(2),
            "debt_ratio": rng.uniform(0, 1, n).round(3),
            "age": rng.integers(18, 80, n),
            "sex": rng.choice(["F", "M"], n),
        }
    )
    frame["default"] = ((frame.debt_ratio * 2 - frame.income / 50 + rng.normal(0, 0.3, n)) > 0.3).astype(int)
    return frame


def _write_demo_files(frame: pd.DataFrame, workdir: Path) -> tuple[Path, Path]:
    import skops.io
    from sklearn.ensemble import RandomForestClassifier

    data_path, model_path = workdir / "applicants.csv", workdir / "model.skops"
    frame.to_csv(data_path, index=False)
    model = RandomForestClassifier(n_estimators=50, max_depth=6, random_state=0).fit(frame[FEATURES], frame["default"])
    skops.io.dump(model, model_path)
    return data_path, model_path


@contextmanager
def _quiet_libraries() -> Iterator[None]:
    """Below errors, what the libraries say while the demo is built (AIF360's missing optional extras, each
    evidence task's trace, scikit-learn's warnings) is not for a newcomer: the accounts must not scroll away."""
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(logging.NOTSET)


def _summary(accounts: list[tuple[str, str, str]], url: str) -> list[str]:
    rows = [f"{name:<10} {role:<21} {secret}" for name, role, secret in accounts]
    return [
        f"Verity demo: {url}/admin/  (API docs: {url}/api/docs/)",
        "",
        f"{'account':<10} {'role':<21} password (demo-ci: API token)",
        *rows,
        "",
        "Passwords are shown once. New ones for every demo user: make demo-passwords",
    ]


def _box(lines: list[str]) -> str:
    width = max(len(line) for line in lines)
    rule = "+" + "-" * (width + 2) + "+"
    return "\n".join(["", rule, *(f"| {line:<{width}} |" for line in lines), rule])
