"""The words that say a model cannot be explained, in one place, light to import (Django-free).

The explainers raise with them, the runner prefixes a failed job's error with NOT_EXPLAINABLE so policy can tell
"cannot be explained" from a fault, and requirements, API errors and model cards quote them.
"""

NOT_EXPLAINABLE = "not explainable"
UNQUERYABLE = "explanations need a model that can be queried; this version only has recorded predictions"
RECORDED_ONLY = (
    f"{UNQUERYABLE}, which answer for the rows they were recorded on and no others, while SHAP and LIME must ask "
    "the model about inputs it was never given"
)
