"""ONNX external data: the files a model refers to, refused at detection and by the policy; Django-free."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .formats import ArtifactRejected


def _refuse_onnx_external_data(model: Any) -> None:
    if onnx_external_locations(model):
        raise ArtifactRejected(
            "onnx_external_data",
            "The ONNX model keeps tensors in external files, which an upload cannot carry. Save it as one file: "
            "onnx.save_model(model, path, save_as_external_data=False).",
        )


def onnx_external_locations(model: Any) -> list[str]:
    """The external-data file names an ONNX model refers to (empty for a self-contained model)."""
    from onnx.external_data_helper import ExternalDataInfo, uses_external_data

    return [ExternalDataInfo(t).location for t in _onnx_tensors(model) if uses_external_data(t)]


def _onnx_tensors(model: Any) -> Iterator[Any]:
    graphs = [model.graph, *model.functions]
    while graphs:
        graph = graphs.pop()
        yield from getattr(graph, "initializer", ())
        for sparse in getattr(graph, "sparse_initializer", ()):
            yield from (sparse.values, sparse.indices)
        for attribute in (a for node in graph.node for a in node.attribute):
            yield from (*([attribute.t] if attribute.HasField("t") else []), *attribute.tensors)
            graphs.extend([attribute.g] if attribute.HasField("g") else [])
            graphs.extend(attribute.graphs)
