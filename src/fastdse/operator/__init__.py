"""From points to the symmetric diffusion operator ``A = D^-1/2 K D^-1/2``.

One module a stage, in the order the data flow through them:

- :mod:`.neighbors`: k-NN search (exact or pynndescent) and the searchers;
  :mod:`.exact_search` holds the blocked-BLAS exact search (and its one pass that
  searches and widens), :mod:`.widen` the widening of lists to radii they are given;
- :mod:`.kernel`: alpha-decay and Gaussian affinities, dense or sparse;
  :mod:`.sparse_kernel` holds the sparse kernel's rule for a row and its steps,
  :mod:`.truncation` the report on mass lost at the list cap;
- :mod:`.normalize`: degrees, anisotropy, the symmetric operator and its known top
  eigenvectors;
- :mod:`.build`: the three in a row, for the sparse modes.
"""
