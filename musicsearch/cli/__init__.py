"""The ``musicsearch`` command: one module per command group, each a thin layer over public functions.
"""
