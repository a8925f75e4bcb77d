"""The output formats: one module per kind of file the site is made of, behind one small
interface (base.py)."""
