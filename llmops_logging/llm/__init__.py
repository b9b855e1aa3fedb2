"""LLM calls as records: the `llm_call` scope, usage and cost, one module per SDK instrumented.

This package imports no SDK and no price table until it is used: `import llmops_logging`
stays cheap for code that never calls a model. The public names are re-exported by
`llmops_logging` itself.
"""
