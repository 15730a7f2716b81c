"""Training: the training config, the loop, training data, sampling across collections, masked music,
checkpoints and history.
"""
