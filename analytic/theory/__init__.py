"""Theory of deep gradient products: the exact chain, mean field, finite width and spectra.

Each module here takes resolved activations and distributions from the layers below (``calculus``,
``distributions``, ``expectations``) and never imports Monte Carlo, output or the CLI.
"""
