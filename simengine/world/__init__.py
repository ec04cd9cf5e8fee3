"""The pure domain layer: world files, the world-state graph, ops, rules and canon.

Imports only pydantic, networkx and the standard library.
"""
