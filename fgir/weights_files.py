"""What kind of file a weights file is, told from its first bytes, without importing torch.

``fgir check`` uses it to check a Prune spec's ``init_model_file`` (it imports no
torch), and the checkpoint readers use it to name what a file is when torch cannot
load it ("an ONNX model, not a checkpoint").

Example:
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> (folder / "notes.txt").write_text("hello")
    5
    >>> weights_file_problem(folder / "notes.txt")
    'is not a torch checkpoint (a file torch.save writes)'
    >>> weights_file_problem(folder / "missing.pt")
    'no such file'
"""

from __future__ import annotations

from pathlib import Path

# torch.save's legacy (non-zip) format: a pickle (protocol 2) of torch's magic number, 0x1950a86a20f9469cfc6c
_LEGACY_TORCH = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19"
_ZIP = b"PK\x03\x04"


def spec_relative(spec_file: str | None, name: str) -> Path:
    """A file a spec names, as the spec means it: a relative name is taken from the spec's folder
    (spec text without a file, ``<string>``, reads from the working directory)."""
    path = Path(name)
    if path.is_absolute() or not spec_file or spec_file.startswith("<"):
        return path
    return Path(spec_file).parent / path


def looks_like_onnx(head: bytes, path: Path) -> bool:
    """An ONNX ModelProto: a protobuf whose first field is ir_version (field 1, a varint: byte 0x08)."""
    return path.suffix.lower() == ".onnx" or (head[:1] == b"\x08" and b"\x12" in head[2:6])


def weights_file_problem(path: str | Path) -> str | None:
    """Why ``path`` is not a torch checkpoint (``torch.save``'s file), or None when it looks like one."""
    path = Path(path)
    if not path.exists():
        return "no such file"
    if not path.is_file():
        return "is not a file"
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if head.startswith(_ZIP):
        import zipfile   # here: fgir check imports this module, and most specs name no weights file

        try:
            with zipfile.ZipFile(path) as archive:
                if any(name.endswith("/data.pkl") or name == "data.pkl" for name in archive.namelist()):
                    return None
        except (zipfile.BadZipFile, OSError):
            pass
        return "is a zip file, but not a torch checkpoint (no data.pkl inside)"
    if head.startswith(_LEGACY_TORCH):
        return None
    if looks_like_onnx(head, path):
        return "is an ONNX model, not a weights checkpoint"
    return "is not a torch checkpoint (a file torch.save writes)"


CHECKPOINT_HINT = ("weights come from a .pt file: fgir compile -o model.pt, fgir train, fgir.save_model, "
                   "or torch.save(model.state_dict(), 'model.pt')")

__all__ = ["CHECKPOINT_HINT", "looks_like_onnx", "weights_file_problem"]
