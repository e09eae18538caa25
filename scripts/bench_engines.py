#!/usr/bin/env python3
"""Times OFA subnets in onnxruntime and PyTorch eager CPU (called by `pnag bench engines`).

Reads a jobs JSON written by `pnag bench engines`: per subnet the arch, width,
resolution, the safetensors weights tract used, the input .npy and tract's
logits. For each job it builds OFA's own PyTorch subnet (`ofa` package), loads
those same weights, exports it with `torch.onnx.export`, and times both engines
at every requested thread count. Writes a results JSON with the timings and
the max |logit| difference of each engine against tract (same weights, same input).

Needs: torch==2.13.0, torchvision==0.28.*, pillow, numpy, safetensors, onnx,
onnxruntime, and `ofa` installed with --no-deps (scripts/python-env.sh).
"""
import json
import os
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort
import torch
from safetensors.torch import load_file

from ofa.imagenet_classification.elastic_nn.networks import OFAMobileNetV3


def ofa_subnet(arch, width):
    d, k, e = ([int(x) for x in g.split(",")] for g in arch.split(":"))
    net = OFAMobileNetV3(width_mult=width, ks_list=[3, 5, 7], expand_ratio_list=[3, 4, 6], depth_list=[2, 3, 4])
    net.set_active_subnet(ks=[x or 3 for x in k], e=[x or 3 for x in e], d=d)
    return net.get_active_subnet(preserve_weight=True)


def summarize(samples):
    p10, p50, p90 = np.percentile(np.array(samples) * 1e3, [10, 50, 90])
    return {"median_ms": float(p50), "p10_ms": float(p10), "p90_ms": float(p90)}


def timed(fn, warmup, runs):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return summarize(samples)


def main(jobs_path, out_path):
    with open(jobs_path) as f:
        spec = json.load(f)
    results = []
    tmp = tempfile.mkdtemp(prefix="pnag-bench-")
    for job in spec["jobs"]:
        net = ofa_subnet(job["arch"], job["width"])
        state = load_file(job["weights"])
        expected = set(net.state_dict())
        missing, unexpected = expected - set(state), set(state) - expected
        assert not unexpected and all(m.endswith("num_batches_tracked") for m in missing), (missing, unexpected)
        net.load_state_dict(state, strict=False)
        net.eval()
        x = np.load(job["input"])
        ours = np.load(job["tract_logits"])
        onnx_path = os.path.join(tmp, job["name"] + ".onnx")
        with torch.no_grad():
            torch.onnx.export(net, (torch.from_numpy(x),), onnx_path, input_names=["input"],
                              output_names=["logits"], opset_version=17, dynamo=False)
        for threads in spec["threads"]:
            torch.set_num_threads(threads)
            xt = torch.from_numpy(x)
            with torch.inference_mode():
                torch_logits = net(xt).numpy()
                t_torch = timed(lambda: net(xt), spec["warmup"], spec["runs"])
            so = ort.SessionOptions()
            so.intra_op_num_threads = threads
            so.inter_op_num_threads = 1
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
            ort_logits = sess.run(None, {"input": x})[0]
            t_ort = timed(lambda: sess.run(None, {"input": x}), spec["warmup"], spec["runs"])
            results.append({
                "name": job["name"], "threads": threads,
                "onnxruntime": t_ort, "pytorch": t_torch,
                "onnxruntime_max_abs_diff": float(np.abs(ort_logits - ours).max()),
                "pytorch_max_abs_diff": float(np.abs(torch_logits - ours).max()),
            })
            print(f"{job['name']} t{threads}: ort {t_ort['median_ms']:.2f} ms, torch {t_torch['median_ms']:.2f} ms",
                  file=sys.stderr)
    with open(out_path + ".tmp", "w") as f:
        json.dump({"torch": torch.__version__, "onnxruntime": ort.__version__, "results": results}, f, indent=1)
    os.replace(out_path + ".tmp", out_path)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: bench_engines.py JOBS.json RESULTS.json")
    main(sys.argv[1], sys.argv[2])
