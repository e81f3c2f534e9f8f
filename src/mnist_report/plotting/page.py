"""Builds the HTML template of ``dvc plots show`` / ``dvc plots diff`` that works offline: vega,
vega-lite and vega-embed inlined from their npm packages at the pinned versions below.

DVC's own page loads the three libraries from a CDN; without network none of its charts draws.
``.dvc/config`` points ``plots.html_template`` at :data:`TEMPLATE_PATH`, which set-up
(``bash bootstrap.sh setup``) writes with ``python -m mnist_report.plots_page``: each package is
fetched once with ``npm pack`` into :data:`NPM_CACHE`, checked against its pinned integrity (the
``dist.integrity`` the npm registry publishes) and its ``build/*.min.js`` inlined.
Not a pipeline stage: the page is a view of the pipeline's outputs, not one of them.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import shutil
import subprocess
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mnist_report.common.errors import PipelineError
from mnist_report.common.files import write_text


@dataclass(frozen=True)
class Package:
    """One npm package: name, pinned version, the registry's sha512 of its tarball, the script inlined."""

    name: str
    version: str
    integrity: str
    script: str  # the path of the browser build inside the tarball

    @property
    def tarball(self) -> str:
        """The file name ``npm pack`` gives the tarball: ``vega-lite-5.23.0.tgz``."""
        return f"{self.name}-{self.version}.tgz"


#: The major versions DVC's page loads (vega 5, vega-lite 5, vega-embed 6: DVC's specs declare the
#: vega-lite v5 schema), each at its latest release; in load order (vega-lite needs vega, vega-embed both).
PACKAGES = (
    Package("vega", "5.33.1",
            "sha512-1fArfVDUqVbb5z8n+/nVQb+VNBzx8svY6CrsyTK4Ujm4yrd9I1auoKxBAPXLCavY1LcrbHUskQbGUP8gXOzyQw==",
            "package/build/vega.min.js"),
    Package("vega-lite", "5.23.0",
            "sha512-l4J6+AWE3DIjvovEoHl2LdtCUkfm4zs8Xxx7INwZEAv+XVb6kR6vIN1gt3t2gN2gs/y4DYTs/RPoTeYAuEg6mA==",
            "package/build/vega-lite.min.js"),
    Package("vega-embed", "6.29.0",
            "sha512-PmlshTLtLFLgWtF/b23T1OwX53AugJ9RZ3qPE2c01VFAbgt3/GSNI/etzA/GzdrkceXFma+FDHNXUppKuM0U6Q==",
            "package/build/vega-embed.min.js"),
)

NPM_CACHE = Path(".cache/npm")
#: Where ``.dvc/config``'s ``plots.html_template`` points (DVC reads it relative to ``.dvc/``).
TEMPLATE_PATH = Path(".cache/plots/offline.html")

#: DVC fills these two placeholders (dvc_render.html): ``{plot_divs}`` with the charts, ``{scripts}``
#: with its CDN ``<script>`` tags, which this page leaves out. ``{refresh_tag}`` serves ``--open`` refreshes.
PAGE = """<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
{refresh_tag}
<title>DVC plots: MNIST report</title>
VERSIONS
SCRIPTS
<style>
body { font-family: sans-serif; }
table { border-spacing: 15px; }
</style>
</head>
<body>
{plot_divs}
</body>
</html>
"""
PLACEHOLDERS = ("{plot_divs}", "{scripts}", "{refresh_tag}")


def integrity(data: bytes) -> str:
    """Returns the npm ``dist.integrity`` of a tarball: ``sha512-`` and the base64 of its SHA-512."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def tarball_bytes(package: Package, cache: Path, npm: str | None) -> bytes:
    """Returns ``package``'s tarball from ``cache``, fetching it with ``npm pack`` first when it is
    missing or does not match the pinned integrity; raises PipelineError when it cannot be had."""
    path = cache / package.tarball
    if path.is_file() and integrity(path.read_bytes()) == package.integrity:
        return path.read_bytes()
    if npm is None:
        raise PipelineError(f"npm not found: needed once to fetch {package.name}@{package.version} into {cache} "
                            "(Debian: apt-get install npm)")
    cache.mkdir(parents=True, exist_ok=True)
    # The spec is a constant of this module, never text from a file; after `--` it cannot be an option.
    result = subprocess.run([npm, "pack", "--silent", "--pack-destination", str(cache), "--",
                             f"{package.name}@{package.version}"], capture_output=True, text=True, check=False)
    if result.returncode != 0 or not path.is_file():
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise PipelineError(f"npm pack {package.name}@{package.version} failed (exit {result.returncode}): {last}")
    data = path.read_bytes()
    if integrity(data) != package.integrity:
        path.unlink()
        raise PipelineError(f"{path}: integrity {integrity(data)}; expected the pinned {package.integrity}")
    return data


def script_of(package: Package, data: bytes) -> str:
    """Returns the browser build ``package.script`` from the tarball ``data``, safe to inline in a
    ``<script>`` element and in DVC's template (no ``</script``, none of DVC's placeholders)."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        try:
            member = tar.extractfile(package.script)
        except KeyError:
            member = None
        if member is None:
            raise PipelineError(f"{package.tarball}: no {package.script}")
        text = member.read().decode("utf-8")
    # "<\/script" is the same string or regular expression in JavaScript, and does not end the element.
    text = re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE)
    for placeholder in PLACEHOLDERS:
        if placeholder in text:
            raise PipelineError(f"{package.tarball}: {package.script} holds {placeholder}, which DVC would replace")
    return text


def versions_comment(packages: Sequence[Package]) -> str:
    """Returns the comment that names what a template inlines (how set-up tells an up-to-date one)."""
    return "<!-- vega, vega-lite and vega-embed inlined (no network needed): " + ", ".join(
        f"{package.name} {package.version}" for package in packages) + " -->"


def up_to_date(output: Path = TEMPLATE_PATH) -> bool:
    """Returns True when ``output`` is a template of the pinned :data:`PACKAGES`."""
    try:
        return versions_comment(PACKAGES) in output.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False


def page(scripts: Sequence[tuple[Package, str]]) -> str:
    """Returns the HTML template with ``scripts`` (package, its code) inlined in order."""
    inlined = "\n".join(f"<script>/* {package.name}@{package.version} */\n{code}\n</script>" for package, code in scripts)
    return PAGE.replace("VERSIONS", versions_comment([package for package, _ in scripts])).replace("SCRIPTS", inlined)


def build(cache: Path = NPM_CACHE, output: Path = TEMPLATE_PATH, npm: str | None = None) -> Path:
    """Writes the offline template to ``output`` (atomically) from the pinned packages; returns ``output``."""
    npm = npm if npm is not None else shutil.which("npm")
    scripts = [(package, script_of(package, tarball_bytes(package, cache, npm))) for package in PACKAGES]
    write_text(output, page(scripts))
    return output
