"""simengine: simulative AI storytelling. Models propose; the world graph disposes."""

__version__ = "0.1.0"
