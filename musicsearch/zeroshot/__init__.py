"""Zero-shot classification: labels x prompt templates -> classifier weights.
"""
