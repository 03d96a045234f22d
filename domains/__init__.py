"""Domain plugins shipped with the hub. Each registers itself through the ``hub.domains``
entry-point group, exactly as a third-party package would."""
