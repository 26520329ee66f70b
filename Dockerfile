# One image for every role: web (gunicorn), worker and beat (celery), the reference vendor.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
RUN pip install --upgrade pip && pip install -e .

COPY . .
RUN python manage.py compile_translations \
    && DEBUG=true python manage.py collectstatic --noinput

RUN useradd --create-home market && mkdir -p /app/var && chown -R market /app/var
USER market
EXPOSE 8000

CMD ["gunicorn", "market.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
