"""Stages 2 and 3: indicators from the facts, narrative, charts, worklists and the PDF report."""
