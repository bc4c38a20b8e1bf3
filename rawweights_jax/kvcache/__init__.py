"""Layer 2, the key/value cache as an explicit pytree: contiguous (cache.py: dense buffers for
global layers, rings for sliding-window layers) or paged (paged.py: pools of fixed-size pages
read through block tables; pages.py hands pages out on the host, for a server's decode slots)."""
