"""A real OpenLDAP server for the LDAP login's tests: Debian's ``slapd``, run by the test as a child process.

    ldap_server            pytest fixture: a fresh ``LdapServer``, started, stopped at teardown; a test module
                           registers it with ``from tests.ldap_server import ldap_server_fixture``
    LdapServer(dir).start() / .stop() / .pause() / .resume()
    server.uri, .base_dn, .admin_dn, .admin_password, .users_dn, .groups_dn, .posix_groups_dn
    server.user_dn(uid), .group_dn(cn); server.add_member(group, uid) / .remove_member(group, uid)

Each server gets a throwaway directory: its configuration (``slapd.d``, written by ``slapadd -n0`` from
LDIF, with the ``cosine``, ``inetorgperson`` and ``nis`` schemas of /etc/ldap/schema), an ``mdb`` database
loaded offline by ``slapadd -n1``, and slapd's log. slapd listens on a free 127.0.0.1 port, in the
foreground (``-d 0``: no daemon to lose track of); ``start`` returns once the port answers, ``stop``
terminates it and waits. The fixture skips, saying why, only when slapd is not installed (Debian:
``apt-get install slapd ldap-utils``, which scripts/system-deps.sh does).

The directory (base ``dc=facility,dc=test``):

    uid=ada     Ada Lovelace, ada@facility.test        groups mx-stores, mx-staff; posix mx-admins
    uid=grace   Grace Hopper, grace@facility.test      groups mx-users
    uid=alan    Alan Turing, alan@facility.test        no group
    cn=mx-stores, cn=mx-staff, cn=mx-users (groupOfNames, ou=groups); cn=mx-admins (posixGroup, ou=posix)

Every user's password is ``PASSWORD``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

SLAPD = Path("/usr/sbin/slapd")
SLAPADD = Path("/usr/sbin/slapadd")
SCHEMA_DIR = Path("/etc/ldap/schema")
MODULE_DIR = Path("/usr/lib/ldap")
SCHEMAS = ["core", "cosine", "inetorgperson", "nis"]

BASE_DN = "dc=facility,dc=test"
ADMIN_DN = f"cn=admin,{BASE_DN}"
ADMIN_PASSWORD = "directory-admin-secret"
PASSWORD = "ldap-pass-1234"
PLACEHOLDER_MEMBER = f"cn=nobody,{BASE_DN}"
START_TIMEOUT = 30  # seconds for slapd to answer on its port

USERS = {
    "ada": ("Ada", "Lovelace"),
    "grace": ("Grace", "Hopper"),
    "alan": ("Alan", "Turing"),
}
GROUPS = {"mx-stores": ["ada"], "mx-staff": ["ada"], "mx-users": ["grace"]}
POSIX_GROUPS = {"mx-admins": ["ada"]}


def ssha(password: str) -> str:
    """``{SSHA}`` as slappasswd writes it: base64(SHA-1(password + salt) + salt)."""
    salt = os.urandom(8)
    return "{SSHA}" + base64.b64encode(hashlib.sha1(password.encode() + salt).digest() + salt).decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LdapServer:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.config_dir = self.root / "slapd.d"
        self.data_dir = self.root / "data"
        self.log_path = self.root / "slapd.log"
        self.port = free_port()
        self.uri = f"ldap://127.0.0.1:{self.port}"
        self.base_dn = BASE_DN
        self.admin_dn = ADMIN_DN
        self.admin_password = ADMIN_PASSWORD
        self.users_dn = f"ou=people,{BASE_DN}"
        self.groups_dn = f"ou=groups,{BASE_DN}"
        self.posix_groups_dn = f"ou=posix,{BASE_DN}"
        self.process: subprocess.Popen | None = None
        self._log = None
        self._paused = False

    def user_dn(self, uid: str) -> str:
        return f"uid={uid},{self.users_dn}"

    def group_dn(self, cn: str) -> str:
        return f"cn={cn},{self.groups_dn}"

    # The directory, written before slapd starts.

    def config_ldif(self) -> str:
        includes = "\n".join(f"include: file://{SCHEMA_DIR / name}.ldif" for name in SCHEMAS)
        return f"""\
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {self.root / "slapd.pid"}
olcArgsFile: {self.root / "slapd.args"}

dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: {MODULE_DIR}
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

{includes}

dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by * none

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {BASE_DN}
olcRootDN: {ADMIN_DN}
olcRootPW: {ssha(ADMIN_PASSWORD)}
olcDbDirectory: {self.data_dir}
olcDbMaxSize: 16777216
olcAccess: {{0}}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {{1}}to * by users read by * none
"""

    def data_ldif(self) -> str:
        entries = [
            f"dn: {BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\ndc: facility\no: Test facility",
            f"dn: {self.users_dn}\nobjectClass: organizationalUnit\nou: people",
            f"dn: {self.groups_dn}\nobjectClass: organizationalUnit\nou: groups",
            f"dn: {self.posix_groups_dn}\nobjectClass: organizationalUnit\nou: posix",
        ]
        for uid, (first, last) in USERS.items():
            entries.append(
                f"dn: {self.user_dn(uid)}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {first} {last}\n"
                f"givenName: {first}\nsn: {last}\nmail: {uid}@facility.test\nuserPassword: {ssha(PASSWORD)}"
            )
        for cn, members in GROUPS.items():
            # groupOfNames needs a member: a placeholder keeps a group whose last person left.
            lines = "".join(f"\nmember: {dn}" for dn in [PLACEHOLDER_MEMBER, *map(self.user_dn, members)])
            entries.append(f"dn: {self.group_dn(cn)}\nobjectClass: groupOfNames\ncn: {cn}{lines}")
        for gid, (cn, members) in enumerate(POSIX_GROUPS.items(), start=5000):
            lines = "".join(f"\nmemberUid: {uid}" for uid in members)
            entries.append(
                f"dn: cn={cn},{self.posix_groups_dn}\nobjectClass: posixGroup\ncn: {cn}\ngidNumber: {gid}{lines}"
            )
        return "\n\n".join(entries) + "\n"

    def _slapadd(self, database: str, ldif: str) -> None:
        path = self.root / f"db{database}.ldif"
        path.write_text(ldif)
        result = subprocess.run(
            [str(SLAPADD), f"-n{database}", "-F", str(self.config_dir), "-l", str(path)],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"slapadd -n{database} failed:\n{result.stdout}{result.stderr}")

    def build(self) -> None:
        self.config_dir.mkdir(parents=True)
        self.data_dir.mkdir()
        self._slapadd("0", self.config_ldif())
        self._slapadd("1", self.data_ldif())

    # The process.

    def start(self) -> LdapServer:
        if not self.config_dir.exists():
            self.build()
        self._log = open(self.log_path, "ab")  # noqa: SIM115 (closed by stop)
        self.process = subprocess.Popen(
            [str(SLAPD), "-d", "0", "-h", f"{self.uri}/", "-F", str(self.config_dir)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"slapd exited with {self.process.returncode}:\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"slapd did not answer on port {self.port} within {START_TIMEOUT} s:\n{self.log()}")

    def stop(self) -> None:
        if self.process is None:
            return
        if self._paused:
            self.resume()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def pause(self) -> None:
        """Freeze slapd (SIGSTOP): its port still accepts connections, but nothing answers."""
        self.process.send_signal(signal.SIGSTOP)
        self._paused = True

    def resume(self) -> None:
        if self.process is not None and self._paused:
            self.process.send_signal(signal.SIGCONT)
        self._paused = False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # Changes while it runs, as the facility's directory admin would make them.

    def _admin(self):
        import ldap

        connection = ldap.initialize(self.uri)
        connection.set_option(ldap.OPT_NETWORK_TIMEOUT, 10)
        connection.set_option(ldap.OPT_TIMEOUT, 10)
        connection.simple_bind_s(ADMIN_DN, ADMIN_PASSWORD)
        return connection

    def _modify_member(self, group: str, uid: str, op: int) -> None:
        connection = self._admin()
        try:
            connection.modify_s(self.group_dn(group), [(op, "member", [self.user_dn(uid).encode()])])
        finally:
            connection.unbind_s()

    def add_member(self, group: str, uid: str) -> None:
        import ldap

        self._modify_member(group, uid, ldap.MOD_ADD)

    def remove_member(self, group: str, uid: str) -> None:
        import ldap

        self._modify_member(group, uid, ldap.MOD_DELETE)

    def set_password(self, uid: str, password: str) -> None:
        import ldap

        connection = self._admin()
        try:
            connection.modify_s(self.user_dn(uid), [(ldap.MOD_REPLACE, "userPassword", [ssha(password).encode()])])
        finally:
            connection.unbind_s()


@pytest.fixture(name="ldap_server")
def ldap_server_fixture(tmp_path_factory):
    """A running slapd with the directory above, on its own port; stopped (terminate, wait) at teardown."""
    missing = [str(path) for path in (SLAPD, SLAPADD) if not path.exists()]
    if missing:
        pytest.skip(
            f"OpenLDAP's server is not installed ({', '.join(missing)} missing): the LDAP login is tested against "
            "a real slapd; install it with `apt-get install slapd ldap-utils` (scripts/system-deps.sh)."
        )
    root = tmp_path_factory.mktemp("slapd")
    server = LdapServer(root)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
