"""The ISPyB-compatible API that beamline control (MXCuBE and the like) expects, under /ispyb/api/v1/.

See ``../shared/reference/mxcube-contract.md``.
"""
