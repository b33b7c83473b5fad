"""composer: compose specialist models as graphs and compare them with unified models.

`import composer` stays light: heavy libraries (langgraph, torch, provider SDKs) are imported
only by the modules that use them.
"""

__version__ = "0.1.0"
