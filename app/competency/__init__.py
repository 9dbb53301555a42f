"""Competency development: the PermenPANRB 38/2017 catalog, job standards, assessment results,
gaps, JPM and the gap map."""
