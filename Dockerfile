# introbot as a container: `introbot run` as a non-root user, its health, readiness and
# metrics on port 9464 (/healthz, /readyz, /metrics). Settings come from INTROBOT_*
# environment variables (a Kubernetes Secret and ConfigMap: deploy/k8s/), state from
# [store] url or, without it, the SQLite database under /config.
#   docker build -t introbot .
#   docker run --rm introbot --version
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY introbot ./introbot
COPY rules ./rules
# The postgres extra: a team's replicas share a PostgreSQL store ([store] url, deploy/k8s/).
RUN pip install '.[postgres]' && rm -rf /src

RUN useradd --system --uid 10001 --user-group --home-dir /home/introbot --create-home introbot \
    && mkdir /config && chown introbot:introbot /config

ENV INTROBOT_CONFIG_DIR=/config \
    INTROBOT_DAEMON_HTTP=0.0.0.0:9464
WORKDIR /home/introbot
USER 10001:10001
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9464/healthz', timeout=4)"]

# SIGTERM lets the poll in progress finish (give it two minutes); exit 2 is a mistake in the
# configuration, which restarting cannot fix.
STOPSIGNAL SIGTERM
ENTRYPOINT ["introbot"]
CMD ["run"]
