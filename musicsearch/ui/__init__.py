"""Widget behaviour, headless: what the ipywidgets layer in ``widgets/`` calls, testable without a browser.
"""
