"""Work on Dask: experiment grids (:mod:`~fairopt.distributed.experiment`)."""
