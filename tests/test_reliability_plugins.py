"""A bug in a user's plugin is the user's error: at the plugin's line and at the spec line using the block.

Each case was "internal compiler error ... this is a bug in fgir" (exit 3), or, for a torch.nn
layer assigned in a block, a network silently missing it ("ok: 3 layers").
"""

from __future__ import annotations

import textwrap

import pytest

from fgir.cli import main

SPEC = "search_space:\n  modules: [init, b]\n  init: {type: SmallInputInitialBlock}\n  b:\n    type: {block}\n"


@pytest.fixture(autouse=True)
def _forget_plugin_blocks():
    """Each test's plugin registers its own blocks; none outlives the test."""
    from fgir.plugins import forget_plugins

    yield
    forget_plugins()


def check(tmp_path, monkeypatch, capsys, plugin: str, block: str) -> tuple[int, str, str]:
    """``fgir check --plugin plugin.py spec.yaml`` in tmp_path: exit status, stdout, stderr."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plugin.py").write_text(textwrap.dedent(plugin).lstrip("\n"))
    (tmp_path / "spec.yaml").write_text(SPEC.replace("{block}", block))
    status = main(["check", "--plugin", "plugin.py", "spec.yaml"])
    out, err = capsys.readouterr()
    return status, out, err


def test_the_guides_vega_code_is_located_with_a_note(tmp_path, monkeypatch, capsys):
    status, _, err = check(tmp_path, monkeypatch, capsys, """
        @ClassFactory.register(ClassType.NETWORK)
        class VegaStage(FineGrainedSpace):
            def constructor(self, in_plane):
                pass
        """, "VegaStage")
    assert status == 1
    assert err == ("plugin.py:1:2: error: the plugin raised NameError: name 'ClassFactory' is not defined\n"
                   "plugin.py:1:2: note: ClassFactory, ClassType and FineGrainedSpace are Vega's: an fgir block "
                   "subclasses fgir.blocks.Block and is registered with @fgir.blocks.register_block (see "
                   "examples/user_blocks/searchable_stage.py)\n"
                   "fgir: 1 error\n")


def test_a_syntax_error_points_at_its_line_and_column(tmp_path, monkeypatch, capsys):
    status, _, err = check(tmp_path, monkeypatch, capsys, """
        from fgir.blocks import Block
        def broken(:
            pass
        """, "Anything")
    assert (status, err) == (1, "plugin.py:2:12: error: SyntaxError: invalid syntax\nfgir: 1 error\n")


def test_a_missing_import_in_the_plugin_is_the_users_error(tmp_path, monkeypatch, capsys):
    status, _, err = check(tmp_path, monkeypatch, capsys, "import no_such_package_for_fgir\n", "Anything")
    assert (status, err) == (1, "plugin.py:1:1: error: the plugin raised ModuleNotFoundError: No module named "
                                "'no_such_package_for_fgir'\nfgir: 1 error\n")


def test_an_exception_in_a_constructor_is_at_its_line_and_at_the_spec(tmp_path, monkeypatch, capsys):
    status, _, err = check(tmp_path, monkeypatch, capsys, """
        from fgir.blocks import Block, register_block

        @register_block
        class KeyBoom(Block):
            def constructor(self, width: int = 3):
                table = {}
                return table["missing"]
        """, "KeyBoom")
    assert (status, err) == (1, "plugin.py:7:16: error: KeyBoom.constructor raised KeyError: 'missing'\n"
                                "spec.yaml:5:5: note: b: used here\nfgir: 1 error\n")


def test_an_exception_in_forward_and_a_forward_returning_none(tmp_path, monkeypatch, capsys):
    status, _, err = check(tmp_path, monkeypatch, capsys, """
        from fgir.blocks import Block, ReLU, register_block

        @register_block
        class ForwardBoom(Block):
            def constructor(self):
                self.relu = ReLU()

            def forward(self, x):
                raise ValueError("the user's forward failed")

        @register_block
        class ForwardNone(Block):
            def constructor(self):
                self.relu = ReLU()

            def forward(self, x):
                x = self.relu(x)
        """, "ForwardBoom")
    assert (status, err) == (1, "plugin.py:9:9: error: ForwardBoom.forward raised ValueError: the user's forward "
                                "failed\nspec.yaml:5:5: note: b: used here\nfgir: 1 error\n")
    (tmp_path / "spec.yaml").write_text(SPEC.replace("{block}", "ForwardNone"))
    assert main(["check", "--plugin", "plugin.py", "spec.yaml"]) == 1
    assert capsys.readouterr().err == (
        "plugin.py:16:1: error: ForwardNone.forward returned None, not the value its layers give\n"
        "plugin.py:16:1: note: end forward with: return x (where x = self.conv(x), ...)\n"
        "spec.yaml:5:5: note: b: used here\nfgir: 1 error\n")


def test_registering_something_that_is_not_a_block(tmp_path, monkeypatch, capsys):
    status, _, err = check(tmp_path, monkeypatch, capsys, """
        from fgir.blocks import register_block

        @register_block
        class NotABlock:
            pass
        """, "NotABlock")
    assert (status, err) == (1, "plugin.py:3:2: error: fgir.register_block: 'NotABlock' is not a block: a block "
                                "subclasses fgir.blocks.Block (or fgir.blocks.Layer for one op)\nfgir: 1 error\n")


def test_a_torch_layer_assigned_in_a_block_is_an_error_naming_the_fgir_layer(tmp_path, monkeypatch, capsys):
    status, out, err = check(tmp_path, monkeypatch, capsys, """
        import torch
        from fgir.blocks import Block, ReLU, register_block

        @register_block
        class TorchInside(Block):
            def constructor(self):
                self.conv = torch.nn.Conv2d(16, 16, 3)
                self.relu = ReLU()
        """, "TorchInside")
    assert (status, out) == (1, "")
    assert err == ("plugin.py:7:9: error: TorchInside.conv is a torch.nn.Conv2d: a block is built from fgir "
                   "layers; a torch module would be left out of the network\n"
                   "plugin.py:7:9: note: use fgir.blocks.Conv2d (torch.nn's argument names)\n"
                   "spec.yaml:5:5: note: b: used here\nfgir: 1 error\n")


def test_a_list_of_layers_would_be_dropped_too(tmp_path, monkeypatch, capsys):
    status, _, err = check(tmp_path, monkeypatch, capsys, """
        from fgir.blocks import Block, Conv2d, ReLU, register_block

        @register_block
        class ListInside(Block):
            def constructor(self):
                self.layers = [Conv2d(16, 16, 3, padding=1), ReLU()]
        """, "ListInside")
    assert (status, err.splitlines()[0]) == (1, "plugin.py:6:9: error: ListInside.layers is a list of layers: "
                                                "only layers and blocks assigned one by one are part of the network")


def test_a_bad_argument_to_a_layer_the_code_makes_points_at_that_line(tmp_path, monkeypatch, capsys):
    status, _, err = check(tmp_path, monkeypatch, capsys, """
        from fgir.blocks import Block, Conv2d, register_block

        @register_block
        class BadWidth(Block):
            def constructor(self):
                self.conv = Conv2d(16, -3, 3)
        """, "BadWidth")
    assert (status, err) == (1, "spec.yaml:5:5: error: b.out_channels: expected a positive integer, got -3\n"
                                "plugin.py:6:21: note: made here\nfgir: 1 error\n")


def test_a_block_that_builds_nothing_warns(tmp_path, monkeypatch, capsys):
    status, out, err = check(tmp_path, monkeypatch, capsys, """
        from fgir.blocks import Block, register_block

        @register_block
        class BuildsNothing(Block):
            def constructor(self):
                pass
        """, "BuildsNothing")
    assert status == 0
    assert err == ("spec.yaml:5:5: warning: b: BuildsNothing builds nothing: it passes its input on unchanged\n"
                   "spec.yaml:5:5: note: its constructor assigns no layers or blocks (self.conv = Conv2d(...)), "
                   "or its forward returns its input\n")
    assert out.startswith("spec.yaml: ok: 3 layers")


def test_an_unknown_type_suggests_the_plugin_flag_when_no_plugin_was_given(tmp_path, monkeypatch, capsys):
    from fgir.blocks import BLOCKS

    for name, cls in list(BLOCKS.items()):   # the blocks other tests' modules registered: not there for a user
        if not cls.__module__.startswith("fgir."):
            monkeypatch.delitem(BLOCKS, name)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text(SPEC.replace("{block}", "Sparkle"))
    assert main(["check", "spec.yaml"]) == 1
    assert capsys.readouterr().err == (
        "spec.yaml:5:11: error: b.type: unknown block type 'Sparkle'\n"
        "spec.yaml:5:11: note: if 'Sparkle' is a block of your own, load the Python file that registers it: "
        "--plugin FILE.py (fgir.plugins.load_plugin in Python); 'fgir blocks' lists the known types\n"
        "fgir: 1 error\n")


def test_a_plugin_that_cannot_be_read_is_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text(SPEC.replace("{block}", "ReLU"))
    assert main(["check", "--plugin", "nowhere.py", "spec.yaml"]) == 2
    assert main(["check", "--plugin", "no_such_module_for_fgir", "spec.yaml"]) == 2
    assert capsys.readouterr().err == (
        "nowhere.py: error: no such plugin file\n"
        "no_such_module_for_fgir: error: no plugin module 'no_such_module_for_fgir' can be imported\n"
        "no_such_module_for_fgir: note: give a .py file, or a module on the Python path\n")


