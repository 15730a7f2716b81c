"""Pictures and sound: projections and maps, plots, notation rendering, audio preview.
"""
