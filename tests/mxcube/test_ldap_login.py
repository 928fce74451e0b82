"""MXCuBE's own py-ispyb client (``PyISPyBRestClient``, in its venv: ``conftest.mxcube_python``) signs in to a
live server with a directory user's password, the LDAP login configured as production configures it
(``LDAP_*`` variables through ``lims.identity.ldap_settings``) against a real slapd (tests/ldap_server.py)."""

import json
import os
import subprocess

import pytest
from django.conf import settings as django_settings

from tests.ldap_server import PASSWORD, ldap_server_fixture  # noqa: F401 (registers the ldap_server fixture)
from tests.lims.test_ldap import use_ldap

CLIENT_TIMEOUT = 120  # seconds

# Run by MXCuBE's python (-I: nothing of this project on its path); the answer is the last line of stdout.
CLIENT = """
import json, sys
from mxcubecore.HardwareObjects.abstract.PyISPyBRestClient import PyISPyBRestClient
from mxcubecore.HardwareObjects.abstract.PyISPyBDataAdapter import PyISPyBDataAdapter

args = json.load(sys.stdin)
client = PyISPyBRestClient(args["root"])
client.authenticate(args["login"], args["password"])
out = {"has_refresh_token": bool(client._refresh_token)}
out["current_user"] = PyISPyBDataAdapter(client, "MX-3").get_current_user_data()
try:
    PyISPyBRestClient(args["root"]).authenticate(args["login"], args["wrong"])
    out["wrong"] = None
except Exception as exc:
    out["wrong"] = type(exc).__name__
print(json.dumps(out))
"""


@pytest.mark.mxcube_client
@pytest.mark.django_db(transaction=True)
def test_mxcube_signs_in_with_a_directory_password(mxcube_python, live_server, settings, ldap_server):
    use_ldap(settings, ldap_server)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "DJANGO"))}
    env.update(TZ=django_settings.TIME_ZONE, NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    args = {"root": f"{live_server.url}/ispyb/api/v1/", "login": "ada", "password": PASSWORD, "wrong": "nope"}

    result = subprocess.run(
        [str(mxcube_python), "-I", "-c", CLIENT],
        input=json.dumps(args),
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT,
        env=env,
    )

    assert result.returncode == 0, f"MXCuBE's client raised:\n{result.stderr[-8000:]}"
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["has_refresh_token"]
    user = out["current_user"]
    assert (user["login"], user["givenName"], user["familyName"]) == ("ada", "Ada", "Lovelace"), user
    assert out["wrong"] == "PyISPyBUnsuccessfulResponse", out
