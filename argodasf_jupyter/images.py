"""What a step's image holds, and what the step adds to it so that its cell runs.

The public Dask and RAPIDS images are described by the files in image_contents/ (one
per image line, each saying which build recipe it was derived from); any other image
holds what the user declares under ``argodasf.images``, or is unknown, and then only
the preflight (preflight.py) can tell.

When a known image lacks a distribution the cell imports: one that is on the package
index goes into EXTRA_PIP_PACKAGES, pinned to the kernel's version, on the runner,
scheduler and workers alike (the image's entrypoint installs it at start); anything
else refuses the step, with one line naming what is missing.
"""

from __future__ import annotations

import fnmatch
import functools
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

import yaml

from .config import settings
from .errors import ArgodasfError
from .imports import Imported

CONTENTS_DIR = Path(__file__).with_name("image_contents")
PIP_VARIABLE = "EXTRA_PIP_PACKAGES"


def normalize(name: str) -> str:
    """A distribution name as the package index compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class ImageLine:
    """A public image, one tag per release (image_contents/<line>.yaml)."""

    name: str
    references: tuple[str, ...]
    tag: re.Pattern
    entrypoint: tuple[str, ...]
    installs: Optional[str]  # the variable its entrypoint installs pip packages from
    release: tuple[str, ...]  # distributions at the tag's release
    recipe: tuple[str, ...]
    distributions: tuple[str, ...]

    @property
    def holds(self) -> frozenset[str]:
        return frozenset(map(normalize, self.release + self.recipe + self.distributions))


@functools.lru_cache(maxsize=1)
def image_lines() -> dict[str, ImageLine]:
    lines = {}
    for path in sorted(CONTENTS_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        lines[path.stem] = ImageLine(
            name=path.stem,
            references=tuple(data["references"]),
            tag=re.compile(data["tag"]),
            entrypoint=tuple(data["entrypoint"]),
            installs=data.get("installs"),
            release=tuple(data["release"]),
            recipe=tuple(data.get("recipe", ())),
            distributions=tuple(data["distributions"]),
        )
    return lines


def split_reference(image: str) -> tuple[str, str]:
    """``registry/repository[:tag][@digest]`` -> (repository with registry, tag)."""
    name = image.split("@", 1)[0]
    repository, _, tag = name.rpartition(":")
    if not repository or "/" in tag:  # no tag, or the colon was a registry port
        return name, "latest"
    return repository, tag


@dataclass(frozen=True)
class Contents:
    """The distributions an image holds."""

    image: str
    holds: frozenset[str]
    installs: Optional[str] = None
    release: Optional[str] = None  # the dask/distributed release, when the tag says
    line: Optional[ImageLine] = None


def contents(image: str) -> Optional[Contents]:
    """What ``image`` holds: declared in ``argodasf.images`` (patterns allowed), or
    a public image line's; None when unknown."""
    for pattern, names in settings().images.items():
        if fnmatch.fnmatchcase(image, pattern):
            return Contents(image, frozenset(map(normalize, names)))
    repository, tag = split_reference(image)
    for line in image_lines().values():
        if repository in line.references:
            match = line.tag.fullmatch(tag)
            release = match["release"] if match and line.release else None
            return Contents(image, line.holds, line.installs, release, line)
    return None


@dataclass(frozen=True)
class Provision:
    """What an image lacks of a step's imports."""

    image: str
    contents: Optional[Contents]
    missing: tuple[Imported, ...] = ()

    @property
    def added(self) -> list[Imported]:
        """Missing, and added at start by the image's entrypoint."""
        if self.contents is None or self.contents.installs is None:
            return []
        return [item for item in self.missing if item.on_index]

    @property
    def unavailable(self) -> list[Imported]:
        added = self.added
        return [item for item in self.missing if item not in added]

    def refusal(self, step: str) -> str:
        lacks = ", ".join(_what(item, self.contents) for item in self.unavailable)
        return (
            f"cannot promote step '{step}': its image {self.image} lacks {lacks}; "
            "set `image:` (or --image) to an image that has them"
        )


def _what(item: Imported, held: Optional[Contents]) -> str:
    if item.distribution is None:
        return f"{item.module} (a local module, not installed from the package index)"
    name = f"{item.distribution} {item.version}"
    if not item.on_index:
        return f"{name} (not on the package index: installed from a URL, a directory or in editable mode)"
    return f"{name} (the image installs nothing at start)"


def provision(image: str, imported: Iterable[Imported]) -> Provision:
    held = contents(image)
    if held is None:
        return Provision(image, None)
    missing = tuple(
        item for item in imported if item.distribution is None or normalize(item.distribution) not in held.holds
    )
    return Provision(image, held, missing)


def release_note(image: str) -> Optional[str]:
    """A line when the image's dask/distributed release is not the kernel's."""
    from distributed import __version__ as kernel

    held = contents(image)
    if held is None or held.release is None or held.release == kernel:
        return None
    return (
        f"the image {image} runs distributed {held.release} in the runner, scheduler and workers alike; "
        f"this kernel has {kernel}, so the step may behave differently than here"
    )


def pip_packages(provided: Provision, existing: str = "") -> str:
    """EXTRA_PIP_PACKAGES: what the user set, then the missing pins."""
    return " ".join(filter(None, [existing.strip(), *sorted(item.pin() for item in provided.added)]))


class ReleaseWarning(UserWarning):
    """The image's dask/distributed release differs from the kernel's."""


def image_of(spec) -> str:
    """The image a cluster of ``spec`` runs (its own, else the default)."""
    from .manifests import default_image

    return spec.image or default_image(gpu=bool(spec.gpus_per_worker))


def check_promotable(spec, imported: Iterable[Imported], step: str) -> None:
    """Refuse a step whose image cannot be given what the cell imports; warn when
    its dask release is not the kernel's."""
    image = image_of(spec)
    provided = provision(image, imported)
    if provided.unavailable:
        raise ArgodasfError(provided.refusal(step))
    note = release_note(image)
    if note:
        warnings.warn(note, ReleaseWarning, stacklevel=3)


def provisioned(spec, imported: Iterable[Imported], step: str):
    """``spec`` with EXTRA_PIP_PACKAGES holding what its image lacks (unless
    ``argodasf.workflow.install-missing`` is off)."""
    if not settings().workflow.install_missing:
        return spec
    provided = provision(image_of(spec), imported)
    if provided.unavailable:
        raise ArgodasfError(provided.refusal(step))
    if not provided.added:
        return spec
    env = dict(spec.env)
    env[PIP_VARIABLE] = pip_packages(provided, env.get(PIP_VARIABLE, ""))
    return spec.with_changes(env=env)
