"""Plots and reports (pure: no database, web or CLI code).

Design, simulation and prediction plots; the trial report: its inputs (``inputs``), the
statistics and figures assembled into a typed document (``trial_report``, ``efficacy``), and its
rendering as self-contained HTML (``html``) and PDF (``pdf``). Figures: ``km_plot``,
``forest_plot``, ``consort_diagram`` (inline SVG through ``svg``).
"""
