"""numba leaf kernels: plain arrays in, plain arrays out, one JIT policy (:mod:`.jit`).

- :mod:`.jit`: the decorators and their reasons (``cache=True``, no ``fastmath``), and
  where kernels are cached when numba finds no writable cache (a read-only install).
- :mod:`.dense`: dense distances and kernels of the exact path.
- :mod:`.search`: neighbour heaps, top-k and radius lists from Gram blocks, two-hop
  widening (the exact neighbour search).
- :mod:`.sparse`: kernel rows, row mass and CSR assembly and symmetrisation of the
  sparse kernel.
- :mod:`.lanczos`: the block Lanczos recurrence's CSR products and updates.

Nothing here imports the rest of fastdse.
"""
