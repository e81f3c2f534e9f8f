"""What the tests share, and no test of its own: the scratch project every integration test runs the
pipeline in (:mod:`support.scratch_project`) and the one-epoch projects built once per session
(:mod:`support.workflows`), the synthetic runs written through the train stage's writers
(:mod:`support.synthetic_runs`), and the local HTTP server and headless browser of some tests.
pyproject.toml puts tests/ on the path (``pythonpath``), so a test imports ``support.<module>``."""
