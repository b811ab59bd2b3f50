"""Complaints: per-channel templates (templates/, channels.yaml), drafting (drafting.py), batches and their
filing (batches.py), and the filing methods — the only code that writes to a platform: its complaint e-mail
(email.py), its portal (portal.py) or an export package a person uploads (export.py)."""
