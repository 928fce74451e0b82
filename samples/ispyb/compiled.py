"""What the ISPyB-compatible selectors compile once (``lims.compiled``) for beamline control's API tokens."""


class MachineStandIn:
    """A beamline's API token for the selectors, by its beamline alone: what scopes a machine's reads
    (``lims.tokens.TokenPrincipal``), with the beamline's id a stand-in while compiling."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_machine = True

    def __init__(self, beamline_id):
        self.beamline_id = beamline_id
