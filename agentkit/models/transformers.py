"""A local Hugging Face Transformers model as an agentkit backend (extra `local`).

    model = TransformersModel("/models/Qwen3-0.6B")           # or a Hub id already in the local cache
    agent = Agent(model=model, tools=[...])

Loading is offline: a folder, a `.gguf` file (or a folder holding one; transformers dequantizes it, which needs
the `gguf` and `accelerate` packages of the `local` extra), or a Hub id that is already in the Hugging Face
cache (`huggingface-cli download ID` puts it there). Nothing is fetched from the network.

The tool-call family comes from `family=`, then `AGENTKIT_MODEL_FAMILY` (what `agentkit run --family` sets),
then the chat template, the model's name and its config's model_type. A chat template that ignores `tools`
(SmolLM2's does) would hide every tool from the model: such a model gets agentkit's own prompt for its family
instead, with one warning.

The backend streams raw model text, control tokens the parsers need included (Harmony's `<|channel|>` and
`<|call|>`, Qwen's `<tool_call>`), and sets `text_format` so the agent loop's parser recovers the tool calls;
it never runs a tool. The prompt comes from the tokenizer's chat template (tools passed as OpenAI-style
function dicts, control tokens inside messages encoded as plain text so a tool result cannot forge a turn),
or, for a tokenizer without one, from `agentkit.prompts` for the model's family.

Between turns the model keeps its KV cache and the ids it holds, so each turn prefills only what is new
(see `_local_decode.KVState`); greedy output is the same with `reuse_cache=False`. One instance serves one
conversation at a time: a second concurrent stream on the same instance runs with a private cache.

Device and threads: CUDA when available (bfloat16 where supported, else float16), otherwise CPU in
float32. On CPU, PyTorch uses one intra-op thread per core; set `OMP_NUM_THREADS` before starting Python,
or call `torch.set_num_threads(n)` yourself (process-wide), to share the cores with other work. Tiny models
are bound by per-token Python overhead, so 1 or 2 threads run them equally fast.

Generation runs in a worker thread in short slices (`chunk_seconds`), so the event loop stays free and
text arrives while the model is still decoding.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
import warnings
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio

from agentkit import prompts
from agentkit.errors import ConfigError, ContextOverflow, MissingExtra, ModelError, clip
from agentkit.messages import Message, StopReason, StreamEvent, TextDelta, TurnEnd, Usage
from agentkit.models.base import ModelSettings
from agentkit.tooling import ToolDefinition

try:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase
except ImportError as _exc:
    _missing = MissingExtra(_exc.name or "transformers", "local")
    _missing.args = (f"{_missing} (on a CPU-only machine, install torch first: pip install torch==2.13.0)",)
    raise _missing from _exc

from agentkit.models._local_decode import DecodeOptions, Decoder, KVState

__all__ = ["TransformersModel"]

# Stop tokens whose text the parser still needs: Harmony ends a call with <|call|> and an answer with <|return|>.
_KEPT_STOP_TOKENS = {"harmony": ("<|call|>", "<|return|>")}
_FAMILY_ALIASES = {"qwen3": "hermes", "gpt-oss": "harmony", "gpt_oss": "harmony", "qwen3-coder": "qwen3_coder"}
_MODEL_TYPES = {"gpt_oss": "harmony", "qwen3_moe": "qwen3_coder", "qwen3": "hermes", "qwen2": "hermes"}


def _canonical_family(family: str) -> str:
    name = _FAMILY_ALIASES.get(family.lower(), family.lower())
    if name not in prompts.FAMILIES:
        known = ", ".join(sorted({*prompts.FAMILIES, *_FAMILY_ALIASES}))
        raise ConfigError(f"unknown model family {family!r}; use one of: {known}")
    return name


def _template_text(tokenizer: PreTrainedTokenizerBase) -> str:
    template = getattr(tokenizer, "chat_template", None)
    if isinstance(template, dict):
        return "\n".join(str(t) for t in template.values())
    return template or ""


def _detect_family(tokenizer: PreTrainedTokenizerBase, model_type: str, name: str) -> str:
    """Read the family off the chat template, then the model's name, then its architecture."""
    template = _template_text(tokenizer)
    if "<|channel|>" in template:
        return "harmony"
    if "<function=" in template:
        return "qwen3_coder"
    if "<tool_call>" in template:
        return "hermes"
    from_name = prompts.family_for_model(name)
    if from_name is not None:
        return from_name
    if model_type in _MODEL_TYPES:
        return _MODEL_TYPES[model_type]
    raise ConfigError(
        f"cannot tell which tool-call format {name!r} uses: its chat template shows no tool-call markup and its "
        f"config's model_type {model_type!r} names no known family; pass family='hermes', 'qwen3_coder' or "
        "'harmony' (on the command line: --family hermes)"
    )


# ---- loading --------------------------------------------------------------------------------------


@contextmanager
def _offline() -> Iterator[None]:
    """HF_HUB_OFFLINE=1 for the duration of a load, so nothing waits on the network."""
    before = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = before


def _looks_like_path(spec: str) -> bool:
    return spec.startswith(("/", ".", "~")) or spec.count("/") > 1 or os.sep + os.sep in spec


def _pick_device(device: str | None) -> torch.device:
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _pick_dtype(dtype: str | torch.dtype | None, device: torch.device) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    if isinstance(dtype, str):
        value = getattr(torch, dtype.removeprefix("torch."), None)
        if not isinstance(value, torch.dtype):
            raise ConfigError(f"unknown dtype {dtype!r}; use e.g. 'float32', 'bfloat16' or 'float16'")
        return value
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def gguf_source(path: Path) -> tuple[Path, str | None]:
    """(folder, GGUF file name or None) for a local path: a .gguf file, or a folder holding exactly one and no
    config.json (a folder made by save_pretrained loads as it is)."""
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            raise ConfigError(f"{str(path)!r} is a file but not a .gguf; pass a .gguf file or a model folder")
        return path.parent, path.name
    if (path / "config.json").is_file():
        return path, None
    found = sorted(p.name for p in path.glob("*.gguf"))
    if len(found) > 1:
        raise ConfigError(f"folder {str(path)!r} holds several .gguf files ({', '.join(found)}); pass the one to load")
    return path, (found[0] if found else None)


def _require_gguf_support() -> None:
    for package in ("gguf", "accelerate"):  # transformers needs both to read and dequantize a GGUF file
        if importlib.util.find_spec(package) is None:
            raise MissingExtra(package, "local")


def _load(spec: str, dtype: torch.dtype) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    source: str | Path = spec
    gguf_file: str | None = None
    path = Path(spec).expanduser()
    if path.exists():
        source, gguf_file = gguf_source(path)
    elif _looks_like_path(spec) or spec.lower().endswith(".gguf"):
        raise ConfigError(
            f"model path {spec!r} does not exist; pass a folder made by save_pretrained, a .gguf file or a Hub id"
        )
    extra: dict[str, Any] = {}
    if gguf_file is not None:
        _require_gguf_support()
        extra["gguf_file"] = gguf_file
    try:
        with _offline():
            tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True, **extra)
            model = AutoModelForCausalLM.from_pretrained(source, local_files_only=True, dtype=dtype, **extra)
    except (OSError, ValueError) as exc:
        reason = f"{exc.__class__.__name__}: {clip(' '.join(str(exc).split()), 300)}"
        if isinstance(source, Path):
            raise ConfigError(
                f"cannot load model {spec!r} from its local folder ({reason}); the folder needs config.json and "
                "weights saved by save_pretrained, or a single .gguf file"
            ) from exc
        cause = "it is not in the local Hugging Face cache" if isinstance(exc, OSError) else reason
        raise ConfigError(
            f"cannot load model {spec!r}: {cause} (agentkit loads models offline, from HF_HOME or "
            f"~/.cache/huggingface). Download it first with `huggingface-cli download {spec}`, "
            "or pass the path of a local model folder or .gguf file"
        ) from exc
    return model, tokenizer


# ---- messages -> chat template input --------------------------------------------------------------


def _call_arguments(arguments: Any) -> dict[str, Any]:
    """Chat templates need a mapping; a call whose arguments never decoded is shown as its raw text."""
    if isinstance(arguments, dict):
        return arguments
    if isinstance(arguments, str):
        try:
            decoded = json.loads(arguments)
        except ValueError:
            decoded = None
        if isinstance(decoded, dict):
            return decoded
    return {"raw": arguments}


def _chat_dicts(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """agentkit messages in the OpenAI-like shape chat templates read."""
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "tool":
            out += [
                {"role": "tool", "tool_call_id": r.call_id, "name": r.name, "content": r.content}
                for r in m.tool_results
            ]
            continue
        entry: dict[str, Any] = {"role": m.role, "content": m.content}
        if m.role == "assistant":
            if m.reasoning:
                entry["reasoning_content"] = m.reasoning  # Qwen3 templates
                entry["thinking"] = m.reasoning  # gpt-oss templates
            if m.tool_calls:
                entry["tool_calls"] = [
                    {
                        "id": c.id,
                        "type": "function",
                        "function": {"name": c.name, "arguments": _call_arguments(c.arguments)},
                    }
                    for c in m.tool_calls
                ]
        out.append(entry)
    return out


# ---- the backend ----------------------------------------------------------------------------------


class TransformersModel:
    """A causal LM loaded with transformers, decoded token by token with a reusable KV cache.

    - `path_or_id`: a folder made by `save_pretrained`, or a Hub id already in the local Hugging Face cache.
    - `device` / `dtype`: default CUDA in bfloat16 (float16 where bf16 is unsupported), else CPU in float32.
    - `family`: "qwen3_coder", "hermes" (alias "qwen3") or "harmony" (alias "gpt-oss"); read from the chat
      template, the model's name or its architecture when not given.
    - `reuse_cache`: keep the KV cache between turns (greedy output is the same either way).
    - `max_new_tokens`: the turn's token budget when `ModelSettings.max_tokens` is not set.
    - `chunk_seconds`: how long one worker-thread slice decodes before its text is handed to the event loop.

    `ModelSettings` fields used: max_tokens, temperature (None or 0: greedy), top_p, stop, reasoning_effort
    (passed to the chat template); `extra`: `seed` (sampling), `min_tokens` (stop tokens masked until then) and
    `chat_template_kwargs` (more template variables, e.g. `{"enable_thinking": False}`).
    """

    def __init__(
        self,
        path_or_id: str | os.PathLike[str],
        *,
        device: str | None = None,
        dtype: str | torch.dtype | None = None,
        family: str | None = None,
        reuse_cache: bool = True,
        max_new_tokens: int = 1024,
        chunk_seconds: float = 0.05,
    ) -> None:
        spec = os.fspath(path_or_id)
        self.name = spec
        self.device = _pick_device(device)
        self.dtype = _pick_dtype(dtype, self.device)
        self.model, self.tokenizer = _load(spec, self.dtype)
        self.model.to(self.device)  # type: ignore[arg-type]
        self.model.eval()
        model_type = str(getattr(self.model.config, "model_type", ""))
        family = family or os.environ.get("AGENTKIT_MODEL_FAMILY") or None
        self.family = _canonical_family(family) if family else _detect_family(self.tokenizer, model_type, spec)
        self.text_format: str | None = prompts.FAMILIES[self.family].parser_format
        self.reuse_cache = reuse_cache
        self.max_new_tokens = max_new_tokens
        self.chunk_seconds = chunk_seconds
        self._stop_ids, self._emit_stop_text = self._stop_tokens()
        self._kv = KVState(self.model)
        self._kv_lock = threading.Lock()  # held by the stream that owns the shared cache
        self._tokenizer_lock = threading.Lock()  # fast tokenizers raise "Already borrowed" when encoding concurrently
        self.own_prompt = not _template_text(self.tokenizer) or self._template_drops_tools()
        self.text_thinking = self._prompt_opens_think()
        window = getattr(self.model.config, "max_position_embeddings", None)
        self.context_window: int | None = window if isinstance(window, int) and window > 0 else None

    def __repr__(self) -> str:
        return f"TransformersModel({self.name!r}, family={self.family!r}, device={str(self.device)!r})"

    def _stop_tokens(self) -> tuple[frozenset[int], dict[int, str]]:
        vocab = self.tokenizer.get_vocab()
        ids = {vocab[t] for t in prompts.stop_sequences(self.family) if t in vocab}
        if "<|endoftext|>" in vocab:
            ids.add(vocab["<|endoftext|>"])
        emitted = _KEPT_STOP_TOKENS.get(self.family, ())
        eos = getattr(getattr(self.model, "generation_config", None), "eos_token_id", None)
        ids.update([eos] if isinstance(eos, int) else list(eos or []))
        if self.tokenizer.eos_token_id is not None:
            ids.add(int(self.tokenizer.eos_token_id))
        return frozenset(ids), {vocab[t]: t for t in emitted if t in vocab}

    def _template_drops_tools(self) -> bool:
        """Whether the chat template renders the same prompt with and without tools (then agentkit's own
        prompt for the family is used instead, so the model sees its tools)."""
        probe = ToolDefinition("agentkit_probe", "Probe.", {"type": "object", "properties": {}})
        try:
            with_tools = self._template_ids([Message.user("hi")], [probe], ModelSettings())
            without = self._template_ids([Message.user("hi")], [], ModelSettings())
        except ModelError:
            return False
        if with_tools != without:
            return False
        warnings.warn(
            f"the chat template of {self.name!r} ignores tools; agentkit renders this model's prompts with its own "
            f"{self.family!r} template instead, so the model sees its tools",
            UserWarning,
            stacklevel=3,
        )
        return True

    def _prompt_opens_think(self) -> bool | None:
        """Whether the chat template ends the generation prompt inside an open `<think>` (Thinking-2507
        templates do): then the text up to `</think>` is reasoning. Knowing it lets the loop's parser stream
        content at once instead of holding text until it sees whether a `</think>` follows. None (let the
        parser decide) for Harmony, which marks reasoning by channel, and when the template cannot render."""
        if self.family == "harmony":
            return None
        try:
            ids = self.prompt_ids([Message.user("hi")], [])
        except ModelError:
            return None
        with self._tokenizer_lock:
            tail = str(self.tokenizer.decode(ids[-8:]))
        return tail.rstrip().endswith("<think>")

    def reset_cache(self) -> None:
        """Forget the cached conversation (the next turn prefills its whole prompt)."""
        with self._kv_lock:
            self._kv.reset()

    # ---- prompt -----------------------------------------------------------------------------------

    def prompt_ids(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition], settings: ModelSettings | None = None
    ) -> list[int]:
        """The token ids of the prompt for the next assistant turn."""
        settings = settings or ModelSettings()
        if self.own_prompt:
            text = prompts.render(messages, tools, family=self.family, reasoning_effort=settings.reasoning_effort)
            with self._tokenizer_lock:
                return list(self.tokenizer.encode(text, add_special_tokens=False))
        return self._template_ids(messages, tools, settings)

    def count_tokens(self, text: str) -> int:
        """How many tokens `text` takes with this model's tokenizer (agentkit.context counts what it sends)."""
        with self._tokenizer_lock:
            return len(self.tokenizer.encode(text, add_special_tokens=False))

    def _template_ids(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition], settings: ModelSettings
    ) -> list[int]:
        kwargs: dict[str, Any] = dict(settings.extra.get("chat_template_kwargs", {}))
        if settings.reasoning_effort is not None:
            kwargs.setdefault("reasoning_effort", settings.reasoning_effort)
        try:
            with self._tokenizer_lock:
                ids: Any = self.tokenizer.apply_chat_template(
                    _chat_dicts(messages),
                    tools=[t.to_openai() for t in tools] or None,
                    add_generation_prompt=True,
                    tokenize=True,
                    return_dict=False,
                    sanitize_control_tokens=True,
                    **kwargs,
                )
        except Exception as exc:  # jinja raises its own errors (e.g. "roles must alternate")
            raise ModelError(f"the chat template of {self.name!r} failed on this conversation: {exc}") from exc
        return [int(i) for i in ids]

    def _options(self, settings: ModelSettings) -> DecodeOptions:
        extra = settings.extra
        return DecodeOptions(
            max_new_tokens=settings.max_tokens or self.max_new_tokens,
            stop_ids=self._stop_ids,
            emit_stop_text=self._emit_stop_text,
            stop_strings=tuple(settings.stop),
            min_new_tokens=int(extra.get("min_tokens", 0)),
            temperature=settings.temperature,
            top_p=settings.top_p,
            seed=extra.get("seed"),
        )

    def _decode_ids(self, ids: list[int]) -> str:
        return str(self.tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False))

    # ---- streaming --------------------------------------------------------------------------------

    async def stream(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition], settings: ModelSettings
    ) -> AsyncIterator[StreamEvent]:
        """Stream one assistant turn as raw text, then a TurnEnd with usage."""
        prompt = await anyio.to_thread.run_sync(self.prompt_ids, messages, tools, settings)
        options = self._options(settings)
        window = self.context_window
        if window is not None:
            if len(prompt) >= window:
                raise ContextOverflow(
                    f"the prompt of {len(prompt)} tokens is longer than {self.name!r}'s context window of {window} "
                    "tokens (max_position_embeddings); send a shorter conversation",
                    limit=window,
                )
            options.max_new_tokens = min(options.max_new_tokens, window - len(prompt))
        # Without reuse, or while another stream owns the shared cache, this turn gets a private one.
        shared = self.reuse_cache and self._kv_lock.acquire(blocking=False)
        state = self._kv if shared else KVState(self.model)
        decoder: Decoder | None = None
        try:
            cache, start = state.prepare(prompt, shared)
            decoder = Decoder(self.model, cache, prompt, start, options, self._decode_ids)
            while not decoder.done:
                try:
                    text = await anyio.to_thread.run_sync(decoder.advance, self.chunk_seconds)
                except RuntimeError as exc:  # torch's errors, CUDA out-of-memory included
                    raise ModelError(f"local generation with {self.name!r} failed: {exc}") from exc
                if text:
                    yield TextDelta(text=text)
            yield self._turn_end(decoder, len(prompt), start)
        finally:
            if shared:
                if decoder is None or decoder.broken:
                    state.reset()
                else:
                    state.ids = decoder.cache_ids
                self._kv_lock.release()

    def _turn_end(self, decoder: Decoder, prompt_len: int, reused: int) -> TurnEnd:
        reason: StopReason = "end_turn"
        if decoder.stop_reason == "max_tokens":
            reason = "max_tokens"
        elif decoder.stop_reason == "stop_sequence":
            reason = "stop_sequence"
        elif decoder.stop_token is not None and self._emit_stop_text.get(decoder.stop_token) == "<|call|>":
            reason = "tool_use"
        usage = Usage(input_tokens=prompt_len, output_tokens=len(decoder.generated), cache_read_tokens=reused)
        meta = {"prefill_tokens": prompt_len - reused, "prefill_seconds": round(decoder.prefill_seconds, 6)}
        return TurnEnd(stop_reason=reason, usage=usage, meta={"local": meta})
