"""What every layer uses: the one-line errors, atomic files, child processes that die with the stage,
and the formats and paths of the runs' output files. Imports nothing else of the package."""
