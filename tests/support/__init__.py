"""Small pieces shared by the test servers (issuer simulator, echo upstream)."""
