"""jag.nn: every layer's forward pass against an independent numpy computation of PyTorch's
formulas (and against torch itself when it is installed; skipped visibly otherwise), init
determinism and torch-like init statistics, parameter structure, dropout, losses, tracing."""
import math

import numpy as np
import pytest

import jag
from jag import nn
from jag.errors import AttrError, DTypeError, IndexOutOfRangeError, InputError, ShapeError

rng = np.random.default_rng(0)
_erf = np.vectorize(math.erf)


def randn(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def close(got, want, rtol=1e-5, atol=1e-6):
    got = np.asarray(got)
    assert got.shape == np.shape(want), (got.shape, np.shape(want))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


# ====================================================================== numpy references (PyTorch formulas)

def linear_ref(x, w, b=None):
    y = x.astype(np.float64) @ w.astype(np.float64).T
    return y if b is None else y + b


def conv2d_ref(x, w, b, stride, pads, dil, groups):
    """Direct definition of torch.nn.functional.conv2d: one dot product per output pixel."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    pt, pl, pb, pr = pads
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    oh = (h + pt + pb - dil * (kh - 1) - 1) // stride + 1
    ow = (wd + pl + pr - dil * (kw - 1) - 1) // stride + 1
    out = np.zeros((n, o, oh, ow))
    per_group = o // groups
    for oc in range(o):
        g = oc // per_group
        for i in range(oh):
            for j in range(ow):
                patch = xp[:, g * cg:(g + 1) * cg, i * stride:i * stride + dil * (kh - 1) + 1:dil,
                           j * stride:j * stride + dil * (kw - 1) + 1:dil]
                out[:, oc, i, j] = (patch * w[oc]).sum(axis=(1, 2, 3)) + (0 if b is None else b[oc])
    return out


def pool_ref(x, k, stride, pad, kind, count_include_pad=True):
    n, c, h, w = x.shape
    fill = -np.inf if kind == "max" else 0.0
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=fill)
    ones = np.pad(np.ones((h, w)), pad)
    oh, ow = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
    out = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            win = xp[:, :, i * stride:i * stride + k, j * stride:j * stride + k]
            if kind == "max":
                out[:, :, i, j] = win.max(axis=(2, 3))
            else:
                cnt = k * k if count_include_pad else ones[i * stride:i * stride + k, j * stride:j * stride + k].sum()
                out[:, :, i, j] = win.sum(axis=(2, 3)) / cnt
    return out


def layer_norm_ref(x, w, b, n_axes, eps=1e-5):
    axes = tuple(range(x.ndim - n_axes, x.ndim))
    x = x.astype(np.float64)
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + eps)
    return y * (1 if w is None else w) + (0 if b is None else b)


def softmax_ref(s, axis=-1):
    e = np.exp(s - np.max(s, axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def gelu_ref(x):
    return 0.5 * x * (1 + _erf(x / math.sqrt(2)))


def mha_ref(p, q, k, v, heads, mask=None, key_padding_mask=None):
    """torch's multi_head_attention_forward (batch_first, no dropout) in float64."""
    e = q.shape[-1]
    d = e // heads

    def proj(name, t):
        return linear_ref(t, p[name]["weight"], p[name]["bias"])

    def split(t):  # [..., L, E] -> [..., H, L, D]
        return np.swapaxes(t.reshape(t.shape[:-1] + (heads, d)), -2, -3)

    qh, kh, vh = split(proj("q_proj", q)), split(proj("k_proj", k)), split(proj("v_proj", v))
    s = qh @ np.swapaxes(kh, -1, -2) / math.sqrt(d)
    if mask is not None:
        s = np.where(mask, -np.inf, s) if mask.dtype == bool else s + mask
    if key_padding_mask is not None:
        s = np.where(key_padding_mask[..., None, None, :], -np.inf, s)
    o = softmax_ref(s) @ vh
    o = np.swapaxes(o, -2, -3)
    return proj("out_proj", o.reshape(o.shape[:-2] + (e,)))


def encoder_layer_ref(p, x, heads, act, norm_first, mask=None):
    """torch.nn.TransformerEncoderLayer.forward (eval mode) in float64."""
    def sa(t):
        return mha_ref(p["self_attn"], t, t, t, heads, mask)

    def ff(t):
        h = linear_ref(t, p["linear1"]["weight"], p["linear1"]["bias"])
        h = np.maximum(h, 0) if act == "relu" else gelu_ref(h)
        return linear_ref(h, p["linear2"]["weight"], p["linear2"]["bias"])

    def norm(name, t):
        return layer_norm_ref(t, p[name]["weight"], p[name]["bias"], 1)

    x = x.astype(np.float64)
    if norm_first:
        x = x + sa(norm("norm1", x))
        return x + ff(norm("norm2", x))
    x = norm("norm1", x + sa(x))
    return norm("norm2", x + ff(x))


# ====================================================================== layers

@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 3), (3,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear(shape, bias):
    m = nn.Linear(3, 4, bias=bias)
    p = m.init(1)
    assert p["weight"].shape == (4, 3) and p["weight"].dtype == np.float32
    assert ("bias" in p) == bias
    x = randn(*shape)
    y = m.apply(p, x)
    assert y.dtype == "float32"
    close(y, linear_ref(x, p["weight"], p.get("bias")))


@pytest.mark.parametrize("cin,cout,k,stride,padding,dil,groups", [
    (3, 4, 3, 1, 0, 1, 1), (2, 6, (3, 2), 2, 1, 1, 2), (4, 4, 3, 1, "same", 2, 4), (3, 2, 2, 1, "valid", 1, 1),
    (2, 3, 3, 2, (2, 1), 1, 1),
])
def test_conv2d(cin, cout, k, stride, padding, dil, groups):
    m = nn.Conv2d(cin, cout, k, stride=stride, padding=padding, dilation=dil, groups=groups)
    p = m.init(3)
    kh, kw = (k, k) if isinstance(k, int) else k
    assert p["weight"].shape == (cout, cin // groups, kh, kw) and p["bias"].shape == (cout,)
    x = randn(2, cin, 7, 6)
    if padding == "same":
        pads = [dil * (kh - 1) // 2, dil * (kw - 1) // 2, dil * (kh - 1) - dil * (kh - 1) // 2,
                dil * (kw - 1) - dil * (kw - 1) // 2]
    elif padding == "valid":
        pads = [0, 0, 0, 0]
    else:
        ph, pw = (padding, padding) if isinstance(padding, int) else padding
        pads = [ph, pw, ph, pw]
    want = conv2d_ref(x, p["weight"], p["bias"], stride, pads, dil, groups)
    got = m.apply(p, x)
    close(got, want, rtol=1e-4, atol=1e-5)
    if padding == "same":
        assert got.shape[2:] == x.shape[2:]


def test_conv2d_errors():
    with pytest.raises(AttrError):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(AttrError):
        nn.Conv2d(2, 4, 3, stride=2, padding="same")
    with pytest.raises(AttrError):
        nn.Conv2d(2, 4, 3, padding="full")
    with pytest.raises(ShapeError):
        nn.Conv2d(3, 4, 3).apply(nn.Conv2d(3, 4, 3).init(0), randn(1, 2, 5, 5))


@pytest.mark.parametrize("k,stride,pad", [(2, None, 0), (3, 1, 1), (3, 2, 1)])
def test_pooling(k, stride, pad):
    x = randn(2, 3, 7, 6)
    s = k if stride is None else stride
    assert nn.MaxPool2d(k, stride, pad).init(0) == {}
    close(nn.MaxPool2d(k, stride, pad)(x), pool_ref(x, k, s, pad, "max"))
    close(nn.AvgPool2d(k, stride, pad).apply({}, x), pool_ref(x, k, s, pad, "avg"))
    close(nn.AvgPool2d(k, stride, pad, count_include_pad=False).apply({}, x),
          pool_ref(x, k, s, pad, "avg", count_include_pad=False))


@pytest.mark.parametrize("normalized_shape", [5, (4, 5)])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm(normalized_shape, affine):
    m = nn.LayerNorm(normalized_shape, eps=1e-3, elementwise_affine=affine)
    p = m.init(0)
    n = 1 if isinstance(normalized_shape, int) else 2
    if affine:
        shape = (5,) if n == 1 else (4, 5)
        np.testing.assert_array_equal(p["weight"], np.ones(shape))
        np.testing.assert_array_equal(p["bias"], np.zeros(shape))
        p = {"weight": randn(*shape), "bias": randn(*shape)}  # non-trivial affine part
    else:
        assert p == {}
    x = randn(3, 4, 5) * 3 + 1
    close(m.apply(p, x), layer_norm_ref(x, p.get("weight"), p.get("bias"), n, eps=1e-3), rtol=1e-4, atol=1e-5)
    with pytest.raises(ShapeError):
        m.apply(p, randn(3, 4, 6))


def test_embedding():
    m = nn.Embedding(10, 4)
    p = m.init(2)
    assert p["weight"].shape == (10, 4)
    idx = np.array([[1, 9, 0], [3, 3, -1]])
    close(m.apply(p, idx), p["weight"][idx])
    with pytest.raises(IndexOutOfRangeError):
        m.apply(p, np.array([10]))


@pytest.mark.parametrize("module,ref", [
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    (nn.Tanh(), np.tanh),
    (nn.GELU(), gelu_ref),
    (nn.GELU("tanh"), lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))),
    (nn.Softmax(), softmax_ref),
    (nn.Softmax(axis=0), lambda x: softmax_ref(x, 0)),
    (nn.LogSoftmax(), lambda x: np.log(softmax_ref(x))),
    (nn.Flatten(), lambda x: x.reshape(3, -1)),
    (nn.Flatten(0, 1), lambda x: x.reshape(12, 5)),
])
def test_parameterless_layers(module, ref):
    x = randn(3, 4, 5) * 2
    assert module.init(0) == {}
    close(module.apply({}, x), ref(x.astype(np.float64)), rtol=1e-5, atol=1e-6)
    close(module(x), ref(x.astype(np.float64)), rtol=1e-5, atol=1e-6)


def test_functional_activations():
    x = randn(4, 3)
    close(nn.relu(x), np.maximum(x, 0))
    close(nn.gelu(x), gelu_ref(x.astype(np.float64)))
    close(nn.sigmoid(x), 1 / (1 + np.exp(-x.astype(np.float64))))
    close(nn.tanh(x), np.tanh(x))
    close(nn.softmax(x, axis=0), softmax_ref(x, 0))
    close(nn.log_softmax(x), np.log(softmax_ref(x.astype(np.float64))))


def test_flatten_errors_and_symbolic():
    with pytest.raises(AttrError):
        nn.Flatten(2, 1).apply({}, randn(2, 3, 4))
    g = jag.trace(lambda x: nn.Flatten().apply({}, x), randn(2, 3, 4), symbolic={"x": ("N", None, None)})
    x = randn(5, 3, 4)
    np.testing.assert_array_equal(g(x), x.reshape(5, 12))


# ====================================================================== Sequential and parameters

def test_sequential_params_and_forward():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, 3), jag.tanh)
    p = model.init(0)
    assert list(p) == ["0", "3"] and list(p["0"]) == ["weight", "bias"]
    assert p["3"]["weight"].shape == (3, 8)
    x = randn(5, 4)
    h = np.maximum(linear_ref(x, p["0"]["weight"], p["0"]["bias"]), 0)
    close(model.apply(p, x), np.tanh(linear_ref(h, p["3"]["weight"], p["3"]["bias"])), rtol=1e-5)
    assert isinstance(model[0], nn.Linear) and isinstance(model[-1], nn.Lambda) and len(model) == 5
    assert "(3): Linear(8, 3)" in repr(model)


def test_sequential_named():
    model = nn.Sequential({"fc1": nn.Linear(2, 3), "act": nn.GELU(), "out": nn.Linear(3, 1)})
    p = model.init(4)
    assert list(p) == ["fc1", "out"] and model["act"].approximate == "none"
    x = randn(6, 2)
    h = gelu_ref(linear_ref(x, p["fc1"]["weight"], p["fc1"]["bias"]))
    want = linear_ref(h, p["out"]["weight"], p["out"]["bias"])
    close(model.apply(p, x), want, rtol=1e-5)
    with pytest.raises(AttrError):
        nn.Sequential({"a.b": nn.ReLU()})
    with pytest.raises(AttrError):
        nn.Sequential(nn.ReLU(), 3)


def test_init_is_deterministic_and_positional():
    def flat(tree):
        return jag.pytree.flatten(tree)[0]

    a = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    b = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2), nn.Linear(2, 2))
    for u, v in zip(flat(a.init(7)), flat(a.init(7))):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a.init(7)["0"]["weight"], a.init(8)["0"]["weight"])
    # a submodule's params depend on the seed and its position only
    np.testing.assert_array_equal(a.init(7)["1"]["weight"], b.init(7)["1"]["weight"])
    # the two layers draw from different streams
    assert not np.allclose(a.init(7)["0"]["weight"][:2, :2], a.init(7)["1"]["weight"][:2, :2])
    # leaf modules draw from np.random.default_rng(seed)
    w = nn.Linear(3, 4).init(5)["weight"]
    np.testing.assert_array_equal(w, np.random.default_rng(5).uniform(-1 / math.sqrt(3), 1 / math.sqrt(3), (4, 3))
                                  .astype(np.float32))
    with pytest.raises(InputError):
        nn.Linear(3, 4).init(-1)


def test_object_oriented_convenience():
    x = randn(2, 3)
    m = nn.Linear(3, 4, seed=1)
    close(m(x), np.asarray(m.apply(m.init(1), x)))
    assert m.parameters() is m.parameters()
    np.testing.assert_array_equal(m.parameters()["weight"], m.init(1)["weight"])
    default = nn.Linear(3, 4)                               # seed 0 unless given
    np.testing.assert_array_equal(np.asarray(default(x)), np.asarray(default.apply(nn.Linear(3, 4).init(0), x)))
    p = {"weight": np.eye(4, 3, dtype=np.float32), "bias": np.zeros(4, np.float32)}
    close(m.set_parameters(p)(x), x @ np.eye(4, 3).T)


def test_constructor_errors():
    with pytest.raises(AttrError):
        nn.Linear(0, 3)
    with pytest.raises(AttrError):
        nn.MultiHeadAttention(10, 3)
    with pytest.raises(AttrError):
        nn.Dropout(1.0)
    with pytest.raises(AttrError):
        nn.TransformerEncoderLayer(8, 2, activation="swish")


# ====================================================================== initializers

def test_calculate_gain():
    assert nn.calculate_gain("linear") == 1 and nn.calculate_gain("sigmoid") == 1
    assert nn.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert nn.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert nn.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert nn.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    with pytest.raises(AttrError):
        nn.calculate_gain("swish")


def _uniform_stats(w, bound):
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.98 * bound
    assert abs(w.mean()) < 4 * bound / math.sqrt(3 * w.size)   # 4 standard errors
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.03)


def test_torch_default_init_statistics():
    """torch's Linear/Conv reset_parameters: U(±1/sqrt(fan_in)) for weight and bias."""
    p = nn.Linear(400, 300).init(0)
    _uniform_stats(p["weight"], 1 / 20)
    assert 0.95 / 20 < np.abs(p["bias"]).max() <= 1 / 20
    p = nn.Conv2d(8, 64, 3, groups=2).init(0)           # fan_in = 8/2 * 3 * 3 = 36
    _uniform_stats(p["weight"], 1 / 6)
    assert np.abs(p["bias"]).max() <= 1 / 6
    w = nn.Embedding(300, 100).init(0)["weight"]
    assert w.mean() == pytest.approx(0, abs=0.02) and w.std() == pytest.approx(1, rel=0.02)
    p = nn.MultiHeadAttention(64, 4).init(0)
    qkv = np.concatenate([p[n]["weight"] for n in ("q_proj", "k_proj", "v_proj")])
    _uniform_stats(qkv, math.sqrt(6 / (64 + 3 * 64)))
    _uniform_stats(p["out_proj"]["weight"], 1 / 8)
    for n in ("q_proj", "k_proj", "v_proj", "out_proj"):
        np.testing.assert_array_equal(p[n]["bias"], 0)


def test_initializers():
    shape = (256, 128, 3, 3)                              # fan_in 1152, fan_out 2304
    w = nn.kaiming_uniform(0, shape, nonlinearity="relu")
    _uniform_stats(w, math.sqrt(2) * math.sqrt(3 / 1152))
    w = nn.kaiming_normal(np.random.default_rng(1), shape, mode="fan_out", nonlinearity="relu")
    assert w.std() == pytest.approx(math.sqrt(2 / 2304), rel=0.01) and w.dtype == np.float32
    w = nn.xavier_uniform(2, (300, 200), gain=2.0)
    _uniform_stats(w, 2 * math.sqrt(6 / 500))
    w = nn.xavier_normal(3, (300, 200), dtype="float64")
    assert w.dtype == np.float64 and w.std() == pytest.approx(math.sqrt(2 / 500), rel=0.02)
    w = nn.normal(4, (100, 100), mean=1.0, std=0.5)
    assert w.mean() == pytest.approx(1, abs=0.02) and w.std() == pytest.approx(0.5, rel=0.02)
    np.testing.assert_array_equal(nn.zeros(None, (2, 3)), np.zeros((2, 3)))
    np.testing.assert_array_equal(nn.ones(None, (2,), dtype="float64"), np.ones(2))
    np.testing.assert_array_equal(nn.kaiming_uniform(9, (3, 4)), nn.kaiming_uniform(9, (3, 4)))
    with pytest.raises(ShapeError):
        nn.xavier_uniform(0, (5,))
    with pytest.raises(AttrError):
        nn.kaiming_normal(0, (3, 4), mode="fan_avg")


def test_custom_initializers():
    m = nn.Linear(3, 4, weight_init=nn.zeros, bias_init=lambda r, s, dtype: np.full(s, 0.5, dtype))
    p = m.init(0)
    np.testing.assert_array_equal(p["weight"], 0)
    np.testing.assert_array_equal(p["bias"], 0.5)


# ====================================================================== dropout and keys

def test_dropout():
    x = randn(50, 40)
    d = nn.Dropout(0.25)
    assert d.apply({}, x) is x and d.apply({}, x, rng=3) is x           # eval: identity
    got = np.asarray(d.apply({}, x, rng=3, train=True))
    u = np.asarray(jag.random_uniform(np.int64(3), shape=[50, 40], dtype="float32"))
    np.testing.assert_array_equal(got, np.where(u < 0.25, 0, x * np.float32(1 / 0.75)))
    assert (got == 0).mean() == pytest.approx(0.25, abs=0.03)
    np.testing.assert_array_equal(got, np.asarray(d(x, rng=3, train=True)))
    assert not np.array_equal(got, np.asarray(d.apply({}, x, rng=4, train=True)))
    assert nn.Dropout(0.0).apply({}, x, train=True) is x
    with pytest.raises(InputError):
        d.apply({}, x, train=True)


def test_split_key():
    keys = [int(np.asarray(k)) for k in nn.split_key(5, 3)]
    assert len(set(keys)) == 3 and all(0 <= k < 2 ** 53 for k in keys)
    u = np.asarray(jag.random_uniform(np.int64(5), shape=[3], dtype="float64"))
    assert keys == [int(v * 2 ** 53) for v in u]
    assert keys == [int(np.asarray(k)) for k in nn.split_key(np.int64(5), 3)]


def test_sequential_splits_rng_between_dropouts():
    x = np.ones((20, 30), np.float32)
    model = nn.Sequential(nn.Dropout(0.5), nn.Linear(30, 30), nn.Dropout(0.5))
    p = model.init(0)
    got = np.asarray(model.apply(p, x, rng=11, train=True))
    k0, k1 = nn.split_key(11, 2)
    h = np.asarray(jag.dropout(x, k0, p=0.5))
    want = np.asarray(jag.dropout(linear_ref(h, p["1"]["weight"], p["1"]["bias"]).astype(np.float32), k1, p=0.5))
    close(got, want)
    # a single stochastic layer gets the key itself
    single = nn.Sequential(nn.Linear(30, 30), nn.Dropout(0.5))
    np.testing.assert_array_equal(np.asarray(single.apply({"0": p["1"]}, x, rng=11, train=True)),
                                  np.asarray(jag.dropout(single[0].apply(p["1"], x), 11, p=0.5)))
    close(model.apply(p, x), linear_ref(x, p["1"]["weight"], p["1"]["bias"]))      # eval: no dropout


# ====================================================================== attention

def test_multi_head_attention_self():
    m = nn.MultiHeadAttention(8, 2)
    p = m.init(0)
    assert set(p) == {"q_proj", "k_proj", "v_proj", "out_proj"} and p["q_proj"]["weight"].shape == (8, 8)
    x = randn(3, 5, 8)
    close(m.apply(p, x), mha_ref(p, x, x, x, 2), rtol=1e-4, atol=1e-5)
    close(m.apply(p, x[0]), mha_ref(p, x[0], x[0], x[0], 2), rtol=1e-4, atol=1e-5)     # unbatched [L, E]


def test_multi_head_attention_cross_and_masks():
    m = nn.MultiHeadAttention(12, 3)
    p = m.init(1)
    q, kv = randn(2, 4, 12), randn(2, 6, 12)
    close(m.apply(p, q, kv), mha_ref(p, q, kv, kv, 3), rtol=1e-4, atol=1e-5)
    v = randn(2, 6, 12)
    close(m.apply(p, q, kv, v), mha_ref(p, q, kv, v, 3), rtol=1e-4, atol=1e-5)
    causal = np.triu(np.ones((4, 4), bool), 1)            # True = may not attend
    x = randn(2, 4, 12)
    close(m.apply(p, x, mask=causal), mha_ref(p, x, x, x, 3, mask=causal), rtol=1e-4, atol=1e-5)
    additive = randn(2, 3, 4, 4)                           # [B, H, L, S]
    close(m.apply(p, x, mask=additive), mha_ref(p, x, x, x, 3, mask=additive), rtol=1e-4, atol=1e-5)
    kpm = np.array([[False, False, True, True, False, True], [False] * 6])
    close(m.apply(p, q, kv, key_padding_mask=kpm), mha_ref(p, q, kv, kv, 3, key_padding_mask=kpm),
          rtol=1e-4, atol=1e-5)
    with pytest.raises(DTypeError):
        m.apply(p, q, kv, key_padding_mask=kpm.astype(np.int64))
    with pytest.raises(ShapeError):
        m.apply(p, randn(2, 4, 10))


def test_multi_head_attention_dropout():
    m = nn.MultiHeadAttention(8, 2, dropout=0.5)
    p, x = m.init(0), randn(2, 5, 8)
    close(m.apply(p, x, train=False), mha_ref(p, x, x, x, 2), rtol=1e-4, atol=1e-5)
    a, b = (np.asarray(m.apply(p, x, rng=k, train=True)) for k in (1, 2))
    assert not np.allclose(a, b)
    np.testing.assert_array_equal(a, np.asarray(m.apply(p, x, rng=1, train=True)))


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["gelu", "relu"])
def test_transformer_encoder_layer(norm_first, activation):
    m = nn.TransformerEncoderLayer(16, 4, dim_feedforward=24, dropout=0.1, activation=activation,
                                   norm_first=norm_first)
    p = m.init(0)
    assert sorted(p) == ["linear1", "linear2", "norm1", "norm2", "self_attn"]
    assert p["linear1"]["weight"].shape == (24, 16) and p["linear2"]["weight"].shape == (16, 24)
    # non-trivial norm parameters
    for n in ("norm1", "norm2"):
        p[n] = {"weight": 1 + 0.1 * randn(16), "bias": 0.1 * randn(16)}
    x = randn(2, 7, 16)
    close(m.apply(p, x), encoder_layer_ref(p, x, 4, activation, norm_first), rtol=1e-4, atol=1e-4)
    mask = np.triu(np.ones((7, 7), bool), 1)
    close(m.apply(p, x, mask=mask), encoder_layer_ref(p, x, 4, activation, norm_first, mask), rtol=1e-4, atol=1e-4)
    # training: deterministic per key, different across keys; dropout=0 training equals eval
    a, b = (np.asarray(m.apply(p, x, rng=k, train=True)) for k in (3, 4))
    assert not np.allclose(a, b)
    np.testing.assert_array_equal(a, np.asarray(m.apply(p, x, rng=3, train=True)))
    m0 = nn.TransformerEncoderLayer(16, 4, 24, dropout=0.0, activation=activation, norm_first=norm_first)
    close(m0.apply(p, x, rng=3, train=True), np.asarray(m.apply(p, x)), rtol=1e-6, atol=1e-6)


def test_transformer_traces_with_symbolic_batch():
    m = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.2)
    p = m.init(0)
    x = randn(3, 5, 8)
    g = jag.trace(lambda params, x, key: m.apply(params, x, rng=key, train=True), p, x, np.int64(9),
                  symbolic={"x": ("B", None, None)})
    close(g(p, x, np.int64(9)), np.asarray(m.apply(p, x, rng=np.int64(9), train=True)), rtol=1e-5, atol=1e-6)
    assert g(p, randn(1, 5, 8), np.int64(9)).shape == (1, 5, 8)
    core = g.lower()
    close(core(p, x, np.int64(9)), g(p, x, np.int64(9)), rtol=1e-5, atol=1e-6)


# ====================================================================== losses

def log_softmax_ref(z, axis=-1):
    z = z.astype(np.float64)
    m = z.max(axis=axis, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=axis, keepdims=True))


def test_cross_entropy_indices():
    logits, labels = randn(6, 5), rng.integers(0, 5, 6)
    per = -log_softmax_ref(logits)[np.arange(6), labels]
    close(nn.cross_entropy(logits, labels), per.mean())
    close(nn.cross_entropy(logits, labels, reduction="sum"), per.sum(), rtol=1e-5)
    close(nn.cross_entropy(logits, labels.astype(np.int32), reduction="none"), per)
    assert nn.cross_entropy(logits, labels).dtype == "float32"


def test_cross_entropy_probabilities_and_axis():
    logits = randn(4, 3)
    probs = softmax_ref(randn(4, 3).astype(np.float64))
    close(nn.cross_entropy(logits, probs), -(probs * log_softmax_ref(logits)).sum(-1).mean())
    labels = np.array([2, 0, 1, 1])
    close(nn.cross_entropy(logits, np.eye(3, dtype=np.float32)[labels]), np.asarray(nn.cross_entropy(logits, labels)))
    x = randn(2, 4, 3)                                    # torch layout [N, C, d]: classes on axis 1
    y = rng.integers(0, 4, (2, 3))
    want = -np.take_along_axis(log_softmax_ref(x, 1), y[:, None, :], 1)[:, 0, :]
    close(nn.cross_entropy(x, y, axis=1, reduction="none"), want)


def test_cross_entropy_is_stable_for_large_logits():
    logits = np.array([[1e4, 0.0, -1e4], [5e3, 5e3 + 2, 5e3 - 1]], np.float32)
    labels = np.array([1, 0])
    got = np.asarray(nn.cross_entropy(logits, labels, reduction="none"))
    assert np.all(np.isfinite(got))
    close(got, [1e4, 2 + math.log1p(math.exp(-2) + math.exp(-3))], rtol=1e-5)
    g = jag.grad(lambda z: nn.cross_entropy(z, labels))(logits)
    assert np.all(np.isfinite(np.asarray(g)))


def test_cross_entropy_gradient_is_softmax_minus_one_hot():
    logits, labels = randn(5, 4).astype(np.float64), np.array([0, 3, 1, 1, 2])
    g = np.asarray(jag.grad(lambda z: nn.cross_entropy(z, labels))(logits))
    close(g, (softmax_ref(logits) - np.eye(4)[labels]) / 5, rtol=1e-10, atol=1e-12)


def test_cross_entropy_errors():
    logits = randn(3, 4)
    with pytest.raises(IndexOutOfRangeError):
        nn.cross_entropy(logits, np.array([0, 4, 1]))
    with pytest.raises(IndexOutOfRangeError):
        nn.cross_entropy(logits, np.array([0, -1, 1]))
    with pytest.raises(ShapeError):
        nn.cross_entropy(logits, np.array([0, 1]))
    with pytest.raises(ShapeError):
        nn.cross_entropy(logits, np.ones((3, 5), np.float32))
    with pytest.raises(DTypeError):
        nn.cross_entropy(logits, np.array([True, False, True]))
    with pytest.raises(AttrError):
        nn.cross_entropy(logits, np.array([0, 1, 2]), reduction="avg")


def test_mse():
    a, b = randn(4, 3), randn(4, 3)
    d = (a.astype(np.float64) - b) ** 2
    close(nn.mse(a, b), d.mean())
    close(nn.mse(a, b, reduction="sum"), d.sum(), rtol=1e-5)
    close(nn.mse(a, b, reduction="none"), d)
    close(nn.mse(a, b[0]), ((a.astype(np.float64) - b[0]) ** 2).mean())     # broadcasting
    g = np.asarray(jag.grad(lambda x: nn.mse(x, b))(a))
    close(g, 2 * (a - b) / a.size)


def test_model_gradients_match_finite_differences():
    """A small CNN + loss: jag.grad against central differences in float64."""
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, dtype="float64"), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(),
                          nn.Linear(8, 3, dtype="float64"))
    p = model.init(0)
    x, y = rng.standard_normal((2, 1, 4, 4)), np.array([0, 2])

    def loss(params):
        return nn.cross_entropy(model.apply(params, x), y)

    g = jag.grad(loss)(p)
    for name in ("weight", "bias"):
        for layer in ("0", "4"):
            w = p[layer][name]
            num = np.zeros_like(w)
            for i in np.ndindex(w.shape):
                orig = w[i]
                w[i] = orig + 1e-6
                up = float(loss(p))
                w[i] = orig - 1e-6
                down = float(loss(p))
                w[i] = orig
                num[i] = (up - down) / 2e-6
            close(g[layer][name], num, rtol=1e-5, atol=1e-8)


# ====================================================================== against PyTorch (when installed)

def _torch():
    return pytest.importorskip("torch", reason="PyTorch is not installed: comparison with torch.nn skipped")


def test_against_torch_layers():
    torch = _torch()
    t = lambda a: torch.from_numpy(np.asarray(a, np.float64))  # noqa: E731
    x = randn(2, 3, 8, 8)
    conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
    p = conv.init(0)
    want = torch.nn.functional.conv2d(t(x), t(p["weight"]), t(p["bias"]), stride=2, padding=1).numpy()
    close(conv.apply(p, x), want, rtol=1e-4, atol=1e-5)
    close(nn.MaxPool2d(3, 2, 1).apply({}, x), torch.nn.functional.max_pool2d(t(x), 3, 2, 1).numpy())
    close(nn.AvgPool2d(3, 2, 1, count_include_pad=False).apply({}, x),
          torch.nn.functional.avg_pool2d(t(x), 3, 2, 1, count_include_pad=False).numpy(), rtol=1e-5)
    logits, labels = randn(6, 5), rng.integers(0, 5, 6)
    want = torch.nn.functional.cross_entropy(t(logits), torch.from_numpy(labels)).item()
    close(nn.cross_entropy(logits, labels), want)


@pytest.mark.parametrize("norm_first", [False, True])
def test_against_torch_transformer_encoder_layer(norm_first):
    torch = _torch()
    t = lambda a: torch.from_numpy(np.asarray(a, np.float64))  # noqa: E731
    m = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, activation="gelu", norm_first=norm_first)
    p = m.init(0)
    tm = torch.nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, activation="gelu", batch_first=True,
                                          norm_first=norm_first, dtype=torch.float64).eval()
    sa = p["self_attn"]
    with torch.no_grad():
        tm.self_attn.in_proj_weight.copy_(t(np.concatenate([sa[n]["weight"] for n in ("q_proj", "k_proj", "v_proj")])))
        tm.self_attn.in_proj_bias.copy_(t(np.concatenate([sa[n]["bias"] for n in ("q_proj", "k_proj", "v_proj")])))
        tm.self_attn.out_proj.weight.copy_(t(sa["out_proj"]["weight"]))
        tm.self_attn.out_proj.bias.copy_(t(sa["out_proj"]["bias"]))
        for name in ("linear1", "linear2", "norm1", "norm2"):
            getattr(tm, name).weight.copy_(t(p[name]["weight"]))
            getattr(tm, name).bias.copy_(t(p[name]["bias"]))
    x = randn(2, 5, 16)
    mask = np.triu(np.ones((5, 5), bool), 1)
    with torch.no_grad():
        want = tm(t(x), src_mask=torch.from_numpy(mask)).numpy()
    close(m.apply(p, x, mask=mask), want, rtol=1e-4, atol=1e-4)
