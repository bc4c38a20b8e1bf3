"""Layer 2, the key/value cache as an explicit pytree (cache.py): passed in, returned, static
shapes; dense buffers for global layers, rings for sliding-window layers."""
