"""Small networks the "your own model" tests build and save themselves.

- a torchvision-style ResNet (same module names and layout as ``torchvision.models.resnet``:
  ``conv1, bn1, relu, maxpool, layer1..layer4, avgpool, fc``; torchvision is not installed
  here) with random weights: ResNet-50 (Bottleneck, [3, 4, 6, 3]) gives 2048 features;
- a tiny CNN for state-dict and TorchScript tests;
- the first seed's Keras CNN (VGG-3: three Conv2D 3x3 blocks of 32/64/128 filters with
  max-pooling and dropout, Dense 128, one sigmoid output), on a small input.

Module-level builders are what ``--model byo_nets:...`` / ``--arch byo_nets:...`` name.
"""

from __future__ import annotations

import os
import warnings

import torch
from torch import nn


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample=None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample=None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    def __init__(self, block, layers, num_classes: int = 1000, width: int = 64) -> None:
        super().__init__()
        self.inplanes = width
        self.conv1 = nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._layer(block, width, layers[0])
        self.layer2 = self._layer(block, width * 2, layers[1], stride=2)
        self.layer3 = self._layer(block, width * 4, layers[2], stride=2)
        self.layer4 = self._layer(block, width * 8, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width * 8 * block.expansion, num_classes)

    def _layer(self, block, planes: int, blocks: int, stride: int = 1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet50(num_classes: int = 1000) -> ResNet:
    torch.manual_seed(0)
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes=num_classes)


def resnet50_features() -> ResNet:
    """The second seed's feature extractor: ResNet-50 with ``fc`` replaced by Identity."""
    net = resnet50()
    net.fc = nn.Identity()
    return net.eval()


def resnet_small(num_classes: int = 3) -> ResNet:
    """A narrow ResNet-18-shaped classifier (fast): 3 classes."""
    torch.manual_seed(1)
    return ResNet(BasicBlock, [1, 1, 1, 1], num_classes=num_classes, width=8)


class TinyNet(nn.Module):
    """Conv -> pool -> linear, ``num_classes`` logits."""

    def __init__(self, num_classes: int = 3) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(),
                                      nn.AdaptiveAvgPool2d(2))
        self.head = nn.Linear(24, num_classes)

    def forward(self, x):
        return self.head(torch.flatten(self.features(x), 1))


def tiny_net() -> TinyNet:
    """The architecture a TinyNet state dict is loaded into (weights random)."""
    return TinyNet()


def trained_tiny_net(seed: int = 7) -> TinyNet:
    torch.manual_seed(seed)
    net = TinyNet()
    with torch.no_grad():  # make the weights clearly differ from a fresh TinyNet
        for p in net.parameters():
            p.mul_(3.0)
    return net.eval()


def save_torchscript(module: nn.Module, path: str, size: int = 32) -> str:
    """``torch.jit.save`` of the traced module (TorchScript is deprecated upstream: the
    warning is not the point of these tests)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(module.eval(), torch.zeros(1, 3, size, size))
        torch.jit.save(traced, path)
    return path


def export_onnx(module: nn.Module, path: str, size: int = 32, *, nhwc: bool = False) -> str:
    """Export ``module`` to ONNX with a dynamic batch axis (optionally taking NHWC input)."""
    model = _NhwcInput(module) if nhwc else module
    example = torch.zeros(1, size, size, 3) if nhwc else torch.zeros(1, 3, size, size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), (example,), path, input_names=["image"],
                          output_names=["scores"], opset_version=17, dynamo=False,
                          dynamic_axes={"image": {0: "n"}, "scores": {0: "n"}})
    return path


class _NhwcInput(nn.Module):
    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x.permute(0, 3, 1, 2))


# ---------------------------------------------------------------------------- Keras

def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras as k

    return k


def seed_vgg3(size: int = 64):
    """The first seed's cat/dog CNN (VGG-3), random weights, on ``size`` x ``size`` input."""
    k = keras()
    layers = k.layers
    k.utils.set_random_seed(3)
    return k.Sequential([
        k.Input((size, size, 3)),
        layers.Conv2D(32, 3, activation="relu", padding="same"), layers.MaxPooling2D(),
        layers.Dropout(0.2),
        layers.Conv2D(64, 3, activation="relu", padding="same"), layers.MaxPooling2D(),
        layers.Dropout(0.2),
        layers.Conv2D(128, 3, activation="relu", padding="same"), layers.MaxPooling2D(),
        layers.Dropout(0.2),
        layers.Flatten(name="flatten"),
        layers.Dense(128, activation="relu", name="fc"),
        layers.Dropout(0.5),
        layers.Dense(1, activation="sigmoid", name="score"),
    ])


def keras_any_size(classes: int = 3, activation: str = "softmax"):
    """A fully convolutional Keras model that takes any input size."""
    k = keras()
    layers = k.layers
    k.utils.set_random_seed(4)
    return k.Sequential([
        k.Input((None, None, 3)),
        layers.Conv2D(8, 3, activation="relu"),
        layers.GlobalAveragePooling2D(),
        layers.Dense(classes, activation=activation),
    ])


def keras_save(model, path: str) -> str:
    """Save (Keras' numpy-2 ``__array__`` deprecation and the legacy-.h5 notice are not
    what these tests check)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(path)
    return path


def keras_predict(model, batch):
    """The framework's own prediction: the Keras model called on the batch."""
    import numpy as np

    with torch.no_grad():
        out = model(batch, training=False)
    return np.asarray(out.detach().cpu().numpy(), dtype=np.float32)
