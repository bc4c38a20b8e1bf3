"""Layer 3, the pieces of a transformer as pure functions and thin modules: the matrix product
(`dense`), norms, MLPs, rotary positions, attention (mask, backends, GQA and MLA modules) and
mixtures of experts. No file or network I/O. Import the module you need, e.g.
`from rawweights_jax.nn.attention.attend import attend`."""
