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
