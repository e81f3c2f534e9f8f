"""The figures: their recipes from the runs' outputs (:mod:`.recipes`), the drawings (:mod:`.drawings`),
the cache that copies an unchanged figure (:mod:`.cache`), the stage's rendering (:mod:`.render`), and
the offline page of ``dvc plots show`` (:mod:`.page`). Beside :mod:`mnist_report.reporting`, never importing it."""
