"""The strategies, as LangGraph graphs: the only layer that imports langgraph.

`composer.graphs.base` holds the registry; each other module is one strategy.
"""
