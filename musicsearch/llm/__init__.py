"""Language models on search results: prompts, query rewrite, rerank, the result page (+HTML), DSP and
pseudo-captions. The backends that run a model live in ``llm.backends``, below everything else here.
"""
