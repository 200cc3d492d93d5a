"""The delivery runtime: instance config, queue, workers, retries."""
