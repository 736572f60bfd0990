"""Independent reference for tests/unit/test_metrics_sklearn.c.

Run with Debian's /usr/bin/python3 (python3-sklearn). Reads predictions or
fold assignments that the C test dumped, prints "PREFIX.name value" lines
computed by scikit-learn (and numpy where sklearn has no equivalent). Jobs
are separated by "+", so that sklearn is imported once:

  sklearn_check.py cls:P FILE K + reg:P FILE T + folds:P FILE K + ts:P N K H G

  cls    rows: y p_0 .. p_{K-1}
  reg    rows: y_1 .. y_T yhat_1 .. yhat_T
  folds  rows: label group fold_strat fold_group fold_sg
  ts     TimeSeriesSplit windows (expanding and sliding) for N rows
"""
import sys

try:
    import numpy as np
    from sklearn import metrics
    from sklearn.model_selection import (GroupKFold, StratifiedGroupKFold,
                                         StratifiedKFold, TimeSeriesSplit)
except ImportError as e:      # the caller skips its tests on 77
    print(f"sklearn_check: {e}", file=sys.stderr)
    sys.exit(77)


PREFIX = ""


def out(name, value):
    print(f"{PREFIX}.{name}", repr(float(value)))


def cls(path, k):
    a = np.loadtxt(path, ndmin=2)
    y, prob = a[:, 0].astype(int), a[:, 1:1 + k]
    pred = prob.argmax(axis=1)
    out("accuracy", metrics.accuracy_score(y, pred))
    out("f1_macro", metrics.f1_score(y, pred, average="macro", zero_division=0))
    out("f1_micro", metrics.f1_score(y, pred, average="micro", zero_division=0))
    out("precision_macro", metrics.precision_score(y, pred, average="macro", zero_division=0))
    out("recall_macro", metrics.recall_score(y, pred, average="macro", zero_division=0))
    out("log_loss", metrics.log_loss(y, prob, eps=1e-15, labels=list(range(k))))
    labels = list(range(k))
    p, r, f, s = metrics.precision_recall_fscore_support(
        y, pred, labels=labels, zero_division=0)
    for c in labels:
        out(f"precision_{c}", p[c])
        out(f"recall_{c}", r[c])
        out(f"f1_{c}", f[c])
    cm = metrics.confusion_matrix(y, pred, labels=labels)
    for i in labels:
        for j in labels:
            out(f"confusion_{i}_{j}", cm[i, j])


def reg(path, t):
    a = np.loadtxt(path, ndmin=2)
    y, yhat = a[:, :t], a[:, t:2 * t]
    out("mse", metrics.mean_squared_error(y, yhat))
    if t == 1:
        out("rmse", metrics.mean_squared_error(y, yhat, squared=False))
    out("mae", metrics.mean_absolute_error(y, yhat))
    out("r2", metrics.r2_score(y, yhat))
    nz = y != 0
    out("mape", metrics.mean_absolute_percentage_error(y[nz], yhat[nz]))
    out("mape_zero", np.sum(~nz))
    actual = np.sign(np.diff(y, axis=0))
    predicted = np.sign(yhat[1:] - y[:-1])
    out("directional", np.mean(actual == predicted))


def spread(classes, fold, k):
    """Mean over classes of the std over folds of the class's share."""
    stds = []
    for c in np.unique(classes):
        tot = np.sum(classes == c)
        share = [np.sum((classes == c) & (fold == f)) / tot for f in range(k)]
        stds.append(np.std(share))
    return np.mean(stds)


def max_dev(classes, fold, k):
    """Largest |rows of class c in fold f - n_c / k|."""
    return max(abs(np.sum((classes == c) & (fold == f)) - np.sum(classes == c) / k)
               for c in np.unique(classes) for f in range(k))


def size_range(fold, k):
    sizes = [np.sum(fold == f) for f in range(k)]
    return max(sizes) - min(sizes)


def as_folds(splitter, n, *args):
    fold = np.full(n, -1)
    for f, (_, test) in enumerate(splitter.split(np.zeros((n, 1)), *args)):
        fold[test] = f
    return fold


def folds(path, k):
    a = np.loadtxt(path, ndmin=2).astype(int)
    y, g = a[:, 0], a[:, 1]
    ours_s, ours_g, ours_sg = a[:, 2], a[:, 3], a[:, 4]
    n = len(y)
    sk_s = as_folds(StratifiedKFold(k, shuffle=True, random_state=0), n, y)
    sk_g = as_folds(GroupKFold(k), n, y, g)
    sk_sg = as_folds(StratifiedGroupKFold(k), n, y, g)
    out("strat_maxdev_ours", max_dev(y, ours_s, k))
    out("strat_maxdev_sklearn", max_dev(y, sk_s, k))
    out("strat_range_ours", size_range(ours_s, k))
    out("strat_range_sklearn", size_range(sk_s, k))
    out("group_range_ours", size_range(ours_g, k))
    out("group_range_sklearn", size_range(sk_g, k))
    out("sg_spread_ours", spread(y, ours_sg, k))
    out("sg_spread_sklearn", spread(y, sk_sg, k))
    out("sg_spread_group_ours", spread(y, ours_g, k))


def ts(n, k, h, g):
    for name, m in (("expanding", None), ("sliding", n - k * h - g)):
        split = TimeSeriesSplit(k, max_train_size=m, test_size=h, gap=g)
        for f, (train, test) in enumerate(split.split(np.zeros((n, 1)))):
            out(f"{name}_{f}_train_begin", train[0])
            out(f"{name}_{f}_train_end", train[-1] + 1)
            out(f"{name}_{f}_test_begin", test[0])
            out(f"{name}_{f}_test_end", test[-1] + 1)


def main(argv):
    global PREFIX
    jobs, cur = [], []
    for a in argv:
        if a == "+":
            jobs.append(cur)
            cur = []
        else:
            cur.append(a)
    jobs.append(cur)
    run = {"cls": lambda a: cls(a[0], int(a[1])),
           "reg": lambda a: reg(a[0], int(a[1])),
           "folds": lambda a: folds(a[0], int(a[1])),
           "ts": lambda a: ts(*map(int, a[:4]))}
    for job in jobs:
        mode, PREFIX = job[0].split(":")
        if mode not in run:
            sys.exit(f"unknown mode {mode}")
        run[mode](job[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
