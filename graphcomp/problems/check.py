"""Grading a hand-filled trace table: each row right, or wrong with its most likely cause.

A row is a slot of the trace: a value ("v", i), a tangent ("t", i), an adjoint ("a", i) (a node's summed adjoint,
or the last partial sum of the slides' steps), or a partial sum ("s", j, r) before the last. The numbers the
student wrote stand in for the true ones wherever a later row uses them, so a row that is right *given* the
student's own earlier numbers is told apart from one that is wrong in itself. The causes are tried in the order
of CAUSES; the numbers come from a Trace (values, tangents, adjoints, local partials, contributions).

On a tensor graph (Problem 3(b), reverse mode) a row is a node's .v or .d, checked entry by entry: written in the
node's shape (a vector as a row or a column), each entry within the rounding of its own digits. A matrix of the
transposed shape, or a square one, that equals the right one transposed is *transposed*; another shape is *shape*;
the other causes are those that apply to arrays (carried, rounding, sign, missing contribution, wrong value), the
recomputation running the registry's forward and VJP rules on numpy.
"""
import itertools
import math
import re
from dataclasses import dataclass, field

import numpy as np

from graphcomp import ops
from graphcomp.core.errors import GraphcompError
from graphcomp.core.nodes import CONST, DATA
from graphcomp.engine.plan import local_partials
from graphcomp.frontends.answers import (
    ADJOINT,
    DERIVATIVE,
    LIST_CAP,
    TANGENT,
    VALUE,
    Entry,
    name_key,
)
from graphcomp.ops.kits import FloatKit, numpy_kit
from graphcomp.render import rows
from graphcomp.render.text import fmt_number, line_value, tex_to_text

CORRECT, CARRIED, ROUNDING, SIGN, MISSING_TERM, PARTIAL, TRANSPOSED, SHAPE, WRONG, MISSING, UNKNOWN, UNREAD = (
    "correct", "carried", "rounding", "sign", "missing contribution", "wrong local partial", "transposed", "shape",
    "wrong value", "missing", "unknown", "not read")
CAUSES = (CARRIED, ROUNDING, SIGN, MISSING_TERM, PARTIAL, TRANSPOSED, SHAPE, WRONG)
TENSOR_MODES = "a tensor graph is checked in reverse mode (each node's .v and .d) or value mode (.v): --mode reverse"
SPREAD_ENTRIES = 400  # up to this many entries, a tensor row's rounding spread is found entry by entry
ROUNDINGS = 32  # beyond, the spread is estimated from this many random roundings


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
    tex: str = ""  # the symbol in LaTeX (the spec's labels as written), for a LaTeX table


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
    unknown_count: int = 0  # all the rows naming no slot; `unknown` lists the first LIST_CAP
    unreadable_count: int = 0  # all the unreadable lines; `unreadable` lists the first LIST_CAP
    given: frozenset = frozenset()  # the slots the problem gives (the inputs' values, the point): graded, not scored

    def count(self, *verdicts):
        return sum(r.verdict in verdicts for r in self.rows)

    @property
    def score(self):
        """(rows with credit: right or carried, of how many), the given rows left out: a blank sheet scores 0."""
        scored = [r for r in self.rows if r.slot not in self.given]
        return sum(r.verdict in (CORRECT, CARRIED) for r in scored), len(scored)

    @property
    def all_right(self):
        return self.count(CORRECT) == len(self.rows) and not self.unknown_count and not self.unreadable_count

    def summary(self):
        right, carried = self.count(CORRECT), self.count(CARRIED)
        credit, total = self.score
        given = sum(r.slot in self.given for r in self.rows)
        return (f"{right} of {len(self.rows)} rows right, {carried} carried (credit for the method): "
                f"score {credit}/{total}" + (f" (the {given} inputs' values, given, not scored)" if given else ""))


def _half_unit(decimals):
    return 0.5 * 10.0 ** -decimals


class _Grader:
    def __init__(self, trace, answers, digits, rtol):
        self.t, self.graph, self.digits, self.rtol = trace, trace.graph, digits, rtol
        self.mode = "forward" if trace.tangents is not None else "reverse" if trace.adjoints is not None else "value"
        self.tensor = not trace.graph.scalar
        self.answers = answers
        self.entries, self.unknown, self.unknown_count, self.notes, self.kinds = {}, [], 0, [], set()
        self.nameless = 0  # rows that name no node (not those of the other mode, nor those written twice)
        self.skipped = 0  # derivative rows, in value mode
        self.other_seeds = {}  # input → rows of its tangent column, in a table of several seeds (not graded)
        wrt = trace.wrt_name() if self.mode == "forward" else None
        self.seed = self.graph.index.get(wrt) if wrt else None
        self.aligned = {}  # tensor slot → (the student's array in the node's shape or None, its decimals, how)
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
                    if base and base != named[0] and text is n.label and self.graph.scalar:
                        keys.setdefault(base, i)  # a bare index: the i column of i,v,vbar
        return keys

    def _unknown(self, entry, why):
        """A row that names no slot (or a slot already written): the first LIST_CAP are kept, all are counted;
        `why` gives the reason (made only for the rows kept)."""
        self.unknown_count += 1
        if len(self.unknown) < LIST_CAP:
            self.unknown.append((entry, why()))

    def _match(self):
        keys, derivs, extra = self._keys(), {}, {}
        want = {"forward": TANGENT, "reverse": ADJOINT}.get(self.mode)  # none in value mode
        for e in self.answers:  # read once, as a stream: only what can be graded or listed is kept
            if e.tensor and e.value.size == 1 and not self.tensor:
                e = _one(e)
            i = keys.get(e.key)
            kind = want if e.kind == DERIVATIVE else e.kind
            if e.seed is not None and self.seed is not None and keys.get(e.seed) != self.seed:
                self.other_seeds[e.seed] = self.other_seeds.get(e.seed, 0) + 1  # another --wrt's column
                continue
            self.kinds.add(e.kind)
            if i is None:
                self.nameless += 1
                self._unknown(e, lambda: f"'{e.name}' names no node of {self.graph.name}")
            elif self.mode == "value" and kind != VALUE:
                self.skipped += 1
            elif kind not in (VALUE, want):
                self._unknown(e, lambda: f"'{e.name}' is {_KINDS[kind]}, but the check is in {self.mode} mode")
            elif kind == VALUE:
                if ("v", i) in self.entries:
                    self._unknown(e, lambda: f"{self._sym(('v', i))} is written twice (the first is graded)")
                else:
                    self.entries[("v", i)] = e
            elif self.graph.nodes[i].kind == DATA or (kind == ADJOINT and self.t.adjoints[i] is None):
                self._unknown(e, lambda: f"'{e.name}' has no derivative (it is data)")
            elif len(derivs.setdefault(i, [])) <= len(self.steps.get(i, ())) + LIST_CAP:
                derivs[i].append(e)
            else:  # far more rows than the node has steps: counted, not kept
                extra[i] = extra.get(i, 0) + 1
        for i, es in derivs.items():
            self.unknown_count += extra.get(i, 0)
            written = len(es) + extra.get(i, 0)
            if self.mode == "forward" or len(es) == 1 or self.tensor:
                self.entries[("t" if self.mode == "forward" else "a", i)] = es[0]
                for e in es[1:]:
                    self._unknown(e, lambda: f"{self._sym(('t' if self.mode == 'forward' else 'a', i))} is written "
                                     f"{written} times (the first is graded)")
                continue
            m = len(self.steps.get(i, ()))
            if written > max(m, 1):  # the output has no contribution but one row, its seed v̄ = 1
                rows = f"{m} contribution{'s' * (m != 1)}" if m else "one row, the seed"
                for e in es[max(m, 1):]:
                    self._unknown(e, lambda: f"{self._sym(('a', i))} is written {written} times; it has {rows}")
                es = es[:max(m, 1)]
            for r, e in enumerate(es[:-1], 1):
                self.entries[("s", i, r)] = e
            self.entries[("a", i)] = es[-1]
        self.uses_steps = {i for i in derivs if self.mode == "reverse" and len(derivs[i]) > 1 and not self.tensor}

    # ---- the slots, their true numbers, and each one recomputed from any numbers ---------------------------

    def slots(self):
        """Every row the table should hold, in the trace's order (values, then the derivative trace)."""
        g, t, out, kinds = self.graph, self.t, [], self.kinds
        if VALUE in kinds or not self.entries:
            out += [("v", i) for i, n in enumerate(g.nodes) if n.kind != CONST]
        elif not any(s[0] == "v" for s in self.entries):
            self.notes.append("no value rows were given: only the derivatives are graded")
        for seed, n in self.other_seeds.items():
            self.notes.append(f"{n} row{'s' * (n != 1)} of the tangent column seeded at {seed} not graded (--wrt "
                              f"{self.graph.nodes[self.seed].name} grades its own)")
        if self.mode == "value":
            if self.skipped:
                self.notes.append(f"{self.skipped} derivative row{'s' * (self.skipped != 1)} not graded (value mode)")
            return out
        if not (kinds - {VALUE}):
            self.notes.append(f"no derivative rows were given: the {'tangent' if self.mode == 'forward' else 'adjoint'}"
                              f" rows of a {self.mode}-mode check are missing")
        if self.mode == "forward":
            return out + [("t", i) for i, n in enumerate(g.nodes) if n.kind not in (CONST, DATA)]
        out.append(("a", g.output))
        out += [slot for slot in self._step_slots() if slot[0] == "a" or slot[1] in self.uses_steps]
        seen = {slot[1] for slot in out if slot[0] == "a"}
        return out + [("a", i) for i in t.adjoint_order if i not in seen]

    def _step_slots(self):
        """The slot each contribution of the reverse sweep ends in, in its order: a partial sum ("s", j, r), or for
        a node's last contribution its adjoint ("a", j)."""
        count = {}
        for i, k, j, *_ in self.t.contributions:
            count[j] = count.get(j, 0) + 1
            yield ("a", j) if count[j] == len(self.steps[j]) else ("s", j, count[j])

    def _truth(self):
        t, true = self.t, {}
        number = float if not self.tensor else _as_array
        for i, n in enumerate(self.graph.nodes):
            true[("v", i)] = number(t.values[i])
            if t.tangents is not None:
                true[("t", i)] = number(t.tangents[i])
            if t.adjoints is not None and t.adjoints[i] is not None:
                true[("a", i)] = number(t.adjoints[i])
        for c, slot in zip(t.contributions, self._step_slots()):
            if slot[0] == "s":
                true[slot] = float(c[4])  # the partial sum after this contribution
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
        """The slot's number computed from the numbers `get` gives (None outside a domain); on a tensor graph an
        array, by the registry's forward and VJP rules on numpy."""
        g, kind, j = self.graph, slot[0], slot[1]
        n = g.nodes[j]
        if (kind in ("v", "t") and n.op is None) or (self.tensor and j == g.output):
            return self.true[slot]
        try:
            with np.errstate(all="raise"):
                if kind == "v":
                    value = ops.REGISTRY[n.op].fwd(numpy_kit() if self.tensor else FloatKit,
                                                   *(get(("v", a)) for a in n.args), **n.params)
                    return _as_array(value) if self.tensor else float(value)
                if self.tensor:
                    return sum((t for _, t in self._tensor_terms(j, get)), np.zeros(n.shape))
        except (ValueError, ArithmeticError):
            return None
        terms, start = self.terms(slot, get)
        if any(p is None for _, _, p in terms):
            return None
        return start + sum(m * p for _, m, p in terms)

    # ---- grading ---------------------------------------------------------------------------------------------

    def tol(self, slot):
        """The rounding a number of the student's may carry: half a unit of its last digit written, and none when
        it equals the exact number (an input written 1, the seed 1; a row not written, whose true number stands in)."""
        e = self.entries.get(slot)
        if e is None or e.tensor or e.value is None or _exact(e.value, self.true.get(slot, 0.0)):
            return 0.0
        return _half_unit(e.decimals)

    def student(self, slot):
        """The student's number for a slot (an array in the node's shape on a tensor graph), else the true one."""
        e = self.entries.get(slot)
        if e is None or e.value is None or (e.tensor and not self.tensor):  # None: a number not read
            return self.true.get(slot, 0.0)
        if self.tensor:
            value, _, how = self._align(slot)
            return self.true[slot] if how is None else value
        return e.value

    def _close(self, x, target, tol):
        """Within tol (plus rtol) of target, entry by entry on a tensor graph."""
        return target is not None and bool(np.all(abs(x - target) <= tol + self.rtol * abs(target)))

    def with_student(self, slot):
        """The slot recomputed from the student's numbers, the slots it read, and the spread their rounding gives
        (on a tensor graph, as _tensor_spread says)."""
        used = []

        def get(s):
            used.append(s)
            return self.student(s)

        base = self.recompute(slot, get)
        used = list(dict.fromkeys(used))
        if base is None:
            return None, used, 0.0
        if self.tensor:
            return base, used, self._tensor_spread(slot, base, used)
        spread = 0.0
        for u in used:
            bumped = self.recompute(slot, lambda s, u=u: self.student(s) + (self.tol(s) if s == u else 0.0))
            spread += abs(bumped - base) if bumped is not None else 0.0
        return base, used, spread

    def _own_numbers(self, used, enough, shown):
        """The verdict of a row that is right from the student's own numbers (the slots `used`): carried when one of
        them was wrong and the row gives the digits asked (`enough`; with fewer, rounding: 3 is within ±0.5 of
        almost anything), correct when none was and it gives them, else None."""
        upstream = [u for u in used if u in self.entries and self.grades.get(u, (CORRECT,))[0] != CORRECT]
        if upstream:
            # the student's own numbers, then what they give: 'your v̄₁ (= 0.6819)' read as v̄₁'s value
            mine = ", ".join(self._sym(u) + ("" if self.entries[u].tensor else f" = {self.entries[u].text}")
                             for u in upstream)
            if not enough:
                return ROUNDING, f"too few decimals to tell (from your {mine} it would be {shown()}); give {self.digits}"
            return CARRIED, f"right from your {mine} (which gives {shown()})"
        return (CORRECT, "") if enough else None

    def grade(self, slot):
        e, expected = self.entries.get(slot), self.true[slot]
        if e is None:
            return MISSING, "no row for it"
        if e.value is None:
            return UNREAD, e.unread
        if self.tensor:
            return self._grade_tensor(slot, e, expected)
        if e.tensor:
            return SHAPE, f"{_shape_text(e.value.shape)}, but {self._sym(slot)} is a number{_comma_hint(e)}"
        s, tol = e.value, _half_unit(e.decimals)
        why = self._usual_causes(slot, s, e.decimals, tol, expected)
        if not why and slot[0] == "s":
            why = self._other_order(slot, s, expected, tol)
        if not why and slot[0] != "v":
            why = self._missing_term(slot, s, expected, tol) or self._wrong_partial(slot, s, expected, tol)
        return why or (WRONG, f"should be {fmt_number(expected, self.digits)}")

    def _other_order(self, slot, s, expected, tol):
        """A partial sum of r contributions that is the sum of r others: the student added them in another order
        than the slides' (reverse evaluation order). Up to 8 contributions (whose subsets are cheap to try)."""
        j, r = slot[1], slot[2]
        terms = [(i, c[3]) for c in self.t.contributions if c[2] == j for i in (c[0],)]
        if len(terms) > 8:
            return None
        for chosen in itertools.combinations(range(len(terms)), r):
            if chosen != tuple(range(r)) and self._close(s, sum(terms[q][1] for q in chosen), tol):
                first = tex_to_text(rows.deriv_sym(self.graph, terms[0][0], "adjoint"))
                return WRONG, (f"right for the contributions in another order: the slides add them in reverse "
                               f"evaluation order, {first}'s first; here it should be {fmt_number(expected, self.digits)}")
        return None

    def _usual_causes(self, slot, s, dec, tol, expected):
        """CORRECT, CARRIED (right from the student's own numbers), ROUNDING or SIGN, else None; on a tensor graph s,
        dec (the decimals written) and tol are arrays."""
        low = int(np.min(dec))
        # the right number rounded to the digits asked, its trailing zeros left out (2.426 for 2.4260), is right
        if np.all(_exact(s, expected) | _exact(s, np.round(expected, self.digits))) or (
                low >= self.digits and self._close(s, expected, tol)):
            return CORRECT, ""
        base, used, spread = self.with_student(slot)
        show = line_value if self.tensor else fmt_number
        own = base is not None and self._close(s, base, tol + spread)
        verdict = own and self._own_numbers(used, low >= self.digits,
                                            lambda: show(base, self.digits if self.tensor else max(low, self.digits)))
        if verdict:
            return verdict
        shown, off = show(expected, self.digits), abs(s - expected)
        if low < self.digits and self._close(s, expected, tol):
            return ROUNDING, f"right to {low} decimal{'s' * (low != 1)}; give {self.digits}: {shown}"
        near = min(low, self.digits)
        if near >= 2 and np.all(off <= _half_unit(near - 2)):
            return ROUNDING, f"off by {'up to ' * self.tensor}{np.max(off):.{near}f}: rounded too early? ({shown})"
        if np.any(abs(expected) > tol) and self._close(s, -expected, tol):
            return SIGN, f"the sign is wrong: {shown}"
        return None

    def _edge_text(self, slot, edge):
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
                                      f"{tex_to_text(through.label)}: {self._edge_text(slot, edge)} = "
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

    # ---- tensor rows: a node's .v or .d, entry by entry ----------------------------------------------------------

    def _align(self, slot):
        """(the student's array in the node's shape, its decimals, how it was written: 'same', 'transposed', or None
        when the shape does not fit); a vector may be written as a row or a column, a number as [x]."""
        if slot not in self.aligned:
            e, want = self.entries[slot], np.shape(self.true[slot])
            value, decimals = _as_array(e.value if e.value is not None else np.nan), np.asarray(e.decimals)
            if e.value is None:  # a number not read (a decimal comma)
                self.aligned[slot] = None, None, None
            elif value.shape == want:
                self.aligned[slot] = value, decimals, "same"
            elif value.size == math.prod(want) and _vectorish(value.shape) and _vectorish(want):
                self.aligned[slot] = value.reshape(want), decimals.reshape(want), "same"
            elif value.ndim == 2 and len(want) == 2 and value.shape == want[::-1]:
                self.aligned[slot] = value.T, decimals.T, "transposed"
            else:
                self.aligned[slot] = None, None, None
        return self.aligned[slot]

    def _tensor_terms(self, j, get):
        """[(user i, its VJP contribution to v̄ⱼ)] from the registry's rules at the numbers `get` gives."""
        g, kit, out = self.graph, numpy_kit(), []
        for i, k in g.users[j]:
            if self.t.adjoints[i] is None:
                continue
            u = g.nodes[i]
            term = ops.REGISTRY[u.op].vjp(kit, get(("a", i)), get(("v", i)), *(get(("v", a)) for a in u.args),
                                          **u.params)[k]
            if np.shape(term) != g.nodes[j].shape:  # an elementwise op broadcast this argument
                term = kit.sum_to(term, g.nodes[j].shape)
            out.append((i, _as_array(term)))
        return out

    def _tensor_tol(self, slot):
        """As tol, entry by entry: each entry's half unit, none where it equals the exact entry."""
        value, decimals, _ = self._align(slot)
        return np.where(_exact(value, self.true[slot]), 0.0, 0.5 * 10.0 ** -decimals.astype(float))

    def _tensor_spread(self, slot, base, used):
        """The spread the rounding of the slots `used` gives the tensor slot recomputed from them (`base`):
        the worst case, each entry bumped by its half unit in turn, up to SPREAD_ENTRIES entries read; beyond, four
        times the root mean square of ROUNDINGS tries with every entry bumped by ± its half unit at once (signs from
        default_rng(0)), as the roundings' errors add up like random ones."""
        tols = {u: self._tensor_tol(u) for u in used if u in self.entries and self._align(u)[2] is not None}
        one_by_one = sum(t.size for t in tols.values()) <= SPREAD_ENTRIES
        if one_by_one:
            bumps = [{u: np.where(np.arange(t.size).reshape(t.shape) == k, t, 0.0)} for u, t in tols.items()
                     for k in range(t.size)]
        else:
            rng = np.random.default_rng(0)
            bumps = [{u: t * rng.choice((-1.0, 1.0), size=t.shape) for u, t in tols.items()} for _ in range(ROUNDINGS)]
        deltas = []
        for bump in bumps:
            bumped = self.recompute(slot, lambda s, b=bump: self.student(s) + b.get(s, 0.0))
            deltas.append(np.abs(bumped - base) if bumped is not None else np.zeros(np.shape(base)))
        if not deltas:
            return 0.0
        if one_by_one:
            return np.sum(deltas, axis=0)
        return 4.0 * np.sqrt(np.mean(np.square(deltas), axis=0))

    def _grade_tensor(self, slot, e, expected):
        sym = self._sym(slot)
        s, dec, how = self._align(slot)
        written, right = _shape_text(np.shape(e.value)), _shape_text(np.shape(expected))
        if how is None:
            return SHAPE, f"{written}, but {sym} is {right}{_comma_hint(e)}"
        tol = 0.5 * 10.0 ** -dec.astype(float)
        if how == "transposed":
            if self._close(s, expected, tol):
                node = tex_to_text(self.graph.nodes[slot[1]].label)
                return TRANSPOSED, f"the right matrix transposed: {sym} is {right}, the shape of {node}, not {written}"
            return SHAPE, f"{written}, but {sym} is {right}"
        verdict = self._usual_causes(slot, s, dec, tol, expected)
        if verdict:
            return verdict
        shown = line_value(expected, self.digits)
        if s.ndim == 2 and s.shape[0] == s.shape[1] and self._close(s, expected.T, tol):
            return TRANSPOSED, f"the right matrix transposed: {shown}"
        if slot[0] == "a" and slot[1] != self.graph.output:
            terms = self._tensor_terms(slot[1], lambda u: self.true[u])
            for i, term in terms if len(terms) > 1 else ():
                if np.any(np.abs(term) > tol) and self._close(s, expected - term, tol + 1e-4 * np.abs(expected)):
                    return MISSING_TERM, (f"{sym} misses the term through {tex_to_text(self.graph.nodes[i].label)}: "
                                          f"{line_value(term, self.digits)}")
        bad = np.abs(s - expected) > tol + self.rtol * np.abs(expected)
        first = tuple(int(k) for k in np.argwhere(bad)[0]) if bad.ndim else ()
        where = f"{sym}[{', '.join(map(str, first))}]" if first else sym
        return WRONG, (f"{int(bad.sum())} of {bad.size} entries wrong; the first, {where}: yours "
                       f"{fmt_number(s[first], int(dec[first]))}, right {fmt_number(expected[first], self.digits)}")

    # ---- how a slot prints -----------------------------------------------------------------------------------

    @staticmethod
    def _text(tex):
        return tex_to_text(tex).replace("-", "−")

    def _sym(self, slot):
        return self._text(self._tex_sym(slot))

    def _tex_sym(self, slot):
        g, kind, i = self.graph, slot[0], slot[1]
        if kind == "v":
            return rows.value_sym(g, i)
        return rows.deriv_sym(g, i, "tangent" if kind == "t" else "adjoint")

    def rules(self):
        t, g, out = self.t, self.graph, {}
        for r, i in zip(rows.primal(t), [i for i, n in enumerate(g.nodes) if n.kind != CONST]):
            out[("v", i)] = r.rule
        if self.mode == "value":
            return out
        if self.mode == "forward":
            for r in rows.tangent(t):
                out[("t", g.index[r.node])] = r.rule
            return out
        for r in rows.adjoint(t):
            if r.node in g.index and r.value is not None:
                out[("a", g.index[r.node])] = r.rule
        for r, slot in zip(rows.adjoint_steps(t)[1:], self._step_slots()):
            if slot[1] in self.uses_steps:
                out[slot] = r.rule
        return out

    def run(self):
        slots, rules = self.slots(), self.rules()
        for slot in slots:
            self.grades[slot] = self.grade(slot)  # in order: a row's verdict may read those of the rows it uses
        first = next((s for s in slots if self.grades[s][0] not in (CORRECT, CARRIED, MISSING)), None)
        graded = [Graded(slot, self._sym(slot), "= " + self._text(rules.get(slot, "")), self.entries.get(slot),
                         self.true[slot], *self.grades[slot], slot == first, self._tex_sym(slot)) for slot in slots]
        unknown = [Graded(None, e.name, "", e, None, UNKNOWN, why) for e, why in self.unknown]
        if self.nameless > len(self.entries):
            self.notes.append(f"most rows name no node of {self.graph.name}: is this the table of another function?")
        return graded, unknown


def check(trace, answers, *, digits=4, rtol=0.0):
    """Grade `answers` (graphcomp.frontends.answers.Answers, read here as a stream) against a Trace: a scalar one
    in forward or reverse mode, a tensor one in reverse mode (each node's .v and .d, entry by entry); either in value
    mode (a trace of mode 'value': the values alone)."""
    if not trace.graph.scalar and trace.tangents is not None:
        raise GraphcompError(TENSOR_MODES, file=trace.graph.file)
    if trace.columns and len(trace.columns) > 1:  # Trace.tangents is the first column's alone
        names = list(trace.columns)
        raise GraphcompError(f"check grades one tangent column at a time: give one --wrt per column (--wrt {names[0]}, "
                             f"then --wrt {names[1]}{', …' * (len(names) > 2)})")
    if not 0 <= rtol < 1 or math.isnan(rtol):
        raise GraphcompError(f"--rtol must be between 0 and 1, not {rtol}")
    grader = _Grader(trace, answers, digits, rtol)
    graded, unknown = grader.run()
    return Report(trace.graph.name, grader.mode, answers.file, digits, rtol, graded, unknown, list(answers.unreadable),
                  grader.notes, grader.unknown_count, answers.unreadable_count,
                  frozenset(("v", i) for i in trace.graph.inputs))


_KINDS = {TANGENT: "a tangent", ADJOINT: "an adjoint", None: "a derivative"}


def _exact(x, true):
    """x equals the true number (entry by entry): it carries no rounding."""
    return abs(x - true) <= 1e-12 * np.maximum(1.0, abs(true))


def _as_array(x):
    return np.asarray(x, dtype=float)


def _comma_hint(e):
    """A hint when whole numbers with commas and no spaces between them may be decimal commas: [1,5]."""
    return " (decimal commas? write 1.5, not 1,5)" if re.search(r"\d,\d", e.text) and not np.any(e.decimals) else ""


def _vectorish(shape):
    """A number, a vector, or a matrix of one row or one column."""
    return sum(d != 1 for d in shape) <= 1


def _one(e):
    """A scalar entry from a one-entry array ([1.5], [[1.5]])."""
    return Entry(e.line, e.name, e.key, e.kind, e.text, float(e.value.reshape(-1)[0]), int(np.min(e.decimals)))


def _shape_text(shape):
    """'a number', 'a vector of 3 entries', 'a 3×2 matrix'."""
    if len(shape) == 0:
        return "a number"
    if len(shape) == 1:
        return f"a vector of {shape[0]} entr{'y' if shape[0] == 1 else 'ies'}"
    return f"a {shape[0]}×{shape[1]} matrix"
