"""Reads of evidence: which jobs speak for a version's current artifact."""

from datetime import datetime

from django.db.models import QuerySet

from evidence.models import EvidenceJob


def evidence_jobs_current(
    version, kind: str, *, succeeded: bool = False, as_of: datetime | None = None
) -> QuerySet[EvidenceJob]:
    """Jobs of this kind on the version's current artifact, newest request first.

    A job on an earlier artifact of the version answers for other bytes and never counts. With
    ``succeeded``, only jobs that produced a result; with ``as_of``, only those finished by then.
    """
    artifact = version.artifact.sha256 if version.artifact_id else ""
    jobs = EvidenceJob.objects.filter(version=version, kind=kind, artifact_sha256=artifact)
    if succeeded:
        jobs = jobs.filter(status=EvidenceJob.Status.SUCCEEDED)
    if as_of is not None:
        jobs = jobs.filter(finished_at__lte=as_of)
    return jobs.select_related("dataset", "reference").order_by("-created_at", "-pk")


def evidence_job_newest(
    version, kind: str, *, thresholds: dict | None = None, succeeded: bool = False, as_of: datetime | None = None
) -> EvidenceJob | None:
    """The job that speaks for the version's current artifact. For a bias audit judged against given
    thresholds, the newest judged against exactly those: an audit against other limits answers another question."""
    jobs = evidence_jobs_current(version, kind, succeeded=succeeded, as_of=as_of)
    if thresholds is None:
        return jobs.first()
    return next((job for job in jobs.iterator() if job.params.get("thresholds") == thresholds), None)
