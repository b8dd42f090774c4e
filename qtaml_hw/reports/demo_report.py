"""The demo's Markdown report (``qtaml-hw demo``): physics, campaign table, rho*, RTL check, figures."""

from __future__ import annotations

from pathlib import Path

from qtaml_hw.fsio import write_text


def _fmt(v, spec=".4g") -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return format(v, spec)
    return str(v)


def _table(rows: list[dict], cols: list[str]) -> str:
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_fmt(r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _monotone_note(rows: list[dict]) -> str:
    """Say which strategies lose accuracy when given more protected bits (a drift effect), from the data."""
    worse = []
    for strat in sorted({r["strategy"] for r in rows}):
        rs = sorted((r for r in rows if r["strategy"] == strat), key=lambda r: r["protect_msb"])
        drops = [(a, b) for a, b in zip(rs, rs[1:]) if b["accuracy_hi"] < a["accuracy_lo"]]
        if drops:
            a, b = max(drops, key=lambda ab: ab[0]["accuracy_mean"] - ab[1]["accuracy_mean"])
            worse.append(f"`{strat}` ({a['protect_msb']:.2f} -> {b['protect_msb']:.2f} bits/weight: "
                         f"{a['accuracy_mean']:.3f} -> {b['accuracy_mean']:.3f})")
    if not worse:
        return "\nAccuracy rises with the budget for every strategy (within the 95% CIs).\n"
    return ("\nMore protection lowered accuracy, beyond the 95% CIs, for " + ", ".join(worse) + ". With "
            "directional flips the mean drift `E[v'] - v` of a two's-complement weight is a sum of opposite-signed "
            "terms (the sign bit's leak pulls one way, the lower bits' the other). Protecting the top bits of "
            "some layers removes one of those terms and can make the net bias of those layers larger. The "
            "closed-form mean correction removes the drift whatever is protected (design.md section 2, "
            "property 1)" + ("; here `tac+mc` rises with the budget.\n"
                             if not any(w.startswith("`tac+mc`") for w in worse) else ".\n"))


def _rtl_section(rtl: dict | None) -> list[str]:
    """Section 4 of the report: the protected layer on the RTL (or why it was skipped)."""
    parts = ["\n## 4. One protected layer on the RTL\n"]
    if rtl is None:
        parts.append("Skipped (`--sim none`).\n")
    else:
        t = rtl["trials"]
        tac = rtl["tac"]
        parts.append(
            f"LeNet-5 `{rtl['layer']}` runs on `accel_top` ({rtl['n']}x{rtl['n']} weight-stationary systolic array) "
            f"under {rtl['simulator']}. It carries the TAC plan of the whole model at {tac['budget_bpw']} bits/weight "
            f"(this layer: m = {tac['m_plan']}, rounded to the RTL's SECDED over the top {tac['protect_bits']} bits of "
            f"each weight) and the mean correction folded into its dequantization (a = {tac['a']:.4g}). The same "
            f"leakage flips hit data and check bits of its SRAM image, and {rtl['images']} test images go through "
            f"the layer ({rtl['runs_per_trial']} accelerator runs per trial). The rest of the network runs in PyTorch "
            f"(the replay layer, `qtaml_hw.nn.replay`). The replay layer gets the same flips decoded by the Python "
            f"codec.\n")
        parts.append(_table([{"trial": x["trial"], "bits_flipped": x["bits_flipped"], "bit_exact": x["bit_exact"],
                           "ecc_corrected (RTL/codec)": f"{x['ecc_corrected']}/{x['codec_corrected']}",
                           "ecc_uncorrectable (RTL/codec)": f"{x['ecc_uncorrectable']}/{x['codec_uncorrectable']}",
                           "accuracy_rtl": x["accuracy_rtl"], "accuracy_replay": x["accuracy_replay"]} for x in t],
                         ["trial", "bits_flipped", "bit_exact", "ecc_corrected (RTL/codec)",
                          "ecc_uncorrectable (RTL/codec)", "accuracy_rtl", "accuracy_replay"]))
        parts.append(f"\nRTL output equals the replay layer bit for bit, ECC counts equal the codec's, and the "
                  f"accuracies are equal: **{rtl['agree']}** (clean accuracy on these images "
                  f"{rtl['clean_replay_accuracy']:.3f}).\n")
    return parts


def write_demo_report(out_dir, *, physics: dict, rows: list[dict], rho: list[dict], rtl: dict | None,
                      figures: list[str], seconds: float, command: str) -> Path:
    """Write ``report.md`` into ``out_dir`` (the figures are already there); returns its path."""
    out_dir = Path(out_dir)
    p = physics
    md = [f"# qtaml-hw demo report\n\nMade by `{command}` in {seconds:.0f} s. Every number below was computed "
          "by this run; the campaign store `campaign.sqlite` can be resumed or extended with "
          "`qtaml-hw campaign run campaign.toml --out campaign.sqlite`.\n",
          "## 1. Physics: calibrated cell -> refresh interval -> flip rates\n",
          f"Cell `{p['cell']}` ({p['source']}). Its measured retention ({p['retention_s']:g} s at "
          f"{p['retention_quantile']:g} of cells failed) calibrates the {p['law']} law: median retention "
          f"tau = {p['tau_s']:.3e} s, spread sigma_ln = {p['sigma_ln']:.3g}; the charged node sits at "
          f"V_ox = Q/C = {p['v_ox']:g} V across a {p['t_ox_nm']} nm oxide (T = {p['transmission']:.3e}), so the "
          f"calibrated attempt time is tau0 = tau T = {p['tau0_s']:.3g} s. Refreshed every {p['refresh_s']:g} s "
          f"({p['refresh_rate_hz']:g} refreshes/s, t/tau = {p['t_over_tau']:.3g}): p10 = {p['p10']:.4f}, "
          f"p01 = r p10 = {p['p01']:.4f} (r = {p['r']}). Node values that are assumptions: {p['assumptions']}.\n",
          "## 2. TAC plan vs Uniform-MSP on LeNet-5 (Monte Carlo, 95% CI)\n",
          "Uniform-MSP protects the same top bits of every weight. TAC spends the same kind of budget "
          "(protected bits per weight, averaged over the model) where the label-free sensitivity and the "
          "physics residual curves say it matters, with (`tac+mc`) and without (`tac`) the closed-form mean "
          "correction. `magnitude` allocates the same budgets from weight magnitudes alone (no Jacobian, no "
          "physics). Overhead of these ideal plans is SECDED check storage at the (72,64) rate (1/8 check bit per "
          "protected bit). The `+secded` rows store the protected bit planes of each 8-weight word in a real "
          "Hsiao SECDED codeword (check bits leak too, miscorrections kept) and are priced with that code's "
          "check bits. They show whether the ideal-protection abstraction holds at this flip rate.\n",
          _table(rows, ["strategy", "protect_msb", "check_bits_per_weight", "trials", "accuracy_mean", "accuracy_lo",
                        "accuracy_hi", "clean_accuracy"]),
          _monotone_note(rows),
          "\n## 3. rho*: predicted before any trial, measured after\n",
          _table(rho, ["fault", "target_accuracy", "uniform_bpw", "tac_strategy", "tac_bpw", "rho_star_predicted",
                       "rho_star_measured"]) if rho else "No rho* (no TAC or uniform budget reached the target).\n",
          "\nThe measured ratio is quantised by the swept budgets (see `docs/tac.md` for the full headline "
          "experiment on all five models).\n"]
    md += _rtl_section(rtl)
    md.append("\n## Figures\n")
    md += [f"![{Path(f).stem}]({f})\n" for f in figures]
    path = out_dir / "report.md"
    write_text(path, "\n".join(md))  # atomic, no symlink followed
    return path
