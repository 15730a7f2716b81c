"""Retrieval: the Hit type, ANN (faiss), the index and its store, hybrid fusion, keyword search (BM25),
query kinds.
"""
