"""Agents: a fine-tuned student that plans tool calls under a grammar, and a runtime that
executes them with retries, memory and rollback.

- grammar.py   a grammar compiled to an automaton over the characters (constrained decoding)
- decode.py    the decode loop that masks the logits with the automaton
- calls.py     the transcript format, the plan and answer grammars, the plan's parser
- tools.py     calculator, key-value store with transactions, injected failures
- tasks.py     graded tasks and the transcripts the model is fine-tuned on
- runtime.py   plan, then execute: retries with backoff, fallback, commit or roll back
- trace.py     every run as data, and its rendering for a page
- train.py     fine-tuning the student into the agent
"""
