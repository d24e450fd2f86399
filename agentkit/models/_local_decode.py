"""The synchronous decoding engine behind TransformersModel: KV-cache reuse, the token loop, detokenizing.

Everything here runs in a worker thread, one `Decoder.advance()` call at a time, so the event loop only
waits on short chunks of work.

Cache reuse (`KVState`): a model instance keeps the cache of its previous turn and the token ids that
cache holds. The next prompt usually starts with those ids (the history is re-rendered unchanged), so only
the new tail is prefilled. When the chat template rewrites history (Qwen3 drops earlier `<think>` blocks,
Harmony drops analysis messages), the cache is cropped back to the longest common token prefix first.

Sliding-window layers (gpt-oss) normally keep only the last `window - 1` states, and transformers' own
`crop` trims them back to that size, so a second crop further back would find the states gone. The
cache is therefore created with past recording on (every state is kept, as in a full-attention layer)
and sliding layers are cropped here by slicing, which keeps the whole history croppable. Attention
still sees only the window: the layer hands the model just the last `window - 1 + new` states.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import DynamicCache, PreTrainedModel

__all__ = [
    "DecodeOptions",
    "Decoder",
    "IncrementalDetokenizer",
    "KVState",
    "StopStrings",
    "cache_kwarg",
    "common_prefix",
]


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """The length of the longest common prefix of two id sequences."""
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def _full_history(layer: Any) -> bool:
    """Whether a sliding layer still holds every state since the start (past recording, never trimmed)."""
    keys = getattr(layer, "keys", None)
    return (
        bool(getattr(layer, "record_past", False))
        and isinstance(keys, torch.Tensor)
        and keys.shape[-2] == getattr(layer, "cumulative_length", -1)
    )


class KVState:
    """A DynamicCache and the token ids it holds, kept between turns."""

    def __init__(self, model: PreTrainedModel) -> None:
        self._model = model
        self.cache: DynamicCache | None = None
        self.ids: list[int] = []

    def reset(self) -> None:
        self.cache, self.ids = None, []

    def _fresh(self) -> DynamicCache:
        cache = DynamicCache(config=self._model.config)
        if any(getattr(layer, "is_sliding", False) for layer in cache.layers):
            cache.activate_past_recording()
        self.cache, self.ids = cache, []
        return cache

    def prepare(self, prompt_ids: Sequence[int], reuse: bool) -> tuple[DynamicCache, int]:
        """A cache holding a prefix of prompt_ids, and that prefix's length (at least one id stays new)."""
        cache = self.cache
        if not reuse or cache is None or cache.get_seq_length() != len(self.ids):
            return self._fresh(), 0
        keep = min(common_prefix(self.ids, prompt_ids), len(prompt_ids) - 1)
        if keep <= 0 or not self._crop(cache, keep):
            return self._fresh(), 0
        del self.ids[keep:]
        return cache, keep

    def _crop(self, cache: DynamicCache, keep: int) -> bool:
        drop = len(self.ids) - keep
        if drop == 0:
            return True
        layers: list[Any] = list(cache.layers)
        sliding = [layer for layer in layers if getattr(layer, "is_sliding", False)]
        if not all(_full_history(layer) for layer in sliding):
            return False
        for layer in layers:
            if layer in sliding:
                layer.keys = layer.keys[..., :keep, :]
                layer.values = layer.values[..., :keep, :]
                layer.cumulative_length = keep
            else:
                layer.crop(-drop)
        return True


class IncrementalDetokenizer:
    """Turns ids into text one id at a time, holding back bytes of a character split across tokens."""

    def __init__(self, decode: Callable[[list[int]], str]) -> None:
        self._decode = decode
        self._ids: list[int] = []
        self._prefix = 0  # start of the window that is decoded again for context
        self._read = 0  # ids before this index have been emitted

    def push(self, token_id: int) -> str:
        self._ids.append(token_id)
        done = self._decode(self._ids[self._prefix : self._read])
        full = self._decode(self._ids[self._prefix :])
        if len(full) > len(done) and not full.endswith("\ufffd"):
            self._prefix, self._read = self._read, len(self._ids)
            return full[len(done) :]
        return ""

    def flush(self) -> str:
        """Whatever is still held back (an incomplete character decodes as U+FFFD)."""
        done = self._decode(self._ids[self._prefix : self._read])
        full = self._decode(self._ids[self._prefix :])
        self._prefix = self._read = len(self._ids)
        return full[len(done) :]


class StopStrings:
    """Cuts text at the first stop string, holding back any tail that could start one."""

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = [s for s in stops if s]
        self._buf = ""

    def feed(self, text: str) -> tuple[str, bool]:
        """The text that is safe to emit, and whether a stop string was found."""
        if not self._stops:
            return text, False
        self._buf += text
        hits = [i for i in (self._buf.find(s) for s in self._stops) if i >= 0]
        if hits:
            out, self._buf = self._buf[: min(hits)], ""
            return out, True
        hold = 0
        for stop in self._stops:
            for n in range(min(len(stop) - 1, len(self._buf)), hold, -1):
                if self._buf.endswith(stop[:n]):
                    hold = n
                    break
        cut = len(self._buf) - hold
        out, self._buf = self._buf[:cut], self._buf[cut:]
        return out, False

    def flush(self) -> str:
        out, self._buf = self._buf, ""
        return out


@dataclass(slots=True, kw_only=True)
class DecodeOptions:
    """What one turn's decode loop needs to know besides the model."""

    max_new_tokens: int
    stop_ids: frozenset[int]
    emit_stop_text: dict[int, str] = field(default_factory=dict)  # stop ids whose text the parser needs
    stop_strings: Sequence[str] = ()
    min_new_tokens: int = 0
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None


def cache_kwarg(model: Any) -> str:
    """The forward argument that takes the KV cache: `cache` (transformers 5.2x on, where `past_key_values`
    warns that it goes away in 5.40), else `past_key_values`."""
    try:
        parameters = inspect.signature(type(model).forward).parameters  # the class's: an instance may wrap it
    except (TypeError, ValueError):
        return "past_key_values"
    return "cache" if "cache" in parameters else "past_key_values"


class Decoder:
    """One turn: prefill what the cache lacks, then pick, emit and feed one token at a time."""

    def __init__(
        self,
        model: PreTrainedModel,
        cache: DynamicCache,
        prompt_ids: Sequence[int],
        start: int,
        options: DecodeOptions,
        decode: Callable[[list[int]], str],
    ) -> None:
        self._model = model
        self._cache = cache
        self._cache_kwarg = cache_kwarg(model)
        self._device = model.device
        self._prompt = prompt_ids
        self._start = start
        self._opt = options
        self._detok = IncrementalDetokenizer(decode)
        self._stops = StopStrings(options.stop_strings)
        self._logits: torch.Tensor | None = None
        self._generator: torch.Generator | None = None
        if options.seed is not None:
            self._generator = torch.Generator(device=self._device).manual_seed(options.seed)
        self._stop_mask: torch.Tensor | None = None
        self.cache_ids: list[int] = list(prompt_ids[:start])  # the ids the cache holds
        self.generated: list[int] = []
        self.stop_reason: str | None = None  # "stop_token", "stop_sequence" or "max_tokens" once done
        self.stop_token: int | None = None
        self.broken = False  # a forward pass failed midway: the cache is unusable
        self.prefill_seconds = 0.0

    @property
    def done(self) -> bool:
        return self.stop_reason is not None

    def advance(self, budget_s: float) -> str:
        """Run until done or until budget_s has passed (at least one token); return the new text."""
        began = time.perf_counter()
        out: list[str] = []
        with torch.inference_mode():
            if self._logits is None:
                self._forward(self._prompt[self._start :])
                self.prefill_seconds = time.perf_counter() - began
            while not self.done:
                out.append(self._step())
                if time.perf_counter() - began >= budget_s:
                    break
        return "".join(out)

    def _step(self) -> str:
        token = self._pick()
        self.generated.append(token)
        if token in self._opt.stop_ids:
            self.stop_reason, self.stop_token = "stop_token", token
            text, _ = self._stops.feed(self._detok.flush())
            return text + self._stops.flush() + self._opt.emit_stop_text.get(token, "")
        text, hit = self._stops.feed(self._detok.push(token))
        if hit:
            self.stop_reason = "stop_sequence"
            return text
        if len(self.generated) >= self._opt.max_new_tokens:
            self.stop_reason = "max_tokens"
            tail, hit = self._stops.feed(self._detok.flush())
            return text + tail + ("" if hit else self._stops.flush())
        self._forward([token])
        return text

    def _forward(self, ids: Sequence[int]) -> None:
        self.broken = True
        batch = torch.tensor([list(ids)], dtype=torch.long, device=self._device)
        kwargs = {self._cache_kwarg: self._cache}
        out = self._model(input_ids=batch, use_cache=True, logits_to_keep=1, **kwargs)
        self._logits = out.logits[0, -1]
        self.cache_ids.extend(ids)
        self.broken = False

    def _pick(self) -> int:
        logits = self._logits
        assert logits is not None
        if len(self.generated) < self._opt.min_new_tokens and self._opt.stop_ids:
            if self._stop_mask is None:
                self._stop_mask = torch.tensor(sorted(self._opt.stop_ids), device=logits.device)
            logits = logits.index_fill(0, self._stop_mask, float("-inf"))
        temperature = self._opt.temperature
        if not temperature:
            return int(logits.argmax())
        probs = torch.softmax(logits.float() / temperature, dim=-1)
        top_p = self._opt.top_p
        if top_p is not None and 0 < top_p < 1:
            sorted_probs, order = probs.sort(descending=True)
            cut = sorted_probs.cumsum(0) - sorted_probs >= top_p
            sorted_probs[cut] = 0
            choice = torch.multinomial(sorted_probs, 1, generator=self._generator)
            return int(order[choice])
        return int(torch.multinomial(probs, 1, generator=self._generator))

    def summary(self) -> dict[str, Any]:
        return {"prefill_tokens": len(self._prompt) - self._start, "reused_tokens": self._start}
