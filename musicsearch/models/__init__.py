"""The models: architecture configs, the music and text encoders, the embedding cache, MusicTextModel, its
lookup-table versions, foreign (CLaMP) checkpoints, and ``load_model`` (:mod:`.loading`), which dispatches on
what a folder holds.
"""
