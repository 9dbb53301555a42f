"""Completion, certification rules, certificates (PDF, signature, credential) and verification."""
