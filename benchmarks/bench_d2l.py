"""The book's workloads on minigrad.d2l, beside PyTorch.

    python benchmarks/bench_d2l.py --lenet-chapter [--seeds 0 1 2]  # zh 6.6: accuracy, both libraries
    python benchmarks/bench_d2l.py --loader                        # resize=224 loader vs AlexNet

--lenet-chapter trains the chapter's LeNet (sigmoid, average pooling; Xavier init, SGD lr 0.9, batch
256) on the real Fashion-MNIST: minigrad through d2l.train_ch6 itself, PyTorch through the same
procedure written for torch, on the same images; it prints both final accuracies and times.
--loader times load_data_fashion_mnist(128, resize=224) (images/s drawn, resize included) against
AlexNet's training steps on its batches (images/s trained): the loader must keep ahead.
"""
import argparse
import time

import numpy as np
from machine import machine_lines, share_openmp_cores

share_openmp_cores()

THREADS = 2


def book_lenet(nn):
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, 10))


def train_torch(torch, net, train_iter, test_iter, epochs, lr):
    """train_ch6's procedure for PyTorch: Xavier-uniform Linear/Conv2d weights, SGD, cross-entropy;
    returns (train loss, train acc, test acc, examples/s) of the last epoch."""
    for m in net.modules():
        if type(m) in (torch.nn.Linear, torch.nn.Conv2d):
            torch.nn.init.xavier_uniform_(m.weight)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    loss = torch.nn.CrossEntropyLoss()
    seconds = 0.0
    for _ in range(epochs):
        net.train()
        total, correct, seen = 0.0, 0.0, 0
        for X, y in train_iter:
            start = time.time()
            optimizer.zero_grad()
            y_hat = net(X)
            value = loss(y_hat, y)
            value.backward()
            optimizer.step()
            with torch.no_grad():
                total += float(value) * X.shape[0]
                correct += float((y_hat.argmax(axis=1) == y).sum())
                seen += X.shape[0]
            seconds += time.time() - start
    net.eval()
    with torch.no_grad():
        hits = sum(float((net(X).argmax(axis=1) == y).sum()) for X, y in test_iter)
    return total / seen, correct / seen, hits / len(test_iter.dataset), seen * epochs / seconds


def lenet_chapter(epochs, seeds):
    import numba
    import torch

    import minigrad as mg
    from minigrad import d2l
    torch.set_num_threads(THREADS)
    numba.set_num_threads(THREADS)
    print("\n".join(machine_lines(THREADS)))
    train_iter, test_iter = d2l.load_data_fashion_mnist(batch_size=256)
    print(f"Fashion-MNIST from {train_iter.dataset.source}")

    def torch_loader(dataset, shuffle):
        images = torch.from_numpy(dataset.data.numpy()[:, None].astype(np.float32) / 255)
        labels = torch.from_numpy(dataset.targets.numpy())
        return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images, labels), 256,
                                           shuffle=shuffle)

    torch_train, torch_test = torch_loader(train_iter.dataset, True), torch_loader(test_iter.dataset,
                                                                                   False)
    accuracies = {"minigrad": [], "torch": []}
    for seed in seeds:
        print(f"seed {seed}")
        mg.manual_seed(seed)
        torch.manual_seed(seed)
        start = time.time()
        net = book_lenet(mg.nn)
        d2l.train_ch6(net, train_iter, test_iter, epochs, 0.9, d2l.try_gpu())
        accuracies["minigrad"].append(d2l.evaluate_accuracy_gpu(net, test_iter))
        print(f"minigrad: {time.time() - start:.0f} s in all ({epochs} epochs, with evaluation)")
        start = time.time()
        loss, train_acc, test_acc, rate = train_torch(torch, book_lenet(torch.nn), torch_train,
                                                      torch_test, epochs, 0.9)
        accuracies["torch"].append(test_acc)
        print(f"torch: loss {loss:.3f}, train acc {train_acc:.3f}, test acc {test_acc:.3f}; "
              f"{rate:.1f} examples/sec; {time.time() - start:.0f} s in all")
    for name, values in accuracies.items():
        print(f"{name} test accuracy over seeds {list(seeds)}: "
              f"{', '.join(f'{v:.3f}' for v in values)} (mean {np.mean(values):.3f})")


def loader_against_alexnet(batches, steps):
    import numba

    import minigrad as mg
    from minigrad import d2l, nn
    numba.set_num_threads(THREADS)
    print("\n".join(machine_lines(THREADS)))
    train_iter, _ = d2l.load_data_fashion_mnist(batch_size=128, resize=224)
    batches_iter = iter(train_iter)
    next(batches_iter)
    start = time.perf_counter()
    for _ in range(batches):
        X, y = next(batches_iter)
    drawn = batches * 128 / (time.perf_counter() - start)
    print(f"load_data_fashion_mnist(128, resize=224): {drawn:7.0f} images/s drawn")
    net = mg.models.alexnet(in_channels=1, num_classes=10)
    optimizer = mg.optim.SGD(net.parameters(), lr=0.01)
    loss = nn.CrossEntropyLoss()

    def step():
        value = loss(net(X), y)
        optimizer.zero_grad()
        value.backward()
        optimizer.step()

    step()  # compile
    start = time.perf_counter()
    for _ in range(steps):
        step()
    trained = steps * 128 / (time.perf_counter() - start)
    print(f"AlexNet training, batch 128 at 224x224:  {trained:7.0f} images/s trained "
          f"(loader / model: {drawn / trained:.1f}x)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lenet-chapter", action="store_true")
    parser.add_argument("--loader", action="store_true")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    if args.lenet_chapter:
        lenet_chapter(args.epochs, args.seeds)
    if args.loader:
        loader_against_alexnet(batches=20, steps=3)


if __name__ == "__main__":
    main()
