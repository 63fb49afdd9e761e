"""The book's plotting helpers over matplotlib: inline in Jupyter as d2l's; from a script, the
Animator writes its figure to a PNG (no window, so it never blocks and needs no display).

matplotlib is imported on first use, and only these helpers need it (`pip install matplotlib`).
"""
import os
import sys

from ..files import atomic_write

_FIGURES_ENV = "MINIGRAD_D2L_FIGURES"  # the folder a script's Animator PNGs go to (default: cwd)
_animators_made = 0


def in_notebook():
    """Whether this runs inside a Jupyter kernel (IPython's kernel shell has a `kernel`)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and hasattr(shell, "kernel")


def pyplot():
    """matplotlib.pyplot, with an error that says how to get it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("d2l's plots need matplotlib: pip install matplotlib "
                          "(or pip install \"minigrad[plot]\")") from None
    return plt


def use_svg_display():
    """Show plots as SVG in Jupyter (nothing to do outside it)."""
    if in_notebook():
        from matplotlib_inline import backend_inline
        backend_inline.set_matplotlib_formats("svg")


def set_figsize(figsize=(3.5, 2.5)):
    use_svg_display()
    pyplot().rcParams["figure.figsize"] = figsize


def set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend):
    axes.set_xlabel(xlabel), axes.set_ylabel(ylabel)
    axes.set_xscale(xscale), axes.set_yscale(yscale)
    axes.set_xlim(xlim), axes.set_ylim(ylim)
    if legend:
        axes.legend(legend)
    axes.grid()


def _one_axis(X):
    return (hasattr(X, "ndim") and X.ndim == 1
            or isinstance(X, list) and not hasattr(X[0], "__len__"))


def plot(X, Y=None, xlabel=None, ylabel=None, legend=None, xlim=None, ylim=None, xscale="linear",
         yscale="linear", fmts=("-", "m--", "g-.", "r:"), figsize=(3.5, 2.5), axes=None):
    """Plot one or several curves (`X` alone: the values against their indices)."""
    if _one_axis(X):
        X = [X]
    if Y is None:
        X, Y = [[]] * len(X), X
    elif _one_axis(Y):
        Y = [Y]
    if len(X) != len(Y):
        X = X * len(Y)
    set_figsize(figsize)
    if axes is None:
        axes = pyplot().gca()
    axes.cla()
    for x, y, fmt in zip(X, Y, fmts):
        axes.plot(x, y, fmt) if len(x) else axes.plot(y, fmt)
    set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend or [])


def show_images(imgs, num_rows, num_cols, titles=None, scale=1.5):
    """A grid of images (tensors or arrays); returns the axes."""
    figsize = (num_cols * scale, num_rows * scale)
    _, axes = pyplot().subplots(num_rows, num_cols, figsize=figsize)
    axes = axes.flatten() if hasattr(axes, "flatten") else [axes]
    for i, (ax, img) in enumerate(zip(axes, imgs)):
        if hasattr(img, "detach"):
            img = img.detach().numpy()
        ax.imshow(img)
        ax.axes.get_xaxis().set_visible(False)
        ax.axes.get_yaxis().set_visible(False)
        if titles:
            ax.set_title(titles[i])
    return axes


class Animator:
    """Curves that grow point by point: `add(x, y)` appends one point to each curve (None skips a
    curve) and redraws. In Jupyter the figure replaces itself inline; from a script it is written to
    `animator-<k>.png` in the current folder (or $MINIGRAD_D2L_FIGURES), whose path is printed once."""

    def __init__(self, xlabel=None, ylabel=None, legend=None, xlim=None, ylim=None,
                 xscale="linear", yscale="linear", fmts=("-", "m--", "g-.", "r:"), nrows=1,
                 ncols=1, figsize=(3.5, 2.5)):
        global _animators_made
        _animators_made += 1
        self.inline = in_notebook()
        self.X, self.Y, self.fmts = None, None, fmts
        self.path, self._announced = None, False
        try:
            self.fig, axes = self._figure(nrows, ncols, figsize)
        except ImportError as error:  # training goes on; only the plot is missing
            print(f"Animator: no plot is drawn: {error}")
            self.fig = None
            return
        self.axes = [axes] if nrows * ncols == 1 else axes
        legend = [] if legend is None else legend
        self.config_axes = lambda: set_axes(self.axes[0], xlabel, ylabel, xlim, ylim, xscale,
                                            yscale, legend)
        if not self.inline:
            folder = os.environ.get(_FIGURES_ENV) or os.getcwd()
            self.path = os.path.abspath(os.path.join(folder, f"animator-{_animators_made}.png"))

    def _figure(self, nrows, ncols, figsize):
        if self.inline:
            return pyplot().subplots(nrows, ncols, figsize=figsize)
        try:  # a bare Agg figure: no pyplot backend, no window, no display needed
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
        except ImportError:
            pyplot()  # raises the error that says how to install matplotlib
        fig = Figure(figsize=figsize)
        FigureCanvasAgg(fig)
        return fig, fig.subplots(nrows, ncols)

    def add(self, x, y):
        if not hasattr(y, "__len__"):
            y = [y]
        n = len(y)
        if not hasattr(x, "__len__"):
            x = [x] * n
        if not self.X:
            self.X = [[] for _ in range(n)]
        if not self.Y:
            self.Y = [[] for _ in range(n)]
        for i, (a, b) in enumerate(zip(x, y)):
            if a is not None and b is not None:
                self.X[i].append(float(a))
                self.Y[i].append(float(b))
        if self.fig is None:
            return
        self.axes[0].cla()
        for xs, ys, fmt in zip(self.X, self.Y, self.fmts):
            self.axes[0].plot(xs, ys, fmt)
        self.config_axes()
        self._show()

    def _show(self):
        if self.inline:
            from IPython import display
            display.display(self.fig)
            display.clear_output(wait=True)
            return
        folder = os.path.dirname(self.path)
        os.makedirs(folder, exist_ok=True)
        with atomic_write(self.path) as out:  # a viewer never reads half a PNG
            self.fig.savefig(out, format="png", dpi=150, bbox_inches="tight")
        if not self._announced:
            print(f"Animator: the plot is drawn to {self.path}")
            self._announced = True
