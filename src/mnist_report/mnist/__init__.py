"""The data: MNIST's files, checksums, splits and pre-processing (:mod:`.data`), and where the download
stage fetches them from (:mod:`.sources`). Imports the core (the models' input type) and common."""
