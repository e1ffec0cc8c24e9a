"""Support: the knowledge base, its matcher (S2) and, later, tickets and operators (S3)."""
