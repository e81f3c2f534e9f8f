"""The data: MNIST's files, their checksums and the IDX format (:mod:`.data`), the splits and the
pre-processing (:mod:`.splits`), and where the download stage fetches the files from (:mod:`.sources`).
Imports the core (the models' input type) and common."""
