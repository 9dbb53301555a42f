"""The web shell: templates, static files, error pages, dashboard and language switch."""
