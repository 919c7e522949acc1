"""Layer 5: renderers of a finished trace: rows, Unicode text, tables (rich, LaTeX, Markdown, CSV, JSON), Graphviz, TikZ."""
