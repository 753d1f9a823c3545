"""Proxima: secure video interviews for social work."""
