"""The pages people use: an operator console (/console) and a customer chat (/chat).

Mounted as the server's custom routes (``http.app`` in langgraph.json), so `langgraph dev` and
Aegra serve them beside the Agent Protocol API. Every change to a thread (a message, a
decision, a fork after a rollback) goes through that API with the signed-in person's own token;
what runs here in-process reads or writes the store's tables and the server's Store index only.
"""
