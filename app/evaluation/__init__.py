"""Evaluasi penyelenggaraan (post-course survey) and RTL (rencana tindak lanjut)."""
