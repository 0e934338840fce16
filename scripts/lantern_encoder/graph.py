"""Reading the package's TF.js graph: dist/model.json and its weight shards.

GraphModel parses model.json (the graph's nodes by name) and decodes every
weight of the manifest (TF.js rules, quantized weights included);
check_ops refuses a graph whose op types are not those of the package
this port was written from.
"""

import collections
import json
import os

import numpy as np

# Op types of the package's graph; anything else means a different model.
KNOWN_OPS = {
    "Add", "BatchMatMul", "BiasAdd", "Cast", "ConcatV2", "Const", "Conv2D",
    "Cos", "ExpandDims", "GatherNd", "GatherV2", "Greater", "Less",
    "LogicalNot", "MatMul", "Max", "Maximum", "Mean", "Mul", "Pack",
    "Placeholder", "Prod", "Range", "RealDiv", "Relu", "Reshape", "Rsqrt",
    "ScatterNd", "Shape", "Sin", "Slice", "Softmax", "SparseToDense",
    "SplitV", "Square", "Squeeze", "StridedSlice", "Sub", "Sum", "Tanh",
    "Transpose", "Where",
}
EXPECTED_OP_COUNTS = {"Softmax": 2, "Relu": 2, "Tanh": 1, "Sin": 1, "Cos": 1,
                      "Conv2D": 4, "BatchMatMul": 4, "Rsqrt": 5}

KONA = "module_apply_default/Encoder_en/KonaTransformer/"
STACK = KONA + "Encode/TransformerStack/"


class GraphModel:
    """model.json parsed: nodes by name and weight arrays by name."""

    def __init__(self, package_dir):
        dist = dist_dir(package_dir)
        self.dir = dist
        with open(os.path.join(dist, "model.json"), encoding="utf-8") as f:
            model = json.load(f)
        self.nodes = {n["name"]: n for n in model["modelTopology"]["node"]}
        self.weights = {}
        for group in model["weightsManifest"]:
            data = b"".join(_read_bytes(os.path.join(dist, p))
                            for p in group["paths"])
            offset = 0
            for spec in group["weights"]:
                array, size = _decode_weight(spec, data, offset)
                self.weights[spec["name"]] = array
                offset += size
            if offset != len(data):
                raise ValueError(f"weights manifest covers {offset} of "
                                 f"{len(data)} bytes of {group['paths']}")

    def check_ops(self):
        """Refuses a graph whose op types differ from the package's."""
        counts = collections.Counter(n["op"] for n in self.nodes.values())
        unknown = set(counts) - KNOWN_OPS
        wrong = {op: counts[op] for op, n in EXPECTED_OP_COUNTS.items()
                 if counts[op] != n}
        layers = {name.split(STACK, 1)[1].split("/")[0]
                  for name in self.nodes if name.startswith(STACK + "Layer_")}
        if unknown or wrong or layers != {"Layer_0", "Layer_1"}:
            raise ValueError(f"not the USE Lite graph this port knows: unknown "
                             f"ops {sorted(unknown)}, counts {wrong}, "
                             f"layers {sorted(layers)}")
        return len(self.nodes)

    def node(self, name):
        return self.nodes[name]

    def input_value(self, node_name, index):
        """The constant array feeding input `index` of node `node_name`."""
        source = self.nodes[node_name]["input"][index].split(":")[0]
        return self.weight(source)

    def weight(self, name):
        if name not in self.weights:
            raise KeyError(f"graph constant {name} not in the weights manifest")
        return self.weights[name]


def dist_dir(package_dir):
    """The folder holding model.json: package_dir/dist or package_dir."""
    dist = os.path.join(package_dir, "dist")
    return dist if os.path.isdir(dist) else package_dir


def _read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


_DTYPES = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}
_QUANT = {"uint8": np.uint8, "uint16": np.uint16, "float16": np.float16}


def _decode_weight(spec, data, offset):
    """Returns (array, bytes used) for one manifest entry (TF.js rules)."""
    shape = spec["shape"]
    count = int(np.prod(shape)) if shape else 1
    quant = spec.get("quantization")
    if quant:
        qtype = _QUANT[quant["dtype"]]
        raw = np.frombuffer(data, qtype, count, offset)
        size = count * np.dtype(qtype).itemsize
        if quant["dtype"] == "float16":
            array = raw.astype(np.float32)
        else:  # affine: value = q * scale + min, then cast to the dtype
            array = (raw.astype(np.float32) * np.float32(quant["scale"])
                     + np.float32(quant["min"]))
        array = array.astype(_DTYPES[spec["dtype"]])
    else:
        dtype = _DTYPES[spec["dtype"]]
        array = np.frombuffer(data, dtype, count, offset).copy()
        size = count * np.dtype(dtype).itemsize
    return array.reshape(shape), size
