"""The listening study's pure core: clip assignment design and resume tokens.

Database access lives in `db/`; pages call `db.repository`, which calls into here.
"""
