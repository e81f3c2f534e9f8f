"""``params.yaml``, checked: the schema's one-line refusals (:mod:`.schema`), what a string may say
(:mod:`.texts`), the runs and their settings (:mod:`.runs`), the runs' roles (:mod:`.roles`), the model
of the whole file (:mod:`.params`), and the one registry of the figures (:mod:`.figures`) with the page
they print on (:mod:`.layout`)."""
