#!/usr/bin/env python3
"""Writes tiny randomly initialised Hugging Face MoE checkpoints (save_pretrained) and their
reference logits from transformers, for the CPU parity test of the native forward pass.
Run on a machine with torch + transformers:  python3 make_hf_fixtures.py OUT_DIR
Each fixture: OUT_DIR/<family>/ (config.json, model.safetensors) plus ids.npy (int32) and
logits.npy (float32 [T, V]) computed in float32 on the CPU."""
import json
import os
import sys

import numpy as np
import torch
import transformers


def small(cfg_cls, **extra):
    base = dict(vocab_size=96, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                num_key_value_heads=2, max_position_embeddings=128, rms_norm_eps=1e-6,
                tie_word_embeddings=False)
    base.update(extra)
    return cfg_cls(**base)


FAMILIES = {
    "mixtral": lambda: (transformers.MixtralForCausalLM, small(
        transformers.MixtralConfig, intermediate_size=16, num_local_experts=8,
        num_experts_per_tok=2)),
    "qwen2_moe": lambda: (transformers.Qwen2MoeForCausalLM, small(
        transformers.Qwen2MoeConfig, intermediate_size=48, moe_intermediate_size=16,
        shared_expert_intermediate_size=24, num_experts=8, num_experts_per_tok=2,
        norm_topk_prob=False, decoder_sparse_step=1, mlp_only_layers=[])),
    "qwen3_moe": lambda: (transformers.Qwen3MoeForCausalLM, small(
        transformers.Qwen3MoeConfig, intermediate_size=48, moe_intermediate_size=16,
        num_experts=8, num_experts_per_tok=2, norm_topk_prob=True, head_dim=8,
        decoder_sparse_step=1, mlp_only_layers=[])),
    "olmoe": lambda: (transformers.OlmoeForCausalLM, small(
        transformers.OlmoeConfig, intermediate_size=16, num_experts=8, num_experts_per_tok=2,
        norm_topk_prob=False)),
}


def main(out):
    for name, make in FAMILIES.items():
        torch.manual_seed(0)
        cls, cfg = make()
        cfg._attn_implementation = "eager"
        model = cls(cfg).eval()
        with torch.no_grad():
            for pname, p in model.named_parameters():
                if "norm" in pname:
                    p.copy_(1.0 + 0.1 * torch.randn_like(p))
                else:
                    p.copy_(0.15 * torch.randn_like(p))
        d = os.path.join(out, name)
        model.save_pretrained(d, safe_serialization=True)
        ids = torch.randint(0, cfg.vocab_size, (1, 12), generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            logits = model(ids).logits[0].to(torch.float32)
        np.save(os.path.join(d, "ids.npy"), ids[0].numpy().astype(np.int32))
        np.save(os.path.join(d, "logits.npy"), logits.numpy())
        print(name, "saved", sorted(os.listdir(d)), flush=True)
    print("transformers", transformers.__version__, "torch", torch.__version__)


if __name__ == "__main__":
    main(sys.argv[1])
