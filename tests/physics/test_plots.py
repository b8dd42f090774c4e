"""Physics figures: PNG+SVG written, closed-form lines and quadrature markers agree."""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from qtaml_hw.reports.physics_plots import plot_transmission_vs_tox  # noqa: E402


def test_transmission_plot_markers_on_lines():
    fig, ax = plt.subplots()
    plot_transmission_vs_tox(ax, v_ox=(0.0, 4.0), n_markers=4)
    lines = ax.get_lines()
    assert len(lines) == 4
    for curve, markers in (lines[0:2], lines[2:4]):
        y = np.interp(markers.get_xdata(), curve.get_xdata(), np.log(curve.get_ydata()))
        assert np.allclose(y, np.log(markers.get_ydata()), rtol=1e-3)
    plt.close(fig)


@pytest.mark.integration
def test_write_figures_and_cli(tmp_path, cli):
    """The CLI writes the figures through write_physics_figures (drawn once here: ~3 CPU-s per figure set)."""
    code, out, err = cli("physics", "--plot-dir", str(tmp_path / "b"), "--json")
    assert code == 0, err
    paths = [Path(p) for p in json.loads(out)["figures"]]
    assert sorted(p.suffix for p in paths) == [".png"] * 3 + [".svg"] * 3
    assert all(p.parent == tmp_path / "b" and p.stat().st_size > 1000 for p in paths)
    assert {p.stem for p in paths} == {"physics_transmission", "physics_pflip", "physics_cells"}
