"""A model version's CycloneDX 1.6 ML-BOM, built from its facts (pure: no database, no clock, no randomness).

The model is a ``machine-learning-model`` component with its artifact's SHA-256 and a model card (task,
performance with intervals, fairness results, limitations); its evaluation and reference data sets are
``data`` components with their digests; the libraries that load and run its format are ``library``
components it depends on. cyclonedx-python-lib builds and serialises the document; it does not model
``modelCard`` or a component's ``data`` yet, so those two members are added to its output as the 1.6 schema
defines them (the tests validate the result against that schema). The serial number is derived from the
facts and the timestamp is the newest among them, and the bytes are RFC 8785 canonical JSON: the same facts
always give the same bytes.
"""

import json
import uuid
from datetime import datetime

from cyclonedx.model import HashAlgorithm, HashType, Property
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from audits.ledger.hashing import canonical, sha256_hex

MEDIA_TYPE = "application/vnd.cyclonedx+json"
FILE_NAME = "ml-bom.cdx.json"
# The distributions the service loads and runs each artifact format with (mlio.predictors), by PyPI name.
RUNTIME_LIBRARIES = {
    "skops": ("skops", "scikit-learn", "numpy"),
    "xgboost": ("xgboost-cpu", "numpy"),
    "lightgbm": ("lightgbm", "numpy"),
    "onnx": ("onnx", "onnxruntime", "numpy"),
    "mlflow": ("mlflow", "numpy"),
}
_NAMESPACE = uuid.UUID("5d0f6a52-36c8-4f0f-9a8e-0c0ab0d7e7a1")  # names this service's BOM serial numbers
_SUPERVISED = {"binary_classification": "classification", "multiclass_classification": "classification"}


def _ref(kind: str, *parts) -> str:
    return f"{kind}:" + "/".join(str(part) for part in parts)


def _props(pairs) -> list[Property]:
    return [Property(name=f"verity:{name}", value=str(value)) for name, value in pairs if value not in (None, "", [])]


def _model_component(facts: dict, dataset_refs: list[str]) -> Component:
    artifact = facts["artifact"] or {}
    return Component(
        type=ComponentType.MACHINE_LEARNING_MODEL,
        name=facts["model"],
        version=facts["version"],
        bom_ref=_ref("model", facts["model"], facts["version"]),
        description=facts["description"] or None,
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=artifact["sha256"])] if artifact else None,
        properties=_props(
            [
                ("risk_tier", facts["risk_tier"]),
                ("artifact_format", artifact.get("format")),
                ("artifact_size", artifact.get("size")),
                ("flavor", facts["flavor"]),
                ("framework", facts["framework"]),
                ("framework_version", facts["framework_version"]),
                *((f"lineage:{k}", json.dumps(v, sort_keys=True)) for k, v in sorted(facts["lineage"].items())),
            ]
        ),
    )


def _dataset_component(dataset: dict) -> Component:
    return Component(
        type=ComponentType.DATA,
        name=dataset["name"],
        version=dataset["sha256"][:12],
        bom_ref=_dataset_ref(dataset),
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=dataset["sha256"])],
        properties=_props(
            [
                ("dataset_id", dataset["id"]),
                ("kind", dataset["kind"]),
                ("used_for", ", ".join(dataset["used_for"])),
                ("format", dataset["format"]),
                ("size", dataset["size"]),
                ("rows", dataset["rows"]),
                ("target", dataset["target"]),
                ("registered_at", dataset["registered_at"]),
            ]
        ),
    )


def _dataset_ref(dataset: dict) -> str:
    return _ref("dataset", dataset["id"], dataset["sha256"])


def _library_component(library: dict) -> Component:
    purl = PackageURL(type="pypi", name=library["name"].lower(), version=library["version"])
    return Component(
        type=ComponentType.LIBRARY,
        name=library["name"],
        version=library["version"],
        bom_ref=_ref("pypi", f"{library['name'].lower()}@{library['version']}"),
        purl=purl,
    )


def _metric(name: str, estimate: dict, slice_: str) -> dict | None:
    if estimate.get("value") is None:
        return None
    metric = {"type": name, "value": repr(estimate["value"]), "slice": slice_}
    low, high = (estimate.get("ci") or [None, None])[:2]
    if low is not None and high is not None:
        metric["confidenceInterval"] = {"lowerBound": repr(low), "upperBound": repr(high)}
    return metric


def _performance(performance: dict) -> list[dict]:
    metrics = [
        {"type": item["name"], "value": repr(item["value"]), "slice": "declared by the submitter"}
        for item in performance["declared"]
    ]
    measured = performance["measured"] or {}
    metrics += [_metric(item["name"], item, "overall (measured)") for item in measured.get("overall") or []]
    for row in measured.get("by_group") or []:
        slice_ = f"{row['feature']} = {row['group']} ({row['count']} rows)"
        metrics += [_metric(item["name"], item, slice_) for item in row["metrics"]]
    return [metric for metric in metrics if metric is not None]


def _interval(item: dict) -> str:
    low, high = (item.get("ci") or [None, None])[:2]
    return f"{item['value']!r} [{low!r}, {high!r}]" if low is not None else repr(item["value"])


def _fairness(fairness: dict | None) -> list[dict]:
    if not fairness:
        return []
    assessments = []
    for feature in fairness["features"]:
        groups = ", ".join(str(group["group"]) for group in feature["groups"])
        disparities = "; ".join(f"{d['name']} {_interval(d)}" for d in feature["disparities"] if d["value"] is not None)
        reasons = "; ".join(feature["reasons"]) or "no disparity beyond the policy's thresholds"
        assessments.append(
            {
                "groupAtRisk": f"{feature['name']}: {groups}",
                "harms": f"bias audit verdict {feature['verdict']}: {reasons}. Disparities: {disparities or 'none'}",
            }
        )
    return assessments


def model_card(facts: dict, dataset_refs: list[str]) -> dict:
    """The ``modelCard`` member of the model component (CycloneDX 1.6)."""
    task = facts["task"]
    parameters = {"datasets": [{"ref": ref} for ref in dataset_refs]}
    if task:
        parameters["task"] = _SUPERVISED.get(task, task)
        if task in _SUPERVISED or task == "regression":
            parameters["approach"] = {"type": "supervised"}
    if facts["framework"]:
        parameters["architectureFamily"] = facts["framework"]
    if facts["model_class"]:
        parameters["modelArchitecture"] = facts["model_class"]
    if facts["feature_names"]:
        parameters["inputs"] = [{"format": "tabular: " + ", ".join(facts["feature_names"])}]
    limitations = [facts["limitations"]["declared"]] if facts["limitations"]["declared"] else []
    considerations = {"technicalLimitations": limitations + list(facts["limitations"]["computed"])}
    if facts["intended_use"]["intended"]:
        considerations["useCases"] = [facts["intended_use"]["intended"]]
    fairness = _fairness(facts["fairness"])
    if fairness:
        considerations["fairnessAssessments"] = fairness
    card = {
        "bom-ref": _ref("model-card", facts["model"], facts["version"]),
        "modelParameters": parameters,
        "quantitativeAnalysis": {"performanceMetrics": _performance(facts["performance"])},
        "considerations": considerations,
    }
    evidence = [section["evidence"] for section in (facts["performance"]["measured"], facts["fairness"]) if section]
    card["properties"] = [
        {"name": "verity:evidence", "value": json.dumps(pointer, sort_keys=True)} for pointer in evidence[:1]
    ]
    if facts["fairness"]:
        card["properties"].append({"name": "verity:fairness_verdict", "value": str(facts["fairness"]["verdict"])})
    if not card["properties"]:
        del card["properties"]
    return card


def _component_data(dataset: dict, classification: list[str]) -> list[dict]:
    data = {"type": "dataset", "name": dataset["name"]}
    if classification:
        data["classification"] = ", ".join(classification)
    if dataset["sensitive_features"]:
        data["sensitiveData"] = list(dataset["sensitive_features"])
    if dataset["features"]:
        data["contents"] = {"properties": [{"name": "features", "value": ", ".join(dataset["features"])}]}
    return [data]


def bom_document(facts: dict) -> dict:
    """The BOM as a JSON object (CycloneDX 1.6)."""
    datasets = sorted(facts["datasets"], key=lambda d: d["id"])
    refs = [_dataset_ref(d) for d in datasets]
    model = _model_component(facts, refs)
    libraries = [_library_component(lib) for lib in sorted(facts["runtime"], key=lambda lib: lib["name"])]
    bom = Bom(
        serial_number=uuid.uuid5(_NAMESPACE, sha256_hex(canonical(facts))),
        metadata=BomMetaData(component=model, timestamp=datetime.fromisoformat(facts["timestamp"])),
        components=[*(_dataset_component(d) for d in datasets), *libraries],
    )
    bom.register_dependency(model, libraries)
    document = json.loads(JsonV1Dot6(bom).output_as_string())
    document["metadata"]["component"]["modelCard"] = model_card(facts, refs)
    by_ref = {d["bom-ref"]: d for d in document.get("components", [])}
    for dataset, ref in zip(datasets, refs, strict=True):
        by_ref[ref]["data"] = _component_data(dataset, facts["data_classification"])
    return document


def bom_bytes(document: dict) -> bytes:
    return canonical(document)
