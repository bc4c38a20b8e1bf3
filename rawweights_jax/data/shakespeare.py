"""The robot student's reading material: tiny Shakespeare, a character tokenizer, batches.

Tiny Shakespeare (about 1.1 million characters of Shakespeare's plays, the corpus of char-rnn
and nanoGPT) is read from, in order:
1. the folder named by the environment variable RAWWEIGHTS_DATA_DIR, holding
   `tinyshakespeare/input.txt` (for offline machines and CI);
2. the user's cache folder (`$XDG_CACHE_HOME/rawweights` or `~/.cache/rawweights`);
3. a download from its canonical address into that cache.
Whatever the source, the file's sha256 must match the published one.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rawweights_jax.data.tokenizer import CharTokenizer, Tokenizer

SHAKESPEARE_URL = ("https://raw.githubusercontent.com/karpathy/char-rnn/master/"
                   "data/tinyshakespeare/input.txt")
SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
SHAKESPEARE_RELPATH = Path("tinyshakespeare") / "input.txt"
DATA_DIR_ENV = "RAWWEIGHTS_DATA_DIR"


class DataError(RuntimeError):
    """The data set could not be found, downloaded or verified."""



def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "rawweights"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def shakespeare_path(download: bool = True) -> Path:
    """Path of a verified copy of tiny Shakespeare, downloading it into the cache if needed."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        path = Path(env) / SHAKESPEARE_RELPATH
        if not path.is_file():
            raise DataError(f"{DATA_DIR_ENV}={env} but {path} does not exist: that folder must "
                            f"hold {SHAKESPEARE_RELPATH}")
        if _sha256(path) != SHAKESPEARE_SHA256:
            raise DataError(f"{path} does not match tiny Shakespeare's sha256 {SHAKESPEARE_SHA256}")
        return path
    path = cache_dir() / SHAKESPEARE_RELPATH
    if path.is_file() and _sha256(path) == SHAKESPEARE_SHA256:
        return path
    if not download:
        raise DataError(f"tiny Shakespeare is not in {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(SHAKESPEARE_URL, timeout=30) as response:
            payload = response.read()
    except OSError as err:
        raise DataError(
            f"could not download tiny Shakespeare from {SHAKESPEARE_URL} ({err}). Offline? "
            f"Put input.txt (sha256 {SHAKESPEARE_SHA256}) at {path}, or set {DATA_DIR_ENV} to a "
            f"folder holding {SHAKESPEARE_RELPATH}.") from None
    if hashlib.sha256(payload).hexdigest() != SHAKESPEARE_SHA256:
        raise DataError(f"the file downloaded from {SHAKESPEARE_URL} has the wrong sha256")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".input.", suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(payload)
    os.replace(tmp, path)        # atomic: a concurrent reader sees the old file or the new one
    return path


# --8<-- [start:dataset]
def split_text(text: str, val_fraction: float = 0.1) -> tuple[str, str]:
    """The first 1 - val_fraction of the characters for training, the rest for validation
    (nanoGPT's split; cut on characters, so every tokenizer sees the same two texts)."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction={val_fraction!r}: expected a number between 0 and 1")
    split = int(len(text) * (1 - val_fraction))
    return text[:split], text[split:]


@dataclass(frozen=True)
class Dataset:
    """A text encoded once, split 90/10 into training and validation token arrays."""

    tokenizer: Tokenizer
    train_Z: np.ndarray   # int32 token ids; Z counts the tokens of a split
    val_Z: np.ndarray

    @classmethod
    def from_text(cls, text: str, val_fraction: float = 0.1,
                  tokenizer: Tokenizer | None = None) -> Dataset:
        """Split, then encode each split with `tokenizer` (default: the text's characters). A
        learned tokenizer (bpe.train_bpe) should have seen the training split only."""
        train_text, val_text = split_text(text, val_fraction)
        tok = tokenizer or CharTokenizer.from_text(text)
        encode = lambda t: np.asarray(tok.encode(t), dtype=np.int32)
        return cls(tok, encode(train_text), encode(val_text))
# --8<-- [end:dataset]


def shakespeare_text() -> str:
    """Tiny Shakespeare, all 1,115,394 characters of it."""
    return shakespeare_path().read_text(encoding="utf-8")


def load_shakespeare(tokenizer: Tokenizer | None = None) -> Dataset:
    """Tiny Shakespeare as a Dataset (by default 65 characters; 1,003,854 train and 111,540 val
    tokens)."""
    return Dataset.from_text(shakespeare_text(), tokenizer=tokenizer)
