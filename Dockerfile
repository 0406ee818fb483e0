# A served paretoml model: `docker build -t my-model --build-arg MODEL=path/to/exported/model .`
# (MODEL is a folder written by `paretoml export`, relative to this directory), then
# `docker run --rm -p 8000:8000 my-model`. See "From a CSV to a served model" in the README.
FROM python:3.11-slim

# LightGBM and XGBoost need the OpenMP runtime; a compiled (tl2cgen) model also needs "gcc libc6-dev".
ARG APT="libgomp1"
RUN apt-get update \
    && apt-get install -y --no-install-recommends ${APT} \
    && rm -rf /var/lib/apt/lists/*

# The serving extra only (Starlette, uvicorn); add "cnn" for a CNN model, "compile" for a tl2cgen one.
ARG EXTRAS="serve"
WORKDIR /opt/paretoml
COPY pyproject.toml README.md ./
COPY paretoml ./paretoml
RUN pip install --no-cache-dir ".[${EXTRAS}]" && rm -rf /opt/paretoml

# The exported model, readable by the serving user whatever its modes were on the build machine.
ARG MODEL=model
COPY ${MODEL} /model
RUN chmod -R a+rX /model && useradd --system --uid 10001 --no-create-home paretoml

USER paretoml
WORKDIR /tmp
# A compiled (tl2cgen) model is compiled again at load; its cache must be writable by the serving user.
ENV PARETOML_CACHE=/tmp/paretoml-cache
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health')"]
CMD ["paretoml", "serve", "/model", "--host", "0.0.0.0", "--port", "8000"]
