"""The book is read in Jupyter: a notebook run by a real IPython kernel trains LeNet for a few batches
through d2l.train_ch6, and the Animator draws inline (PNG display data) instead of writing a file."""
import os
import re

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

CELLS = [
    """import numpy as np
import minigrad as torch
from minigrad import nn
from minigrad import d2l""",
    """net = nn.Sequential(
    nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
    nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
    nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(),
    nn.Linear(84, 10))
gen = np.random.default_rng(0)
X = torch.tensor(gen.random((96, 1, 28, 28), dtype=np.float32))
y = torch.tensor(gen.integers(0, 10, 96))
train_iter = d2l.load_array((X, y), 32)
test_iter = d2l.load_array((X, y), 32, is_train=False)""",
    "d2l.train_ch6(net, train_iter, test_iter, 2, 0.9, d2l.try_gpu())",
]


def test_train_ch6_in_a_notebook_draws_inline(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = notebook.cells[-1].outputs
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    # the Animator clears the cell's output before each redraw, as d2l's: only the last lines stay
    assert re.search(r"loss \d\.\d{3}, train acc \d\.\d{3}, test acc \d\.\d{3}\n", text)
    assert "examples/sec on cpu" in text
    assert "Animator: the plot is drawn to" not in text
    images = [o for o in outputs if o.output_type in ("display_data", "execute_result")
              and "image/png" in o.get("data", {})]
    assert images, f"no inline PNG among the outputs: {[o.output_type for o in outputs]}"
    assert os.listdir(tmp_path) == []  # inline only: no PNG written beside the notebook
