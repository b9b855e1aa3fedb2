"""The reading model: one fold of records into runs, steps, calls, tools and scores.

Every command that reads a log renders what this package folds, so that a rule (did a record
fail, which model made a call, what a run cost, which span is whose parent) is written once.
It reads records only: it imports the reader's contract and nothing of the writer side.
"""
