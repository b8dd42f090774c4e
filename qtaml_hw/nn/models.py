"""The five reference architectures (design.md section 4).

Four CNNs of different shape -- LeNet-5, a small VGG, a small ResNet with identity/1x1
skips, a MobileNet-style depthwise-separable net -- and a small ViT encoder over image
patches.  Every builder takes ``in_channels``, ``image_size`` and ``num_classes`` so the
same architecture runs on 28x28 MNIST and 8x8 digits.  Only ``nn.Conv2d``/``nn.Linear``
weights are stored in the (faulty) weight memory; biases, BatchNorm and LayerNorm
parameters, and the ViT's class token and position embedding stay float.
"""

from __future__ import annotations

import math

import torch
from torch import nn
import torch.nn.functional as F

from qtaml_hw.errors import QtamlError
from qtaml_hw.nn.srl import StochasticResidual

MODEL_NAMES = ("lenet5", "vgg", "resnet", "mobilenet", "vit")
SRL_NAMES = ("srl_resnet", "srl_vit")  # residual models with stochastic residual layers (design.md section 8)
ARCH_NAMES = MODEL_NAMES + SRL_NAMES


class LeNet5(nn.Module):
    """LeNet-5: conv5-pool-conv5-pool-fc120-fc84-fc10 (padding keeps small inputs valid)."""

    def __init__(self, *, in_channels=1, image_size=28, num_classes=10):
        super().__init__()
        pad = 2 if image_size >= 16 else 2
        self.conv1 = nn.Conv2d(in_channels, 6, 5, padding=pad)
        self.conv2 = nn.Conv2d(6, 16, 5, padding=0 if image_size >= 16 else 2)
        s = image_size // 2
        s = (s - 4 if image_size >= 16 else s) // 2
        self.fc1 = nn.Linear(16 * s * s, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class SmallVGG(nn.Module):
    """VGG-style stacks of 3x3 conv + BN + ReLU, max-pooled, then a linear classifier."""

    def __init__(self, *, in_channels=1, image_size=28, num_classes=10, widths=(16, 32, 64)):
        super().__init__()
        layers, c = [], in_channels
        for i, w in enumerate(widths):
            layers += [nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU()]
            if i < len(widths) - 1:
                layers += [nn.Conv2d(w, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU()]
            layers.append(nn.MaxPool2d(2))
            c = w
        self.features = nn.Sequential(*layers)
        s = image_size // 2 ** len(widths)
        self.classifier = nn.Linear(c * s * s, num_classes)

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class BasicBlock(nn.Module):
    """ResNet basic block y = relu(bn(conv(relu(bn(conv(x))))) + shortcut(x))."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Sequential()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(c_out))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class _StemBlocksNet(nn.Module):
    """3x3 stem conv + BN + ReLU, a chain of ``block(c_in, c_out, stride)`` modules, one per
    ``(c_out, stride)`` of ``plan``, global average pool, fc (the shape shared by
    :class:`SmallResNet` and :class:`SmallMobileNet`)."""

    def __init__(self, *, in_channels, stem_width, block, plan, num_classes):
        super().__init__()
        self.stem = nn.Conv2d(in_channels, stem_width, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(stem_width)
        blocks, c = [], stem_width
        for w, s in plan:
            blocks.append(block(c, w, s))
            c = w
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x):
        x = self.blocks(F.relu(self.bn(self.stem(x))))
        return self.fc(x.mean(dim=(2, 3)))


class SmallResNet(_StemBlocksNet):
    """Stem conv + three basic blocks (16, 32/2, 64/2) with skips, global average pool, fc."""

    def __init__(self, *, in_channels=1, image_size=28, num_classes=10, widths=(16, 32, 64)):
        super().__init__(in_channels=in_channels, stem_width=widths[0], block=BasicBlock,
                         plan=[(w, 1 if i == 0 else 2) for i, w in enumerate(widths)], num_classes=num_classes)


class DepthwiseSeparable(nn.Module):
    """MobileNet block: depthwise 3x3 conv + BN + ReLU, pointwise 1x1 conv + BN + ReLU."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.dw = nn.Conv2d(c_in, c_in, 3, stride=stride, padding=1, groups=c_in, bias=False)
        self.bn1 = nn.BatchNorm2d(c_in)
        self.pw = nn.Conv2d(c_in, c_out, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)

    def forward(self, x):
        return F.relu(self.bn2(self.pw(F.relu(self.bn1(self.dw(x))))))


class SmallMobileNet(_StemBlocksNet):
    """MobileNet-v1 style: 3x3 stem, depthwise-separable blocks, global pool, fc."""

    def __init__(self, *, in_channels=1, image_size=28, num_classes=10,
                 plan=((32, 1), (64, 2), (64, 1), (128, 2))):
        super().__init__(in_channels=in_channels, stem_width=16, block=DepthwiseSeparable, plan=plan,
                         num_classes=num_classes)


class EncoderBlock(nn.Module):
    """Pre-norm transformer block: x + MHSA(LN(x)); x + MLP(LN(x)). Attention is written with
    nn.Linear projections (qkv, proj) so every weight is an ordinary Linear weight."""

    def __init__(self, dim, heads, mlp_dim):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.ln2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, mlp_dim)
        self.fc2 = nn.Linear(mlp_dim, dim)

    def forward(self, x):
        b, n, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        att = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d // self.heads), dim=-1)
        x = x + self.proj((att @ v).transpose(1, 2).reshape(b, n, d))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class SmallViT(nn.Module):
    """ViT encoder: linear patch embedding, class token, learned positions, pre-norm blocks."""

    def __init__(self, *, in_channels=1, image_size=28, num_classes=10, patch=7, dim=64, depth=3,
                 heads=4, mlp_dim=128):
        super().__init__()
        if image_size % patch:
            patch = 2 if image_size % 2 == 0 else 1
        self.patch = patch
        n = (image_size // patch) ** 2
        self.embed = nn.Linear(in_channels * patch * patch, dim)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, n + 1, dim) * 0.02)
        self.blocks = nn.Sequential(*(EncoderBlock(dim, heads, mlp_dim) for _ in range(depth)))
        self.ln = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x):
        p = self.patch
        b = x.shape[0]
        x = F.unfold(x, p, stride=p).transpose(1, 2)  # (b, n, c*p*p)
        x = torch.cat([self.cls.expand(b, -1, -1), self.embed(x)], dim=1) + self.pos
        return self.head(self.ln(self.blocks(x))[:, 0])


class SRLBlock(BasicBlock):
    """Basic block with its skip sum replaced by a stochastic residual layer (qtaml_hw.nn.srl):
    ``y = relu(SRL(shortcut(x), bn(conv(relu(bn(conv(x)))))))``."""

    def __init__(self, c_in, c_out, stride, sigma):
        super().__init__(c_in, c_out, stride)
        self.srl = StochasticResidual(c_out, sigma=sigma)

    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(self.srl(self.shortcut(x), out))


class SRLResNet(SmallResNet):
    """:class:`SmallResNet` with :class:`SRLBlock` blocks; ``srl_sigma`` is the SRL noise level theta."""

    def __init__(self, *, in_channels=1, image_size=28, num_classes=10, widths=(16, 32, 64), srl_sigma=0.1):
        super().__init__(in_channels=in_channels, image_size=image_size, num_classes=num_classes, widths=widths)
        blocks, c = [], widths[0]
        for i, w in enumerate(widths):
            blocks.append(SRLBlock(c, w, 1 if i == 0 else 2, srl_sigma))
            c = w
        self.blocks = nn.Sequential(*blocks)


class SRLEncoderBlock(EncoderBlock):
    """Pre-norm block whose two residual sums are stochastic residual layers over the embedding."""

    def __init__(self, dim, heads, mlp_dim, sigma):
        super().__init__(dim, heads, mlp_dim)
        self.srl1 = StochasticResidual(dim, sigma=sigma, channel_dim=-1)
        self.srl2 = StochasticResidual(dim, sigma=sigma, channel_dim=-1)

    def forward(self, x):
        b, n, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        att = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d // self.heads), dim=-1)
        x = self.srl1(x, self.proj((att @ v).transpose(1, 2).reshape(b, n, d)))
        return self.srl2(x, self.fc2(F.gelu(self.fc1(self.ln2(x)))))


class SRLViT(SmallViT):
    """:class:`SmallViT` with :class:`SRLEncoderBlock` blocks."""

    def __init__(self, *, in_channels=1, image_size=28, num_classes=10, patch=7, dim=64, depth=3, heads=4,
                 mlp_dim=128, srl_sigma=0.1):
        super().__init__(in_channels=in_channels, image_size=image_size, num_classes=num_classes, patch=patch,
                         dim=dim, depth=depth, heads=heads, mlp_dim=mlp_dim)
        self.blocks = nn.Sequential(*(SRLEncoderBlock(dim, heads, mlp_dim, srl_sigma) for _ in range(depth)))


_BUILDERS = {"lenet5": LeNet5, "vgg": SmallVGG, "resnet": SmallResNet,
             "mobilenet": SmallMobileNet, "vit": SmallViT, "srl_resnet": SRLResNet, "srl_vit": SRLViT}


def build_model(arch: str, **config) -> nn.Module:
    """Instantiate architecture ``arch`` with keyword ``config`` (as stored in a manifest)."""
    if arch not in _BUILDERS:
        raise QtamlError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCH_NAMES)}")
    try:
        return _BUILDERS[arch](**config)
    except TypeError as exc:
        raise QtamlError(f"bad config for architecture {arch!r}: {exc}") from None
