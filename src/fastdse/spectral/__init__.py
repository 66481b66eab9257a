"""From the diffusion operator to its spectral measure.

:mod:`.measure` holds :class:`~fastdse.spectral.measure.SpectralMeasure`, the one result
type; each estimator returns one: :mod:`.dense` (every eigenvalue, LAPACK),
:mod:`.lanczos` (stochastic Lanczos quadrature after deflation: the recurrence and
Gauss rules in :mod:`.quadrature`, ARPACK deflation and the automatic choices in
:mod:`.deflation`) and :mod:`.landmark` (a coarse operator on landmarks).
"""
