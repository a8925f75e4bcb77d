# The publisher as a service: `publisher run` serves the site and keeps it current.
# Each step is a plain command that works the same on a Debian machine without Docker;
# docs/operations.md gives them in that form.
FROM python:3.11-slim

# git: notices get their history (first published, what changed) from the plans repository,
# and the service pulls it. The plans may be a clone owned by another user (a bind mount),
# which git refuses to read unless told it is safe.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/* \
    && git config --system --add safe.directory '*'

# The service runs as this user, never as root.
RUN useradd --system --create-home --home-dir /home/publisher --uid 10001 publisher

# The runtime dependencies, exactly the locked versions with their hashes (no test tools),
# then the package itself, built with the locked setuptools.
WORKDIR /opt/publisher
COPY requirements/build.txt requirements/run.txt ./requirements/
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements/build.txt \
    && pip install --no-cache-dir --require-hashes --no-deps --no-build-isolation -r requirements/run.txt
COPY pyproject.toml README.md ./
COPY publisher ./publisher
RUN pip install --no-cache-dir --no-deps --no-build-isolation .

# The example plans, for trying it out when no plans repository is given (docker-compose.yml).
COPY plans ./example-plans

# /repository: a clone of the plans repository, whose plans/ folder is /plans.
# /srv/feeds: the built site. The build swaps a new site in beside the old one, so the
# volume is /srv, the folder above it.
RUN mkdir -p /repository /srv/feeds \
    && chown publisher:publisher /repository /srv /srv/feeds \
    && ln -s /repository/plans /plans

# The deployment's own templates (templates/README.md): the service runs in
# /home/publisher, so they are its ./templates, looked in before the publisher's.
COPY templates /home/publisher/templates

USER publisher
WORKDIR /home/publisher
ENV PYTHONUNBUFFERED=1
EXPOSE 8000

# /healthz answers 200 when the site is built and the scheduler is running, 503 when not.
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

CMD ["publisher", "run", "--host", "0.0.0.0", "--port", "8000", "--plans", "/plans", "--site", "/srv/feeds"]
