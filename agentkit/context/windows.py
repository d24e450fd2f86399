"""How many tokens a model's context window holds.

In order: the agent's own `context_window=`; a `context_window` attribute the backend sets (TransformersModel:
the config's `max_position_embeddings`); what the server says (`OpenAIModel.fetch_context_window`: vLLM's
`max_model_len` in `/v1/models`, llama-server's `n_ctx` in `/props`; on Bedrock's OpenAI endpoint, the table
below; `FallbackModel.fetch_context_window`: the smallest of its backends'); the table below for the Bedrock
ids we resolve. None when nothing says: the run then reduces only when the backend reports an overflow.
"""

from __future__ import annotations

from typing import Any

from agentkit.models.base import token_count

__all__ = ["BEDROCK_WINDOWS", "bedrock_window", "find_window"]

# Bedrock model id (without a cross-region prefix) -> input window in tokens. Where sources disagree, the
# smaller figure is kept: too small only reduces earlier, too large ends in an overflow and a retry.
BEDROCK_WINDOWS: dict[str, int] = {
    # Each figure names the AWS page for its model and how it was read (2026-12-06). "128K" is taken as 128,000.
    # AWS "OpenAI models" page (docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-openai.html):
    # "Context window 128,000" for both.
    "openai.gpt-oss-120b-1:0": 128_000,
    "openai.gpt-oss-20b-1:0": 128_000,
    # AWS Qwen model cards (docs.aws.amazon.com/bedrock/latest/userguide/model-cards-qwen.html): "Qwen3 235B
    # A22B 2507 ... with a 128K context window".
    "qwen.qwen3-235b-a22b-2507-v1:0": 128_000,
    # AWS model card (docs.aws.amazon.com/bedrock/latest/userguide/model-card-qwen-qwen3-coder-480b-a35b-instruct.html,
    # read in its markdown form): "Context window: 128K tokens". Qwen's own card gives 262,144 natively.
    "qwen.qwen3-coder-480b-a35b-v1:0": 128_000,
    # AWS model card (docs.aws.amazon.com/bedrock/latest/userguide/model-card-qwen-qwen3-coder-30b-a3b-instruct.html):
    # not read directly; a catalogue scraped from it lists "contextWindow: 128K tokens", another project's table
    # citing it gives 256,000. The smaller is kept; Qwen's card gives 262,144 natively.
    "qwen.qwen3-coder-30b-a3b-v1:0": 128_000,
    # AWS model card (docs.aws.amazon.com/bedrock/latest/userguide/model-card-qwen-qwen3-32b.html): not found
    # in what we could search; catalogues quoting it disagree (braintrust-proxy#629: "32K", #550: 128K). The
    # smaller is kept: Qwen's card gives 32,768 natively (131,072 only with YaRN scaling turned on).
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
