"""How many tokens a model's context window holds.

In order: the agent's own `context_window=`; a `context_window` attribute the backend sets (TransformersModel:
the config's `max_position_embeddings`); what the server says (`OpenAIModel.fetch_context_window`: vLLM's
`max_model_len` in `/v1/models`, llama-server's `n_ctx` in `/props`; on Bedrock's OpenAI endpoint, the table
below; `FallbackModel.fetch_context_window`: the smallest of its backends'); the table below for the Bedrock
ids we resolve. None when nothing says: the run then reduces only when the backend reports an overflow.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BEDROCK_WINDOWS", "bedrock_window", "find_window"]

# Bedrock model id (without a cross-region prefix) -> input window in tokens. Where sources disagree, the
# smaller figure is kept: too small only reduces earlier, too large ends in an overflow and a retry.
BEDROCK_WINDOWS: dict[str, int] = {
    # AWS "OpenAI models" page (docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-openai.html):
    # context window 128,000 for both.
    "openai.gpt-oss-120b-1:0": 128_000,
    "openai.gpt-oss-20b-1:0": 128_000,
    # AWS Qwen model cards (docs.aws.amazon.com/bedrock/latest/userguide/model-cards-qwen.html): "Qwen3 235B
    # A22B 2507 ... with a 128K context window".
    "qwen.qwen3-235b-a22b-2507-v1:0": 128_000,
    # Bedrock's Qwen3 Coder 480B model card as quoted in braintrust-proxy#629 ("Context window: 128,000");
    # other catalogues list 262,144, Qwen's native window.
    "qwen.qwen3-coder-480b-a35b-v1:0": 128_000,
    # Not stated on an AWS page we could read; Qwen's card gives 262,144 natively. The 480B's figure is used.
    "qwen.qwen3-coder-30b-a3b-v1:0": 128_000,
    # Bedrock's Qwen3 32B model card as quoted in braintrust-proxy#629 ("32K"); Qwen's card: 32,768 natively.
    "qwen.qwen3-32b-v1:0": 32_000,
}

_REGION_PREFIXES = ("us.", "eu.", "apac.", "global.", "jp.", "au.", "ca.", "us-gov.")


async def find_window(model: Any) -> int | None:
    """The model's context window in tokens, or None when no source knows it."""
    own = getattr(model, "context_window", None)
    if isinstance(own, int) and own > 0:
        return own
    fetch = getattr(model, "fetch_context_window", None)
    if fetch is not None:
        fetched = await fetch()
        if isinstance(fetched, int) and fetched > 0:
            return fetched
    model_id = getattr(model, "model_id", None)
    return bedrock_window(model_id) if isinstance(model_id, str) else None


def bedrock_window(model_id: str | None) -> int | None:
    """The table's window for a Bedrock model id, with or without a cross-region prefix ("us.", "global.")."""
    if not model_id:
        return None
    for prefix in _REGION_PREFIXES:
        if model_id.startswith(prefix):
            model_id = model_id[len(prefix) :]
            break
    return BEDROCK_WINDOWS.get(model_id)
