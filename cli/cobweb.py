"""``rnndyn cobweb``: cobweb and phase plot of a 1-D iterated map, or its compositions."""

from __future__ import annotations

import warnings

import click

from rnndyn.errors import DivergenceWarning

from .errors import fail, options_named
from .options import dpi_option, json_option, out_option, steps_option
from .output import check_out_suffix, emit_json, write_figure
from .types import POINT


def composition_panels(k: int) -> tuple[int, ...]:
    """The panels of ``--compose K``: f, f∘f, f∘f∘f (those up to K) and the K-fold composition."""
    return tuple(sorted({j for j in (1, 2, 3) if j <= k} | {k}))


@click.command("cobweb")
@click.option("--map", "map_spec", required=True, metavar="SPEC",
              help="logistic:R, quadratic:C, tent:MU, sine:R, or an expression in x such as '3.5*x*(1-x)' "
                   "(numbers, x, pi, e, + - * / **, sin cos tan exp log sqrt tanh abs; nothing else).")
@click.option("--x0", "x0s", type=float, multiple=True, metavar="X",
              help="Initial state (repeatable); default: 10%, 50% and 90% across the interval.")
@steps_option(default=30, maximum=100_000, help="Steps per orbit.")
@click.option("--compose", "compose", type=click.IntRange(1, 64), default=None, metavar="K",
              help="Instead of a cobweb, draw the graphs of f, f∘f, f∘f∘f and f composed K times; "
                   "the points listed are those with f^K(x) = x.")
@click.option("--interval", type=POINT, default="0,1", show_default=True, metavar="LO,HI",
              help="x range drawn and searched for fixed points.")
@out_option()
@dpi_option()
@json_option()
def cobweb(map_spec, x0s, steps, compose, interval, out, dpi, as_json):
    """Cobweb diagram and phase plot of x_{t+1} = f(x_t), fixed points marked as sinks or sources.

    CSC321 Lecture 15: fixed points are where f crosses the diagonal,
    sinks where |f'| < 1, sources where |f'| > 1.

    \b
    $ rnndyn cobweb --map quadratic:0.15 --x0 0.5 --x0 0.83 --out cobweb.png
    map        x**2 + 0.15   (f' = 2*x)
    fixed      x = 0.183772   f' = 0.367544   sink
    fixed      x = 0.816228   f' = 1.63246    source
    orbit      x0 = 0.5   x_30 = 0.183772
    orbit      x0 = 0.83  x_30 = inf
    Warning: 1 orbit of 2 became non-finite (x0 = 0.83 at step 18); the later states are inf/nan
    wrote cobweb.png
    $ rnndyn cobweb --map logistic:3.5 --compose 6 --out compositions.png
    """
    from rnndyn.analysis import orbits1d
    from rnndyn.systems import map1d

    if len(interval) != 2 or not interval[0] < interval[1]:
        fail(f"--interval: expected LO,HI with LO < HI, got {','.join(f'{v:g}' for v in interval)}")
    if out:
        check_out_suffix(out)
    m = map1d.parse_map(map_spec, argname="--map")
    lo, hi = interval
    period = compose or 1
    with options_named(interval="--interval", x0="--x0", steps="--steps", ks="--compose"):
        # Every point with f^K(x) = x, listed once with its minimal period d (d divides K) and multiplier (f^d)'.
        fps = [fp for d in range(1, period + 1) if period % d == 0
               for fp in orbits1d.fixed_points(m, (lo, hi), period=d, exact_period=True)]
        fps.sort(key=lambda fp: fp.x)
        if not x0s:
            x0s = tuple(lo + f * (hi - lo) for f in (0.1, 0.5, 0.9))
        orbits = [] if compose else list(zip(x0s, orbits1d.orbit(m, list(x0s), steps).T))
        if out:
            from rnndyn.plots import orbits1d as plots_maps

            if compose:
                fig = plots_maps.plot_compositions(orbits1d.compositions(m, composition_panels(compose), (lo, hi)))
            else:
                with warnings.catch_warnings():  # the orbits' escapes were reported once, above
                    warnings.simplefilter("ignore", DivergenceWarning)
                    fig = plots_maps.plot_cobweb(orbits1d.cobweb_diagram(m, list(x0s), steps, (lo, hi)))
            write_figure(fig, out, dpi=dpi)
    if as_json:
        emit_json({
            "map": m.name,
            "expression": m.expr,
            "derivative": m.dexpr,
            "interval": [lo, hi],
            "compose": compose,
            "fixed_points": [{"x": p.x, "derivative": p.derivative, "kind": p.kind, "period": p.period} for p in fps],
            "orbits": [{"x0": x, "states": o} for x, o in orbits],
            "steps": None if compose else steps,
            "out": out,
        })
        return
    click.echo(f"map        {m.expr or m.name}   (f' = {m.dexpr})" if m.dexpr else f"map        {m.name}")
    label = "fixed" if period == 1 else f"f^{period}=x"
    if not fps:
        click.echo(f"{label:<11}none in [{lo:g}, {hi:g}]")
    xs = [f"{p.x:.6g}" for p in fps]
    ds = [f"{p.derivative:.6g}" for p in fps]
    wx, wd = max(map(len, xs), default=0), max(map(len, ds), default=0)  # the columns line up
    for p, x_text, d_text in zip(fps, xs, ds):
        d = "f'" if period == 1 else f"(f^{p.period})'"
        click.echo(f"{label:<11}x = {x_text:<{wx}}   {d} = {d_text:<{wd}}   {p.kind}"
                   + (f"   (period {p.period})" if period > 1 else ""))
    for x, o in orbits:
        click.echo(f"orbit      x0 = {x:<6g}x_{steps} = {float(o[-1]):.6g}")
