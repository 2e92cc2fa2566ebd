"""Timings of Switchboard, quoted (never asserted): ``python -m benchmarks.run [--quick] [--only NAME]``.

See ``benchmarks/README.md`` for what each figure measures.
"""
