"""The city tier: every center's hub forwards its log here, to PostgreSQL (README, "A city of centers").

The city imports the shared ground (mfc_edge) only, never the hub or a device package.
"""
