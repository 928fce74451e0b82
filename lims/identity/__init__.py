"""Who people are, from where the facility keeps them: OpenID Connect (``oidc``), LDAP (``ldap``), the user
office's feed of proposals, sessions and members (``lims.user_office``), and the facility roles each of them
maps to (``roles``). Local passwords (Django's ModelBackend) always work beside them."""
