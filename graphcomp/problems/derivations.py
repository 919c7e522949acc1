"""The derivations the problem set grades, typeset for report.tex (the same steps as docs/problem1.md and
docs/problem3.md): 1(a) the gradient and Hessian by the second-order Taylor expansion the hint suggests,
1(b) the Gauss–Newton step as an approximate Newton step, 3(a) the three gradients step by step."""

PROBLEM_1A = r"""\paragraph{The gradient and the Hessian.} Write $r_i(x) = (a_i^\top x)^2 - y_i$, so that
$f = \frac14 \sum_i r_i^2$, and perturb $x$ by $\delta$, with $z_i = a_i^\top x$ and $t_i = a_i^\top \delta$. Then
$r_i(x + \delta) = (z_i + t_i)^2 - y_i = r_i + 2 z_i t_i + t_i^2$, and, keeping terms up to second order in $\delta$,
\[ r_i(x+\delta)^2 = r_i^2 + 4 r_i z_i t_i + (2 r_i + 4 z_i^2)\, t_i^2 + O(\|\delta\|^3). \]
Multiplying by $\frac14$ and summing,
$f(x + \delta) = f(x) + \sum_i r_i z_i\, t_i + \frac12 \sum_i (r_i + 2 z_i^2)\, t_i^2 + O(\|\delta\|^3)$.
The linear term is $\nabla f(x)^\top \delta$ and the quadratic one $\frac12 \delta^\top \nabla^2 f(x)\, \delta$; with
$t_i = a_i^\top \delta$ and $r_i + 2 z_i^2 = 3 z_i^2 - y_i$,
\[ \nabla f(x) = \sum_i \bigl((a_i^\top x)^2 - y_i\bigr)(a_i^\top x)\, a_i, \qquad
   \nabla^2 f(x) = \sum_i \bigl(3 (a_i^\top x)^2 - y_i\bigr)\, a_i a_i^\top . \]
Newton's method solves $\nabla^2 f(x_k)\, d = -\nabla f(x_k)$ and steps $x_{k+1} = x_k + d$ (full steps).
Both derivatives are checked against central differences and against the engine's reverse sweep and
forward-over-reverse Hessian.
"""

PROBLEM_1B = r"""\paragraph{Gauss--Newton as an approximate Newton step.} With the Jacobian $J$ of $r$, whose rows are
$J_i = \partial r_i / \partial x = 2 (a_i^\top x)\, a_i^\top$, $\nabla f = \frac12 J^\top r$ and, differentiating once more,
\[ \nabla^2 f = \tfrac12 \Bigl(J^\top J + \sum_i r_i \nabla^2 r_i\Bigr) = \tfrac12 J^\top J + \sum_i r_i\, a_i a_i^\top . \]
Gauss--Newton drops the second term, which vanishes at a solution ($r = 0$), and takes the Newton step with
$\frac12 J^\top J$ for the Hessian: $\frac12 J^\top J\, d = -\frac12 J^\top r$, that is the least-squares solution of
$J d \approx -r$ (the minimiser of the linearised model $\frac14 \|r + J d\|^2$), computed by QR without forming
$J^\top J$. Since $\delta^\top J^\top J \delta = \|J \delta\|^2 \ge 0$, the step is always a descent direction, so unlike
Newton's it is never drawn to a saddle point or a maximum.
"""

PROBLEM_3A = r"""\paragraph{The analytic gradients.} With $V_1 = W_1 x$, $V_2 = \sigma(V_1)$, $V_3 = W_2 V_2$,
$V_4 = \sigma(V_3)$, $V_5 = W_3 V_4$, $D = y - V_5$ and $f = \frac12 \|D\|^2$, perturb one weight by a small $\Delta$ and
keep the first-order terms; $\sigma(V + \delta) = \sigma(V) + \mathbf{1}[V > 0] \odot \delta$ to first order (the derivative of
ReLU at $0$ is taken to be $0$, as in PyTorch), and $\delta f = \langle D, \delta D\rangle$ with $\delta D = -\delta V_5$.
\begin{itemize}
\item $W_3 \to W_3 + \Delta$: $\delta V_5 = \Delta V_4$, so $\delta f = -\langle D, \Delta V_4 \rangle = \langle -D V_4^\top, \Delta\rangle$ and
  $\nabla_{W_3} f = -D\, V_4^\top$.
\item $W_2 \to W_2 + \Delta$: $\delta V_3 = \Delta V_2$, $\delta V_4 = \mathbf{1}[V_3 > 0] \odot \delta V_3$, $\delta V_5 = W_3\, \delta V_4$, so
  $\delta f = \langle -W_3^\top D, \mathbf{1}[V_3 > 0] \odot \Delta V_2\rangle = \langle G_3 V_2^\top, \Delta \rangle$ with
  $G_3 = \mathbf{1}[V_3 > 0] \odot (-W_3^\top D)$, and $\nabla_{W_2} f = G_3\, V_2^\top$.
\item $W_1 \to W_1 + \Delta$: $\delta V_1 = \Delta x$, $\delta V_2 = \mathbf{1}[V_1 > 0] \odot \delta V_1$, $\delta V_3 = W_2\, \delta V_2$, and as
  above $\delta f = \langle G_3, W_2 (\mathbf{1}[V_1 > 0] \odot \Delta x)\rangle = \langle G_1 x^\top, \Delta\rangle$ with
  $G_1 = \mathbf{1}[V_1 > 0] \odot (W_2^\top G_3)$, and $\nabla_{W_1} f = G_1\, x^\top$.
\end{itemize}
"""
