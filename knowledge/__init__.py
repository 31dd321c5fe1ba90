"""The knowledge base of everyday questions: content files, retrieval and answers.

Plain Python (no Rasa): `content` reads and checks the entries the content team writes and
the citizens' phrasings, `ranker` picks the entry a question is about, `answer` builds the
French answer with the service's contact and hours. actions/knowledge.py speaks them.
"""
