"""How the pipelines use the machine: memory settings (memory.py), worker processes, read-ahead threads.

Settings here are applied by entry points (the task glue, the CLI, worker processes, benches), never as a
side effect of an import.
"""
