"""Studies that compare whole recipes: training-mode ablations and the LUT-NN accuracy/latency study.
"""
