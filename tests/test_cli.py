from qtaml_hw.cli import build_parser


def test_every_command_has_help(cli):
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert sub.choices, "no subcommands registered"
    for name in sub.choices:
        code, out, err = cli(name, "--help")
        assert code == 0, (name, err)
        assert "usage:" in out


def test_unknown_command_is_one_line_exit_2(cli):
    code, out, err = cli("no-such-command")
    assert code == 2
    assert len(err.strip().splitlines()) == 1


def test_unwritable_output_is_one_line_exit_2(cli, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code, out, err = cli("physics", "--plot-dir", str(blocker / "figs"))
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "error:" in err and "Traceback" not in err


def test_failing_external_tool_is_one_line_exit_2(cli, monkeypatch):
    import subprocess

    import qtaml_hw.commands.physics as physics

    def boom(args):
        raise subprocess.TimeoutExpired(cmd="yosys -q", timeout=1)

    monkeypatch.setattr(physics, "run", boom)
    from qtaml_hw.cli import main

    monkeypatch.setattr("qtaml_hw.cli._command_modules", lambda: [physics])
    code = main(["physics"])
    assert code == 2
