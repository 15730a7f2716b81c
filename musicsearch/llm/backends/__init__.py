"""Running a language model: base types, the factory ``load_backend``, the transformers and
OpenAI-compatible backends, the bundled weights and an OpenAI-compatible server.
"""
