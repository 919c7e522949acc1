"""Scalar (elementwise) ops, each one registration from its forward function and local partials."""
import math
import operator

from graphcomp.ops.registry import elementwise

elementwise("add", 2, lambda m, a, b: a + b, lambda m, y, a, b: (1.0, 1.0), "{0} + {1}", ("1", "1"),
            on_floats=operator.add, propagates=True)
elementwise("sub", 2, lambda m, a, b: a - b, lambda m, y, a, b: (1.0, -1.0), "{0} - {1}", ("1", "-1"),
            on_floats=operator.sub, propagates=True)
elementwise("mul", 2, lambda m, a, b: a * b, lambda m, y, a, b: (b, a), "{0} {1}", ("{1}", "{0}"),
            on_floats=operator.mul, propagates=True, tensor_tex="{0} \\odot {1}",
            number_tex="{0} \\cdot {1}")
elementwise(
    "div", 2, lambda m, a, b: a / b, lambda m, y, a, b: (1.0 / b, -y / b),
    "{0} / {1}", ("1/{1}", "(-{y}/{1})"), domain="the divisor is 0", on_floats=operator.truediv,
)
elementwise(
    "pow", 2, lambda m, a, b: m.power(a, b),
    (lambda m, y, a, b: b * m.power(a, b - 1.0), lambda m, y, a, b: y * m.log(a)),  # ∂/∂a, ∂/∂b: one at a time
    "{0}^{{{1}}}", ("{1}\\,{0}^{{{1}-1}}", "{y} \\ln {0}"),
    domain="a variable exponent needs a positive base", one_sided=True,
)
elementwise(
    "powc", 1, lambda m, a, p: m.power(a, p), lambda m, y, a, p: (p * m.power(a, p - 1.0),),
    "{0:^{p}}", ("{pc}\\,{0:^{pm1}}",), params=("p",),
    domain="this power or its derivative is undefined here (a negative base with a fractional exponent, 0 to a "
           "negative power, or, for the derivative p x^(p-1), 0 to a power below 1)",
)
elementwise("neg", 1, lambda m, a: -a, lambda m, y, a: (-1.0,), "-{0}", ("-1",), on_floats=operator.neg,
            keeps_finite=True, propagates=True)
elementwise("exp", 1, lambda m, a: m.exp(a), lambda m, y, a: (y,), "e^{{{0}}}", ("{y}",), on_floats=math.exp)
elementwise(
    "log", 1, lambda m, a: m.log(a), lambda m, y, a: (1.0 / a,), "\\ln {0}", ("1/{0}",),
    domain="log needs a positive argument", on_floats=math.log, propagates=True,
)
elementwise("sin", 1, lambda m, a: m.sin(a), lambda m, y, a: (m.cos(a),), "\\sin {0}", ("\\cos {0}",),
            on_floats=math.sin, keeps_finite=True, propagates=True)
elementwise("cos", 1, lambda m, a: m.cos(a), lambda m, y, a: (-m.sin(a),), "\\cos {0}", ("(-\\sin {0})",),
            on_floats=math.cos, keeps_finite=True, propagates=True)
elementwise(
    "tan", 1, lambda m, a: m.tan(a), lambda m, y, a: (1.0 + y * y,), "\\tan {0}", ("(1 + {y}^2)",),
    domain="tan is undefined here", propagates=True,
)
elementwise(
    "sqrt", 1, lambda m, a: m.sqrt(a), lambda m, y, a: (0.5 / y,), "\\sqrt{{{0}}}", ("1/(2 {y})",),
    domain="sqrt needs a non-negative argument (and a positive one for its derivative)", propagates=True,
)
elementwise("square", 1, lambda m, a: a * a, lambda m, y, a: (2.0 * a,), "{0}^2", ("2 {0}",), propagates=True)
elementwise(
    "reciprocal", 1, lambda m, a: 1.0 / a, lambda m, y, a: (-y * y,), "1/{0}", ("(-{y}^2)",),
    domain="the reciprocal of 0",
)
elementwise("tanh", 1, lambda m, a: m.tanh(a), lambda m, y, a: (1.0 - y * y,), "\\tanh {0}", ("(1 - {y}^2)",),
            on_floats=math.tanh, keeps_finite=True)
elementwise(
    "sigmoid", 1, lambda m, a: m.sigmoid(a), lambda m, y, a: (y * (1.0 - y),), "\\operatorname{{sigmoid}}({0})",
    ("{y}(1 - {y})",), keeps_finite=True,
)
elementwise(
    "relu", 1, lambda m, a: m.relu(a), lambda m, y, a: (m.step(a),), "\\operatorname{{ReLU}}({0})",
    ("\\mathbf{{1}}[{0} > 0]",),
    doc="ReLU; its derivative at 0 is taken to be 0, as in PyTorch.", keeps_finite=True,
    times_partial=lambda m, g, y, a: m.mask(g, a),
)
