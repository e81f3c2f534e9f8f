"""The models and their training, in NumPy: exact, machine-independent products (:mod:`.exact`), the
logistic and softmax regression models (:mod:`.models`), mini-batch SGD with early stopping
(:mod:`.sgd`) and its progress lines (:mod:`.progress`). Knows nothing of MNIST, params.yaml or files;
imports only :mod:`mnist_report.common`."""
