#!/usr/bin/python3
"""tests/check-files.py KIND PATH...: is each file a valid KIND?

KIND is svg (parses as XML with an <svg> root and a viewBox or size),
png or gif (decodes with PIL; a gif may be asked to have frames with
--frames N), gltf (glTF 2.0 JSON: asset.version "2.0", every buffer a
data: URI whose decoded length is its byteLength, every bufferView and
accessor inside its buffer, accessors aligned to their component size,
every index in range, triangle lists a multiple of 3 long, POSITION
min/max equal to the data's, every node's mesh, camera, children and
KHR_lights_punctual light present, and no error or warning from the
Khronos glTF validator, tests/gltf-validate.js, which `make check`
installs into build/npm), json, csv (parses, all rows the same
length) or md (non-empty UTF-8 text with a '# ' title).
Prints one line per problem and exits 1 if there is any.
"""
import base64
import csv
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

COMPONENT_SIZE = {5120: 1, 5121: 1, 5122: 2, 5123: 2, 5125: 4, 5126: 4}
TYPE_COUNT = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4,
              "MAT2": 4, "MAT3": 9, "MAT4": 16}


def check_svg(path, opts):
    root = ET.parse(path).getroot()
    if not root.tag.endswith("svg"):
        raise ValueError("root element is <%s>, not <svg>" % root.tag)
    if not (root.get("viewBox") or root.get("width")):
        raise ValueError("<svg> has neither viewBox nor width")
    if len(list(root.iter())) < 3:
        raise ValueError("<svg> is empty")


def check_image(path, opts, fmt):
    from PIL import Image
    with Image.open(path) as im:
        if im.format != fmt:
            raise ValueError("is %s, not %s" % (im.format, fmt))
        n = getattr(im, "n_frames", 1)
        for i in range(n):
            im.seek(i)
            im.load()
        if im.size[0] < 8 or im.size[1] < 8:
            raise ValueError("tiny image %dx%d" % im.size)
        want = opts.get("frames")
        if want is not None and n < want:
            raise ValueError("%d frames, wanted at least %d" % (n, want))
        # A render that is one flat colour drew nothing.
        im.seek(0)
        lo_hi = im.convert("L").getextrema()
        if lo_hi[0] == lo_hi[1]:
            raise ValueError("the image is a single flat colour")


def check_gltf(path, opts):
    with open(path) as f:
        g = json.load(f)
    if g.get("asset", {}).get("version") != "2.0":
        raise ValueError("asset.version is not \"2.0\"")
    data = []
    for i, b in enumerate(g.get("buffers", [])):
        uri = b.get("uri", "")
        if not uri.startswith("data:"):
            raise ValueError("buffer %d is not embedded (uri %r)" % (i, uri[:40]))
        raw = base64.b64decode(uri.split(",", 1)[1], validate=True)
        if len(raw) != b["byteLength"]:
            raise ValueError("buffer %d: byteLength %d, data %d bytes"
                             % (i, b["byteLength"], len(raw)))
        data.append(raw)
    views = g.get("bufferViews", [])
    for i, v in enumerate(views):
        end = v.get("byteOffset", 0) + v["byteLength"]
        if v["buffer"] >= len(data) or end > len(data[v["buffer"]]):
            raise ValueError("bufferView %d runs past its buffer" % i)
    accs = g.get("accessors", [])
    for i, a in enumerate(accs):
        v = views[a["bufferView"]]
        size = COMPONENT_SIZE[a["componentType"]] * TYPE_COUNT[a["type"]]
        stride = v.get("byteStride", size)
        need = a.get("byteOffset", 0) + stride * (a["count"] - 1) + size
        if need > v["byteLength"]:
            raise ValueError("accessor %d needs %d bytes, its view has %d"
                             % (i, need, v["byteLength"]))
        # glTF 2.0 3.6.2.4: viewers read through typed arrays, which need
        # the start aligned to the component size.
        start = v.get("byteOffset", 0) + a.get("byteOffset", 0)
        if start % COMPONENT_SIZE[a["componentType"]]:
            raise ValueError("accessor %d starts at byte %d, not a multiple "
                             "of its component size %d"
                             % (i, start, COMPONENT_SIZE[a["componentType"]]))
    meshes = g.get("meshes", [])
    if not meshes:
        raise ValueError("no meshes")
    import struct
    for m in meshes:
        for p in m["primitives"]:
            pos = accs[p["attributes"]["POSITION"]]
            if "min" not in pos or "max" not in pos:
                raise ValueError("POSITION accessor without min/max")
            if "indices" in p:
                a = accs[p["indices"]]
                v = views[a["bufferView"]]
                fmt = {5121: "B", 5123: "H", 5125: "I"}[a["componentType"]]
                off = v.get("byteOffset", 0) + a.get("byteOffset", 0)
                idx = struct.unpack_from("<%d%s" % (a["count"], fmt),
                                         data[v["buffer"]], off)
                if idx and max(idx) >= pos["count"]:
                    raise ValueError("an index %d >= vertex count %d"
                                     % (max(idx), pos["count"]))
            if "material" in p and p["material"] >= len(g.get("materials", [])):
                raise ValueError("primitive names a missing material")
            count = accs[p["indices"]]["count"] if "indices" in p \
                else pos["count"]
            if p.get("mode", 4) == 4 and count % 3:
                raise ValueError("a triangle primitive has %d indices, not a "
                                 "multiple of 3" % count)
            check_bounds(pos, views, data)
    lights = g.get("extensions", {}).get("KHR_lights_punctual",
                                          {}).get("lights", [])
    for i, n in enumerate(g.get("nodes", [])):
        if "mesh" in n and n["mesh"] >= len(meshes):
            raise ValueError("node %d names a missing mesh" % i)
        if "camera" in n and n["camera"] >= len(g.get("cameras", [])):
            raise ValueError("node %d names a missing camera" % i)
        if any(c >= len(g["nodes"]) for c in n.get("children", [])):
            raise ValueError("node %d has a missing child" % i)
        light = n.get("extensions", {}).get("KHR_lights_punctual")
        if light is not None:
            if "KHR_lights_punctual" not in g.get("extensionsUsed", []):
                raise ValueError("node %d has a light but extensionsUsed "
                                 "lacks KHR_lights_punctual" % i)
            if light.get("light", len(lights)) >= len(lights):
                raise ValueError("node %d names a missing light" % i)
    for s in g.get("scenes", []):
        for n in s.get("nodes", []):
            if n >= len(g.get("nodes", [])):
                raise ValueError("scene names a missing node %d" % n)
    khronos_validate(path)


def check_bounds(pos, views, data):
    """POSITION min/max must be the data's (glTF 2.0 3.6.2.5)."""
    import struct
    if pos["componentType"] != 5126 or pos["type"] != "VEC3":
        return
    v = views[pos["bufferView"]]
    off = v.get("byteOffset", 0) + pos.get("byteOffset", 0)
    stride = v.get("byteStride", 12)
    raw = data[v["buffer"]]
    pts = [struct.unpack_from("<3f", raw, off + k * stride)
           for k in range(pos["count"])]
    for axis in range(3):
        col = [p[axis] for p in pts]
        for name, want in (("min", min(col)), ("max", max(col))):
            got = pos[name][axis]
            if abs(got - want) > 1e-6 * max(1.0, abs(want)):
                raise ValueError("POSITION %s[%d] is %r, the data's is %r"
                                 % (name, axis, got, want))


def khronos_validate(path):
    """The Khronos validator's errors and warnings, as one message."""
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if not os.path.isdir(os.path.join(top, "build", "npm", "node_modules",
                                      "gltf-validator")):
        raise ValueError("the Khronos glTF validator is not installed "
                         "(make build/npm/node_modules/gltf-validator/"
                         "package.json, or make check)")
    r = subprocess.run(["node", os.path.join(top, "tests", "gltf-validate.js"),
                        path], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise ValueError("Khronos validator: " +
                         (r.stdout + r.stderr).strip().replace("\n", "; "))


def check_json(path, opts):
    with open(path) as f:
        json.load(f)


def check_csv(path, opts):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise ValueError("empty CSV")
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise ValueError("rows of different lengths %s" % sorted(widths))


def check_md(path, opts):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if not any(line.startswith("# ") for line in text.splitlines()):
        raise ValueError("no '# ' title")


CHECKS = {"svg": check_svg, "png": lambda p, o: check_image(p, o, "PNG"),
          "gif": lambda p, o: check_image(p, o, "GIF"), "gltf": check_gltf,
          "json": check_json, "csv": check_csv, "md": check_md}


def main(argv):
    opts = {}
    if len(argv) > 2 and argv[1] == "--frames":
        opts["frames"] = int(argv[2])
        argv = argv[:1] + argv[3:]
    if len(argv) < 3 or argv[1] not in CHECKS:
        print(__doc__.strip())
        return 2
    bad = 0
    for path in argv[2:]:
        try:
            CHECKS[argv[1]](path, opts)
        except Exception as e:  # any failure is the file's problem
            print("%s: not a valid %s: %s" % (path, argv[1], e))
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
