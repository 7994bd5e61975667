"""The paper as a build product: jinja2-rendered LaTeX from numbers.json, audited, compiled."""
