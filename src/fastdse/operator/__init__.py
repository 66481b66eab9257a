"""From points to the symmetric diffusion operator ``A = D^-1/2 K D^-1/2``.

One module a stage: :mod:`.neighbors` (exact and pynndescent k-NN search, widening to
a radius), :mod:`.kernel` (alpha-decay and Gaussian affinities, dense or sparse),
:mod:`.normalize` (degrees, anisotropy, the symmetric operator and its known top
eigenvectors) and :mod:`.build`, which runs the three for the sparse modes.
"""
