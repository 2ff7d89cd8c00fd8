"""TiedDense: an output layer that reuses an Embedding's table (weight tying).

A language model's input embedding E maps a word to a vector; its output layer
maps a vector to a score per word. Tying the two (Press & Wolf 2017; Inan et
al. 2017) uses E for both: fewer parameters (10,000 × 200 fewer on Penn
Treebank) and, in those papers and in the SNU paper (recurrent sSNU with
weight tying: test perplexity 108.4), better perplexity.
"""

from __future__ import annotations

import numpy as np

from ..core.layer import Layer
from ..core.registry import register_layer
from ..core.validate import check_array, check_gradient, check_params
from .embedding import Embedding


@register_layer
class TiedDense(Layer):
    r"""Logits over the vocabulary from an Embedding's own table: :math:`z = h E^\top + b`.

    .. math::

        z_t = h_t E^\top + b, \qquad E \in \mathbb{R}^{V \times d}
        \text{ (the Embedding's } W\text{)},\; b \in \mathbb{R}^{V}

    for ``h`` of shape (..., d), e.g. (T, B, d), giving (..., V). With the rows
    of all leading axes stacked into H (N × d) and the upstream gradient
    :math:`\delta = \partial L / \partial Z` likewise (N × V), differentiating
    :math:`Z_{nv} = \sum_k H_{nk} E_{vk} + b_v` gives

    .. math::

        \frac{\partial L}{\partial E} = \delta^\top H = \sum_t \delta_t^\top h_t, \qquad
        \frac{\partial L}{\partial b} = \sum_{rows} \delta, \qquad
        \frac{\partial L}{\partial H} = \delta\, E .

    E is *shared*, not copied: it stays ``embedding.params["W"]``, and
    ``backward`` adds :math:`\partial L/\partial E` into ``embedding.grads["W"]``,
    where the Embedding adds the gradient of its own use. The optimizer sees E
    once, through the Embedding, with the sum of both paths, which is the
    gradient of the tied parameter (the chain rule sums over every use). This
    layer's own ``params`` hold only ``b``, so E is never updated twice.

    With ``scale=True`` a learned scalar α (starting at 1) multiplies the
    product, z = α h Eᵀ + b, so the logits' range is no longer E's alone:

    .. math::

        \frac{\partial L}{\partial \alpha} = \sum_{n} h_n \cdot (\delta_n E), \qquad
        \frac{\partial L}{\partial E} = \alpha\, \delta^\top H, \qquad
        \frac{\partial L}{\partial H} = \alpha\, \delta E .

    Why: E is also the input's word vectors, which the layers above the
    embedding want small, while a sharp softmax over V words wants large
    logits; fed by SNU outputs y ∈ [0, 1]^d, z = y Eᵀ is bounded by the rows of E
    (``minisnu inspect`` measures that ceiling). α lets the two uses differ in
    scale. It is not in the SNU paper; off by default.

    Parameters
    ----------
    embedding : Embedding or int
        the ``Embedding`` to tie to; or its index in the ``Sequential``
        that will hold both layers, resolved when that Sequential is built (how
        ``Sequential.load`` rebuilds the tie from ``config()``).
    bias : bool
        learn the bias b (otherwise z = h Eᵀ).
    scale : bool
        learn the scalar α (otherwise α = 1).

    Notes
    -----
    A Sequential holding a TiedDense must hold its Embedding too (otherwise the
    optimizer would never update E): ``Sequential`` calls :meth:`bind` with its
    layers, which finds the Embedding, records its index for ``config()``, and
    checks that the layers before this one output ``d`` features. dtype and
    sizes are the Embedding's; b starts at 0. The input is kept by reference for
    the backward pass: do not modify it in place between ``forward`` and
    ``backward``.
    """

    def __init__(self, embedding, bias: bool = True, scale: bool = False):
        super().__init__()
        self.bias, self.scale = bool(bias), bool(scale)
        self.embedding: Embedding | None = None
        self.index: int | None = None  # the Embedding's position in the Sequential, set by bind()
        if isinstance(embedding, (int, np.integer)) and not isinstance(embedding, bool):
            if embedding < 0:
                raise ValueError(f"embedding must be a layer index >= 0, got {embedding}")
            self.index = int(embedding)
        else:
            self._tie(embedding)
        self._h2d = None  # the input as an (N, d) matrix
        self._out_shape = None

    def _tie(self, embedding) -> None:
        if not isinstance(embedding, Embedding):
            raise TypeError("TiedDense ties to an Embedding (or its index in the Sequential), "
                            f"got {type(embedding).__name__}")
        self.embedding = embedding
        if self.bias and "b" not in self.params:
            self.add_param("b", np.zeros(embedding.n_vocab, dtype=embedding.dtype))
        if self.scale and "scale" not in self.params:
            self.add_param("scale", np.ones(1, dtype=embedding.dtype))

    # ---- the tie ----------------------------------------------------------------

    def bind(self, layers) -> None:
        """Tie to the Embedding among ``layers`` (the Sequential hook, see ``minisnu.layers.sequential``).

        Constructed from an index, take ``layers[index]``; constructed from an
        Embedding, record where it is. Then check the feature sizes.
        """
        layers = list(layers)
        if self.embedding is None:
            if self.index >= len(layers):
                raise ValueError(f"TiedDense is tied to layer {self.index}, but there are only "
                                 f"{len(layers)} layers")
            target = layers[self.index]
            if not isinstance(target, Embedding):
                raise TypeError(f"TiedDense is tied to layer {self.index}, which is a "
                                f"{type(target).__name__}, not an Embedding")
            self._tie(target)
        else:
            found = [i for i, layer in enumerate(layers) if layer is self.embedding]
            if not found:
                raise ValueError("the Embedding this TiedDense is tied to is not a layer of the "
                                 "Sequential: put both in it (the optimizer updates E through the "
                                 "Embedding)")
            self.index = found[0]
        self._check_input_size(layers)

    def _check_input_size(self, layers) -> None:
        """The nearest layer before this one that has a size must output n_dim features."""
        here = next((i for i, layer in enumerate(layers) if layer is self), None)
        for i in range(-1 if here is None else here - 1, -1, -1):
            layer = layers[i]
            size = layer.n_dim if isinstance(layer, Embedding) else getattr(layer, "n_out", None)
            if size is None:  # size-preserving (Dropout, a readout): look further back
                continue
            if size != self.n_in:
                raise ValueError(
                    f"TiedDense (layer {here}) uses the Embedding of layer {self.index}, whose "
                    f"vectors have n_dim={self.n_in}, but layer {i} ({type(layer).__name__}) "
                    f"outputs {size} features: weight tying needs the last hidden size to equal "
                    "the embedding size")
            return

    def _need_embedding(self) -> Embedding:
        if self.embedding is None:
            raise RuntimeError(f"TiedDense(embedding={self.index}) is not tied yet: put it in a "
                               "Sequential with its Embedding")
        return self.embedding

    @property
    def n_in(self) -> int:
        """Input features: the embedding size d."""
        return self._need_embedding().n_dim

    @property
    def n_out(self) -> int:
        """Output features: the vocabulary size V."""
        return self._need_embedding().n_vocab

    @property
    def dtype(self) -> np.dtype:
        return self._need_embedding().dtype

    # ---- forward and backward ---------------------------------------------------------

    def forward(self, h: np.ndarray) -> np.ndarray:
        emb = self._need_embedding()
        h = check_array("h", h, last=emb.n_dim, dtype=emb.dtype)
        check_params(self)
        check_params(emb)
        h2d = h.reshape(-1, emb.n_dim)
        z = h2d @ emb.params["W"].T  # E.T is a transposed view: no copy
        if self.scale:
            z *= self.params["scale"][0]
        if self.bias:
            z += self.params["b"]
        self._h2d = h2d
        self._out_shape = h.shape[:-1] + (emb.n_vocab,)
        return z.reshape(self._out_shape)

    def backward(self, dz: np.ndarray) -> np.ndarray:
        self._need_forward(self._h2d)
        emb = self._need_embedding()
        dz = check_gradient(self, dz, self._out_shape, emb.dtype, name="dz")
        dz2d = dz.reshape(-1, emb.n_vocab)
        alpha = self.params["scale"][0] if self.scale else 1
        emb.grads["W"] += alpha * (dz2d.T @ self._h2d)  # the Embedding's own gradient is added there too
        if self.bias:
            self.grads["b"] += dz2d.sum(axis=0)
        dz_e = dz2d @ emb.params["W"]                   # δ E, (N, d)
        if self.scale:
            self.grads["scale"] += np.sum(self._h2d * dz_e, dtype=np.float64)
            dz_e *= alpha
        return dz_e.reshape(self._out_shape[:-1] + (emb.n_dim,))

    def config(self) -> dict:
        # "scale" only when on: checkpoints written before it existed rebuild unchanged
        return {"embedding": self.index, "bias": self.bias, **({"scale": True} if self.scale else {})}
