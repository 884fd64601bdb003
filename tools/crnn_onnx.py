#!/usr/bin/python3
"""A CRNN (the OCR model) exported to ONNX, as a user's own recurrent model
for `batchbench` and peers/vs_peers.py: four 3x3 convs with max pools over
a 1x32x128 image down to [N, 256, 1, 32], the 32 columns as a sequence
through a 2-layer bidirectional LSTM of 256 (--gru: a GRU), a linear to 37
classes per column. Random weights U(-0.1, 0.1), seed 0; dynamic batch
axis; opset 17. docs/onnx-import.md ("LSTM, GRU and RNN written out per
time step", "An LSTM or GRU direction as one kernel") times it:

    python3 tools/crnn_onnx.py /tmp/crnn.onnx [--gru]
    .venv/bin/python peers/vs_peers.py --models /tmp/crnn.onnx --batch-sizes 1,8,32 \\
        --engines batchbench-onnx,onnxruntime --rounds 5 --reps 5 --warmup 2
"""
import sys

import torch
import torch.nn as nn


class CRNN(nn.Module):
    def __init__(self, gru=False):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(128, 256, 3, padding=1), nn.BatchNorm2d(256), nn.ReLU(), nn.MaxPool2d((2, 1)),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d((4, 1)))
        self.rnn = (nn.GRU if gru else nn.LSTM)(256, 256, num_layers=2, bidirectional=True, batch_first=True)
        self.fc = nn.Linear(512, 37)

    def forward(self, x):
        f = self.conv(x).squeeze(2).permute(0, 2, 1)  # [N, 32, 256]: the columns in order
        y, _ = self.rnn(f)
        return self.fc(y)


def main(path, gru):
    torch.manual_seed(0)
    model = CRNN(gru).eval()
    for p in model.parameters():
        p.data.uniform_(-0.1, 0.1)
    torch.onnx.export(model, torch.randn(1, 1, 32, 128), path, opset_version=17, input_names=["input"],
                      output_names=["output"], dynamic_axes={"input": {0: "N"}, "output": {0: "N"}})


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3) or (len(sys.argv) == 3 and sys.argv[2] != "--gru"):
        sys.exit("usage: tools/crnn_onnx.py OUT.onnx [--gru]")
    main(sys.argv[1], len(sys.argv) == 3)
