"""LUT-NN: linear layers replaced by table lookups over learned centroids (layer, kernels, centroid
training, conversion, layer benchmark). Knows nothing of musicsearch's models.
"""
