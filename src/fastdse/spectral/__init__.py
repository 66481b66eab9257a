"""From the diffusion operator to its spectral measure.

:mod:`.measure` holds :class:`~fastdse.spectral.measure.SpectralMeasure`, the one result
type; each estimator returns one: :mod:`.dense` (every eigenvalue, LAPACK),
:mod:`.lanczos` (deflation plus stochastic Lanczos quadrature) and :mod:`.landmark`
(a coarse operator on landmarks).
"""
