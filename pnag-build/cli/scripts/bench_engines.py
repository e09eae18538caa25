#!/usr/bin/env python3
"""Runs OFA subnets in onnxruntime and PyTorch eager CPU for `pnag bench engines`.

Started once by `pnag bench engines` with a jobs JSON: per subnet the arch,
width, resolution, the safetensors weights tract used, the input .npy and
tract's logits. For each job it builds OFA's own PyTorch subnet (`ofa`
package), loads those same weights, exports it with `torch.onnx.export` and
opens an onnxruntime session per thread count. It then prints one JSON line
(versions and every engine's max |logit| difference against tract) and serves
timing requests, one JSON line each on stdin:

    {"engine": "onnxruntime" | "pytorch", "name": "smallest", "threads": 1, "warmup": 3, "runs": 10}

answering each with {"ms": [...]} (one time per timed run) on stdout. The Rust
side alternates these blocks with its own, so every engine is timed in the same
few seconds as ours and the machine's slow spells hit both sides of a ratio.
A profiling request

    {"profile": "smallest", "threads": 1, "warmup": 3, "runs": 10}

runs that subnet in a fresh onnxruntime session with ORT's profiler on and
answers {"ms": [...], "nodes": [{"node": ..., "op": ..., "ms": median}, ...]}:
the unprofiled runs' times and each graph node's median kernel time (ORT's
optimized graph: NCHWc convs with fused ReLU, layout reorders).
Exits at end of input.

Needs: torch==2.13.0, torchvision==0.28.*, pillow, numpy, safetensors, onnx,
onnxruntime, and `ofa` installed with --no-deps (scripts/setup/python-env.sh).
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


def timed(fn, warmup, runs):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1e3)
    return samples


def ort_session(onnx_path, threads, profile_prefix=None):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if profile_prefix:
        so.enable_profiling = True
        so.profile_file_prefix = profile_prefix
    return ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])


def ort_profile(onnx_path, x, threads, warmup, runs):
    """Unprofiled run times, then each node's median kernel time with ORT's profiler on."""
    sess = ort_session(onnx_path, threads)
    ms = timed(lambda: sess.run(None, {"input": x}), warmup, runs)
    with tempfile.TemporaryDirectory(prefix="pnag-ort-profile-") as tmp:
        sess = ort_session(onnx_path, threads, os.path.join(tmp, "ort"))
        timed(lambda: sess.run(None, {"input": x}), warmup, runs)
        with open(sess.end_profiling()) as f:
            events = json.load(f)
    times, ops = {}, {}
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            node = e["name"][: -len("_kernel_time")]
            times.setdefault(node, []).append(e["dur"] / 1e3)
            ops[node] = e["args"].get("op_name", "")
    # Warm-up runs are profiled too: keep each node's last `runs` samples.
    nodes = [{"node": n, "op": ops[n], "ms": float(np.median(t[-runs:]))} for n, t in times.items()]
    return {"ms": ms, "nodes": nodes}


def load_engines(spec):
    """Per (name, threads): a callable per engine, and each engine's max |Δ logits| vs tract;
    per name: the ONNX file and input, for profiling."""
    runners, diffs, models = {}, [], {}
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
        xt = torch.from_numpy(x)
        ours = np.load(job["tract_logits"])
        onnx_path = os.path.join(tmp, job["name"] + ".onnx")
        with torch.no_grad():
            torch.onnx.export(net, (xt,), onnx_path, input_names=["input"],
                              output_names=["logits"], opset_version=17, dynamo=False)
        with torch.inference_mode():
            torch_logits = net(xt).numpy()

        def run_torch(net=net, xt=xt):
            with torch.inference_mode():
                net(xt)

        models[job["name"]] = (onnx_path, x)
        for threads in spec["threads"]:
            sess = ort_session(onnx_path, threads)
            ort_logits = sess.run(None, {"input": x})[0]
            runners[(job["name"], threads, "onnxruntime")] = lambda sess=sess, x=x: sess.run(None, {"input": x})
            runners[(job["name"], threads, "pytorch")] = run_torch
            diffs.append({
                "name": job["name"], "threads": threads,
                "onnxruntime_max_abs_diff": float(np.abs(ort_logits - ours).max()),
                "pytorch_max_abs_diff": float(np.abs(torch_logits - ours).max()),
            })
    return runners, diffs, models


def main(jobs_path):
    with open(jobs_path) as f:
        spec = json.load(f)
    runners, diffs, models = load_engines(spec)
    reply = sys.stdout
    reply.write(json.dumps({"torch": torch.__version__, "onnxruntime": ort.__version__, "diffs": diffs}) + "\n")
    reply.flush()
    for line in sys.stdin:
        req = json.loads(line)
        if "profile" in req:
            onnx_path, x = models[req["profile"]]
            answer = ort_profile(onnx_path, x, req["threads"], req["warmup"], req["runs"])
            reply.write(json.dumps(answer) + "\n")
            reply.flush()
            continue
        if req["engine"] == "pytorch" and torch.get_num_threads() != req["threads"]:
            torch.set_num_threads(req["threads"])
        run = runners[(req["name"], req["threads"], req["engine"])]
        reply.write(json.dumps({"ms": timed(run, req["warmup"], req["runs"])}) + "\n")
        reply.flush()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: bench_engines.py JOBS.json  (then timing requests on stdin)")
    main(sys.argv[1])
