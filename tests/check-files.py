#!/usr/bin/python3
"""tests/check-files.py KIND PATH...: is each file a valid KIND?

KIND is svg (parses as XML with an <svg> root and a viewBox or size),
png or gif (decodes with PIL; a gif may be asked to have frames with
--frames N), gltf (glTF 2.0 JSON: asset.version "2.0", every buffer a
data: URI whose decoded length is its byteLength, every bufferView and
accessor inside its buffer, every index in range), json, csv (parses, all
rows the same length) or md (non-empty UTF-8 text with a '# ' title).
Prints one line per problem and exits 1 if there is any.
"""
import base64
import csv
import json
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
    for i, n in enumerate(g.get("nodes", [])):
        if "mesh" in n and n["mesh"] >= len(meshes):
            raise ValueError("node %d names a missing mesh" % i)
    for s in g.get("scenes", []):
        for n in s.get("nodes", []):
            if n >= len(g.get("nodes", [])):
                raise ValueError("scene names a missing node %d" % n)


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
