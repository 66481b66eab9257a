"""numba leaf kernels: plain arrays in, plain arrays out, one JIT policy (:mod:`.jit`).

- :mod:`.jit`: the decorators and their reasons (``cache=True``, no ``fastmath``).
- :mod:`.dense`: dense distances and kernels of the exact path.
- :mod:`.sparse`: neighbour heaps, radius lists, kernel rows and CSR assembly of the
  sparse path.
- :mod:`.lanczos`: the block Lanczos recurrence's CSR products and updates.

Nothing here imports the rest of fastdse.
"""
