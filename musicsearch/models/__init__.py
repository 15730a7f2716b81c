"""The models: architecture configs, the music and text encoders, the embedding cache, MusicTextModel,
foreign (CLaMP) checkpoints, and ``load_model``, which dispatches on what a folder holds.
"""
