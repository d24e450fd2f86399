"""Tiny Qwen3, Qwen3-MoE and GPT-OSS models, built offline and overfit on one tool-calling episode.

Used by the tests in this folder (through a session fixture) and by benchmarks/bench_local.py.

Each model gets a small byte-level BPE tokenizer (the families' control tokens included) and a chat
template written here in the family's wire format: Qwen3 (JSON calls in `<tool_call>`, the "hermes"
format), Qwen3-Coder (`<function=NAME><parameter=P>` XML) and Harmony. Training runs Adam on the two
completions of the episode (the call, then the answer after the tool result) until every target token
wins by a logit margin of at least 2, which takes about a second per model on CPU.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import (
    GptOssConfig,
    GptOssForCausalLM,
    PreTrainedModel,
    PreTrainedTokenizerFast,
    Qwen3Config,
    Qwen3ForCausalLM,
    Qwen3MoeConfig,
    Qwen3MoeForCausalLM,
)

SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|start|>",
    "<|end|>",
    "<|message|>",
    "<|channel|>",
    "<|constrain|>",
    "<|return|>",
    "<|call|>",
]
# Added but not special, as in Qwen's tokenizer, so they survive skip_special_tokens.
TEXT_TOKENS = ["<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>", "<think>", "</think>"]

SYSTEM = "You are a weather bot."
QUESTION = "What is the weather in Paris?"
CITY = "Paris"
TOOL_OUTPUT = "Sunny, 21 C"
ANSWER = "It is sunny and 21 C in Paris."
WEATHER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "The city name."}},
    "required": ["city"],
    "additionalProperties": False,
}
WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": WEATHER_SCHEMA,
    },
}  # what agentkit shows the model for the Tool in test_agent_local.py, so the rendered prompt is the trained one


# ---- chat templates (written for these tests in each family's wire format) ---------------------------
# hermes: Qwen3's JSON calls in <tool_call>, earlier turns' <think> dropped once a new user turn starts.
# qwen3_coder: the <function=NAME><parameter=P> XML calls. harmony: gpt-oss channels, analysis dropped likewise.

_TEMPLATES = Path(__file__).with_name("templates")
HERMES_TEMPLATE = (_TEMPLATES / "hermes.jinja").read_text().rstrip("\n")
CODER_TEMPLATE = (_TEMPLATES / "qwen3_coder.jinja").read_text().rstrip("\n")
HARMONY_TEMPLATE = (_TEMPLATES / "harmony.jinja").read_text().rstrip("\n")


# ---- the families ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Family:
    """One tiny model: its architecture, template and the two completions of the scripted episode."""

    name: str  # folder name
    text_format: str
    template: str
    call_text: str  # what the model emits on turn 1 (its stop token included)
    answer_text: str  # what it emits after the tool result


_ARGS_JSON = json.dumps({"city": CITY})
FAMILIES: dict[str, Family] = {
    "qwen3": Family(
        name="qwen3",
        text_format="hermes",
        template=HERMES_TEMPLATE,
        call_text=f'<tool_call>\n{{"name": "get_weather", "arguments": {_ARGS_JSON}}}\n</tool_call><|im_end|>',
        answer_text=ANSWER + "<|im_end|>",
    ),
    "qwen3_moe": Family(
        name="qwen3_moe",
        text_format="qwen3_coder",
        template=CODER_TEMPLATE,
        call_text=(
            "<tool_call>\n<function=get_weather>\n<parameter=city>\n"
            f"{CITY}\n</parameter>\n</function>\n</tool_call><|im_end|>"
        ),
        answer_text=ANSWER + "<|im_end|>",
    ),
    "gpt_oss": Family(
        name="gpt_oss",
        text_format="harmony",
        template=HARMONY_TEMPLATE,
        call_text=f"<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{_ARGS_JSON}<|call|>",
        answer_text=f"<|channel|>final<|message|>{ANSWER}<|return|>",
    ),
}


def episode_messages(family: Family) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The chat (HF dict shape) before turn 1 and before turn 2 of the scripted episode."""
    first = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}]
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": {"city": CITY}}}
    second = [
        *first,
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": TOOL_OUTPUT},
    ]
    return first, second


# ---- tokenizer ------------------------------------------------------------------------------------


def build_tokenizer(template: str) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained on the templates and the episode, with the control tokens."""
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = [HERMES_TEMPLATE, CODER_TEMPLATE, HARMONY_TEMPLATE, json.dumps(WEATHER_TOOL), SYSTEM, QUESTION, ANSWER]
    corpus += [f.call_text for f in FAMILIES.values()]
    trainer = trainers.BpeTrainer(
        vocab_size=640,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus * 4, trainer=trainer)
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in TEXT_TOKENS])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    fast.chat_template = template
    return fast


# ---- models ---------------------------------------------------------------------------------------


def build_model(kind: str, vocab_size: int, *, layers: int = 2, hidden: int = 64) -> PreTrainedModel:
    """A randomly initialised model of the given architecture (seeded, so builds are reproducible)."""
    torch.manual_seed(0)
    heads = max(4, hidden // 64)
    common: dict[str, Any] = dict(
        vocab_size=vocab_size,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=max(2, heads // 2),
        head_dim=hidden // heads,
        tie_word_embeddings=True,
        max_position_embeddings=8192,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )
    if kind == "qwen3":
        inter = 128 if hidden <= 64 else int(hidden * 2.75)
        return Qwen3ForCausalLM(Qwen3Config(intermediate_size=inter, **common))
    if kind == "qwen3_moe":
        cfg = Qwen3MoeConfig(
            intermediate_size=128, moe_intermediate_size=32, num_experts=8, num_experts_per_tok=2, **common
        )
        return Qwen3MoeForCausalLM(cfg)
    if kind == "gpt_oss":
        cfg = GptOssConfig(
            intermediate_size=64,
            num_local_experts=4,
            num_experts_per_tok=2,
            sliding_window=128,
            rope_parameters={"rope_type": "default", "rope_theta": 150000.0},
            **common,
        )
        return GptOssForCausalLM(cfg)
    raise ValueError(f"unknown tiny model kind {kind!r}")


def _episode_sequences(tok: PreTrainedTokenizerFast, family: Family) -> list[tuple[list[int], list[int]]]:
    first, second = episode_messages(family)
    pairs = []
    for msgs, completion in ((first, family.call_text), (second, family.answer_text)):
        prompt = tok.apply_chat_template(msgs, tools=[WEATHER_TOOL], add_generation_prompt=True, tokenize=False)
        prompt_ids = tok.encode(prompt, add_special_tokens=False)
        target_ids = tok.encode(completion, add_special_tokens=False)
        pairs.append((prompt_ids, target_ids))
    return pairs


def _margin_ok(model: PreTrainedModel, batch: list[tuple[torch.Tensor, torch.Tensor]], margin: float) -> bool:
    with torch.no_grad():
        for ids, labels in batch:
            logits = model(input_ids=ids).logits[0, :-1]
            targets = labels[0, 1:]
            sel = targets >= 0
            picked = logits[sel].gather(1, targets[sel, None])[:, 0]
            others = logits[sel].scatter(1, targets[sel, None], float("-inf")).max(dim=1).values
            if bool((picked - others < margin).any()):
                return False
    return True


def train_episode(
    model: PreTrainedModel, tok: PreTrainedTokenizerFast, family: Family, *, margin: float = 2.0, max_steps: int = 400
) -> int:
    """Overfit the model on the episode's two completions; returns the number of Adam steps taken."""
    batch = []
    for prompt_ids, target_ids in _episode_sequences(tok, family):
        ids = torch.tensor([prompt_ids + target_ids])
        labels = torch.tensor([[-100] * len(prompt_ids) + target_ids])
        batch.append((ids, labels))
    torch.manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    step = 0
    while step < max_steps:
        for _ in range(10):
            opt.zero_grad()
            loss = sum(model(input_ids=ids, labels=labels).loss for ids, labels in batch)
            loss.backward()  # type: ignore[union-attr]
            opt.step()
            step += 1
        model.eval()
        if _margin_ok(model, batch, margin):
            return step
        model.train()
    raise RuntimeError(f"{family.name}: the tiny model did not learn the episode in {max_steps} steps")


def build_trained(family_name: str, out_dir: Path) -> dict[str, Any]:
    """Build, train and save one family's tiny model into out_dir; returns build facts."""
    family = FAMILIES[family_name]
    start = time.perf_counter()
    tok = build_tokenizer(family.template)
    model = build_model(family_name, len(tok))
    steps = train_episode(model, tok, family)
    model.save_pretrained(out_dir)
    tok.save_pretrained(out_dir)
    return {"family": family_name, "steps": steps, "seconds": time.perf_counter() - start, "path": out_dir}


def build_random(out_dir: Path, *, layers: int, hidden: int, family_name: str = "qwen3") -> Path:
    """Save an untrained model (for throughput measurements) with the family's tokenizer and template."""
    tok = build_tokenizer(FAMILIES[family_name].template)
    model = build_model(family_name, len(tok), layers=layers, hidden=hidden)
    model.save_pretrained(out_dir)
    tok.save_pretrained(out_dir)
    return out_dir
