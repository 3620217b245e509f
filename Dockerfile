# One image for every role: web (gunicorn), worker and beat differ only in their command.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 VAR_DIR=/srv/var
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
RUN mkdir -p /srv/var /srv/storage && chown verity:verity /srv/var /srv/storage \
    && SECRET_KEY=build-only DEBUG=false python manage.py collectstatic --no-input
USER verity
EXPOSE 8000
# Liveness only: /healthz answers from the process without asking the database, the broker or a worker.
HEALTHCHECK --interval=15s --timeout=5s --retries=5 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3)"]
CMD ["gunicorn", "governance.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "4", "--access-logfile", "-"]
