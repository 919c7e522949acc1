"""The one exception a user sees: it names the file, the node and the key."""
import difflib


class GraphcompError(Exception):
    """A user error (bad spec, bad value, bad argument); the CLI prints it and exits with status 2."""

    def __init__(self, message, *, file=None, node=None, key=None):
        super().__init__(message)
        self.message, self.file, self.node, self.key = message, file, node, key

    def where(self):
        """'file: node 'v6', key 'op'' — the location part of the message."""
        parts = []
        if self.node is not None:
            parts.append(f"node '{self.node}'")
        if self.key is not None:
            parts.append(f"key '{self.key}'")
        loc = ", ".join(parts)
        if self.file is not None:
            loc = f"{self.file}: {loc}" if loc else str(self.file)
        return loc

    def __str__(self):
        loc = self.where()
        return _one_line(f"{loc}: {self.message}" if loc else self.message)


def _one_line(text):
    # a name or value from a file may hold a newline or another control character: shown escaped, as repr does
    return text.translate(_ESCAPES) if not text.isprintable() else text


_ESCAPES = {c: repr(chr(c))[1:-1] for c in (*range(32), *range(127, 160), 0x2028, 0x2029)}


class SpecError(GraphcompError):
    """A malformed graph spec: unknown op, wrong arity, undefined name, cycle, bad shape..."""


class DomainError(GraphcompError):
    """A value outside an op's domain met during a sweep (x3 = 0 in a division, log of a negative)."""


def closest(name, known):
    """The known name `name` was likely meant to be: the same but for case (ReLU for relu), else a near spelling
    (sine for sin); None if none is near."""
    folded = {k.lower(): k for k in known}
    if str(name).lower() in folded:
        return folded[str(name).lower()]
    close = difflib.get_close_matches(str(name), list(known), n=1)
    return close[0] if close else None
