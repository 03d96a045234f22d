"""Chemistry domain: molecules from SMILES (RDKit), their featurizers, property recipes."""
