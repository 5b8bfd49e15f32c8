"""Identifiers shared by the issuer, the token minter and the tests.

They are fixed (not random) so a failing test prints values a person can
recognise, and so a demo script and a test agree without talking.
"""

# The tenant the simulator serves when none is named (the example of the filter contract).
DEFAULT_TENANT = "11111111-2222-3333-4444-555555555555"

# The protected API's application (client) id: the `aud` of the tokens issued for it.
DEFAULT_API_APP_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
DEFAULT_API_URI = f"api://{DEFAULT_API_APP_ID}"

# A confidential client registered by default with the token endpoint.
DEFAULT_CLIENT_ID = "c1c1c1c1-0000-4000-8000-000000000001"
DEFAULT_CLIENT_SECRET = "default-client-secret"
DEFAULT_CLIENT_ROLES = ("Calculator.Add",)

# Entra's multi-tenant aliases: their documents publish a `{tenantid}` template issuer.
MULTI_TENANT_ALIASES = frozenset({"common", "organizations"})
TENANT_TEMPLATE = "{tenantid}"

# Where v1 tokens say they come from, whatever the authority (Entra's global cloud value).
V1_ISSUER_TEMPLATE = "https://sts.windows.net/{tenant}/"

TOKEN_LIFETIME_SECONDS = 3600

# The API app's delegated scopes (what `api://<app>/<scope>` may name) by default.
DEFAULT_API_SCOPES = ("calculator.add", "calculator.multiply", "calculator.divide")

# A public client (an MCP client app: no secret) registered by default for the user sign-in flow;
# its loopback redirect URIs have no port, so they match any port (as Entra's do).
DEFAULT_PUBLIC_CLIENT_ID = "b1b1b1b1-0000-4000-8000-000000000002"
DEFAULT_REDIRECT_URIS = (
    "http://localhost/callback", "http://127.0.0.1/callback",
    "http://localhost/oauth/callback", "http://127.0.0.1/oauth/callback",
)
