"""The report: the facts its prose states, computed from the runs' outputs (``facts_*``), the published
values it is checked against, provenance and traces, LaTeX escaping and the Jinja2 templates, and
the pdflatex build (:mod:`.pdflatex`). Beside :mod:`mnist_report.plotting`, never importing it."""
