# One image for every role: web (gunicorn), worker and beat differ only in their command.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 VAR_DIR=/srv/var \
    NUMBA_CACHE_DIR=/srv/numba-cache
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 1000 verity
WORKDIR /srv/app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
# Named volumes mounted on these paths take their owner from the image: without them here, a fresh
# storage volume belongs to root and the service user cannot write an artifact.
# The Tree SHAP kernels are compiled here, into NUMBA_CACHE_DIR, so that a fresh worker explains at warm speed.
RUN mkdir -p /srv/var /srv/storage /srv/numba-cache \
    && SECRET_KEY=build-only DEBUG=false python manage.py collectstatic --no-input \
    && OMP_NUM_THREADS=1 python -m evidence.explain.warm \
    && chown verity:verity /srv/var /srv/storage && chown -R verity:verity /srv/numba-cache
USER verity
EXPOSE 8000
# Liveness only: /healthz answers from the process without asking the database, the broker or a worker.
HEALTHCHECK --interval=15s --timeout=5s --retries=5 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3)"]
CMD ["gunicorn", "governance.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "4", "--access-logfile", "-"]
