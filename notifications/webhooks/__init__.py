"""Outbound webhooks (SPEC §9): signing, the SSRF-safe sender, and their services."""
