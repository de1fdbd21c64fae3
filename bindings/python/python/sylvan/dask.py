"""Distributed training on a Dask cluster: :func:`train`, :func:`predict`, and the estimators
:class:`SylvanRegressor` and :class:`SylvanClassifier` over dask Arrays and DataFrames.

Each partition is trained where it lives: the partitions are split into contiguous blocks (balanced
by row count, in the collection's order), one block per worker, and each block's task runs on the
worker that already holds most of its rows (Dask moves the rest between workers; nothing is gathered
on the client). The tasks meet through the scheduler (a ``distributed.Variable`` per rank holds its
address), connect to each other over TCP and train together: the model is the one
:func:`sylvan.train` builds on ``X.compute()`` -- the rows in the collection's order -- bit for bit.

Categorical columns (pandas ``category``, string and object columns) are coded alike on every rank:
the ranks exchange the categories they hold, and every rank codes with their union, in the order
the one-process reader would give them.

A rank that fails (bad data, an exception, a worker that dies) ends the whole run: the others fail
at once, or within ``collective_timeout`` seconds (a training parameter, default 600) when a worker
stalls silently, and :func:`train` raises :class:`sylvan.SylvanError`. See docs/distributed-dask.md.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import _sylvan
from ._sylvan import CATEGORIES_ATTRIBUTE, SylvanError
from .core import Booster, Dataset, categorical_columns, categories_json, param_pairs, _param_value
from . import sklearn as _sk

__all__ = ["SylvanClassifier", "SylvanRegressor", "predict", "train"]

_DEFAULT_TIMEOUT = 600.0
# Parameters that set the number of rounds (``num_boost_round`` wins over them, as in sylvan.train).
_ROUND_PARAMS = ("num_round", "n_estimators", "num_boost_round")


# ---------------------------------------------------------------------------------------------
# Partitions: where they are, how many rows, which rank gets which
# ---------------------------------------------------------------------------------------------


def _is_dask_frame(data: Any) -> bool:
    return hasattr(data, "to_delayed") and hasattr(data, "map_partitions") and hasattr(data, "npartitions")


def _is_dask_array(data: Any) -> bool:
    return hasattr(data, "to_delayed") and hasattr(data, "map_blocks") and hasattr(data, "chunks")


def _whole_rows(data: Any, what: str) -> Any:
    """A dask DataFrame, Series or 1-D/2-D Array checked, a 2-D array rechunked to whole rows."""
    if _is_dask_frame(data):
        return data
    if _is_dask_array(data):
        if data.ndim == 2 and len(data.chunks[1]) > 1:
            return data.rechunk({1: -1})
        if data.ndim in (1, 2):
            return data
        raise ValueError(f"{what} must be 1-D or 2-D, got a dask array of {data.ndim} dimensions")
    raise TypeError(f"{what} must be a dask Array, DataFrame or Series, got {type(data).__name__}")


def _delayed_parts(data: Any) -> List[Any]:
    """One delayed object per row block of a collection prepared by :func:`_whole_rows`."""
    if _is_dask_frame(data):
        return list(data.to_delayed())
    return list(np.asarray(data.to_delayed(), dtype=object).ravel())


def _num_rows(part: Any) -> int:
    return int(part.shape[0]) if hasattr(part, "shape") else len(part)


class _Collection:
    """A collection's partitions as futures on the cluster, with their row counts and holders."""

    def __init__(self, client: Any, data: Any, what: str) -> None:
        self.what = what
        # The persisted collection is kept: its partitions live as long as this object.
        self.persisted = client.persist(_whole_rows(data, what))
        self.futures = client.compute(_delayed_parts(self.persisted))
        self.rows = [int(r) for r in client.gather(client.map(_num_rows, self.futures, pure=False))]
        who = client.who_has(self.futures)
        self.holders = [list(who.get(f.key, who.get(str(f.key), ()))) for f in self.futures]

    def check_aligned(self, other: "_Collection") -> None:
        """Raises unless ``other`` has the same partitions (row counts) as this collection."""
        if other.rows != self.rows:
            for i, (a, b) in enumerate(zip(self.rows, other.rows)):
                if a != b:
                    raise ValueError(
                        f"{other.what}'s partitions do not line up with {self.what}'s: partition {i} holds "
                        f"{b} rows in {other.what} and {a} in {self.what} (chunk them alike)"
                    )
            raise ValueError(
                f"{other.what} has {len(other.rows)} partitions and {self.what} {len(self.rows)} (chunk them alike)"
            )


def contiguous_blocks(rows: Sequence[int], n: int) -> List[Tuple[int, int]]:
    """Splits partitions (their row counts, in order) into ``n`` contiguous ranges ``[start, end)``
    holding about ``sum(rows) / n`` rows each; every range holds at least one row. Needs at least
    ``n`` non-empty partitions."""
    nonempty = [i for i, r in enumerate(rows) if r > 0]
    if n < 1 or len(nonempty) < n:
        raise ValueError(f"cannot split {len(nonempty)} non-empty partitions into {n} blocks")
    cum = np.cumsum(rows)
    total = int(cum[-1])
    cuts = [0]
    for r in range(1, n):
        # The first partition boundary at or past r/n of the rows, leaving a non-empty partition
        # for each later block and taking one after the previous cut.
        lo = nonempty[r - 1] + 1
        hi = nonempty[len(nonempty) - (n - r)]
        target = total * r / n
        at = int(np.searchsorted(cum, target, side="left")) + 1
        # Round to the nearer boundary.
        if at - 1 >= 1 and abs(cum[at - 2] - target) < abs(cum[at - 1] - target):
            at -= 1
        cuts.append(min(max(at, lo, cuts[-1] + 1), hi))
    cuts.append(len(rows))
    return [(cuts[i], cuts[i + 1]) for i in range(n)]


def assign_workers(blocks: Sequence[Tuple[int, int]], rows: Sequence[int], holders: Sequence[Sequence[str]],
                   workers: Sequence[str]) -> List[str]:
    """A distinct worker for each block: greedily the (block, worker) pairs with the most of the
    block's rows already on the worker first; blocks left over get the remaining workers."""
    local = []
    for b, (start, end) in enumerate(blocks):
        held: Dict[str, int] = {}
        for i in range(start, end):
            for w in holders[i]:
                held[w] = held.get(w, 0) + rows[i]
        local.extend((n, b, w) for w, n in held.items() if w in workers)
    chosen: Dict[int, str] = {}
    taken = set()
    for _, b, w in sorted(local, key=lambda t: (-t[0], t[1], t[2])):
        if b not in chosen and w not in taken:
            chosen[b] = w
            taken.add(w)
    free = [w for w in workers if w not in taken]
    for b in range(len(blocks)):
        if b not in chosen:
            chosen[b] = free.pop(0)
    return [chosen[b] for b in range(len(blocks))]


# ---------------------------------------------------------------------------------------------
# One rank (runs on a worker)
# ---------------------------------------------------------------------------------------------


def _address_name(group: str, rank: int) -> str:
    return f"sylvan-{group}-rank-{rank}"


def _worker_host() -> str:
    """The host of this worker's Dask address (where the other workers reach it)."""
    from distributed import get_worker
    from distributed.comm import get_address_host

    address = get_worker().address
    if not address.startswith(("tcp://", "tls://", "ucx://", "ws://", "wss://")):
        return "127.0.0.1"
    return get_address_host(address)


def _rendezvous(group: str, rank: int, n: int, host: Optional[str], timeout: float):
    """Binds, publishes this rank's address, waits for every rank's and connects."""
    from distributed import Variable

    listener = _sylvan._TcpListener(host or _worker_host())
    Variable(_address_name(group, rank)).set(listener.address)
    deadline = time.monotonic() + timeout
    addresses = []
    for r in range(n):
        left = deadline - time.monotonic()
        try:
            value = Variable(_address_name(group, r)).get(timeout=max(left, 0.001))
        except TimeoutError:
            raise SylvanError(
                f"distributed training failed on rank {rank}: rank {r} did not publish its address within "
                f"{timeout:.1f} s (collective_timeout)"
            ) from None
        if value.startswith("abort:"):
            raise SylvanError(f"distributed training failed on rank {rank}: {value[len('abort:'):]}")
        addresses.append(value)
    return listener.connect(rank, addresses, group, max(deadline - time.monotonic(), 0.001))


def _concat(parts: List[Any]) -> Any:
    """This rank's partitions as one pandas object or NumPy array, in order."""
    if not parts:
        return None
    first = parts[0]
    if type(first).__module__.split(".")[0] == "pandas":
        import pandas as pd

        return parts[0] if len(parts) == 1 else pd.concat(parts)
    return np.concatenate([np.asarray(p) for p in parts])


def _observed_categories(frame: Any) -> Dict[str, List[str]]:
    """The categories each categorical column of a pandas frame holds, as the one-process reader
    would learn them (text, in the encoder's order)."""
    import pandas as pd

    out = {}
    for name, _ in categorical_columns(frame):
        _, uniques = pd.factorize(frame[name], use_na_sentinel=True)
        strings = [None if u is None else str(u) for u in np.asarray(uniques, dtype=object)]
        out[name] = list(_sylvan.encode_categories(strings, None)[1])
    return out


def _shared_categories(coll: Any, local: Dict[str, List[str]]) -> Dict[str, List[str]]:
    """The union over the ranks of each column's categories, in the encoder's (sorted) order."""
    gathered = coll.allgather(json.dumps(local).encode())
    merged: Dict[str, set] = {}
    for raw in gathered:
        for name, cats in json.loads(raw.decode()).items():
            merged.setdefault(name, set()).update(cats)
    return {name: list(_sylvan.encode_categories(sorted(cats), None)[1]) for name, cats in merged.items()}


def _fault(fault: Optional[Tuple[str, int]], rank: int) -> None:
    """Test hook: makes rank ``fault[1]`` fail after the group has formed (``raise``: an
    exception; ``exit``: the worker process dies; ``stall``: it stops answering)."""
    if fault is None or fault[1] != rank:
        return
    kind = fault[0]
    if kind == "raise":
        raise RuntimeError("injected fault")
    if kind == "exit":
        os._exit(17)
    if kind == "stall":
        time.sleep(float(fault[2]) if len(fault) > 2 else 3600.0)


def _rank_task(rank: int, n: int, group: str, host: Optional[str], pairs: List[Tuple[str, str]],
               x: List[Any], y: List[Any], w: Optional[List[Any]], evals: List[Tuple[Any, Any, Any, str]],
               sharded_evals: bool, timeout: float, fault: Any = None) -> Optional[bytes]:
    """Trains rank ``rank`` of ``n`` on the partitions given (already on this worker); returns the
    model's bytes on rank 0."""
    coll = _rendezvous(group, rank, n, host, timeout)
    try:
        _fault(fault, rank)
        X = _concat(x)
        frame = hasattr(X, "columns")
        cats = _shared_categories(coll, _observed_categories(X) if frame else {})
        fixed = cats if cats else None
        dtrain = Dataset(X, label=_concat(y), weight=_concat(w) if w else None, categories=fixed)
        eval_list = []
        for ex, ey, ew, name in evals:
            d = Dataset(_concat(ex), label=_concat(ey), weight=_concat(ew) if ew else None, categories=fixed)
            eval_list.append((d._handle, name))
    except BaseException as e:
        coll.abort(f"{type(e).__name__}: {e}")
        raise
    handle = coll.train(pairs, dtrain._handle, eval_list, sharded_evals)
    if cats:
        handle.set_attribute(CATEGORIES_ATTRIBUTE, categories_json(cats))
    return bytes(handle.to_bytes()) if rank == 0 else None


# ---------------------------------------------------------------------------------------------
# The client side
# ---------------------------------------------------------------------------------------------


def _client_or_default(client: Any) -> Any:
    if client is not None:
        return client
    from distributed import get_client

    return get_client()


def _timeout_of(value: Any) -> float:
    """``collective_timeout`` in seconds (default 600), checked as Sylvan checks it."""
    if value is None:
        return _DEFAULT_TIMEOUT
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise SylvanError(f"invalid parameter `collective_timeout`: expected seconds, got {value!r}") from None
    if not 0 < seconds <= 86_400:
        raise SylvanError(f"invalid parameter `collective_timeout`: must be in (0, 86400] seconds, got {value}")
    return seconds


def _eval_specs(evals: Any) -> List[Tuple[Any, Any, Any, str]]:
    """``evals`` entries as ``(X, y, weight, name)``: ``(X, y, name)`` or ``(X, y, weight, name)``."""
    out = []
    for i, item in enumerate(evals or ()):
        if not isinstance(item, (tuple, list)) or len(item) not in (3, 4):
            raise TypeError(f"evals[{i}] must be (X, y, name) or (X, y, sample_weight, name)")
        if len(item) == 3:
            out.append((item[0], item[1], None, str(item[2])))
        else:
            out.append((item[0], item[1], item[2], str(item[3])))
    return out


def _blocks_of(parts: "_Collection", n: int) -> Optional[List[Tuple[int, int]]]:
    """Contiguous blocks of an evaluation set for ``n`` ranks, or None when it has too few
    non-empty partitions to give every rank rows."""
    try:
        return contiguous_blocks(parts.rows, n)
    except ValueError:
        return None


def _poison(client: Any, group: str, n: int, reason: str) -> None:
    """Unblocks ranks still waiting for addresses, so they fail instead of timing out."""
    from distributed import Variable

    for r in range(n):
        try:
            Variable(_address_name(group, r), client=client).set(f"abort:{reason}")
        except Exception:  # noqa: BLE001 - best effort while failing anyway
            pass


def _forget(client: Any, group: str, n: int) -> None:
    from distributed import Variable

    for r in range(n):
        try:
            Variable(_address_name(group, r), client=client).delete()
        except Exception:  # noqa: BLE001 - the scheduler may be gone
            pass


def train(
    client: Any,
    params: Dict[str, Any],
    X: Any,
    y: Any,
    *,
    sample_weight: Any = None,
    evals: Optional[Sequence[Tuple[Any, ...]]] = None,
    num_boost_round: Optional[int] = None,
    early_stopping_rounds: Optional[int] = None,
    evals_result: Optional[Dict[str, Any]] = None,
    host: Optional[str] = None,
    _fault_injection: Any = None,
) -> Booster:
    """Trains on a Dask cluster, like ``xgboost.dask.train``, and returns a :class:`sylvan.Booster`
    equal to ``sylvan.train(params, Dataset(X.compute(), y.compute(), ...))``.

    ``X`` is a dask DataFrame or 2-D Array, ``y`` and ``sample_weight`` dask Series or 1-D Arrays
    partitioned like ``X`` (the same rows per partition). ``evals`` are ``(X, y, name)`` or
    ``(X, y, sample_weight, name)`` tuples of dask collections; each rank evaluates its own shard
    of every set (an evaluation set with fewer non-empty partitions than ranks is read whole by
    every rank instead), and early stopping watches the last set's first metric.
    ``num_boost_round`` (default: ``params``' ``num_round``/``n_estimators``, else 10) and
    ``early_stopping_rounds`` as in :func:`sylvan.train`.

    One rank runs per worker (at most one per non-empty partition); each worker must have a free
    thread for its rank while training runs. ``host`` is the address ranks listen on (default: the
    host of each worker's Dask address). ``params["collective_timeout"]`` (seconds, default 600)
    bounds every wait on another rank. Training methods that cannot promise the one-process model
    (``tree_method="exact"``, GOSS, ranking and survival objectives ...) are refused.
    """
    client = _client_or_default(client)
    rounds = num_boost_round
    if rounds is None:
        rounds = next((params[k] for k in _ROUND_PARAMS if params.get(k) is not None), 10)
    # The transport enforces collective_timeout itself (it is not stored in models either).
    timeout = _timeout_of(params.get("collective_timeout"))
    pairs = param_pairs({k: v for k, v in params.items() if k not in _ROUND_PARAMS + ("collective_timeout",)})
    pairs.append(("num_round", _param_value(rounds)))
    if early_stopping_rounds is not None:
        pairs.append(("early_stopping_rounds", _param_value(early_stopping_rounds)))
    _sylvan.check_params(pairs)

    train_x = _Collection(client, X, "X")
    train_y = _Collection(client, y, "y")
    train_x.check_aligned(train_y)
    train_w = None
    if sample_weight is not None:
        train_w = _Collection(client, sample_weight, "sample_weight")
        train_x.check_aligned(train_w)
    workers = sorted(client.scheduler_info(n_workers=-1)["workers"])
    nonempty = sum(1 for r in train_x.rows if r > 0)
    if nonempty == 0:
        raise ValueError("X has no rows")
    n = min(len(workers), nonempty)
    blocks = contiguous_blocks(train_x.rows, n)
    placed = assign_workers(blocks, train_x.rows, train_x.holders, workers)

    eval_sets = []
    for i, (ex, ey, ew, name) in enumerate(_eval_specs(evals)):
        cx = _Collection(client, ex, f"evals[{i}] X")
        cy = _Collection(client, ey, f"evals[{i}] y")
        cx.check_aligned(cy)
        cw = None
        if ew is not None:
            cw = _Collection(client, ew, f"evals[{i}] sample_weight")
            cx.check_aligned(cw)
        eval_sets.append((cx, cy, cw, name))
    eval_blocks = [_blocks_of(cx, n) for cx, _, _, _ in eval_sets]
    sharded = all(b is not None for b in eval_blocks)

    def take(c: Optional[_Collection], block: Optional[Tuple[int, int]]) -> Optional[List[Any]]:
        if c is None:
            return None
        start, end = block if block is not None else (0, len(c.futures))
        return c.futures[start:end]

    group = uuid.uuid4().hex
    futures = []
    for r, ((start, end), worker) in enumerate(zip(blocks, placed)):
        rank_evals = []
        for (cx, cy, cw, name), b in zip(eval_sets, eval_blocks):
            mine = b[r] if sharded and b is not None else None
            rank_evals.append((take(cx, mine), take(cy, mine), take(cw, mine), name))
        futures.append(
            client.submit(
                _rank_task, r, n, group, host, pairs, take(train_x, (start, end)), take(train_y, (start, end)),
                take(train_w, (start, end)), rank_evals, sharded, timeout, _fault_injection,
                workers=[worker], allow_other_workers=False, pure=False, key=f"sylvan-train-{group}-rank-{r}",
            )
        )
    try:
        raw = _await_ranks(client, futures, group, placed)
    finally:
        _forget(client, group, n)
    booster = Booster.from_bytes(raw)
    if evals_result is not None:
        evals_result.clear()
        evals_result.update(booster.eval_history())
    return booster


def _await_ranks(client: Any, futures: List[Any], group: str, placed: List[str]) -> bytes:
    """Waits for every rank; on the first failure unblocks and cancels the others and raises it,
    naming the rank and its worker."""
    from distributed import as_completed

    n = len(futures)
    raw = None
    for f in as_completed(futures):
        if f.status == "finished":
            if f.key == futures[0].key:
                raw = f.result()
            continue
        rank = futures.index(f)
        try:
            exc = f.exception()
        except Exception as e:  # noqa: BLE001 - a cancelled future raises here
            exc = e
        reason = f"{type(exc).__name__}: {exc}" if not isinstance(exc, SylvanError) else str(exc)
        _poison(client, group, n, f"rank {rank} failed: {reason}")
        client.cancel([g for g in futures if g is not f])
        workers = ", ".join(f"{r}={w}" for r, w in enumerate(placed))
        raise SylvanError(f"distributed training failed: rank {rank} (worker {placed[rank]}): {reason} "
                          f"[ranks ran on: {workers}]") from exc
    if raw is None:
        raise SylvanError("distributed training failed: rank 0 returned no model")
    return raw


# ---------------------------------------------------------------------------------------------
# Prediction
# ---------------------------------------------------------------------------------------------


def _predict_frame(part: Any, booster: Booster, output_margin: bool, outputs: int) -> Any:
    import pandas as pd

    p = booster.predict(part, output_margin=output_margin) if len(part) else np.zeros((0, outputs), np.float32)
    if outputs == 1:
        return pd.Series(np.asarray(p).reshape(-1), index=part.index, dtype=np.float32)
    return pd.DataFrame(np.asarray(p).reshape(len(part), outputs), index=part.index,
                        columns=list(range(outputs)), dtype=np.float32)


def _predict_block(block: Any, booster: Booster, output_margin: bool, outputs: int) -> np.ndarray:
    if block.shape[0] == 0:
        return np.zeros((0, outputs) if outputs > 1 else (0,), np.float32)
    p = np.asarray(booster.predict(block, output_margin=output_margin), dtype=np.float32)
    return p.reshape(block.shape[0], outputs) if outputs > 1 else p.reshape(-1)


def predict(client: Any, model: Any, data: Any, output_margin: bool = False) -> Any:
    """Predicts for a dask DataFrame (a dask Series, or a DataFrame with a column per output) or a
    2-D dask Array (a 1-D Array, or 2-D with a column per output), partition by partition where the
    partitions live. ``model`` is a :class:`sylvan.Booster` (or the ``dict`` with a ``"booster"``
    key that ``xgboost.dask.train`` users pass around). ``client`` is accepted for XGBoost's
    signature; the result is lazy."""
    if isinstance(model, dict):
        model = model["booster"]
    if not isinstance(model, Booster):
        raise TypeError("model must be a sylvan.Booster")
    outputs = model.num_groups
    if _is_dask_frame(data) and hasattr(data, "columns"):
        import pandas as pd

        meta = (pd.Series([], dtype=np.float32) if outputs == 1
                else pd.DataFrame({j: pd.Series([], dtype=np.float32) for j in range(outputs)}))
        return data.map_partitions(_predict_frame, model, output_margin, outputs, meta=meta)
    if _is_dask_array(data) and data.ndim == 2:
        if len(data.chunks[1]) > 1:
            data = data.rechunk({1: -1})
        if outputs == 1:
            return data.map_blocks(_predict_block, model, output_margin, outputs, drop_axis=1, dtype=np.float32)
        return data.map_blocks(_predict_block, model, output_margin, outputs, chunks=(data.chunks[0], (outputs,)),
                               dtype=np.float32)
    raise TypeError(f"data must be a dask DataFrame or 2-D Array, got {type(data).__name__}")


# ---------------------------------------------------------------------------------------------
# Estimators
# ---------------------------------------------------------------------------------------------


class _DaskModel:
    """The Dask parts of the estimators: ``client`` (default: the current one) and fitting through
    :func:`train`."""

    @property
    def client(self) -> Any:
        """The Dask client used by ``fit`` (default: ``distributed.get_client()``)."""
        return _client_or_default(getattr(self, "_client", None))

    @client.setter
    def client(self, value: Any) -> None:
        self._client = value

    def _dask_fit(self, X: Any, y: Any, params: Dict[str, Any], sample_weight: Any, eval_set: Any,
                  sample_weight_eval_set: Any, encode_y) -> Any:
        if self.early_stopping_rounds is not None and not eval_set:
            raise ValueError("early_stopping_rounds needs at least one eval_set to watch")
        evals = []
        for i, (Xe, ye) in enumerate(eval_set or ()):
            we = None if sample_weight_eval_set is None else sample_weight_eval_set[i]
            evals.append((Xe, encode_y(ye), we, f"validation_{i}"))
        num_round = int(params.pop("num_round", 100))
        booster = train(self.client, params, X, encode_y(y), sample_weight=sample_weight, evals=evals,
                        num_boost_round=num_round, early_stopping_rounds=self.early_stopping_rounds)
        self._booster = booster
        self._categories = booster.categories
        self.n_features_in_ = booster.num_features()
        if hasattr(X, "columns"):
            self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        self.evals_result_ = booster.eval_history()
        best = booster.best_iteration
        self.best_iteration_ = best if best is not None else booster.num_boosted_rounds() - 1
        if booster.best_score is not None:
            self.best_score_ = booster.best_score
        return self

    def _dask_predict(self, X: Any, output_margin: bool = False) -> Any:
        return predict(self.client, self.get_booster(), X, output_margin=output_margin)


def _as_float(v: Any) -> Any:
    return v.astype(np.float32)


class SylvanRegressor(_DaskModel, _sk.SylvanRegressor):
    """:class:`sylvan.SylvanRegressor` over dask collections: ``fit`` trains on the cluster
    (:func:`train`), ``predict`` returns a lazy dask Series or Array. ``eval_set`` holds dask
    ``(X, y)`` pairs."""

    def fit(self, X: Any, y: Any, *, sample_weight: Any = None, eval_set: Any = None,
            sample_weight_eval_set: Any = None, verbose: Any = False) -> "SylvanRegressor":
        """Fits on the cluster; the model equals ``sylvan.SylvanRegressor`` fitted on the computed data."""
        params = self._training_params()
        params["objective"] = self.objective or "reg:squarederror"
        return self._dask_fit(X, y, params, sample_weight, eval_set, sample_weight_eval_set, _as_float)

    def predict(self, X: Any, output_margin: bool = False) -> Any:  # type: ignore[override]
        """Predicted values, lazily: a dask Series (DataFrame input) or Array."""
        return self._dask_predict(X, output_margin)


def _encode_classes(v: Any, classes: np.ndarray) -> Any:
    return np.searchsorted(classes, np.asarray(v)).astype(np.float32)


def _encode_labels(y: Any, classes: np.ndarray) -> Any:
    """A dask Series/Array of labels as class indices (float32), lazily."""
    if _is_dask_frame(y):
        import pandas as pd

        return y.map_partitions(lambda s: pd.Series(_encode_classes(s, classes), index=s.index),
                                meta=("label", np.float32))
    return y.map_blocks(_encode_classes, classes, dtype=np.float32)


def _two_columns(p: np.ndarray) -> np.ndarray:
    return np.stack([1.0 - p, p], axis=1).astype(np.float32)


class SylvanClassifier(_DaskModel, _sk.SylvanClassifier):
    """:class:`sylvan.SylvanClassifier` over dask collections (binary and multiclass): ``fit``
    trains on the cluster, ``predict`` and ``predict_proba`` return lazy dask collections. The
    classes are found with one pass over ``y``."""

    def fit(self, X: Any, y: Any, *, sample_weight: Any = None, eval_set: Any = None,
            sample_weight_eval_set: Any = None, verbose: Any = False) -> "SylvanClassifier":
        """Fits on the cluster; the model equals ``sylvan.SylvanClassifier`` fitted on the computed data."""
        client = self.client
        uniques = client.compute(y.unique() if _is_dask_frame(y) else _unique_array(y)).result()
        classes = np.unique(np.asarray(uniques))
        if len(classes) < 2:
            raise ValueError(f"Classifier can't train when only one class is present: y has {classes.tolist()!r}.")
        self.classes_ = classes
        self.n_classes_ = len(classes)
        self.n_outputs_ = 1
        params = self._training_params()
        objective = "binary:logistic" if len(classes) == 2 else "multi:softprob"
        if len(classes) > 2:
            params["num_class"] = len(classes)
        if self.objective is not None and self.objective != objective:
            raise ValueError(f"objective `{self.objective}` does not fit {len(classes)} classes; "
                             f"SylvanClassifier uses {objective} here (leave objective unset)")
        params["objective"] = objective
        return self._dask_fit(X, y, params, sample_weight, eval_set, sample_weight_eval_set,
                              lambda v: _encode_labels(v, classes))

    def predict_proba(self, X: Any) -> Any:  # type: ignore[override]
        """Class probabilities, lazily: ``(rows, classes)``."""
        p = self._dask_predict(X)
        if self.n_classes_ == 2:
            if _is_dask_frame(p):
                import pandas as pd

                return p.map_partitions(lambda s: pd.DataFrame(_two_columns(s.to_numpy()), index=s.index),
                                        meta={0: np.float32, 1: np.float32})
            return p.map_blocks(_two_columns, new_axis=1, chunks=(p.chunks[0], (2,)), dtype=np.float32)
        return p

    def predict(self, X: Any, output_margin: bool = False) -> Any:  # type: ignore[override]
        """Predicted classes (or margins with ``output_margin``), lazily."""
        p = self._dask_predict(X, output_margin)
        if output_margin:
            return p
        classes = self.classes_
        if _is_dask_frame(p):
            import pandas as pd

            def pick(part):
                v = part.to_numpy()
                idx = (v > 0.5).astype(int) if v.ndim == 1 else v.argmax(axis=1)
                return pd.Series(classes[idx], index=part.index)

            return p.map_partitions(pick, meta=("class", classes.dtype))
        if self.n_classes_ == 2:
            return p.map_blocks(lambda v: classes[(v > 0.5).astype(int)], dtype=classes.dtype)
        return p.map_blocks(lambda v: classes[v.argmax(axis=1)], drop_axis=1, dtype=classes.dtype)


def _unique_array(y: Any) -> Any:
    import dask.array as da

    return da.unique(y)
