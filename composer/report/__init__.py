"""Reports: per-system accuracy tables, comparisons, and their text, JSON and CSV forms."""
