"""HTML rendering of pages, citations and reports (used by the static site and the web app).

Pure functions from parsed pages, check findings and a link resolver to HTML fragments;
no I/O. Layout is done by Jinja2 templates with autoescaping on; raw HTML written in
pages is sanitized by nh3.
"""
