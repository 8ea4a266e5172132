"""The official Python client of HashiCorp Vault (hvac) against the Vault double.

Run by test/backends/vault-double-hvac.test.ts with the double's address and AppRole in
the environment. It drives the documented endpoints Bastion uses and prints one JSON
object of what hvac parsed from each reply: every field it reads must be there, in Vault's
shape, or hvac (or this script) raises and the process exits non-zero. No traffic leaves
127.0.0.1: the double is the only server it talks to.
"""

import json
import os
import sys

import hvac
import hvac.exceptions

addr = os.environ["VAULT_ADDR"]
out = {}

client = hvac.Client(url=addr)
health = client.sys.read_health_status(method="GET")
out["health"] = {"initialized": health["initialized"], "sealed": health["sealed"]}
out["health_head"] = client.sys.read_health_status().status_code

# AppRole login: hvac takes the token from auth.client_token.
login = client.auth.approle.login(
    role_id=os.environ["VAULT_ROLE_ID"], secret_id=os.environ["VAULT_SECRET_ID"]
)
out["login"] = {
    "lease_duration": login["auth"]["lease_duration"],
    "renewable": login["auth"]["renewable"],
    "policies": login["auth"]["policies"],
}
out["authenticated"] = client.is_authenticated()
me = client.auth.token.lookup_self()["data"]
out["lookup_self"] = {"ttl": me["ttl"], "entity_id": me["entity_id"], "path": me["path"]}
renewed = client.auth.token.renew_self(increment="600s")
out["renew_self"] = renewed["auth"]["lease_duration"]

# SSH: sign a public key (hvac sends null extensions and an empty key_id when not given).
signed = client.secrets.ssh.sign_ssh_key(
    name=os.environ["VAULT_SSH_ROLE"],
    public_key=os.environ["VAULT_SSH_PUBLIC_KEY"],
    valid_principals=os.environ["VAULT_SSH_PRINCIPAL"],
    ttl="120s",
    mount_point=os.environ["VAULT_SSH_MOUNT"],
)
out["ssh"] = {
    "serial_number": signed["data"]["serial_number"],
    "signed_key": signed["data"]["signed_key"],
}
# Bound: critical options and extensions as maps (what Bastion asks for per invocation).
bound = client.secrets.ssh.sign_ssh_key(
    name=os.environ["VAULT_SSH_ROLE"],
    public_key=os.environ["VAULT_SSH_PUBLIC_KEY"],
    valid_principals=os.environ["VAULT_SSH_PRINCIPAL"],
    ttl="120s",
    critical_options={"force-command": "echo 'it''s' ok", "source-address": "127.0.0.1/32"},
    extensions={"permit-pty": ""},
    mount_point=os.environ["VAULT_SSH_MOUNT"],
)
out["ssh_bound"] = bound["data"]["signed_key"]
try:
    client.secrets.ssh.sign_ssh_key(
        name=os.environ["VAULT_SSH_ROLE"],
        public_key=os.environ["VAULT_SSH_PUBLIC_KEY"],
        valid_principals=os.environ["VAULT_SSH_PRINCIPAL"],
        critical_options={"permit-everything": "yes"},
        mount_point=os.environ["VAULT_SSH_MOUNT"],
    )
    out["ssh_option_refused"] = None
except hvac.exceptions.InvalidRequest as err:
    out["ssh_option_refused"] = {"status": 400, "errors": err.errors}
try:
    client.secrets.ssh.sign_ssh_key(
        name=os.environ["VAULT_SSH_ROLE"],
        public_key=os.environ["VAULT_SSH_PUBLIC_KEY"],
        valid_principals="not-allowed",
        mount_point=os.environ["VAULT_SSH_MOUNT"],
    )
    out["ssh_refused"] = None
except hvac.exceptions.InvalidRequest as err:
    out["ssh_refused"] = {"status": 400, "errors": err.errors}

# Identity token and the keys that verify it.
identity = client.secrets.identity.generate_signed_id_token(name=os.environ["VAULT_OIDC_ROLE"])
out["identity"] = {
    "token": identity["data"]["token"],
    "client_id": identity["data"]["client_id"],
    "ttl": identity["data"]["ttl"],
}
out["keys"] = client.adapter.get("/v1/identity/oidc/.well-known/keys")

# A leased dynamic secret: read it, look the lease up, revoke it, and find it gone.
creds = client.secrets.consul.generate_credentials(name=os.environ["VAULT_CONSUL_ROLE"])
lease_id = creds["lease_id"]
out["lease"] = {
    "lease_id": lease_id,
    "lease_duration": creds["lease_duration"],
    "token": creds["data"]["token"],
}
out["lease_lookup"] = client.sys.read_lease(lease_id=lease_id)["data"]
out["lease_revoke_status"] = client.sys.revoke_lease(lease_id=lease_id).status_code
try:
    client.sys.read_lease(lease_id=lease_id)
    out["lease_after_revoke"] = "still there"
except hvac.exceptions.InvalidRequest as err:
    out["lease_after_revoke"] = {"status": 400, "errors": err.errors}

# A wrong token is a 403, which hvac raises as Forbidden.
stranger = hvac.Client(url=addr, token="hvs.not-a-token")
try:
    stranger.auth.token.lookup_self()
    out["wrong_token"] = "accepted"
except hvac.exceptions.Forbidden as err:
    out["wrong_token"] = {"status": 403, "errors": err.errors}

# Revoke-self ends the token: its next use is a 403.
client.auth.token.revoke_self()
try:
    client.auth.token.lookup_self()
    out["after_revoke_self"] = "accepted"
except hvac.exceptions.Forbidden:
    out["after_revoke_self"] = 403

# JWT login, when the test configured a JWT role.
if os.environ.get("VAULT_JWT"):
    jwt_client = hvac.Client(url=addr)
    jwt_login = jwt_client.auth.jwt.jwt_login(role="bastion", jwt=os.environ["VAULT_JWT"])
    out["jwt_login"] = {
        "entity_id": jwt_login["auth"]["entity_id"],
        "authenticated": jwt_client.is_authenticated(),
    }

json.dump(out, sys.stdout)
