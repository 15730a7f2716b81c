"""Training: the training settings (apart from the architecture), the run and its steps (data, optimiser,
contrastive step, loop), sampling across collections, masked music, resumable checkpoints and history.
"""
