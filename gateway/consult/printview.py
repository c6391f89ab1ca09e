"""The printable report: a self-contained HTML page whose ECG is SVG drawn in millimetres, so the
printed strip is at true scale (25 mm/s, 10 mm/mV, 1 mm grid, 5 mm bold) on A4 landscape, ten
seconds per row, with the analyser's beat marks, the report, its amendments and the read-back."""

from __future__ import annotations

import html
from typing import Final

from alerts.consult import FINDINGS, ConsultRequest, Report
from devices.timeparse import format_ts

SPEED_MM_S: Final = 25.0
GAIN_MM_MV: Final = 10.0
ROW_S: Final = 10.0
ROW_MM: Final = 30.0  # 3 mV of paper per row


def _row(q: ConsultRequest, first: int, last: int) -> str:
    w = q.ecg
    width = (last - first) / w.fs * SPEED_MM_S
    mid = ROW_MM / 2
    pts = " ".join(
        f"{(i - first) / w.fs * SPEED_MM_S:.2f},{mid - w.samples[i] * GAIN_MM_MV:.2f}"
        for i in range(first, last)
    )
    beats = "".join(
        f'<line class="beat" x1="{(b - first) / w.fs * SPEED_MM_S:.2f}" y1="0" '
        f'x2="{(b - first) / w.fs * SPEED_MM_S:.2f}" y2="2"/>'
        for b in w.beats
        if first <= b < last
    )
    return (
        f'<svg class="strip" width="{width:.2f}mm" height="{ROW_MM}mm" '
        f'viewBox="0 0 {width:.2f} {ROW_MM}" xmlns="http://www.w3.org/2000/svg">'
        f'<rect width="{width:.2f}" height="{ROW_MM}" fill="url(#g1)"/>'
        f'<rect width="{width:.2f}" height="{ROW_MM}" fill="url(#g5)"/>'
        f'{beats}<polyline class="ecg" points="{pts}"/></svg>'
    )


def _report(r: Report, title: str) -> str:
    found = "".join(
        f"<li>{html.escape(FINDINGS[c].en)} / {html.escape(FINDINGS[c].zh)}"
        f"{f' (SNOMED CT {FINDINGS[c].snomed})' if FINDINGS[c].snomed else ''}</li>"
        for c in r.findings
    )
    ms = ", ".join(f"{k} {v:.0f} ms" for k, v in sorted(r.measurements.items()))
    return (
        f"<section><h2>{html.escape(title)} (v{r.version})</h2><ul>{found}</ul>"
        f"<p>{html.escape(r.text)}</p><p>{html.escape(ms)}</p>"
        f"<p>Signed by {html.escape(r.signed_by)} at {format_ts(r.signed_at)}"
        f"{' · CRITICAL' if r.critical else ''}</p></section>"
    )


_STYLE: Final = """
@page { size: A4 landscape; margin: 10mm; }
body { font: 10pt sans-serif; margin: 0; }
.strip { display: block; margin: 0 0 2mm 0; }
.ecg { fill: none; stroke: #000; stroke-width: 0.25; }
.beat { stroke: #06c; stroke-width: 0.3; }
h1 { font-size: 13pt; margin: 0 0 2mm 0; } h2 { font-size: 11pt; margin: 3mm 0 1mm 0; }
.scale { font-size: 8pt; }
"""
_GRID: Final = (
    '<svg width="0" height="0" style="position:absolute"><defs>'
    '<pattern id="g1" width="1" height="1" patternUnits="userSpaceOnUse">'
    '<path d="M1 0V1H0" fill="none" stroke="#f4c4c4" stroke-width="0.05"/></pattern>'
    '<pattern id="g5" width="5" height="5" patternUnits="userSpaceOnUse">'
    '<path d="M5 0V5H0" fill="none" stroke="#e08080" stroke-width="0.15"/></pattern>'
    "</defs></svg>"
)


def print_page(q: ConsultRequest) -> str:
    w = q.ecg
    per_row = int(ROW_S * w.fs)
    rows = "".join(
        _row(q, i, min(i + per_row, len(w.samples))) for i in range(0, len(w.samples), per_row)
    )
    reports = _report(q.report, "Report") if q.report else "<p>No report yet.</p>"
    reports += "".join(_report(a, "Replaced version") for a in reversed(q.amendments))
    receipt = (
        f"<p>Receipt confirmed by {html.escape(q.receipt_by)} at {format_ts(q.receipt_at)}</p>"
        if q.receipt_by and q.receipt_at
        else ""
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>ECG reading {html.escape(q.request_id)}</title><style>{_STYLE}</style></head>"
        f"<body>{_GRID}<h1>Remote ECG reading · patient {html.escape(q.patient_id)} · "
        f"{html.escape(q.priority.value)}</h1>"
        f"<p>Asked by {html.escape(q.requested_by)} ({html.escape(q.tenant)}) at "
        f"{format_ts(q.requested_at)}: {html.escape(q.question)}</p>"
        f"<p class='scale'>{html.escape(w.device_id)} lead {html.escape(w.lead)} · from "
        f"{format_ts(w.start)} · 25 mm/s · 10 mm/mV · {len(w.beats)} beats</p>"
        f"{rows}{reports}{receipt}</body></html>"
    )
