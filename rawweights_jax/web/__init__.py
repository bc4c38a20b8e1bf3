"""Layer 7, the web: a checkpoint as a browser bundle (export.py) that the site's playground
runs in JavaScript (docs/javascripts/playground/)."""
