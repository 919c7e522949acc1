"""Grading a hand-filled trace table: each row right, or wrong with its most likely cause.

A row is a slot of the trace: a value ("v", i), a tangent ("t", i), an adjoint ("a", i) (a node's summed adjoint,
or the last partial sum of the slides' steps), or a partial sum ("s", j, r) before the last. The numbers the
student wrote stand in for the true ones wherever a later row uses them, so a row that is right *given* the
student's own earlier numbers is told apart from one that is wrong in itself. The causes are tried in the order
of CAUSES; the numbers come from a Trace (values, tangents, adjoints, local partials, contributions).
"""
import math
from dataclasses import dataclass, field

from graphcomp import ops
from graphcomp.core.errors import GraphcompError
from graphcomp.core.nodes import CONST, DATA
from graphcomp.engine.plan import local_partials
from graphcomp.frontends.answers import ADJOINT, DERIVATIVE, TANGENT, VALUE, name_key
from graphcomp.ops.kits import FloatKit
from graphcomp.render import rows
from graphcomp.render.text import fmt_number, tex_to_text

CORRECT, CARRIED, ROUNDING, SIGN, MISSING_TERM, PARTIAL, WRONG, MISSING, UNKNOWN = (
    "correct", "carried", "rounding", "sign", "missing contribution", "wrong local partial", "wrong value",
    "missing", "unknown")
CAUSES = (CARRIED, ROUNDING, SIGN, MISSING_TERM, PARTIAL, WRONG)


@dataclass
class Graded:
    """One row of the feedback: the slot, what the student wrote (an Entry or None), the right number, the
    verdict and why."""

    slot: tuple
    symbol: str
    rule: str
    entry: object
    expected: float | None
    verdict: str
    why: str = ""
    first: bool = False


@dataclass
class Report:
    """Every row graded, in the trace's order, and the rows that name no slot of the graph."""

    name: str
    mode: str
    file: str
    digits: int
    rtol: float
    rows: list
    unknown: list = field(default_factory=list)
    unreadable: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def count(self, *verdicts):
        return sum(r.verdict in verdicts for r in self.rows)

    @property
    def score(self):
        """(rows with credit: right or carried, of how many)."""
        return self.count(CORRECT, CARRIED), len(self.rows)

    @property
    def all_right(self):
        return self.count(CORRECT) == len(self.rows) and not self.unknown and not self.unreadable

    def summary(self):
        right, carried = self.count(CORRECT), self.count(CARRIED)
        credit, total = self.score
        return (f"{right} of {total} rows right, {carried} carried (credit for the method): "
                f"score {credit}/{total}")


def _half_unit(decimals):
    return 0.5 * 10.0 ** -decimals


class _Grader:
    def __init__(self, trace, answers, digits, rtol):
        self.t, self.graph, self.digits, self.rtol = trace, trace.graph, digits, rtol
        self.mode = "forward" if trace.tangents is not None else "reverse"
        self.answers = answers
        self.entries, self.unknown, self.notes = {}, [], []
        self.steps = {}  # node → its contributions [(i, k)] in the order of the reverse sweep
        for i, k, j, *_ in trace.contributions:
            self.steps.setdefault(j, []).append((i, k))
        self._match()
        self.true = self._truth()
        self.grades = {}

    # ---- names to slots ---------------------------------------------------------------------------------

    def _keys(self):
        keys = {}
        for i, n in enumerate(self.graph.nodes):
            if n.kind == CONST:
                continue
            for text in (n.name, n.label, tex_to_text(n.label)):
                named = name_key(text)
                if named:
                    keys.setdefault(named[0], i)
                    base = named[0].lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
                    if base and base != named[0] and text is n.label:
                        keys.setdefault(base, i)  # a bare index: the i column of i,v,vbar
        return keys

    def _match(self):
        keys, derivs = self._keys(), {}
        want = TANGENT if self.mode == "forward" else ADJOINT
        for e in self.answers.entries:
            i = keys.get(e.key)
            kind = want if e.kind == DERIVATIVE else e.kind
            if i is None:
                self.unknown.append((e, f"'{e.name}' names no node of {self.graph.name}"))
            elif kind not in (VALUE, want):
                self.unknown.append((e, f"'{e.name}' is a{'n adjoint' if kind == ADJOINT else ' tangent'}, "
                                        f"but the check is in {self.mode} mode"))
            elif kind == VALUE:
                if ("v", i) in self.entries:
                    self.unknown.append((e, f"{self._sym(('v', i))} is written twice (the first is graded)"))
                else:
                    self.entries[("v", i)] = e
            elif self.graph.nodes[i].kind == DATA or (kind == ADJOINT and self.t.adjoints[i] is None):
                self.unknown.append((e, f"'{e.name}' has no derivative (it is data)"))
            else:
                derivs.setdefault(i, []).append(e)
        for i, es in derivs.items():
            if self.mode == "forward" or len(es) == 1:
                self.entries[("t" if self.mode == "forward" else "a", i)] = es[0]
                self.unknown += [(e, f"{self._sym(('t', i))} is written twice (the first is graded)") for e in es[1:]]
                continue
            m = len(self.steps.get(i, ()))
            if len(es) > m:
                self.unknown += [(e, f"{self._sym(('a', i))} is written {len(es)} times; it has {m} "
                                     f"contribution{'s' * (m != 1)}") for e in es[m:]]
                es = es[:m]
            if len(es) == 1:
                self.entries[("a", i)] = es[0]
                continue
            for r, e in enumerate(es[:-1], 1):
                self.entries[("s", i, r)] = e
            self.entries[("a", i)] = es[-1]
        self.uses_steps = {i for i in derivs if self.mode == "reverse" and len(derivs[i]) > 1}

    # ---- the slots, their true numbers, and each one recomputed from any numbers ---------------------------

    def slots(self):
        """Every row the table should hold, in the trace's order (values, then the derivative trace)."""
        g, t, out = self.graph, self.t, []
        kinds = {e.kind for e in self.answers.entries}
        if VALUE in kinds or not self.entries:
            out += [("v", i) for i, n in enumerate(g.nodes) if n.kind != CONST]
        elif not any(s[0] == "v" for s in self.entries):
            self.notes.append("no value rows were given: only the derivatives are graded")
        if not (kinds - {VALUE}):
            self.notes.append("no derivative rows were given: only the values are graded")
            return out
        if self.mode == "forward":
            return out + [("t", i) for i, n in enumerate(g.nodes) if n.kind not in (CONST, DATA)]
        out.append(("a", g.output))
        seen = {g.output}
        count = {}
        for i, k, j, *_ in t.contributions:
            count[j] = count.get(j, 0) + 1
            m = len(self.steps[j])
            if count[j] == m:
                out.append(("a", j))
                seen.add(j)
            elif j in self.uses_steps:
                out.append(("s", j, count[j]))
        return out + [("a", i) for i in t.adjoint_order if i not in seen]

    def _truth(self):
        t, true = self.t, {}
        for i, n in enumerate(self.graph.nodes):
            true[("v", i)] = float(t.values[i])
            if t.tangents is not None:
                true[("t", i)] = float(t.tangents[i])
            if t.adjoints is not None and t.adjoints[i] is not None:
                true[("a", i)] = float(t.adjoints[i])
        for i, k, j, term, total, first in t.contributions:
            r = sum(1 for s in true if s[:2] == ("s", j)) + 1
            true[("s", j, r)] = float(total)
        return true

    def partial(self, i, k, get):
        """∂v_i/∂(argument k) at the numbers `get` gives, or None outside the op's domain."""
        n = self.graph.nodes[i]
        try:
            rule = local_partials(ops.REGISTRY[n.op], FloatKit, n.params)
            return float(rule(get(("v", i)), *(get(("v", a)) for a in n.args))[k])
        except (ValueError, ZeroDivisionError, OverflowError):
            return None

    def terms(self, slot, get):
        """The terms a derivative slot sums [(edge (node, k), multiplier, partial)], and what it adds them to."""
        g = self.graph
        kind, j = slot[0], slot[1]
        if kind == "t":
            n = g.nodes[j]
            return [((j, k), get(("t", a)), self.partial(j, k, get)) for k, a in enumerate(n.args)
                    if g.nodes[a].kind not in (CONST, DATA)], 0.0
        if j == g.output:
            return [], 1.0
        steps = self.steps.get(j, [])
        if j in self.uses_steps:
            r = slot[2] if kind == "s" else len(steps)
            i, k = steps[r - 1]
            prev = get(("s", j, r - 1)) if r > 1 else 0.0
            return [((i, k), get(("a", i)), self.partial(i, k, get))], prev
        return [((i, k), get(("a", i)), self.partial(i, k, get)) for i, k in steps], 0.0

    def recompute(self, slot, get):
        """The slot's number computed from the numbers `get` gives (None outside a domain)."""
        g, kind, j = self.graph, slot[0], slot[1]
        n = g.nodes[j]
        if kind == "v":
            if n.op is None:
                return self.true[slot]
            try:
                return float(ops.REGISTRY[n.op].fwd(FloatKit, *(get(("v", a)) for a in n.args), **n.params))
            except (ValueError, ZeroDivisionError, OverflowError):
                return None
        if kind == "t" and n.op is None:
            return self.true[slot]
        terms, start = self.terms(slot, get)
        if any(p is None for _, _, p in terms):
            return None
        return start + sum(m * p for _, m, p in terms)

    # ---- grading ---------------------------------------------------------------------------------------------

    def tol(self, slot):
        e = self.entries.get(slot)
        return _half_unit(e.decimals if e is not None else self.digits)

    def student(self, slot):
        e = self.entries.get(slot)
        return e.value if e is not None else self.true.get(slot, 0.0)

    def _close(self, x, target, tol):
        return target is not None and abs(x - target) <= tol + self.rtol * abs(target)

    def with_student(self, slot):
        """The slot recomputed from the student's numbers, the slots it read, and the spread their rounding gives."""
        used = []

        def get(s):
            used.append(s)
            return self.student(s)

        base = self.recompute(slot, get)
        if base is None:
            return None, used, 0.0
        spread = 0.0
        for u in dict.fromkeys(used):
            bumped = self.recompute(slot, lambda s, u=u: self.student(s) + (self.tol(s) if s == u else 0.0))
            spread += abs(bumped - base) if bumped is not None else 0.0
        return base, list(dict.fromkeys(used)), spread

    def grade(self, slot):
        e, expected = self.entries.get(slot), self.true[slot]
        if e is None:
            return MISSING, "no row for it"
        s, dec, tol = e.value, e.decimals, _half_unit(e.decimals)
        exact = abs(s - expected) <= 1e-12 * max(1.0, abs(expected))
        if exact or (dec >= self.digits and self._close(s, expected, tol)):
            return CORRECT, ""
        base, used, spread = self.with_student(slot)
        upstream = [u for u in used if u in self.entries and self.grades.get(u, (CORRECT,))[0] != CORRECT]
        if base is not None and self._close(s, base, tol + spread):
            if upstream:
                names = ", ".join(self._sym(u) for u in upstream)
                return CARRIED, f"right from your {names} (= {fmt_number(base, max(dec, self.digits))})"
            if dec >= self.digits:
                return CORRECT, ""
        shown = fmt_number(expected, self.digits)
        if dec < self.digits and self._close(s, expected, tol):
            return ROUNDING, f"right to {dec} decimal{'s' * (dec != 1)}; give {self.digits}: {shown}"
        near = min(dec, self.digits)
        if near >= 2 and abs(s - expected) <= _half_unit(near - 2):
            return ROUNDING, f"off by {abs(s - expected):.{near}f}: rounded too early? ({shown})"
        if abs(expected) > tol and self._close(s, -expected, tol):
            return SIGN, f"the sign is wrong: {shown}"
        if slot[0] != "v":
            why = self._missing_term(slot, s, expected, tol) or self._wrong_partial(slot, s, expected, tol)
            if why:
                return why
        return WRONG, f"should be {shown}"

    def _edge_text(self, slot, edge, m, p):
        """'v̄₃ · ∂v₃/∂v₁' for the edge (i, k) of a derivative slot."""
        g = self.graph
        i, k = edge
        a = g.nodes[i].args[k]
        by = self._sym(("t", a)) if slot[0] == "t" else self._sym(("a", i))
        return f"{by} · ∂{self._text(rows.value_sym(g, i))}/∂{self._text(rows.value_sym(g, a))}"

    def _missing_term(self, slot, s, expected, tol):
        terms, _ = self.terms(slot, lambda u: self.true.get(u, 0.0))
        g = self.graph
        for edge, m, p in terms:
            term = m * p
            if abs(term) > tol and self._close(s, expected - term, tol + 1e-4 * abs(expected)):
                i, k = edge
                through = g.nodes[g.nodes[i].args[k]] if slot[0] == "t" else g.nodes[i]
                return MISSING_TERM, (f"{self._sym(slot)} misses the term through "
                                      f"{tex_to_text(through.label)}: {self._edge_text(slot, edge, m, p)} = "
                                      f"{fmt_number(term, self.digits)}")
        return None

    def _wrong_partial(self, slot, s, expected, tol):
        terms, _ = self.terms(slot, lambda u: self.true.get(u, 0.0))
        g = self.graph
        for edge, m, p in terms:
            if abs(m) <= tol:
                continue
            i, k = edge
            n = g.nodes[i]
            values = [self.true[("v", i)]] + [self.true[("v", a)] for a in n.args]
            others = [self.partial(i, kk, lambda u: self.true.get(u, 0.0)) for kk in range(len(n.args)) if kk != k]
            candidates = [c for c in [*others, -p, 1.0, -1.0, *values, *(-x for x in values),
                                      *(1 / x for x in values if x), *(-1 / x for x in values if x)]
                          if c is not None and abs(c - p) > 1e-9 * max(1.0, abs(p))]
            for c in candidates:
                alt = expected - m * p + m * c
                if self._close(s, alt, tol + 1e-4 * abs(alt)):
                    rule = rows.partial_rule(g, i, k)
                    rule = self._text(rule) if rule else "?"
                    if rule.startswith("(") and rule.endswith(")"):
                        rule = rule[1:-1]
                    a = n.args[k]
                    return PARTIAL, (f"∂{self._text(rows.value_sym(g, i))}/∂{self._text(rows.value_sym(g, a))} "
                                     f"should be {rule} = {fmt_number(p, self.digits)} "
                                     f"(the row has {fmt_number(c, self.digits)})")
        return None

    # ---- how a slot prints -----------------------------------------------------------------------------------

    @staticmethod
    def _text(tex):
        return tex_to_text(tex).replace("-", "−")

    def _sym(self, slot):
        g, kind, i = self.graph, slot[0], slot[1]
        if kind == "v":
            return self._text(rows.value_sym(g, i))
        return self._text(rows.deriv_sym(g, i, "tangent" if kind == "t" else "adjoint"))

    def rules(self):
        t, g, out = self.t, self.graph, {}
        for r, i in zip(rows.primal(t), [i for i, n in enumerate(g.nodes) if n.kind != CONST]):
            out[("v", i)] = r.rule
        if self.mode == "forward":
            for r in rows.tangent(t):
                out[("t", g.index[r.node])] = r.rule
            return out
        for r in rows.adjoint(t):
            if r.node in g.index and r.value is not None:
                out[("a", g.index[r.node])] = r.rule
        steps = rows.adjoint_steps(t)[1:]
        count = {}
        for r, (i, k, j, *_) in zip(steps, t.contributions):
            count[j] = count.get(j, 0) + 1
            if j in self.uses_steps:
                out[("s", j, count[j]) if count[j] < len(self.steps[j]) else ("a", j)] = r.rule
        return out

    def run(self):
        slots, rules, graded = self.slots(), self.rules(), []
        for slot in slots:
            self.grades[slot] = self.grade(slot)
        first = True
        for slot in slots:
            verdict, why = self.grades[slot]
            mark = first and verdict not in (CORRECT, CARRIED, MISSING)
            first = first and not mark
            graded.append(Graded(slot, self._sym(slot), "= " + self._text(rules.get(slot, "")), self.entries.get(slot),
                                 self.true[slot], verdict, why, mark))
        unknown = [Graded(None, e.name, "", e, None, UNKNOWN, why) for e, why in self.unknown]
        if len(unknown) > len(self.entries):
            self.notes.append(f"most rows name no node of {self.graph.name}: is this the table of another function?")
        return graded, unknown


def check(trace, answers, *, digits=4, rtol=0.0):
    """Grade `answers` (graphcomp.frontends.answers.Answers) against a scalar Trace in forward or reverse mode."""
    if not trace.graph.scalar:
        raise GraphcompError("check grades scalar traces only (tensor graphs such as Problem 3(b) are not "
                             "supported yet)", file=trace.graph.file)
    if not 0 <= rtol < 1 or math.isnan(rtol):
        raise GraphcompError(f"--rtol must be between 0 and 1, not {rtol}")
    grader = _Grader(trace, answers, digits, rtol)
    graded, unknown = grader.run()
    mode = grader.mode
    return Report(trace.graph.name, mode, answers.file, digits, rtol, graded, unknown, list(answers.unreadable),
                  grader.notes)
