# One image for the scheduler and the workers (as Dask's images), built from this repository.
#
#   docker build -t dask-deno:0.1.0 .
#   docker run -p 8786:8786 -p 8787:8787 dask-deno:0.1.0                      # a scheduler
#   docker run dask-deno:0.1.0 worker/main.ts tcp://SCHEDULER:8786 --host 0.0.0.0 --nthreads 2  # a worker
#
# Containers listen on every interface (--host 0.0.0.0): a process alone listens on 127.0.0.1,
# which nothing outside its container reaches. Give them all --auth-token-file (docs/security.md).
#
# Deno comes from npm (the `deno` package ships the binary); the modules and their npm
# dependencies are cached at build time, so containers start without the network.
FROM debian:bookworm-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates nodejs npm tini \
 && npm install -g deno@2.9 \
 && npm cache clean --force \
 && apt-get purge -y npm && apt-get autoremove -y && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 1000 dask

ENV DENO_DIR=/home/dask/.cache/deno \
    DENO_NO_UPDATE_CHECK=1 \
    NO_COLOR=1
WORKDIR /app
COPY --chown=dask:dask . .
USER dask
RUN deno cache mod.ts scheduler/main.ts worker/main.ts worker/thread_entry.ts

# 8786: scheduler (workers and clients connect here); 8787: dashboard (/status, /health, /metrics)
EXPOSE 8786 8787
ENTRYPOINT ["tini", "--", "deno", "run", "-A", "--no-config"]
CMD ["scheduler/main.ts", "--host", "0.0.0.0", "--port", "8786", "--dashboard-port", "8787"]
