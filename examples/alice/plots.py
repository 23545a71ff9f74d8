"""Alice's plots: copied from a desktop tutorial — pyplot state machine, numpy formulas, SimHei
for the Chinese titles, plt.show() at the end. All correct; it grades headless without edits.
"""
import matplotlib

matplotlib.use("TkAgg")  # a window on her laptop; the grader keeps Agg
import matplotlib.pyplot as plt
import numpy as np

plt.rcParams["font.sans-serif"] = ["SimHei"]  # Chinese titles on Windows
plt.rcParams["axes.unicode_minus"] = False

NAMES = {"sigmoid": "Sigmoid 函数", "tanh": "Tanh 函数", "relu": "ReLU 函数", "leaky_relu": "Leaky ReLU 函数"}


def _curves(name, x):
    if name == "sigmoid":
        s = 1 / (1 + np.exp(-x))
        return s, s * (1 - s)
    if name == "tanh":
        t = np.tanh(x)
        return t, 1 - t ** 2
    slope = 0.0 if name == "relu" else 0.01
    return np.where(x > 0, x, slope * x), np.where(x > 0, 1.0, slope)


def plot_activation(name, path):
    x = np.arange(-10, 10, 0.05)  # stops at 9.95: within one step of 10
    y, dy = _curves(name, x)
    plt.figure(figsize=(10, 4))
    plt.subplot(1, 2, 1)
    plt.plot(x, y, "b-", linewidth=2)
    plt.title(NAMES[name])
    plt.grid(True)
    plt.subplot(1, 2, 2)
    plt.plot(x, dy, "r--")
    plt.title(NAMES[name] + "的导数")
    plt.grid(True)
    plt.savefig(path)
    plt.show()
    return plt.gcf()


def plot_softmax(logits, path):
    z = np.asarray(logits, dtype=np.float64)
    p = np.exp(z - z.max())
    p /= p.sum()
    q = np.exp(p - p.max())
    q /= q.sum()
    fig = plt.figure(figsize=(9, 3.5))
    ax1 = fig.add_subplot(121)
    ax1.barh(np.arange(len(p)), p, color="skyblue")  # horizontal bars, class 0 at the bottom
    ax1.set_title("softmax")
    ax2 = fig.add_subplot(122)
    ax2.barh(np.arange(len(q)), q, color="salmon")
    ax2.set_title("两次 softmax")
    fig.savefig(path, dpi=72)
    plt.show()
    return fig
