"""Physics domain: atomic structures (ASE), simulators, learned potentials."""
