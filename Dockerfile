# LMS Diklat ASN — production image. Build: docker build -t lms-diklat .
# Runs migrations, then the server with LMS_WORKERS processes (0: one per CPU core; see README, "Production").

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY app ./app
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --upgrade pip \
    && /opt/venv/bin/pip install .

FROM python:3.11-slim-bookworm AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/srv/lms \
    LMS_ENVIRONMENT=production \
    LMS_WORKERS=0
RUN useradd --system --uid 10001 --home-dir /srv/lms --create-home lms
WORKDIR /srv/lms
COPY --from=build /opt/venv /opt/venv
COPY --chown=lms:lms alembic.ini ./
COPY --chown=lms:lms migrations ./migrations
COPY --chown=lms:lms templates ./templates
COPY --chown=lms:lms static ./static
COPY --chown=lms:lms content ./content
COPY --chown=lms:lms app ./app
# Brotli and gzip siblings of the text assets, made once here: the server never compresses a
# static file per request (app/web/static.py).
RUN lms compress-static
RUN mkdir -p /srv/lms/var && chown lms:lms /srv/lms/var
USER lms
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"
# `lms serve` applies pending migrations first, then starts uvicorn workers.
CMD ["sh", "-c", "exec lms serve --host 0.0.0.0 --port 8000 --workers ${LMS_WORKERS}"]
