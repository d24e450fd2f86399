"""How many tokens a model's context window holds.

In order: the agent's own `context_window=`; a `context_window` attribute the backend sets (TransformersModel:
the config's `max_position_embeddings`); what the server says (`OpenAIModel.fetch_context_window`: vLLM's
`max_model_len` in `/v1/models`, llama.cpp's `meta.n_ctx_train`); the table below for the Bedrock ids we
resolve. None when nothing says: the run then reduces only when the backend reports an overflow.
"""

from __future__ import annotations

from typing import Any

from agentkit.models.base import token_count

__all__ = ["BEDROCK_WINDOWS", "find_window"]

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
    own = token_count(getattr(model, "context_window", None))  # a number a server said: 1 to 10**12, not true
    if own >= 64:
        return own
    fetch = getattr(model, "fetch_context_window", None)
    if fetch is not None:
        fetched = token_count(await fetch())
        if fetched >= 64:
            return fetched
    model_id = getattr(model, "model_id", None)
    if isinstance(model_id, str):
        for prefix in _REGION_PREFIXES:
            if model_id.startswith(prefix):
                model_id = model_id[len(prefix) :]
                break
        return BEDROCK_WINDOWS.get(model_id)
    return None
