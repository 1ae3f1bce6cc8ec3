"""FVDMTransformer: shapes, per-frame timesteps, conditioning, checkpoints."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend

import fvdm.attention as attention
from fvdm.errors import FVDMInputError
from fvdm.models import PRESETS, FVDMTransformer
from fvdm.official import load_official_transformer

SMALL = dict(sample_size=8, num_frames=4, in_channels=3, patch_size=2, hidden_size=32, depth=4, num_heads=2)


def randomize(model: FVDMTransformer, seed: int = 0) -> FVDMTransformer:
    """Fresh models are adaLN-Zero (output 0); give every weight a value so outputs mean something."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.randn(param.shape, generator=generator) * 0.2)
    return model.eval()


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_has_the_right_output_shape(name):
    """Small presets run for real; big ones run on the meta device (shapes only, no memory)."""
    big = PRESETS[name]["hidden_size"] > 192
    device = torch.device("meta") if big else torch.device("cpu")
    with device:
        model = FVDMTransformer.from_preset(name, sample_size=16, num_frames=4, num_classes=5, learn_sigma=True)
        x = torch.randn(2, 4, 3, 16, 16)
        t = torch.randint(0, 1000, (2, 4))
        out = model(x, t, torch.tensor([1, 5]))
    assert out.shape == (2, 4, 6, 16, 16)
    assert out.dtype == torch.float32


def test_bfloat16_model_keeps_its_dtype():
    model = randomize(FVDMTransformer(**SMALL)).to(torch.bfloat16)
    out = model(torch.randn(1, 4, 3, 8, 8, dtype=torch.bfloat16), torch.tensor([[5, 6, 7, 8]]))
    assert out.dtype == torch.bfloat16 and out.shape == (1, 4, 3, 8, 8)


def test_equal_per_frame_timesteps_match_a_scalar_timestep():
    model = randomize(FVDMTransformer(**SMALL))
    x = torch.randn(2, 4, 3, 8, 8)
    with torch.no_grad():
        per_clip = model(x, torch.tensor([100, 700]))
        per_frame = model(x, torch.tensor([[100] * 4, [700] * 4]))
        scalar = model(x[:1], torch.tensor(100))
    torch.testing.assert_close(per_frame, per_clip, rtol=0, atol=0)
    torch.testing.assert_close(scalar, per_clip[:1], rtol=1e-5, atol=1e-5)


def test_each_frame_reads_its_own_timestep():
    model = randomize(FVDMTransformer(**SMALL))
    x = torch.randn(1, 4, 3, 8, 8)
    with torch.no_grad():
        base = model(x, torch.tensor([[500, 500, 500, 500]]))
        changed = model(x, torch.tensor([[500, 500, 0, 500]]))
        # Same input, the temporal blocks removed: only frame 2's output may change.
        spatial_only = randomize(FVDMTransformer(**SMALL))
        for block in spatial_only.blocks_temp:
            torch.nn.init.zeros_(block.adaLN_modulation[-1].weight)
            torch.nn.init.zeros_(block.adaLN_modulation[-1].bias)
        a = spatial_only(x, torch.tensor([[500, 500, 500, 500]]))
        b = spatial_only(x, torch.tensor([[500, 500, 0, 500]]))
    assert not torch.allclose(base, changed)
    assert not torch.allclose(base[:, 0], changed[:, 0])  # temporal attention carries it to other frames
    assert not torch.allclose(a[:, 2], b[:, 2])
    torch.testing.assert_close(a[:, [0, 1, 3]], b[:, [0, 1, 3]])


def test_class_labels_condition_and_none_means_the_null_class():
    model = randomize(FVDMTransformer(**SMALL, num_classes=3))
    x, t = torch.randn(2, 4, 3, 8, 8), torch.tensor([300, 300])
    with torch.no_grad():
        a = model(x, t, torch.tensor([0, 0]))
        b = model(x, t, torch.tensor([1, 1]))
        null = model(x, t, torch.tensor([3, 3]))
        none = model(x, t)
    assert not torch.allclose(a, b)
    torch.testing.assert_close(none, null, rtol=0, atol=0)


def test_bad_timestep_shape_and_too_many_frames_are_rejected():
    model = FVDMTransformer(**SMALL)
    with pytest.raises(ValueError, match=r"\[B, F\]"):
        model(torch.randn(1, 4, 3, 8, 8), torch.zeros(1, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="at most 4 frames"):
        model(torch.randn(1, 5, 3, 8, 8), torch.zeros(1, 5, dtype=torch.long))


def test_gradient_checkpointing_gives_the_same_gradients():
    def grads(checkpointing: bool):
        model = randomize(FVDMTransformer(**SMALL)).train()
        if checkpointing:
            model.enable_gradient_checkpointing()
        x = torch.randn(2, 4, 3, 8, 8, generator=torch.Generator().manual_seed(1))
        model(x, torch.tensor([[1, 200, 400, 999], [5, 5, 5, 5]])).square().mean().backward()
        return [p.grad.clone() for p in model.parameters()]

    for plain, checkpointed in zip(grads(False), grads(True)):
        torch.testing.assert_close(plain, checkpointed)


def attention_kernels_used(run) -> set[str]:
    """Names of the CPU SDPA kernels that `run()` calls."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profiler:
        run()
    return {event.key for event in profiler.key_averages() if "_scaled_dot_product" in event.key}


def test_bf16_cpu_training_uses_the_math_kernel_and_everything_else_the_flash_kernel():
    model = randomize(FVDMTransformer(**SMALL))
    x, t = torch.randn(1, 4, 3, 8, 8), torch.tensor([[1, 200, 400, 999]])

    def run(bf16: bool, grad: bool):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16), torch.set_grad_enabled(grad):
            out = model(x, t).float().sum()
        if grad:
            out.backward()

    bf16_training = attention_kernels_used(lambda: run(bf16=True, grad=True))
    assert any("math" in name for name in bf16_training)
    assert not any("flash" in name for name in bf16_training)
    for bf16, grad in ((True, False), (False, True), (False, False)):
        assert any("flash" in name for name in attention_kernels_used(lambda: run(bf16, grad)))


def test_both_attention_kernels_give_the_same_outputs_and_gradients(monkeypatch):
    def run(kernel):
        monkeypatch.setattr(attention, "CPU_TRAINING_KERNEL", kernel)
        model = randomize(FVDMTransformer(**SMALL)).train()
        x = torch.randn(2, 4, 3, 8, 8, generator=torch.Generator().manual_seed(1))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = model(x, torch.tensor([[1, 200, 400, 999], [5, 5, 5, 5]])).float()
        out.square().mean().backward()
        return out.detach(), [p.grad.clone() for p in model.parameters()]

    (math_out, math_grads), (flash_out, flash_grads) = run(SDPBackend.MATH), run(SDPBackend.FLASH_ATTENTION)
    # Equal up to bf16 rounding: relative error of the whole tensor under 2%.
    assert (math_out - flash_out).norm() <= 0.02 * flash_out.norm()
    for math_grad, flash_grad in zip(math_grads, flash_grads, strict=True):
        assert (math_grad - flash_grad).norm() <= 0.02 * flash_grad.norm() + 1e-4


def test_save_and_load_round_trip_in_safetensors(tmp_path):
    model = randomize(FVDMTransformer(**SMALL, num_classes=2, learn_sigma=True))
    model.save_pretrained(tmp_path)
    assert (tmp_path / "diffusion_pytorch_model.safetensors").is_file()
    loaded = FVDMTransformer.from_pretrained(tmp_path).eval()
    x, t = torch.randn(1, 4, 3, 8, 8), torch.tensor([[10, 20, 30, 40]])
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, t), model(x, t), rtol=0, atol=0)


# -- official checkpoints -------------------------------------------------------------------------


def official_state_dict(hidden=32, channels=3, patch=2, grid=4, frames=4, pairs=2, classes=3, sigma=True, seed=0):
    """A state dict with the official trainer's names and shapes, built from scratch."""
    g = torch.Generator().manual_seed(seed)
    rnd = lambda *shape: torch.randn(*shape, generator=g) * 0.2  # noqa: E731
    out = 2 * channels if sigma else channels
    sd = {
        "x_embedder.proj.weight": rnd(hidden, channels, patch, patch),
        "x_embedder.proj.bias": rnd(hidden),
        "t_embedder.mlp.0.weight": rnd(hidden, 256),
        "t_embedder.mlp.0.bias": rnd(hidden),
        "t_embedder.mlp.2.weight": rnd(hidden, hidden),
        "t_embedder.mlp.2.bias": rnd(hidden),
        "y_embedder.embedding_table.weight": rnd(classes + 1, hidden),
        "pos_embed": rnd(1, grid * grid, hidden),
        "temp_embed": rnd(1, frames, hidden),
        "final_layer.linear.weight": rnd(patch * patch * out, hidden),
        "final_layer.linear.bias": rnd(patch * patch * out),
        "final_layer.adaLN_modulation.1.weight": rnd(2 * hidden, hidden),
        "final_layer.adaLN_modulation.1.bias": rnd(2 * hidden),
    }
    for kind in ("blocks_spatial", "blocks_temp"):
        for i in range(pairs):
            p = f"{kind}.{i}."
            sd |= {
                p + "attn.qkv.weight": rnd(3 * hidden, hidden), p + "attn.qkv.bias": rnd(3 * hidden),
                p + "attn.proj.weight": rnd(hidden, hidden), p + "attn.proj.bias": rnd(hidden),
                p + "mlp.fc1.weight": rnd(4 * hidden, hidden), p + "mlp.fc1.bias": rnd(4 * hidden),
                p + "mlp.fc2.weight": rnd(hidden, 4 * hidden), p + "mlp.fc2.bias": rnd(hidden),
                p + "adaLN_modulation.1.weight": rnd(6 * hidden, hidden), p + "adaLN_modulation.1.bias": rnd(6 * hidden),
            }
    return sd


def reference_forward(sd, x, t, y, heads, patch):
    """The official model's forward, written from its description: [(B*F), P, D] spatial and
    [(B*P), F, D] temporal sequences, with the temporal modulation repeated for every patch."""
    B, Fr, C, H, W = x.shape
    D = sd["pos_embed"].shape[-1]

    def linear(h, name):
        return F.linear(h, sd[name + ".weight"], sd[name + ".bias"])

    def block(h, c, p):  # h [N, L, D], c [N, L, D]
        mod = linear(F.silu(c), p + "adaLN_modulation.1").chunk(6, -1)
        n = F.layer_norm(h, (D,), eps=1e-6) * (1 + mod[1]) + mod[0]
        N, L, _ = n.shape
        q, k, v = linear(n, p + "attn.qkv").view(N, L, 3, heads, D // heads).permute(2, 0, 3, 1, 4)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(D // heads), -1) @ v
        h = h + mod[2] * linear(att.transpose(1, 2).reshape(N, L, D), p + "attn.proj")
        n = F.layer_norm(h, (D,), eps=1e-6) * (1 + mod[4]) + mod[3]
        return h + mod[5] * linear(F.gelu(linear(n, p + "mlp.fc1"), approximate="tanh"), p + "mlp.fc2")

    freqs = torch.exp(-math.log(10000) * torch.arange(128) / 128)
    emb = torch.cat([torch.cos(t[..., None].float() * freqs), torch.sin(t[..., None].float() * freqs)], -1)
    c = linear(F.silu(linear(emb, "t_embedder.mlp.0")), "t_embedder.mlp.2")  # [B, F, D]
    c = c + sd["y_embedder.embedding_table.weight"][y][:, None]
    h = F.conv2d(x.reshape(B * Fr, C, H, W), sd["x_embedder.proj.weight"], sd["x_embedder.proj.bias"], stride=patch)
    h = h.flatten(2).transpose(1, 2) + sd["pos_embed"]  # [(B*F), P, D]
    P = h.shape[1]
    pairs = len({k.split(".")[1] for k in sd if k.startswith("blocks_spatial")})
    for i in range(pairs):
        h = block(h, c.reshape(B * Fr, 1, D).expand(-1, P, -1), f"blocks_spatial.{i}.")
        h = h.view(B, Fr, P, D).transpose(1, 2).reshape(B * P, Fr, D)
        if i == 0:
            h = h + sd["temp_embed"]
        c_tok = c[:, None].expand(B, P, Fr, D).reshape(B * P, Fr, D)  # recomputed for every patch
        h = block(h, c_tok, f"blocks_temp.{i}.")
        h = h.view(B, P, Fr, D).transpose(1, 2).reshape(B * Fr, P, D)
    shift, scale = linear(F.silu(c.reshape(B * Fr, 1, D)), "final_layer.adaLN_modulation.1").chunk(2, -1)
    h = linear(F.layer_norm(h, (D,), eps=1e-6) * (1 + scale) + shift, "final_layer.linear")
    g, c_out = H // patch, h.shape[-1] // (patch * patch)
    h = h.view(B * Fr, g, g, patch, patch, c_out).permute(0, 5, 1, 3, 2, 4).reshape(B, Fr, c_out, H, W)
    return h


def test_official_checkpoint_loads_and_matches_the_reference_forward(tmp_path):
    sd = official_state_dict()
    path = tmp_path / "0100000.pt"
    torch.save({"ema": {"_orig_mod." + k: v for k, v in sd.items()}}, path)
    model = load_official_transformer(path, num_heads=2).eval()
    cfg = model.config
    assert (cfg.hidden_size, cfg.depth, cfg.patch_size, cfg.sample_size, cfg.num_frames) == (32, 4, 2, 8, 4)
    assert cfg.num_classes == 3 and cfg.learn_sigma and cfg.num_heads == 2
    x, t, y = torch.randn(2, 4, 3, 8, 8), torch.tensor([[0, 250, 500, 999], [7, 7, 7, 7]]), torch.tensor([2, 3])
    with torch.no_grad():
        torch.testing.assert_close(model(x, t, y), reference_forward(sd, x, t, y, heads=2, patch=2), rtol=1e-4, atol=1e-4)


def test_official_checkpoint_default_heads_and_bare_state_dict(tmp_path):
    sd = official_state_dict(hidden=128, classes=0, sigma=False)
    del sd["y_embedder.embedding_table.weight"]
    torch.save(sd, tmp_path / "bare.pt")
    model = load_official_transformer(tmp_path / "bare.pt")
    assert model.config.num_heads == 2 and model.config.num_classes == 0 and not model.config.learn_sigma


def test_official_checkpoint_errors_are_plain(tmp_path):
    with pytest.raises(FVDMInputError, match="does not exist"):
        load_official_transformer(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(FVDMInputError, match="cannot read"):
        load_official_transformer(tmp_path / "junk.pt")
    sd = official_state_dict()
    del sd["temp_embed"]
    torch.save({"ema": sd}, tmp_path / "partial.pt")
    with pytest.raises(FVDMInputError, match="temp_embed"):
        load_official_transformer(tmp_path / "partial.pt")


def test_official_checkpoint_never_unpickles_code(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("this must never run",))

    torch.save({"ema": Payload()}, tmp_path / "evil.pt")
    with pytest.raises(FVDMInputError, match="cannot read"):
        load_official_transformer(tmp_path / "evil.pt")
