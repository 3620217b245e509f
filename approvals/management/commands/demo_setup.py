import secrets
import tempfile
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


class Command(BaseCommand):
    help = "Create one demo user per role, a CI service account, and a demo model awaiting approval."

    def handle(self, *args, **options):
        with transaction.atomic():
            self._users()
        scientist = get_user_model().objects.get(username="scientist")
        self._demo_model(scientist)

    def _users(self) -> None:
        for name in (DEMO_TEAM, OTHER_TEAM):
            Group.objects.get_or_create(name=name)
        for username, role, team in DEMO_USERS:
            if get_user_model().objects.filter(username=username).exists():
                self.stdout.write(f"  {username:<10} exists (password shown when it was created)")
                continue
            password = secrets.token_urlsafe(12)
            user_create(
                username=username,
                password=password,
                role=role,
                is_staff=True,
                is_superuser=role is None,
                actor="system:cli",
                team=team,
            )
            self.stdout.write(f"  {username:<10} {role or 'superuser':<20} password: {password}")
        if not ServiceAccount.objects.filter(name="demo-ci").exists():
            _, token = service_account_create(
                name="demo-ci", description="Demo CI pipeline", team=DEMO_TEAM, actor="system:cli"
            )
            self.stdout.write(f"  demo-ci    ci (service account)  token:    {token}")

    def _demo_model(self, user) -> None:
        """A synthetic credit model, registered through the same services as the API."""
        from approvals.services import approval_request_submit
        from registry.models import RegisteredModel
        from registry.services import dataset_register, model_register, model_version_register
        from reports.jobs import report_request

        if RegisteredModel.objects.filter(name="demo-credit-scoring").exists():
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
