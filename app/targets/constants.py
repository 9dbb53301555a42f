"""Fixed vocabularies of the targets dashboard: funding-source keys, JP distribution buckets and
the by-OPD sort keys. Rule numbers (90 %, 20 JP, the PPPK cap) live in settings, not here."""

from __future__ import annotations

from app.courses.constants import FundingSource

# Sumber dana in the order the agency reports them; credits without one are shown, not dropped.
FUNDING_SOURCES: tuple[str, ...] = tuple(f.value for f in FundingSource)
UNKNOWN_FUNDING = "tidak_diketahui"

# Upper bounds (exclusive) of the JP distribution buckets after the "0 JP" bucket:
# 0 | >0–<10 | 10–<20 | 20–<40 | >= 40. Change here to regroup the chart and the export.
DISTRIBUTION_EDGES: tuple[float, ...] = (10.0, 20.0, 40.0)

# ?sort= of the by-OPD table: key -> field of OpdTargetRead; a leading "-" sorts descending.
OPD_SORT_FIELDS: dict[str, str] = {
    "opd": "opd_code",
    "nama": "opd_name",
    "asn": "active_asn",
    "partisipasi": "participation_percent",
    "kepatuhan": "jp_compliance_percent",
    "jp": "jp_total",
    "rata_jp": "average_jp",
}
DEFAULT_OPD_SORT = "opd"

BELOW_PER_PAGE = 50
NO_OPD = "-"  # the drill-down's ?opd= for ASN without an OPD
