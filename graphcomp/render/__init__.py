"""Renderers: they read a finished Trace (or a Graph) and never compute."""
