"""Small frames and the schemas declared for them."""

import pandas as pd

from mlio.datasets import DatasetSchema

LIMIT = 10 << 20  # generous: only the size tests run into it


def credit_frame() -> pd.DataFrame:
    """Eight applicants: numeric and categorical features with gaps, two sensitive features, a 0/1 target."""
    return pd.DataFrame(
        {
            "age": [25, 32, 47, 51, 38, 29, 60, 44],
            "income": [30000.0, 52000.5, None, 61000.0, 45000.0, None, 80000.0, 39000.0],
            "employment": ["salaried", "self", "salaried", None, "self", "salaried", "retired", "self"],
            "race": ["A", "B", "A", "B", "C", "A", "B", "A"],
            "sex": ["F", "M", "F", "M", "F", "M", "F", "M"],
            "approved": [1, 0, 1, 0, 0, 0, 1, 0],
        }
    )


def credit_schema(**changes) -> dict:
    schema = {
        "features": ["age", "income", "employment"],
        "target": "approved",
        "positive_label": 1,
        "task": "binary_classification",
        "sensitive_features": ["race", "sex"],
    }
    return {**schema, **changes}


def housing_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sqft": [850, 1200, 640, 2100, 1500],
            "rooms": [2, 3, 1, 5, 4],
            "city": ["Lyon", "Paris", "Lyon", "Nice", "Paris"],
            "price": [210000.0, 455000.0, 150500.0, 720000.0, 510000.0],
            "predicted_price": [200000.0, 470000.0, 160000.0, 690000.0, 500000.0],
        }
    )


def housing_schema(**changes) -> dict:
    schema = {
        "features": ["sqft", "rooms", "city"],
        "target": "price",
        "prediction": "predicted_price",
        "task": "regression",
    }
    return {**schema, **changes}


def schema_of(declaration: dict) -> DatasetSchema:
    return DatasetSchema.from_dict(declaration)
