"""Shared plumbing: argument checks, input conversion, threads, progress and memory.

- :mod:`.validation`: the ``check_*`` functions every public boundary uses.
- :mod:`.inputs`: arrays, pandas, torch, AnnData, sparse features and affinities to numpy.
- :mod:`.parallel` and :mod:`.blocks`: ``n_jobs``, joblib tasks and row-block threads.
- :mod:`.progress`: progress bars and the ``"fastdse"`` logger.
- :mod:`.memory`: how much memory a dense path needs and has.

Nothing here imports the pipeline stages.
"""
