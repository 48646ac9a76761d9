"""The bottom layer: the activation record and registry, the special functions, parsing, calculus and
NumPy forms, result display and file writing."""
