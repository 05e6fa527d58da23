// JavaScript half of the browser bridge (emcc --pre-js): file bytes in (picker, drag and drop,
// ?stats=URL), downloads out, status reporting, and the public API `Module.hodgecover`.
// Pages set options on `Module` before loading hodgecover.js:
//   hcCompact (one-layer embed view), hcNoWindow (API only, no canvas), hcSamples (URL of a
//   JSON list [{name, url, report?}]), hcStatusElement (id of the status element, default "status").

Module.hcOnStatus = function (state, text, layers, pending, report) {
  document.title = 'HodgeCover - ' + text;
  const el = document.getElementById(Module.hcStatusElement || 'status');
  if (el) {
    el.textContent = text;
    el.dataset.state = state;
    el.dataset.layers = String(layers);
    el.dataset.pending = String(pending);
    el.dataset.report = report;  // "none", "loaded <rows>" or "error"
  }
  if (Module.onHodgeCoverStatus) Module.onHodgeCoverStatus({state, text, layers, pending, report});
};

// Calls the C++ loader `fn` with a heap copy of the bytes (pointer, length, name), then frees it.
function hcCallWithBytes(fn, returns, bytes, name, extra) {
  const ptr = Module._malloc(Math.max(1, bytes.length));
  HEAPU8.set(bytes, ptr);  // the module's own view (pre-js shares its scope), current after growth
  try {
    const types = ['number', 'number', 'string'].concat(extra.map(function () { return 'number'; }));
    return Module.ccall(fn, returns, types, [ptr, bytes.length, name].concat(extra));
  } finally {
    Module._free(ptr);
  }
}

// Loads a statistics file; returns the layer count or -1.
Module.hcLoadBytes = function (bytes, name, analyseNow) {
  return hcCallWithBytes('hc_web_load', 'number', bytes, name, [analyseNow ? 1 : 0]);
};

// The same for a comparison report (report.json); returns its row count or -1.
Module.hcLoadReportBytes = function (bytes, name) {
  return hcCallWithBytes('hc_web_load_report', 'number', bytes, name, []);
};

// Picker and drops: the C++ side tells a report (JSON) from a statistics file by its bytes.
Module.hcLoadAnyBytes = function (bytes, name) {
  hcCallWithBytes('hc_web_load_any', null, bytes, name, []);
};

Module.hcFetchReport = function (url, afterLoad) {
  Module.hcFetchBytes(url).then(function (bytes) {
    Module.hcLoadReportBytes(bytes, url);
    if (afterLoad) afterLoad();
  }).catch(function (e) {
    Module.ccall('hc_web_report_error', null, ['string', 'string'], [url, url + ': ' + e.message]);
  });
};

Module.hcFetchBytes = async function (url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error('HTTP ' + response.status + ' ' + response.statusText);
  return new Uint8Array(await response.arrayBuffer());
};

Module.hcFetch = function (url, afterLoad) {
  Module.ccall('hc_web_set_loading', null, ['string'], [url]);
  Module.hcFetchBytes(url).then(function (bytes) {
    Module.hcLoadBytes(bytes, url, false);
    if (afterLoad) afterLoad();
  }).catch(function (e) {
    Module.ccall('hc_web_load_error', null, ['string', 'string'], [url, url + ': ' + e.message]);
  });
};

Module.hcDownload = function (name, text) {
  const url = URL.createObjectURL(new Blob([text], {type: 'application/json'}));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
};

function hcReadFile(file) {
  const report = /\.json$/i.test(file.name);
  if (!report) Module.ccall('hc_web_set_loading', null, ['string'], [file.name]);
  file.arrayBuffer().then(function (buffer) {
    Module.hcLoadAnyBytes(new Uint8Array(buffer), file.name);
  }).catch(function (e) {
    if (report) {
      Module.ccall('hc_web_report_error', null, ['string', 'string'], [file.name, file.name + ': ' + e.message]);
      return;
    }
    Module.ccall('hc_web_load_error', null, ['string', 'string'], [file.name, file.name + ': ' + e.message]);
  });
}

Module.hcOpenFileDialog = function () {
  let input = document.getElementById('hc-file-input');
  if (!input) {
    input = document.createElement('input');
    input.type = 'file';
    input.id = 'hc-file-input';
    input.accept = '.hcstats,.safetensors,.json';
    input.multiple = true;
    input.style.display = 'none';
    input.addEventListener('change', function () {
      for (const file of input.files) hcReadFile(file);
      input.value = '';
    });
    document.body.appendChild(input);
  }
  input.click();
};

// Called by the C++ host once the panels' host actions are installed (start of main).
Module.hcHostReady = function () {
  const params = new URLSearchParams(window.location.search);
  if (Module.hcCompact || params.get('compact') === '1') Module.ccall('hc_web_set_compact', null, ['number'], [1]);
  const canvas = Module.canvas;
  if (canvas) {
    canvas.addEventListener('dragover', function (e) { e.preventDefault(); });
    canvas.addEventListener('drop', function (e) {
      e.preventDefault();
      for (const file of e.dataTransfer.files) hcReadFile(file);  // statistics and report together
    });
  }
  if (Module.hcSamples) {
    fetch(Module.hcSamples).then(function (r) { return r.ok ? r.json() : []; }).then(function (list) {
      for (const s of list) {
        Module.ccall('hc_web_add_sample', null, ['string', 'string', 'string'], [s.name, s.url, s.report || '']);
      }
    }).catch(function () {});
  }
  // ?stats=URL[&report=URL][&layer=L][&view=graph|matrix|keep][&select=METHOD[&keep=K|&ratio=R]]: a link
  // that reproduces a view.
  const stats = params.get('stats');
  const report = params.get('report');
  if (report) Module.hcFetchReport(report);
  if (params.get('view')) Module.hodgecover.view({layerView: params.get('view')});
  if (stats) {
    const layer = params.get('layer');
    const method = params.get('select');
    Module.hcFetch(stats, function () {
      if (layer !== null) Module.ccall('hc_web_set_layer', 'number', ['number'], [parseInt(layer, 10)]);
      if (method) {
        Module.hodgecover.select({method: method, keep: parseInt(params.get('keep') || '0', 10),
                                  ratio: parseFloat(params.get('ratio') || '0.5')});
      }
    });
  }
};

function hcJson(text) { return text ? JSON.parse(text) : null; }

// The public JavaScript API (documented in site/api.html). Every call is synchronous except the
// URL loader; all return plain objects.
Module.hodgecover = {
  // Loads a statistics file from a Uint8Array and decomposes every layer; returns summary().
  loadBytes: function (bytes, name) {
    Module.hcLoadBytes(bytes, name || 'bytes.hcstats', true);
    return Module.hodgecover.summary();
  },
  // Fetches and loads a statistics file; resolves to summary() (state "error" on failure).
  loadUrl: async function (url) {
    try {
      const bytes = await Module.hcFetchBytes(url);
      return Module.hodgecover.loadBytes(bytes, url);
    } catch (e) {
      Module.ccall('hc_web_load_error', null, ['string', 'string'], [url, url + ': ' + e.message]);
      return Module.hodgecover.summary();
    }
  },
  // {state, source, error, timings_ms, layers:[{layer, experts, tau, edges, filled_triangles,
  //  holes, betti, energy_fraction}]}
  summary: function () { return hcJson(Module.ccall('hc_web_summary', 'string', [], [])); },
  // Shows transformer layer L in the dashboard / embed view; false if the file has no such layer.
  setLayer: function (layer) { return Module.ccall('hc_web_set_layer', 'number', ['number'], [layer]) >= 0; },
  // Rebuilds layer L with absolute threshold tau (null: back to the quantile); returns the
  // milliseconds the rebuild and decomposition took.
  setTau: function (layer, tau) {
    return Module.ccall('hc_web_set_tau', 'number', ['number', 'number'], [layer, tau === null || tau === undefined ? NaN : tau]);
  },
  // docs/CLI.md decomposition of layer L: edges, filled triangles, Betti numbers, signal and its
  // gradient/curl/harmonic parts, energies.
  decomposition: function (layer) { return hcJson(Module.ccall('hc_web_decomposition', 'string', ['number'], [layer])); },
  // Runs a selection: {method: 'hodgecover'|'frequency'|'reap'|'ean'|'loo'|'random'|'pairwise'|
  // 'hcsmoe', keep: K} or {ratio: r}. Returns the plan JSON with "retained" per layer and
  // "comparison" (mean retained masses of every method at the same budget; {error} for a method
  // whose data the file lacks, e.g. loo without leave-one-out scores), or {error}.
  select: function (options) {
    const o = options || {};
    return hcJson(Module.ccall('hc_web_select', 'string', ['string', 'number', 'number'],
                               [o.method || 'hodgecover', o.keep || 0, o.ratio === undefined ? 0.5 : o.ratio]));
  },
  // The last selection's plan as JSON text (hodgecover.plan version 1), '' before any selection.
  plan: function () { return Module.ccall('hc_web_plan', 'string', [], []); },
  // Loads a comparison report (report.json of `hodgecover compare` / `demo`) beside the
  // statistics from a Uint8Array; returns summary().report ({loaded, rows, ratios, ...}).
  loadReportBytes: function (bytes, name) {
    Module.hcLoadReportBytes(bytes, name || 'report.json');
    return Module.hodgecover.summary().report;
  },
  // Fetches and loads a comparison report; resolves to summary().report.
  loadReportUrl: async function (url) {
    try {
      return Module.hodgecover.loadReportBytes(await Module.hcFetchBytes(url), url);
    } catch (e) {
      Module.ccall('hc_web_report_error', null, ['string', 'string'], [url, url + ': ' + e.message]);
      return Module.hodgecover.summary().report;
    }
  },
  // Switches views: {layerView: 'graph'|'matrix'|'keep' (the keep sets tab), tab:
  // 'experts'|'energy'|'report',
  // compare: [rowA, rowB]} (report row indices whose keep sets are compared).
  view: function (options) {
    const o = options || {};
    const tabs = {experts: 0, energy: 1, report: 2};
    const views = {graph: 0, matrix: 1, keep: 2};
    const pair = o.compare || [];
    Module.ccall('hc_web_set_view', null, ['number', 'number', 'number', 'number'],
                 [o.layerView in views ? views[o.layerView] : -1,
                  o.tab in tabs ? tabs[o.tab] : -1,
                  pair.length > 0 ? pair[0] : -1, pair.length > 1 ? pair[1] : -1]);
  },
};
