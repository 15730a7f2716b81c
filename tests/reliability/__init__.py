"""Reliability suite: crash safety, hostile inputs, honest figures."""
