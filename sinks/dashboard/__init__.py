"""The web dashboard: live alerts, filters, alert detail, pair chart and feed health."""
