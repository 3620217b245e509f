"""The ML-BOM of a model version over the REST API: CycloneDX 1.6 JSON, its SHA-256 recorded in the trail."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from audits.services import actor_for
from core.permissions import HasAnyRole, readable_rows
from registry.models import ModelVersion
from reports.mlbom import MEDIA_TYPE
from reports.mlbom_issue import model_version_bom_issue


def bom_response(version: ModelVersion, data: bytes) -> HttpResponse:
    name = f"{version.model.name}-{version.version}.cdx.json"
    disposition = content_disposition_header(as_attachment=True, filename=name)
    return HttpResponse(data, content_type=MEDIA_TYPE, headers={"Content-Disposition": disposition})


class ModelVersionBomApi(APIView):
    permission_classes = [HasAnyRole]

    @extend_schema(
        responses={(200, MEDIA_TYPE): OpenApiTypes.BINARY},
        summary="The version's CycloneDX 1.6 ML-BOM (model card, data sets, runtime); its SHA-256 goes to the trail",
    )
    def get(self, request, name, version):
        versions = readable_rows(request.user, ModelVersion.objects.select_related("model", "artifact"), "model")
        target = get_object_or_404(versions, model__name=name, version=version)
        return bom_response(target, model_version_bom_issue(version=target, actor=actor_for(request.user)))
