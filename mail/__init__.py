"""The email channel: customers write to the support address and get threaded replies.

Read in the order a message travels: `server` (SMTP in, 250 only after `inbox` stored the raw
message) or `webhook` (a provider's JSON), then `channel` (one message to one committed outcome:
`parse` and `body`, `noise`, `identity` and `proof`, `conversation`), then `outbox` (SMTP out,
rendered by `compose`). Nothing here imports the graph: `channel.TurnRunner` and
`channel.Resumer` are handed in by whoever wires the app.
"""
