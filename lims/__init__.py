"""The core: proposals, sessions, beamlines, lab contacts, people and roles, access, audit, errors, tokens,
barcodes and the shared PDF helpers. It imports no app (``config`` wires them; ``.importlinter`` checks it)."""
