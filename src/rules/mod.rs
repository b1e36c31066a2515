//! The rule language of Traefik v3 routers.
