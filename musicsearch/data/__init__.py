"""The data layer: ABC text, score formats to ABC, sources, the corpus, bar patches, features, captions.

Imports only the core modules (errors, paths, artifacts).
"""
