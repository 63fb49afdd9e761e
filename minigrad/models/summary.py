"""summary(net, input_shape): d2l's layer_summary as a table (name, output shape, parameters)."""
from collections import namedtuple

from .. import creation
from ..autograd import no_grad
from ..nn.module import Sequential

SummaryRow = namedtuple("SummaryRow", ["name", "layer", "output_shape", "params"])


def count_parameters(module, trainable_only=False):
    """The number of scalars in ``module``'s parameters (shared ones counted once)."""
    return sum(p.numel() for p in module.parameters()
               if not trainable_only or p.requires_grad)


def _rows(module, X, prefix, depth, rows):
    for name, layer in module.named_children():
        full = f"{prefix}.{name}" if prefix else name
        if depth > 1 and isinstance(layer, Sequential) and len(layer) > 0:
            X = _rows(layer, X, full, depth - 1, rows)
            continue
        X = layer(X)
        rows.append(SummaryRow(full, type(layer).__name__, tuple(X.shape),
                               count_parameters(layer)))
    return X


def summary(net, input_shape, depth=1, file=None, print_table=True):
    """Pass a random batch of ``input_shape`` (batch dimension included, e.g. ``(1, 1, 96, 96)``)
    through ``net`` layer by layer, as d2l's ``layer_summary`` does, print a table of each layer's
    name, type, output shape and parameter count, and return the rows (``SummaryRow`` tuples).

    The children of a ``Sequential`` are run in order (nested ``Sequential`` children are expanded
    ``depth`` levels deep); any other module is one row. Runs without grad and in eval mode
    (BatchNorm running statistics are left alone), then restores the module's mode.
    """
    input_shape = tuple(input_shape)
    was_training = net.training
    parameter = next(net.parameters(), None)
    X = creation.randn(*input_shape)
    if parameter is not None and parameter.device != X.device:
        X = X.to(parameter.device)
    rows = []
    net.eval()
    try:
        with no_grad():
            if isinstance(net, Sequential):
                _rows(net, X, "", depth, rows)
            else:
                out = net(X)
                rows.append(SummaryRow(type(net).__name__, type(net).__name__, tuple(out.shape),
                                       count_parameters(net)))
    finally:
        net.train(was_training)
    if print_table:
        total = count_parameters(net)
        headers = ("layer", "type", "output shape", "params")
        table = [(r.name, r.layer, str(r.output_shape), f"{r.params:,}") for r in rows]
        widths = [max(len(h), *(len(t[i]) for t in table)) if table else len(h)
                  for i, h in enumerate(headers)]
        line = "  ".join(h.ljust(w) if i < 3 else h.rjust(w)
                         for i, (h, w) in enumerate(zip(headers, widths)))
        out = [f"input shape {input_shape}", line, "-" * len(line)]
        for t in table:
            out.append("  ".join(c.ljust(w) if i < 3 else c.rjust(w)
                                 for i, (c, w) in enumerate(zip(t, widths))))
        out += ["-" * len(line), f"total parameters: {total:,}"]
        print("\n".join(out), file=file)
    return rows
