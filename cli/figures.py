"""``rnndyn figures``: rebuild the gallery of the source material's figures."""

from __future__ import annotations

import time

import click

from .options import json_option
from .output import emit_json, note, progress_bar


@click.command("figures")
@click.option("--only", "only", multiple=True, metavar="NAME",
              help="Build only this figure (repeatable); see --list for the names.")
@click.option("--outdir", type=click.Path(file_okay=False, writable=True), default="figures", show_default=True,
              help="Directory the figures and their README.md gallery are written to.")
@click.option("--format", "fmt", type=click.Choice(["png", "svg", "pdf"]), default="png", show_default=True,
              help="Image format.")
@click.option("--list", "list_only", is_flag=True, help="Print the registered figures and what each shows; build nothing.")
@click.option("--quick", is_flag=True, help="Small sizes (for smoke tests, not for the gallery): about a second per "
                                           "figure and core.")
@click.option("--jobs", type=click.IntRange(min=0), default=0, metavar="N",
              help="Figures built at once, each in its own process on one core; 0 (default): one per core the "
                   "load average leaves idle.")
@json_option()
def figures(only, outdir, fmt, list_only, quick, jobs, as_json):
    """Rebuild every registered figure of the source documents into OUTDIR, with a README.md gallery.

    Each figure is computed by rnndyn from fixed seeds and written without dates,
    so a rebuild reproduces the committed files.

    \b
    $ rnndyn figures --list
    $ rnndyn figures --list --json
    $ rnndyn figures --only smerity_fibonacci --outdir /tmp/figs
    $ rnndyn figures                      # the whole gallery into figures/
    $ rnndyn figures --quick --only d2l_sigmoid_gradient --only stability_region --jobs 2 --outdir /tmp/figs
    """
    from rnndyn import figures as registry_mod

    reg = registry_mod.registry()
    if list_only and as_json:
        emit_json([{"name": name, "source": spec.source, "description": " ".join(spec.description.split())}
                   for name, spec in reg.items()])
        return
    if list_only:
        width = max((len(n) for n in reg), default=0) + 2
        for name, spec in reg.items():
            click.echo(f"{name:<{width}}{' '.join(spec.description.split())}")
        return
    names = [registry_mod.get(n).name for n in dict.fromkeys(only)] if only else list(reg)
    t0 = time.perf_counter()
    jobs = jobs or registry_mod.default_jobs()

    with progress_bar("figures", len(names)) as bar:
        def written(b):
            note(f"wrote {b.path} ({b.seconds:.1f} s)")
            bar.update(1)

        built = registry_mod.build_all(outdir, names=names, fmt=fmt, quick=quick, gallery=False, jobs=jobs,
                                       on_built=written)
    gallery = registry_mod.write_gallery(outdir, fmt=fmt)
    if as_json:
        emit_json({"figures": [{"name": b.name, "path": str(b.path), "seconds": b.seconds} for b in built],
                   "gallery": str(gallery)})
    click.echo(f"{len(built)} figure{'s' if len(built) != 1 else ''} in {time.perf_counter() - t0:.1f} s; "
               f"gallery {gallery}", err=True)
