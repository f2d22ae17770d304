#!/usr/bin/env bash
# tests/t-skills-3d.sh: the shipped 3D skills (mesh, material, scene,
# render), run through run/ as a user runs them, against analytic volumes
# and areas, the analytic projected area of a sphere, and the colours and
# places a user would see in the images.
set -u
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/skills.sh"
sk_start

# A reader for the glTF files the skills write: one embedded buffer.
GL='
import base64, json, math, sys
import numpy as np
def load(p):
    g = json.load(open(p))
    raw = base64.b64decode(g["buffers"][0]["uri"].split(",", 1)[1])
    return g, raw
def acc(g, raw, i):
    a = g["accessors"][i]
    v = g["bufferViews"][a["bufferView"]]
    dt = {5126: "<f4", 5123: "<u2", 5125: "<u4"}[a["componentType"]]
    n = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}[a["type"]]
    x = np.frombuffer(raw, dt, a["count"] * n,
                      v.get("byteOffset", 0) + a.get("byteOffset", 0))
    return x.reshape(-1, n).astype(float) if n > 1 else x.astype(np.int64)
def prim(g, raw, m=0):
    p = g["meshes"][m]["primitives"][0]
    pos = acc(g, raw, p["attributes"]["POSITION"])
    nor = acc(g, raw, p["attributes"]["NORMAL"])
    tri = acc(g, raw, p["indices"]).reshape(-1, 3)
    return pos, nor, tri
def close(a, b, rel):
    assert abs(a - b) <= rel * abs(b), (a, b, rel)
'
# Pixels of a PNG that differ from its corner (the background).
PX='
from PIL import Image
import numpy as np
im = np.asarray(Image.open(sys.argv[1]).convert("RGB")).astype(int)
obj = np.any(np.abs(im - im[0, 0]) > 6, axis=2)
'
wall() { as alice cat "$SK_RUN/$1/nodes/$2/time" | jq -r .wall_s; }

# --- mesh ------------------------------------------------------------------

t_eq "cube of edge 2 runs" succeeded \
	"$(sk_run cube mesh '{"shape": "cube", "size": 2}')"
sk_files "the cube's mesh.gltf is valid glTF 2.0" gltf "$(sk_path cube n mesh.gltf)"
t_eq "the cube's volume is exactly a^3 = 8" 8 \
	"$(sk_out cube n volume | sed 's/\.0$//')"
t_eq "the cube's analytic_volume is 8" 8 \
	"$(sk_out cube n analytic_volume | sed 's/\.0$//')"
t_eq "the cube's area is exactly 6a^2 = 24" 24 \
	"$(sk_out cube n area | sed 's/\.0$//')"
t_eq "the cube has 24 vertices (flat faces)" 24 "$(sk_out cube n vertices)"
t_eq "and 12 triangles" 12 "$(sk_out cube n triangles)"
sk_py "the cube's file: one data: buffer, generator llmunix, a node and a scene" "$GL
g, raw = load(sys.argv[1])
assert len(g['buffers']) == 1
assert g['buffers'][0]['uri'].startswith('data:application/octet-stream;base64,')
assert len(raw) == g['buffers'][0]['byteLength']
assert g['asset'] == {'version': '2.0', 'generator': 'llmunix'}, g['asset']
assert g['scenes'][g['scene']]['nodes'] == [0] and g['nodes'][0]['mesh'] == 0
p = g['meshes'][0]['primitives'][0]
assert set(p['attributes']) == {'POSITION', 'NORMAL', 'TEXCOORD_0'}, p
a = g['accessors'][p['attributes']['POSITION']]
assert a['min'] == [-1, -1, -1] and a['max'] == [1, 1, 1], a
assert g['accessors'][p['indices']]['componentType'] in (5123, 5125)
assert len({v['byteOffset'] for v in g['bufferViews']}) == 4
" "$(sk_path cube n mesh.gltf)"
# Outward: for a convex solid centred at the origin, (p1-p0)x(p2-p0)
# points away from the origin for every triangle.
sk_py "every cube triangle is counter-clockwise seen from outside" "$GL
g, raw = load(sys.argv[1])
pos, nor, tri = prim(g, raw)
fn = np.cross(pos[tri[:, 1]] - pos[tri[:, 0]], pos[tri[:, 2]] - pos[tri[:, 0]])
assert np.all(np.einsum('ij,ij->i', fn, pos[tri].mean(1)) > 0)
assert np.all(np.einsum('ij,ij->i', fn, nor[tri[:, 0]]) > 0)
" "$(sk_path cube n mesh.gltf)"

t_eq "a fine sphere (128 x 64) runs" succeeded \
	"$(sk_run sphere mesh '{"shape": "sphere", "radius": 1, "segments": 128, "rings": 64}')"
sk_files "the sphere's mesh.gltf is valid" gltf "$(sk_path sphere n mesh.gltf)"
vfine=$(sk_out sphere n volume)
sk_py "the fine sphere's volume $vfine is within 1% of 4/3 pi" "$GL
close(float(sys.argv[1]), 4 / 3 * math.pi, 0.01)" "$vfine"
sk_py "its analytic_volume is 4/3 pi = 4.18879" "$GL
close(float(sys.argv[1]), 4 / 3 * math.pi, 1e-12)" "$(sk_out sphere n analytic_volume)"
sk_py "its area is within 1% of 4 pi" "$GL
close(float(sys.argv[1]), 4 * math.pi, 0.01)" "$(sk_out sphere n area)"
t_eq "the sphere is closed (seams welded)" true "$(sk_out sphere n closed)"
sk_py "the sphere: all triangles outward, normals unit and outward, TEXCOORD_0 in 0..1" "$GL
g, raw = load(sys.argv[1])
pos, nor, tri = prim(g, raw)
fn = np.cross(pos[tri[:, 1]] - pos[tri[:, 0]], pos[tri[:, 2]] - pos[tri[:, 0]])
assert np.all(np.einsum('ij,ij->i', fn, pos[tri].mean(1)) > 0)
assert np.allclose(np.linalg.norm(nor, axis=1), 1, atol=1e-5)
assert np.allclose(nor, pos, atol=1e-5)
uv = acc(g, raw, g['meshes'][0]['primitives'][0]['attributes']['TEXCOORD_0'])
assert uv.min() == 0 and uv.max() == 1, (uv.min(), uv.max())
assert g['accessors'][g['meshes'][0]['primitives'][0]['indices']]['componentType'] == 5123
assert len(pos) == int(sys.argv[2]), (len(pos), sys.argv[2])
" "$(sk_path sphere n mesh.gltf)" "$(sk_out sphere n vertices)"

t_eq "a coarse sphere (16 x 8) runs" succeeded \
	"$(sk_run coarse mesh '{"shape": "sphere", "segments": 16, "rings": 8}')"
vcoarse=$(sk_out coarse n volume)
sk_py "inscribed volume converges from below: coarse $vcoarse < fine $vfine < 4/3 pi" "
import sys, math
c, f = float(sys.argv[1]), float(sys.argv[2])
assert c < f < 4 / 3 * math.pi, (c, f)" "$vcoarse" "$vfine"

t_eq "a fine torus (R 1, r 0.25) runs" succeeded \
	"$(sk_run torus mesh '{"shape": "torus", "segments": 128, "rings": 64}')"
sk_files "the torus's mesh.gltf is valid" gltf "$(sk_path torus n mesh.gltf)"
sk_py "the torus's volume is within 1% of 2 pi^2 R r^2 = 1.2337" "$GL
close(float(sys.argv[1]), 2 * math.pi ** 2 * 0.0625, 0.01)
close(float(sys.argv[2]), 2 * math.pi ** 2 * 0.0625, 1e-12)" \
	"$(sk_out torus n volume)" "$(sk_out torus n analytic_volume)"
sk_py "its area is within 1% of 4 pi^2 R r = 9.8696" "$GL
close(float(sys.argv[1]), 4 * math.pi ** 2 * 0.25, 0.01)" "$(sk_out torus n area)"
sk_py "every torus triangle faces away from the tube's centre line" "$GL
g, raw = load(sys.argv[1])
pos, nor, tri = prim(g, raw)
fn = np.cross(pos[tri[:, 1]] - pos[tri[:, 0]], pos[tri[:, 2]] - pos[tri[:, 0]])
c = pos[tri].mean(1)
ring = c * [1, 0, 1]
ring /= np.linalg.norm(ring, axis=1, keepdims=True)
assert np.all(np.einsum('ij,ij->i', fn, c - ring) > 0)
" "$(sk_path torus n mesh.gltf)"

t_eq "a parametric torus (R 1, r 0.3) from expressions runs" succeeded \
	"$(sk_run par mesh '{"shape": "parametric", "segments": 128, "rings": 64, "u_range": [0, "2*pi"], "v_range": [0, "2*pi"], "x": "(1 + 0.3*cos(v))*cos(u)", "y": "0.3*sin(v)", "z": "(1 + 0.3*cos(v))*sin(u)"}')"
sk_files "the parametric mesh.gltf is valid" gltf "$(sk_path par n mesh.gltf)"
sk_py "its volume is within 1% of 2 pi^2 * 1 * 0.3^2 = 1.7765 (winding fixed)" "$GL
close(float(sys.argv[1]), 2 * math.pi ** 2 * 0.09, 0.01)" "$(sk_out par n volume)"
t_eq "it is closed" true "$(sk_out par n closed)"
t_eq "a parametric surface has no analytic_volume" no \
	"$(as alice test -e "$SK_RUN/par/outputs/n/analytic_volume" && echo yes || echo no)"

t_eq "an unknown shape fails" failed "$(sk_run badshape mesh '{"shape": "cone"}')"
t_eq "and names it and the shapes allowed" yes \
	"$(sk_err badshape n | grep -q "shape must be one of cube, sphere, torus, parametric, got 'cone'" && echo yes)"
t_eq "a negative radius fails" failed "$(sk_run badr mesh '{"shape": "sphere", "radius": -1}')"
t_eq "and says radius must be > 0" yes \
	"$(sk_err badr n | grep -q 'radius must be a number > 0.*got -1' && echo yes)"
t_eq "segments 2 fails" failed "$(sk_run badseg mesh '{"shape": "sphere", "segments": 2}')"
t_eq "and gives the range of segments" yes \
	"$(sk_err badseg n | grep -q 'segments must be an integer from 3 to 512, got 2' && echo yes)"
t_eq "an expression calling __import__('os') is refused" failed \
	"$(sk_run badexpr mesh '{"shape": "parametric", "x": "__import__('"'os'"')"}')"
t_eq "naming __import__" yes \
	"$(sk_err badexpr n | grep -q "x: the function '__import__' is not allowed" && echo yes)"
sk_fails badattr mesh '{"shape": "parametric", "y": "u.__class__"}' \
	"an attribute access in an expression is refused" "y: the attribute 'u.__class__' is not allowed"
sk_fails badtorus mesh '{"shape": "torus", "major_radius": 1, "minor_radius": 1.5}' \
	"minor_radius >= major_radius fails" 'minor_radius (1.5) must be smaller than major_radius (1)'

# --- material ----------------------------------------------------------

t_eq "mesh -> material runs" succeeded "$(sk_graph mat <<'EOF'
{"nodes": [
 {"id": "m", "skill": "mesh", "inputs": {"shape": "sphere"}},
 {"id": "c", "skill": "material", "inputs": {"mesh": {"from": "m.gltf"},
  "base_color": [1, 0, 0, 1], "metallic": 0.2, "roughness": 0.3,
  "emissive": [0, 0, 0.1], "name": "red"}}]}
EOF
)"
sk_files "material.gltf is valid glTF 2.0" gltf "$(sk_path mat c material.gltf)"
sk_py "it holds the material as given, on every primitive, buffers unchanged" "$GL
g, raw = load(sys.argv[1])
m0, raw0 = load(sys.argv[2])
assert g['materials'] == [{'name': 'red', 'pbrMetallicRoughness': {
    'baseColorFactor': [1, 0, 0, 1], 'metallicFactor': 0.2,
    'roughnessFactor': 0.3}, 'emissiveFactor': [0, 0, 0.1]}], g['materials']
assert all(p['material'] == 0 for m in g['meshes'] for p in m['primitives'])
assert g['buffers'] == m0['buffers'] and g['accessors'] == m0['accessors']
" "$(sk_path mat c material.gltf)" "$(sk_path mat m mesh.gltf)"
t_eq "it reports 1 primitive" 1 "$(sk_out mat c primitives)"

# Files from the mount, as a user gives them.
as alice cp "$(sk_path sphere n mesh.gltf)" "$MNT/user/alice/workflows/sphere.gltf"
echo "not a model" | as alice sh -c "cat > '$MNT/user/alice/workflows/notes.txt'"
sk_fails badrough material '{"mesh": "user/alice/workflows/sphere.gltf", "roughness": 1.5}' \
	"roughness 1.5 fails" 'roughness must be a number between 0 and 1, got 1.5'
sk_fails badcolor material '{"mesh": "user/alice/workflows/sphere.gltf", "base_color": [1, 0]}' \
	"a two-value base_color fails" 'base_color must be a list of 3 or 4 numbers'
sk_fails badmesh material '{"mesh": "user/alice/workflows/notes.txt"}' \
	"a text file as mesh fails" "mesh: 'notes.txt' is not a glTF file"
t_eq "a literal mount path to a glTF works" succeeded \
	"$(sk_run litmat material '{"mesh": "user/alice/workflows/sphere.gltf", "base_color": [0, 1, 0]}')"
sk_files "and gives a valid file" gltf "$(sk_path litmat n material.gltf)"

# --- scene -------------------------------------------------------------

t_eq "mesh, mesh -> material -> scene (two views) -> render runs" succeeded "$(sk_graph scn <<'EOF'
{"nodes": [
 {"id": "ball", "skill": "mesh", "inputs": {"shape": "sphere", "segments": 48, "rings": 24}},
 {"id": "box", "skill": "mesh", "inputs": {"shape": "cube"}},
 {"id": "blue", "skill": "material", "inputs": {"mesh": {"from": "box.gltf"}, "base_color": [0, 0, 1, 1]}},
 {"id": "front", "skill": "scene", "inputs": {
   "mesh1": {"from": "ball.gltf"}, "mesh2": {"from": "blue.gltf"},
   "transforms": [{"translation": [-1.6, 0, 0]},
                  {"translation": [1.6, 0, 0], "rotation_deg": [0, 90, 0], "scale": 0.8}],
   "camera": {"position": [0, 0, 6], "target": [0, 0, 0], "yfov_deg": 50},
   "background": [0.1, 0.1, 0.1]}},
 {"id": "side", "skill": "scene", "inputs": {
   "mesh1": {"from": "ball.gltf"},
   "camera": {"position": [5, 0, 0], "target": [0, 0, 0]},
   "lights": [{"type": "directional", "direction": [0, -1, 0], "intensity": 2},
              {"type": "point", "position": [0, 3, 0], "color": [1, 0.5, 0.5]}]}},
 {"id": "r", "skill": "render", "inputs": {"scene": {"from": "front.gltf"}, "frames": 0}}]}
EOF
)"
sk_files "both scene.gltf files are valid glTF 2.0" gltf \
	"$(sk_path scn front scene.gltf)" "$(sk_path scn side scene.gltf)"
t_eq "front: 4 nodes (2 meshes, camera, default light)" 4 "$(sk_out scn front nodes)"
t_eq "front: triangles = 48*23*2 + 12 = 2220" 2220 "$(sk_out scn front triangles)"
t_eq "side: 4 nodes (mesh, camera, 2 lights)" 4 "$(sk_out scn side nodes)"
sk_py "front: one buffer, rebased accessors and material, transforms as given" "$GL
g, raw = load(sys.argv[1])
assert len(g['buffers']) == 1 and len(raw) == g['buffers'][0]['byteLength']
box = g['nodes'][1]
assert box['translation'] == [1.6, 0, 0], box
assert np.allclose(box['rotation'], [0, 0.5 ** 0.5, 0, 0.5 ** 0.5]), box
assert box['scale'] == [0.8, 0.8, 0.8], box
pos, nor, tri = prim(g, raw, box['mesh'])
assert np.allclose(pos.min(0), -0.5) and np.allclose(pos.max(0), 0.5)
assert len(tri) == 12
mat = g['materials'][g['meshes'][box['mesh']]['primitives'][0]['material']]
assert mat['pbrMetallicRoughness']['baseColorFactor'] == [0, 0, 1, 1], mat
pos, nor, tri = prim(g, raw, g['nodes'][0]['mesh'])
assert np.allclose(np.linalg.norm(pos, axis=1), 1, atol=1e-6) and len(tri) == 2208
cam = [x for x in g['nodes'] if 'camera' in x][0]
assert np.allclose(cam['rotation'], [0, 0, 0, 1]) and cam['translation'] == [0, 0, 6]
assert abs(g['cameras'][0]['perspective']['yfov'] - math.radians(50)) < 1e-12
assert g['scenes'][0]['extras'] == {'background': [0.1, 0.1, 0.1]}
assert 'KHR_lights_punctual' in g['extensionsUsed']
assert len(g['extensions']['KHR_lights_punctual']['lights']) == 1
assert sorted(g['scenes'][0]['nodes']) == list(range(len(g['nodes'])))
" "$(sk_path scn front scene.gltf)"
sk_py "side: camera at +X looking at the origin is q = [0, .7071, 0, .7071]; lights placed" "$GL
g, raw = load(sys.argv[1])
cam = [x for x in g['nodes'] if 'camera' in x][0]
assert np.allclose(cam['rotation'], [0, 0.5 ** 0.5, 0, 0.5 ** 0.5]), cam
lights = g['extensions']['KHR_lights_punctual']['lights']
assert [l['type'] for l in lights] == ['directional', 'point'], lights
assert lights[0]['intensity'] == 2 and lights[1]['color'] == [1, 0.5, 0.5]
ln = [x for x in g['nodes'] if 'extensions' in x]
x, y, z, w = ln[0]['rotation']
minus_z = [-(2 * (x * z + y * w)), -(2 * (y * z - x * w)), -(1 - 2 * (x * x + y * y))]
assert np.allclose(minus_z, [0, -1, 0]), minus_z
assert ln[1]['translation'] == [0, 3, 0]
" "$(sk_path scn side scene.gltf)"

sk_fails badfov scene '{"mesh1": "user/alice/workflows/sphere.gltf", "camera": {"yfov_deg": 200}}' \
	"a yfov_deg of 200 fails" 'camera.yfov_deg must be between 1 and 170 degrees, got 200'
sk_fails badlight scene '{"mesh1": "user/alice/workflows/sphere.gltf", "lights": [{"type": "area"}]}' \
	"a light of type area fails" "lights[0].type must be directional or point, got 'area'"
sk_fails badtf scene '{"mesh1": "user/alice/workflows/sphere.gltf", "transforms": [{}, {}]}' \
	"more transforms than meshes fails" 'at most one entry per given mesh (1)'
sk_fails badkey scene '{"mesh1": "user/alice/workflows/sphere.gltf", "transforms": [{"rotation": [0, 1, 0]}]}' \
	"a misspelt transform key fails" "transforms[0]: unknown key 'rotation' (expected translation, rotation_deg, scale)"
sk_fails badscene scene '{"mesh1": "user/alice/workflows/notes.txt"}' \
	"a text file as mesh1 fails" "mesh1: 'notes.txt' is not a glTF file"

# --- render ------------------------------------------------------------

# A sphere of radius 1 seen from d = 4 with yfov 45 degrees: its outline is
# a disc of radius f tan(asin(1/4)) pixels, f = (240/2)/tan(22.5 deg).
t_eq "sphere -> scene (camera at distance 4) -> render runs" succeeded "$(sk_graph cov <<'EOF'
{"nodes": [
 {"id": "m", "skill": "mesh", "inputs": {"shape": "sphere", "segments": 128, "rings": 64, "name": "ball"}},
 {"id": "s", "skill": "scene", "inputs": {"mesh1": {"from": "m.gltf"},
   "camera": {"position": [0, 0, 4], "target": [0, 0, 0], "yfov_deg": 45}}},
 {"id": "r", "skill": "render", "inputs": {"scene": {"from": "s.gltf"}, "frames": 0}}]}
EOF
)"
cov=$(sk_out cov r coverage)
sk_py "coverage $cov is within 2% of the projected disc's pi (f tan asin(1/4))^2 / (320*240) = 0.2289" "
import math, sys
f = 120 / math.tan(math.radians(22.5))
want = math.pi * (f * math.tan(math.asin(1 / 4))) ** 2 / (320 * 240)
assert abs(float(sys.argv[1]) - want) < 0.02 * want, (sys.argv[1], want)" "$cov"
sk_files "render.png is a valid, non-flat PNG" png "$(sk_path cov r render.png)"
sk_py "the disc is centred and round: its pixel count matches coverage" "
import sys$PX
ys, xs = np.nonzero(obj)
assert abs(xs.mean() - 159.5) < 1 and abs(ys.mean() - 119.5) < 1, (xs.mean(), ys.mean())
assert abs((xs.max() - xs.min()) - (ys.max() - ys.min())) <= 2
assert abs(obj.mean() - float(sys.argv[2])) < 0.002, (obj.mean(), sys.argv[2])
" "$(sk_path cov r render.png)" "$cov"
t_eq "with frames 0 there is no GIF" no \
	"$(as alice test -e "$SK_RUN/cov/outputs/r/animation" && echo yes || echo no)"
t_eq "render reports the scene's 16128 triangles" 16128 "$(sk_out cov r triangles)"

t_eq "a red material rendered bare (default camera and light) runs" succeeded "$(sk_graph red <<'EOF'
{"nodes": [
 {"id": "m", "skill": "mesh", "inputs": {"shape": "torus", "segments": 64, "rings": 24}},
 {"id": "c", "skill": "material", "inputs": {"mesh": {"from": "m.gltf"}, "base_color": [1, 0, 0, 1]}},
 {"id": "r", "skill": "render", "inputs": {"scene": {"from": "c.gltf"}}}]}
EOF
)"
sk_files "its render.png is valid" png "$(sk_path red r render.png)"
sk_files "its turntable.gif is valid with 24 frames" --frames 24 gif "$(sk_path red r turntable.gif)"
sk_py "the object's pixels are red-dominant (R > 2G and R > 2B in 90% of them)" "
import sys$PX
px = im[obj]
assert obj.mean() > 0.05, obj.mean()
red = (px[:, 0] > 2 * px[:, 1]) & (px[:, 0] > 2 * px[:, 2])
assert red.mean() > 0.9, red.mean()
assert px[:, 0].max() > 200, px[:, 0].max()
" "$(sk_path red r render.png)"
sk_py "the GIF loops, and its frames differ (the camera moves)" "
import sys
from PIL import Image, ImageChops
im = Image.open(sys.argv[1])
assert im.info.get('loop') == 0, im.info
im.seek(0); a = im.convert('RGB')
im.seek(6); b = im.convert('RGB')
assert ImageChops.difference(a, b).getbbox() is not None
" "$(sk_path red r turntable.gif)"

sk_py "both meshes show: grey sphere on the left, blue cube on the right, a gap between" "
import sys$PX
assert tuple(im[0, 0]) == (26, 26, 26), im[0, 0]
left, right = obj[:, :140], obj[:, 180:]
assert left.sum() > 2000 and right.sum() > 1000, (left.sum(), right.sum())
assert obj[:, 150:170].sum() == 0
lp, rp = im[:, :140][left], im[:, 180:][right]
assert np.all(np.abs(lp[:, 0] - lp[:, 2]) < 40), 'left is not grey'
assert np.mean(rp[:, 2] > 2 * rp[:, 0]) > 0.95, 'right is not blue'
" "$(sk_path scn r render.png)"

# The chain of all four skills, with a torus of some thousands of triangles.
t_eq "mesh -> material -> scene -> render runs" succeeded "$(sk_graph chain <<'EOF'
{"nodes": [
 {"id": "mesh", "skill": "mesh", "inputs": {"shape": "torus", "segments": 96, "rings": 32}},
 {"id": "mat", "skill": "material", "inputs": {"mesh": {"from": "mesh.gltf"},
   "base_color": [0.9, 0.6, 0.1, 1], "metallic": 1, "roughness": 0.3}},
 {"id": "scene", "skill": "scene", "inputs": {"mesh1": {"from": "mat.gltf"},
   "transforms": [{"rotation_deg": [60, 0, 0]}],
   "camera": {"position": [0, 1.5, 3.5], "target": [0, 0, 0]},
   "lights": [{"type": "directional", "direction": [-1, -1, -1]},
              {"type": "point", "position": [2, 2, 2], "intensity": 20}]}},
 {"id": "render", "skill": "render", "inputs": {"scene": {"from": "scene.gltf"}, "frames": 24}}]}
EOF
)"
sk_files "chain: mesh.gltf, material.gltf and scene.gltf are valid" gltf \
	"$(sk_path chain mesh mesh.gltf)" "$(sk_path chain mat material.gltf)" \
	"$(sk_path chain scene scene.gltf)"
sk_files "chain: render.png is valid" png "$(sk_path chain render render.png)"
sk_files "chain: turntable.gif is valid with 24 frames" --frames 24 gif \
	"$(sk_path chain render turntable.gif)"
t_eq "chain: 6144 triangles reach the renderer" 6144 "$(sk_out chain render triangles)"
rw=$(wall chain render)
echo "# render of 6144 triangles, 320x240, still + 24 frames: wall $rw s"

# The same chain with a larger image: mesh, material and scene come from
# the cache, and their files must still reach the renderer and the user.
t_eq "re-running the chain at 400x300 runs" succeeded "$(as alice cat "$SK_RUN/chain/graph.json" |
	jq '(.nodes[] | select(.id == "render") | .inputs) += {"width": 400, "height": 300, "frames": 0}' |
	sk_graph rerun)"
t_eq "the upstream nodes were cached" "cached cached cached" \
	"$(for n in mesh mat scene; do as alice cat "$SK_RUN/rerun/nodes/$n/status"; done | xargs)"
sk_files "and their files are in the re-run's outputs" gltf \
	"$(sk_path rerun mesh mesh.gltf)" "$(sk_path rerun scene scene.gltf)"
sk_py "the re-run's render is 400x300" "
import sys
from PIL import Image
assert Image.open(sys.argv[1]).size == (400, 300)" "$(sk_path rerun render render.png)"

sk_fails badrender render '{"scene": "user/alice/workflows/notes.txt"}' \
	"rendering a text file fails" "scene: 'notes.txt' is not a glTF file"
sk_fails badw render '{"scene": "user/alice/workflows/sphere.gltf", "width": 0}' \
	"width 0 fails" 'width must be an integer from 16 to 1920, got 0'
sk_fails badf render '{"scene": "user/alice/workflows/sphere.gltf", "frames": 500}' \
	"frames 500 fails" 'frames must be an integer from 0 to 120, got 500'

t_done
