"""A tiny self-contained WebGL viewer for the HTML report (no libraries, no network).

Each 3D scene is a ``<canvas class="mhmr-view" data-scene="ID">`` plus a
``<script type="application/json" id="ID">`` holding the scene (see
:func:`metric_hmr.visualization.report.scene_payload`): per person a base64 Float32 array
of vertex positions (glTF convention: y up, camera at the origin looking down -z) and an
RGB colour; one base64 Uint32 face array shared by the persons; the camera frustum; the
floor height.  Everything is inlined, so the report also works from ``file://`` where
Chromium blocks ``fetch`` of local files.

Controls: drag = orbit around the persons, wheel = zoom, buttons = orbit / camera / top /
side view; ``index.html#view=top`` (or orbit, camera, side) opens all scenes in that view.  Faces are drawn un-indexed with per-face normals (flat Lambert shading), so the
viewer needs only WebGL 1 without extensions.  Errors (JS exceptions, missing WebGL) are
collected in ``window.__mhmrErrors`` and written as JSON into ``#report-status`` after
loading, which the headless-Chromium test reads back with ``--dump-dom``.
"""
from __future__ import annotations

__all__ = ['VIEWER_CSS', 'VIEWER_JS']


VIEWER_CSS = r"""
body { font-family: sans-serif; margin: 16px 24px; color: #222; background: #fafafa; }
h1 { font-size: 22px; margin: 4px 0 8px 0; }
h2 { font-size: 18px; border-bottom: 1px solid #ccc; padding-bottom: 3px; margin-top: 26px; }
table.summary td { padding: 1px 12px 1px 0; }
.scenes { display: flex; flex-wrap: wrap; gap: 14px; }
.scene { background: #fff; border: 1px solid #ddd; padding: 6px; }
.scene canvas { display: block; cursor: grab; }
.scene .buttons button { font-size: 12px; margin: 4px 4px 0 0; }
.caption { font-size: 12px; color: #444; max-width: 560px; }
.plots img { max-width: 480px; margin: 4px; border: 1px solid #eee; background: #fff; }
.gallery { display: flex; flex-wrap: wrap; gap: 12px; }
.card { background: #fff; border: 1px solid #ddd; padding: 6px; max-width: 420px; }
.card img { max-width: 408px; display: block; }
.card table { font-size: 11px; border-collapse: collapse; }
.card td, .card th { padding: 1px 5px; border-bottom: 1px solid #eee; text-align: right; }
.rejected { color: #b00; }
.warnings { color: #a50; font-size: 12px; }
#report-status { display: none; }
"""

VIEWER_JS = r"""
(function () {
  'use strict';
  var errors = [];
  window.__mhmrErrors = errors;
  window.addEventListener('error', function (e) {
    errors.push(String(e.message || e.type) + ' @' + (e.filename || '') + ':' + (e.lineno || ''));
  });

  function b64ToBytes(s) {
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  // ---- small column-major 4x4 matrix helpers --------------------------------------
  function perspective(fovy, aspect, near, far) {
    var f = 1 / Math.tan(fovy / 2), nf = 1 / (near - far);
    return [f / aspect, 0, 0, 0, 0, f, 0, 0, 0, 0, (far + near) * nf, -1,
            0, 0, 2 * far * near * nf, 0];
  }
  function sub(a, b) { return [a[0] - b[0], a[1] - b[1], a[2] - b[2]]; }
  function cross(a, b) {
    return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
  }
  function norm(a) { var l = Math.hypot(a[0], a[1], a[2]) || 1; return [a[0] / l, a[1] / l, a[2] / l]; }
  function dot(a, b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
  function lookAt(eye, target, up) {
    var z = norm(sub(eye, target)), x = norm(cross(up, z)), y = cross(z, x);
    return [x[0], y[0], z[0], 0, x[1], y[1], z[1], 0, x[2], y[2], z[2], 0,
            -dot(x, eye), -dot(y, eye), -dot(z, eye), 1];
  }
  function mul(a, b) {  // a * b, column-major
    var o = new Array(16);
    for (var c = 0; c < 4; c++) for (var r = 0; r < 4; r++) {
      var s = 0;
      for (var k = 0; k < 4; k++) s += a[k * 4 + r] * b[c * 4 + k];
      o[c * 4 + r] = s;
    }
    return o;
  }

  function compile(gl, type, src) {
    var sh = gl.createShader(type);
    gl.shaderSource(sh, src);
    gl.compileShader(sh);
    if (!gl.getShaderParameter(sh, gl.COMPILE_STATUS)) throw new Error('shader: ' + gl.getShaderInfoLog(sh));
    return sh;
  }
  function program(gl, vs, fs) {
    var p = gl.createProgram();
    gl.attachShader(p, compile(gl, gl.VERTEX_SHADER, vs));
    gl.attachShader(p, compile(gl, gl.FRAGMENT_SHADER, fs));
    gl.linkProgram(p);
    if (!gl.getProgramParameter(p, gl.LINK_STATUS)) throw new Error('link: ' + gl.getProgramInfoLog(p));
    return p;
  }

  var MESH_VS = 'attribute vec3 aPos; attribute vec3 aNormal; attribute vec3 aColor;' +
    'uniform mat4 uMVP; uniform mat4 uView; varying vec3 vN; varying vec3 vC;' +
    'void main() { gl_Position = uMVP * vec4(aPos, 1.0);' +
    ' vN = (uView * vec4(aNormal, 0.0)).xyz; vC = aColor; }';
  var MESH_FS = 'precision mediump float; varying vec3 vN; varying vec3 vC;' +
    'void main() { vec3 n = normalize(vN); vec3 l = normalize(vec3(0.3, 0.5, 1.0));' +
    ' float d = abs(dot(n, l)); gl_FragColor = vec4(vC * (0.35 + 0.65 * d), 1.0); }';
  var LINE_VS = 'attribute vec3 aPos; uniform mat4 uMVP;' +
    'void main() { gl_Position = uMVP * vec4(aPos, 1.0); }';
  var LINE_FS = 'precision mediump float; uniform vec3 uColor;' +
    'void main() { gl_FragColor = vec4(uColor, 1.0); }';

  function buildTriangles(scene) {
    // Un-index all persons into one array with flat (per-face) normals.
    var faces = new Uint32Array(b64ToBytes(scene.faces));
    var nF = faces.length / 3, total = 0, i, k;
    for (k = 0; k < scene.persons.length; k++) total += nF;
    var pos = new Float32Array(total * 9), nrm = new Float32Array(total * 9);
    var col = new Float32Array(total * 9);
    var o = 0, lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity];
    for (k = 0; k < scene.persons.length; k++) {
      var p = scene.persons[k], v = new Float32Array(b64ToBytes(p.vertices)), c = p.color;
      for (i = 0; i < v.length; i += 3) for (var a = 0; a < 3; a++) {
        lo[a] = Math.min(lo[a], v[i + a]); hi[a] = Math.max(hi[a], v[i + a]);
      }
      for (var f = 0; f < nF; f++) {
        var i0 = faces[3 * f] * 3, i1 = faces[3 * f + 1] * 3, i2 = faces[3 * f + 2] * 3;
        var e1 = [v[i1] - v[i0], v[i1 + 1] - v[i0 + 1], v[i1 + 2] - v[i0 + 2]];
        var e2 = [v[i2] - v[i0], v[i2 + 1] - v[i0 + 1], v[i2 + 2] - v[i0 + 2]];
        var n = norm(cross(e1, e2)), ids = [i0, i1, i2];
        for (var j = 0; j < 3; j++) {
          for (var a2 = 0; a2 < 3; a2++) {
            pos[o + a2] = v[ids[j] + a2]; nrm[o + a2] = n[a2]; col[o + a2] = c[a2];
          }
          o += 3;
        }
      }
    }
    return { pos: pos, nrm: nrm, col: col, count: total * 3, lo: lo, hi: hi };
  }

  function buildLines(scene, lo, hi) {
    var pts = [];
    // metric floor grid (1 m) under the persons, from the camera to behind the farthest one
    var y = scene.floor_y, step = 1.0;
    var x0 = Math.floor(Math.min(lo[0], -1) - 1), x1 = Math.ceil(Math.max(hi[0], 1) + 1);
    var z0 = Math.floor(Math.min(lo[2], -1) - 1), z1 = Math.ceil(Math.max(hi[2], 0) + 1);
    for (var x = x0; x <= x1 + 1e-6; x += step) pts.push(x, y, z0, x, y, z1);
    for (var z = z0; z <= z1 + 1e-6; z += step) pts.push(x0, y, z, x1, y, z);
    var grid = pts.length / 3;
    var fp = scene.frustum.points, fs = scene.frustum.segments;
    for (var s = 0; s < fs.length; s++) {
      var a = fp[fs[s][0]], b = fp[fs[s][1]];
      pts.push(a[0], a[1], a[2], b[0], b[1], b[2]);
    }
    return { pos: new Float32Array(pts), grid: grid, frustum: pts.length / 3 - grid };
  }

  function Viewer(canvas, scene) {
    var gl = canvas.getContext('webgl', { preserveDrawingBuffer: true, antialias: true }) ||
             canvas.getContext('experimental-webgl', { preserveDrawingBuffer: true });
    if (!gl) throw new Error('WebGL is not available in this browser');
    this.gl = gl; this.canvas = canvas;
    this.meshProg = program(gl, MESH_VS, MESH_FS);
    this.lineProg = program(gl, LINE_VS, LINE_FS);
    var tri = buildTriangles(scene), lines = buildLines(scene, tri.lo, tri.hi);
    function buffer(data) {
      var b = gl.createBuffer();
      gl.bindBuffer(gl.ARRAY_BUFFER, b);
      gl.bufferData(gl.ARRAY_BUFFER, data, gl.STATIC_DRAW);
      return b;
    }
    this.tri = { pos: buffer(tri.pos), nrm: buffer(tri.nrm), col: buffer(tri.col), count: tri.count };
    this.lines = { pos: buffer(lines.pos), grid: lines.grid, frustum: lines.frustum };
    this.target = [(tri.lo[0] + tri.hi[0]) / 2, (tri.lo[1] + tri.hi[1]) / 2, (tri.lo[2] + tri.hi[2]) / 2];
    if (!isFinite(this.target[0])) this.target = [0, 0, -3];
    this.center = this.target.slice();
    // size of the group of persons (diagonal of their bounding box), at least 2 m
    this.radius = Math.max(2.0, Math.hypot(tri.hi[0] - tri.lo[0], tri.hi[1] - tri.lo[1],
                                           tri.hi[2] - tri.lo[2]));
    this.yfov = scene.yfov;
    this.preset('orbit');
    this.attach();
  }
  Viewer.prototype.preset = function (name) {
    var c = this.center;
    if (name === 'camera') {
      // through the real camera: eye at the origin, looking down the optical axis (-z) at
      // a point as far as the persons, with the photo's vertical field of view
      var d = Math.max(0.5, Math.hypot(c[0], c[1], c[2]));
      this.target = [0, 0, -d]; this.yaw = 0; this.pitch = 0; this.dist = d;
      this.fov = this.yfov;
      this.draw();
      return;
    }
    this.fov = 0.8;
    this.target = c.slice();
    if (name === 'top') { this.yaw = 0; this.pitch = 1.45; this.dist = 1.8 * this.radius; }
    else if (name === 'side') { this.yaw = Math.PI / 2; this.pitch = 0.05; this.dist = 1.6 * this.radius; }
    else { this.yaw = 0.6; this.pitch = 0.4; this.dist = 1.5 * this.radius; }
    this.draw();
  };
  Viewer.prototype.eye = function () {
    var t = this.target, cp = Math.cos(this.pitch);
    // yaw 0 / pitch 0 = behind the camera side (+z in glTF is towards the viewer)
    return [t[0] + this.dist * cp * Math.sin(this.yaw), t[1] + this.dist * Math.sin(this.pitch),
            t[2] + this.dist * cp * Math.cos(this.yaw)];
  };
  Viewer.prototype.draw = function () {
    var gl = this.gl, c = this.canvas;
    gl.viewport(0, 0, c.width, c.height);
    gl.clearColor(0.97, 0.97, 0.98, 1.0);
    gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
    gl.enable(gl.DEPTH_TEST);
    var view = lookAt(this.eye(), this.target, [0, 1, 0]);
    var proj = perspective(this.fov, c.width / c.height, 0.02, 50 * this.radius + 100);
    var mvp = mul(proj, view);
    // meshes
    gl.useProgram(this.meshProg);
    var P = this.meshProg;
    gl.uniformMatrix4fv(gl.getUniformLocation(P, 'uMVP'), false, new Float32Array(mvp));
    gl.uniformMatrix4fv(gl.getUniformLocation(P, 'uView'), false, new Float32Array(view));
    var attrs = [['aPos', this.tri.pos], ['aNormal', this.tri.nrm], ['aColor', this.tri.col]];
    var locs = [];
    for (var i = 0; i < attrs.length; i++) {
      var loc = gl.getAttribLocation(P, attrs[i][0]);
      gl.bindBuffer(gl.ARRAY_BUFFER, attrs[i][1]);
      gl.enableVertexAttribArray(loc);
      gl.vertexAttribPointer(loc, 3, gl.FLOAT, false, 0, 0);
      locs.push(loc);
    }
    gl.drawArrays(gl.TRIANGLES, 0, this.tri.count);
    for (i = 0; i < locs.length; i++) gl.disableVertexAttribArray(locs[i]);
    // grid and frustum
    var L = this.lineProg;
    gl.useProgram(L);
    gl.uniformMatrix4fv(gl.getUniformLocation(L, 'uMVP'), false, new Float32Array(mvp));
    var lp = gl.getAttribLocation(L, 'aPos');
    gl.bindBuffer(gl.ARRAY_BUFFER, this.lines.pos);
    gl.enableVertexAttribArray(lp);
    gl.vertexAttribPointer(lp, 3, gl.FLOAT, false, 0, 0);
    gl.uniform3f(gl.getUniformLocation(L, 'uColor'), 0.75, 0.75, 0.78);
    gl.drawArrays(gl.LINES, 0, this.lines.grid);
    gl.uniform3f(gl.getUniformLocation(L, 'uColor'), 0.1, 0.1, 0.1);
    gl.drawArrays(gl.LINES, this.lines.grid, this.lines.frustum);
    gl.disableVertexAttribArray(lp);
  };
  Viewer.prototype.attach = function () {
    var self = this, c = this.canvas, last = null;
    c.addEventListener('mousedown', function (e) { last = [e.clientX, e.clientY]; e.preventDefault(); });
    window.addEventListener('mouseup', function () { last = null; });
    window.addEventListener('mousemove', function (e) {
      if (!last) return;
      self.yaw -= (e.clientX - last[0]) * 0.01;
      self.pitch = Math.max(-1.5, Math.min(1.5, self.pitch + (e.clientY - last[1]) * 0.01));
      last = [e.clientX, e.clientY];
      self.draw();
    });
    c.addEventListener('wheel', function (e) {
      self.dist = Math.max(0.3, self.dist * Math.exp(e.deltaY * 0.001));
      self.draw();
      e.preventDefault();
    }, { passive: false });
  };

  function init() {
    var canvases = document.querySelectorAll('canvas.mhmr-view'), rendered = 0, rects = [];
    var hash = /view=(orbit|camera|top|side)/.exec(window.location.hash || '');  // e.g. #view=top
    for (var i = 0; i < canvases.length; i++) {
      var c = canvases[i];
      try {
        var scene = JSON.parse(document.getElementById(c.getAttribute('data-scene')).textContent);
        var v = new Viewer(c, scene);
        if (hash) v.preset(hash[1]);
        var box = c.parentNode.querySelectorAll('button[data-view]');
        for (var j = 0; j < box.length; j++) {
          var onClick = (function (vw, name) { return function () { vw.preset(name); }; });
          box[j].addEventListener('click', onClick(v, box[j].getAttribute('data-view')));
        }
        rendered++;
      } catch (e) {
        errors.push('scene ' + c.getAttribute('data-scene') + ': ' + e.message);
        var msg = document.createElement('div');
        msg.className = 'warnings';
        msg.textContent = '3D view unavailable: ' + e.message;
        c.parentNode.insertBefore(msg, c);
      }
      var r = c.getBoundingClientRect();
      rects.push([r.left + window.scrollX, r.top + window.scrollY, r.width, r.height]);
    }
    var st = document.getElementById('report-status');
    if (st) st.textContent = JSON.stringify({ errors: errors, scenes: canvases.length, rendered: rendered,
                                              canvas_rects: rects, dpr: window.devicePixelRatio });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
"""
