"""MLflow's model registry REST API (2.0), one class per operation: registered models, model versions,
and the artifact download MLflow's client needs for a version."""
