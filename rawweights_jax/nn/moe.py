"""Mixture of experts: many MLPs per layer, each token sent to the k its router scores highest.

The routing steps (`route`):
1. the router scores every expert for every token: softmax over experts (Mixtral, Qwen3) or
   an independent sigmoid per expert (DeepSeek-V3);
2. for *choosing* only, a per-expert bias may be added (DeepSeek-V3's load balancing without
   an auxiliary loss: training raises the bias of underused experts, lowers that of busy ones);
3. optionally experts form groups and a token may only choose from its best few groups
   (DeepSeek-V3: 8 groups of 32, 4 allowed; a group is ranked by its two best scores), which
   bounds how many machines one token's experts live on;
4. the top k experts are chosen; their weights are the unbiased scores, renormalised to sum
   to 1 if asked, times a fixed scale.

Dispatch (`dispatch_sorted`): the U*O (token, expert) assignments (U tokens, O experts each) are sorted by expert, so each
expert's tokens sit together; each expert's run is padded to whole tiles of M rows; a loop over
tiles multiplies each tile by its one expert's weights. Compute is about U*O rows (plus at most
one partly empty tile per expert) instead of the U*E rows of the dense reference
(`dispatch_dense`, every expert on every token, unchosen results zeroed), which the tests and
`rawweights bench moe` compare it against. Nothing is dropped: unlike capacity-based dispatch,
no token loses an expert when many pick the same one.

Expert parallelism (`dispatch_all_to_all`) spreads the experts over devices and moves the
tokens to them and back with two all-to-alls (train/spread.py runs it under `shard_map`).

Shared experts (DeepSeek) are one ordinary MLP every token goes through, added to the routed
output. The layer also returns router statistics: tokens per expert (for load plots) and the
load-balancing loss E * sum_e f_e P_e (f_e: fraction of assignments, P_e: mean score share).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx

from rawweights_jax.config import ModelConfig, Runtime
from rawweights_jax.nn.mlp import MLP, mlp_hidden
from rawweights_jax.nn.dense import dense, normal_param, zeros_param
from rawweights_jax.parallel.mesh import EXPERT


# --8<-- [start:route]
def route(x_UD, w_router_DE, cfg: ModelConfig, bias_E=None):
    """Choose k experts per token: (weights_UO, experts_UO, scores_UE), scores in float32."""
    logits_UE = dense(x_UD.astype(jnp.float32), w_router_DE.astype(jnp.float32))
    if cfg.router_score == "softmax":
        scores_UE = jax.nn.softmax(logits_UE, axis=-1)
    else:
        scores_UE = jax.nn.sigmoid(logits_UE)
    choice_UE = scores_UE if bias_E is None else scores_UE + bias_E
    if cfg.router_groups > 1:          # keep only each token's best groups of experts
        # [tokens, groups, experts per group]; G is taken (N / K), so these carry no letters
        U, E, n_groups = choice_UE.shape[0], cfg.n_experts, cfg.router_groups
        grouped = choice_UE.reshape(U, n_groups, E // n_groups)
        group_scores = jax.lax.top_k(grouped, min(2, E // n_groups))[0].sum(-1)
        best_groups = jax.lax.top_k(group_scores, cfg.router_groups_per_token)[1]
        keep_group = jnp.zeros((U, n_groups), bool).at[jnp.arange(U)[:, None], best_groups].set(True)
        choice_UE = jnp.where(keep_group[:, :, None], grouped, -jnp.inf).reshape(U, E)
    experts_UO = jax.lax.top_k(choice_UE, cfg.experts_per_token)[1]
    weights_UO = jnp.take_along_axis(scores_UE, experts_UO, axis=-1)
    if cfg.router_norm_topk:
        weights_UO = weights_UO / (weights_UO.sum(-1, keepdims=True) + 1e-20)
    return weights_UO * cfg.router_scale, experts_UO, scores_UE
# --8<-- [end:route]


def expert_mlp(kind: str, x_MD, w_in_DF, w_up_DF, w_out_FD):
    """One expert on a group of rows: the gated (or plain) MLP without biases."""
    up_MF = None if w_up_DF is None else dense(x_MD, w_up_DF)
    return dense(mlp_hidden(kind, dense(x_MD, w_in_DF), up_MF), w_out_FD)


def tile_rows(assignments: int, n_experts: int) -> int:
    """Rows per tile: about a quarter of an expert's average share, a power of 2 in [1, 128].

    Small tiles waste little padding (decoding one token: M = 1, each assignment reads one
    expert's weights); larger ones make fewer, bigger matrix products (training).
    """
    share = max(1, assignments // (4 * n_experts))
    return min(128, 2 ** int(math.log2(share)))


def tile_count(assignments: int, n_experts: int, rows: int) -> int:
    """Tiles enough for any routing: a full tile per `rows` assignments, plus at most one
    partly filled tile per expert that received any (static, so shapes do not depend on it)."""
    return min(n_experts, assignments) + assignments // rows


# --8<-- [start:dispatch]
def dispatch_sorted(kind: str, x_UD, weights_UO, experts_UO, w_in_EDF, w_up_EDF, w_out_EFD):
    """Each expert computes only the tokens routed to it: sort, tile, loop over tiles, combine."""
    U, O = experts_UO.shape
    E, Y = w_in_EDF.shape[0], U * O
    M = tile_rows(Y, E)
    n_tiles = tile_count(Y, E, M)                           # static: enough for any routing
    expert_Y = experts_UO.reshape(Y)
    order_Y = jnp.argsort(expert_Y, stable=True)   # assignments grouped by expert
    sorted_expert_Y = expert_Y[order_Y]
    count_E = jnp.bincount(expert_Y, length=E)
    tiles_E = (count_E + M - 1) // M
    first_row_E = (jnp.cumsum(tiles_E) - tiles_E) * M          # each expert's run starts a tile
    rank_Y = jnp.arange(Y) - (jnp.cumsum(count_E) - count_E)[sorted_expert_Y]
    row_Y = first_row_E[sorted_expert_Y] + rank_Y               # where each assignment goes
    token_Y = (order_Y // O).astype(jnp.int32)
    row_token = jnp.full((n_tiles * M,), U, jnp.int32).at[row_Y].set(token_Y)  # U: empty row
    tile_expert = jnp.minimum(jnp.searchsorted(jnp.cumsum(tiles_E), jnp.arange(n_tiles),
                                               side="right"), E - 1)
    x_rows_D = jnp.concatenate([x_UD, jnp.zeros_like(x_UD[:1])])[row_token]

    def one_tile(args):                            # one expert's weights, M of its tokens
        x_MD, e = args
        w_up = None if w_up_EDF is None else w_up_EDF[e]
        return expert_mlp(kind, x_MD, w_in_EDF[e], w_up, w_out_EFD[e])

    y_rows_D = jax.lax.map(one_tile, (x_rows_D.reshape(n_tiles, M, -1), tile_expert))
    y_YD = y_rows_D.reshape(n_tiles * M, -1)[row_Y]
    w_Y = weights_UO.reshape(Y)[order_Y].astype(y_YD.dtype)
    return jnp.zeros_like(x_UD).at[token_Y].add(y_YD * w_Y[:, None]), count_E


def dispatch_dense(kind: str, x_UD, weights_UO, experts_UO, w_in_EDF, w_up_EDF, w_out_EFD):
    """The reference: every expert on every token, then keep the chosen ones' weighted sum."""
    E = w_in_EDF.shape[0]
    up_UEF = None if w_up_EDF is None else jnp.einsum("nd,edf->nef", x_UD, w_up_EDF)
    h_UEF = mlp_hidden(kind, jnp.einsum("nd,edf->nef", x_UD, w_in_EDF), up_UEF)
    y_UED = jnp.einsum("nef,efd->ned", h_UEF, w_out_EFD)
    chosen_UOE = jax.nn.one_hot(experts_UO, E, dtype=y_UED.dtype)
    combine_UE = jnp.einsum("nk,nke->ne", weights_UO.astype(y_UED.dtype), chosen_UOE)
    return jnp.einsum("ne,ned->nd", combine_UE, y_UED), chosen_UOE.sum((0, 1)).astype(jnp.int32)
# --8<-- [end:dispatch]


# --8<-- [start:all_to_all]
def dispatch_all_to_all(kind: str, x_UD, weights_UO, experts_UO, w_in_EDF, w_up_EDF, w_out_EFD):
    """Expert parallelism, inside `shard_map` over the `expert` axis of n devices: each device
    holds E/n experts (the weights given are its shard) and its own tokens. Each assignment
    travels to the device of its expert (one all-to-all), is computed there (the sorted
    dispatch, one expert per row), and comes back (a second all-to-all) to be weighted.

    Each destination gets a slot for every assignment of the sender (capacity C = U * O), so
    no token is dropped however unevenly the router chooses, and the result is exactly one
    device's: the price is buffers n times the average traffic. (Capacity-limited dispatch
    sends less and drops the overflow, which changes the function.)
    """
    U, O = experts_UO.shape
    n, E_local, Y = jax.lax.axis_size(EXPERT), w_in_EDF.shape[0], U * O
    expert_Y = experts_UO.reshape(Y)
    dest_Y, local_Y = expert_Y // E_local, expert_Y % E_local
    # slot of each assignment among those going to the same device
    onehot_YN = jax.nn.one_hot(dest_Y, n, dtype=jnp.int32)
    slot_Y = (jnp.cumsum(onehot_YN, axis=0) - onehot_YN)[jnp.arange(Y), dest_Y]
    token_Y = jnp.arange(Y) // O
    send_NCD = jnp.zeros((n, Y, x_UD.shape[1]), x_UD.dtype).at[dest_Y, slot_Y].set(x_UD[token_Y])
    ids_NC = jnp.full((n, Y), -1, jnp.int32).at[dest_Y, slot_Y].set(local_Y.astype(jnp.int32))
    recv_NCD = jax.lax.all_to_all(send_NCD, EXPERT, 0, 0, tiled=True)
    recv_ids = jax.lax.all_to_all(ids_NC, EXPERT, 0, 0, tiled=True).reshape(n * Y, 1)
    valid = (recv_ids >= 0).astype(x_UD.dtype)        # empty slots: computed, weighted 0
    y_rows, _ = dispatch_sorted(kind, recv_NCD.reshape(n * Y, -1), valid,
                                jnp.maximum(recv_ids, 0), w_in_EDF, w_up_EDF, w_out_EFD)
    back_NCD = jax.lax.all_to_all(y_rows.reshape(n, Y, -1), EXPERT, 0, 0, tiled=True)
    y_YD = back_NCD[dest_Y, slot_Y] * weights_UO.reshape(Y, 1).astype(x_UD.dtype)
    out_UD = jnp.zeros_like(x_UD).at[token_Y].add(y_YD)
    return out_UD, jnp.bincount(expert_Y, length=n * E_local)
# --8<-- [end:all_to_all]


DISPATCH = {"sorted": dispatch_sorted, "dense": dispatch_dense, "all-to-all": dispatch_all_to_all}


# --8<-- [start:moe_layer]
class MoE(nnx.Module):
    """Router, routed experts and shared experts of one layer; returns (out, router stats)."""

    def __init__(self, cfg: ModelConfig, runtime: Runtime = Runtime(), *, rngs: nnx.Rngs):
        E, D, F = cfg.n_experts, cfg.d_model, cfg.d_expert
        self.cfg, self.dispatch = cfg, runtime.moe_dispatch
        self.w_router_DE = normal_param(rngs, cfg.init_std, D, E)
        self.bias_E = zeros_param(cfg.router_bias, E)   # moved by load, not by gradients
        out_std = cfg.init_std / math.sqrt(2 * cfg.n_layers)
        self.w_in_EDF = normal_param(rngs, cfg.init_std, E, D, F)
        self.w_up_EDF = normal_param(rngs, cfg.init_std, E, D, F) if cfg.mlp != "gelu" else None
        self.w_out_EFD = normal_param(rngs, out_std, E, F, D)
        self.shared = (MLP(cfg.replace(bias=False), cfg.n_shared_experts * F, rngs=rngs)
                       if cfg.n_shared_experts else None)

    def __call__(self, x_BTD):
        B, T, D = x_BTD.shape
        x_UD = x_BTD.reshape(B * T, D)
        bias_E = None if self.bias_E is None else jax.lax.stop_gradient(self.bias_E[...])
        weights_UO, experts_UO, scores_UE = route(x_UD, self.w_router_DE[...], self.cfg, bias_E)
        w_up = None if self.w_up_EDF is None else self.w_up_EDF[...]
        out_UD, load_E = DISPATCH[self.dispatch](
            self.cfg.mlp, x_UD, weights_UO, experts_UO, self.w_in_EDF[...], w_up,
            self.w_out_EFD[...])
        out_BTD = out_UD.reshape(B, T, D)
        if self.shared is not None:
            out_BTD = out_BTD + self.shared(x_BTD)
        return out_BTD, {"load_E": load_E, "aux_loss": balance_loss(scores_UE, load_E)}
# --8<-- [end:moe_layer]


# --8<-- [start:balance]
def balance_loss(scores_UE, load_E):
    """E * sum_e f_e * P_e: smallest (1) when assignments and score mass are spread evenly."""
    E = scores_UE.shape[-1]
    share_UE = scores_UE / scores_UE.sum(-1, keepdims=True)
    f_E = load_E.astype(jnp.float32) / jnp.maximum(load_E.sum(), 1).astype(jnp.float32)
    return E * jnp.sum(jax.lax.stop_gradient(f_E) * share_UE.mean(0))
# --8<-- [end:balance]
