"""Command-line commands of this capability (registered by darkfigure.cli)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer


def register(app: typer.Typer, user_errors: Callable[[], Any]) -> None:
    """Add this capability's commands to ``app``; ``user_errors()`` turns DarkfigureError into exit 2."""

    @app.command()
    def encode(
        mapping: Annotated[
            Path | None, typer.Argument(help="TOML naming each list's file and its identity columns (as for link).")
        ] = None,
        secret: Annotated[Path | None, typer.Option(help="File with the shared secret (32 bytes or more).")] = None,
        out: Annotated[Path | None, typer.Option(help="Folder for one <list>.clk.jsonl file per list.")] = None,
        schema: Annotated[
            Path | None,
            typer.Option(help="Encoding schema: a TOML file, or a shipped one by name (person-v2, the default; "
                         "person-v3, field by field: more accurate, weaker against the hub, see docs/pprl.md)."),
        ] = None,
        new_secret: Annotated[
            Path | None, typer.Option(help="Create a new random 32-byte secret in this file (mode 0600) and stop.")
        ] = None,
        force: Annotated[bool, typer.Option(help="Replace earlier encoded files in OUT.")] = False,
    ) -> None:
        """Encode each list's identity fields as hardened Bloom filters with a shared secret (PPRL)."""
        with user_errors():
            if new_secret is not None:
                summary = new_secret_command(new_secret)
            else:
                summary = encode_command(mapping, secret, out, schema, force)
        typer.echo(summary)


def new_secret_command(path: Path) -> str:
    """Create a secret file; the summary says how to share it.

    >>> import tempfile
    >>> new_secret_command(Path(tempfile.mkdtemp()) / "secret")  # doctest: +ELLIPSIS
    'Wrote a new 32-byte secret to .../secret (readable by you only). Share it ...'
    """
    from darkfigure.pprl.encode import new_secret

    new_secret(path)
    return (
        f"Wrote a new 32-byte secret to {path} (readable by you only). Share it with the other "
        "organisations over a safe channel; never with the linkage hub or the analyst."
    )


def encode_command(
    mapping: Path | None, secret: Path | None, out: Path | None, schema: Path | None = None, force: bool = False
) -> str:
    """Encode every list a mapping file names into ``out`` (one ``<list>.clk.jsonl`` each), all or nothing.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "a.csv").write_text("name,born\\nKim Min-ji,1990\\n")
    >>> _ = (d / "m.toml").write_text('[lists.A]\\nfile = "a.csv"\\nfull_name = "name"\\nbirth_year = "born"\\n')
    >>> _ = new_secret_command(d / "secret")
    >>> print(encode_command(d / "m.toml", d / "secret", d / "out"))  # doctest: +ELLIPSIS
    Encoded 1 list (A: 1 record) with schema darkfigure-person-v2 into .../out.
    """
    import re
    import shutil
    import tempfile

    from darkfigure._atomic import check_output_folder, swap_in_folder
    from darkfigure.errors import InputError
    from darkfigure.linkage import identity_frame, read_lists, read_mapping
    from darkfigure.pprl.encode import encode_list, read_secret, write_encoded
    from darkfigure.pprl.schema import read_schema, read_schema_named

    if mapping is None or secret is None or out is None:
        raise InputError(
            "MAPPING, --secret and --out are required: darkfigure encode MAPPING.toml --secret FILE "
            "--out DIR (or darkfigure encode --new-secret FILE)"
        )
    shipped = schema is not None and not schema.exists() and schema.name == str(schema) and schema.suffix == ""
    key, encoding = read_secret(secret), read_schema_named(str(schema)) if shipped else read_schema(schema)
    check_output_folder(out, force, _not_encoded, "encoding")
    column_mapping = read_mapping(mapping)
    frame = identity_frame(read_lists(column_mapping), column_mapping)
    encoded = [encode_list(part, encoding, key, name) for name, part in frame.groupby("list", sort=False)]
    for e in encoded:
        if not re.fullmatch(r"[\w][\w.-]*", e.name):
            raise InputError(
                f"list name {e.name!r} cannot name a file; use letters, digits, '.', '-' and '_'", source=str(mapping)
            )
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        for e in encoded:
            write_encoded(e, staging / f"{e.name}.clk.jsonl")
        staging.chmod(0o755)
        swap_in_folder(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    counts = ", ".join(f"{e.name}: {e.n_records} record{'s' if e.n_records != 1 else ''}" for e in encoded)
    plural = "s" if len(encoded) != 1 else ""
    summary = f"Encoded {len(encoded)} list{plural} ({counts}) with schema {encoding.name} into {out}."
    if encoding.segments:
        summary += (
            f"\nwarning: {encoding.name} keeps each field in its own segment: whoever links these files can rank "
            "records by family name (a frequency attack re-identified 47-63% of family names per simulated list). "
            "Use it only with a linkage hub trusted with that (docs/pprl.md)."
        )
    return summary


def _not_encoded(entries: list[str]) -> str | None:
    foreign = [p for p in entries if not p.endswith(".clk.jsonl")]
    return f"it has {foreign[0]!r}" if foreign else None
