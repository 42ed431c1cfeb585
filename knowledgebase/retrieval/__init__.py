"""Hybrid multilingual retrieval over the knowledge base, free of Django models.

``text`` turns any of the five languages into lexical terms (``hanzi`` folds Traditional
characters onto Simplified), ``bm25`` scores them, ``encoder`` joins the multilingual-e5 and
multilingual USE models, ``languages`` removes each language's direction from the embeddings,
``index`` ranks FAQ entries and document chunks, ``rerank`` re-orders the best twenty with learned weights,
and ``decision`` says whether the best one answers the question (``out_of_scope`` gives it
examples of what a kiosk is asked but cannot answer), with the parameters ``calibrate`` and
``rerank`` fit (``calibration.json``).
``knowledgebase.indexing`` builds the index from the database and keeps it current.
"""
