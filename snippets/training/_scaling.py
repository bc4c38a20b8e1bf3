"""What the scaling-law snippets share: the look of a panel (labels, legend, and log axes
labelled at their decades only, whose minor labels would collide on a phone)."""

from matplotlib.ticker import NullFormatter


def finish(ax, xlabel: str, ylabel: str, title: str, **legend) -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=9, **legend)
    for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
        if scale == "log":
            axis.set_minor_formatter(NullFormatter())
