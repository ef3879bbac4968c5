# One image for web (gunicorn), worker, beat and migrations: see docker-compose.yml.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=mes.settings.production \
    MES_VAR_DIR=/app/var

WORKDIR /app
RUN groupadd --system mes && useradd --system --gid mes --home-dir /app --shell /usr/sbin/nologin mes

# Dependencies first, from pyproject.toml, so code changes do not reinstall them.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .
# The project runs from /app (templates/ and static/ live beside the packages). The key
# below exists only for collectstatic at build time; containers get theirs at run time.
RUN pip install --no-deps -e . \
    && SECRET_KEY=collectstatic-at-build-time-only python manage.py collectstatic --noinput --verbosity 0 \
    && mkdir -p /app/var \
    && chown -R mes:mes /app/var

USER mes
EXPOSE 8000
CMD ["gunicorn", "mes.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
