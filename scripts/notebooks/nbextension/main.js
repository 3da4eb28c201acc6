// Sequentia's classic Jupyter Notebook (6.x) extension: renders application/vnd.plotly.v1+json with
// the plotly.js installed beside this file (nbextensions/sequentia/plotly.min.js, served by the
// notebook server itself: nothing is fetched from the network and no plotly.js goes into a notebook).
//
// The MIME type is registered as *safe* and *first* in the display order, so figures draw in
// untrusted notebooks and after a browser reload (the saved Plotly JSON is all it needs). Installed by
// `node scripts/notebooks/kernel.mjs install-local` (into the project's .jupyter/) or `install-user`.
//
// Autosave saves edits, not runs: the Notebook's autosave (every 120 s, and on leaving the page) saves only
// when a cell's type or text differs from the last save, so opening and running a committed notebook
// without editing it leaves the file byte-identical (git status clean). Outputs are saved when you save
// (Ctrl-S, the save button, File > Save), or with your next edit.
define(['require', 'jquery', 'base/js/namespace', 'notebook/js/outputarea'], function (
  require,
  $,
  Jupyter,
  outputarea,
) {
  'use strict';
  var MIME = 'application/vnd.plotly.v1+json';
  var OutputArea = outputarea.OutputArea;

  function withPlotly(done, failed) {
    if (window.Plotly) {
      done(window.Plotly);
      return;
    }
    // plotly.js v4 sets window.Plotly (it calls no define()); older builds define an AMD module.
    require(['./plotly.min'], function (P) {
      done(P || window.Plotly);
    }, failed);
  }

  // Plotly sizes a plot from its container, so draw once the output is in the page.
  function whenAttached(el, fn) {
    var tries = 0;
    (function check() {
      if (document.body.contains(el)) fn();
      else if (++tries < 400) setTimeout(check, 25);
    })();
  }

  function render(spec, md, element) {
    var area = $('<div/>').addClass('output_subarea sequentia-plotly');
    var layout = (spec && spec.layout) || {};
    var div = document.createElement('div');
    div.className = 'sequentia-figure';
    div.style.height = (Number(layout.height) > 0 ? Number(layout.height) : 450) + 'px';
    div.style.width = Number(layout.width) > 0 ? Number(layout.width) + 'px' : '100%';
    div.style.maxWidth = '100%';
    area.append(div);
    element.append(area);
    // A copy: Plotly writes into the objects it is given, and these are the notebook's saved outputs.
    var fig = JSON.parse(JSON.stringify(spec || {}));
    withPlotly(
      function (Plotly) {
        whenAttached(div, function () {
          Plotly.newPlot(
            div,
            fig.data || [],
            fig.layout || {},
            $.extend({ responsive: true, displaylogo: false }, fig.config),
          );
        });
      },
      function (err) {
        div.style.height = 'auto';
        div.textContent =
          'Sequentia: plotly.js did not load from nbextensions/sequentia/ (' +
          err +
          '). Run: npm run kernel:install-user, then reload.';
      },
    );
    return area;
  }

  // An executed copy stores each figure once, inside its text/html (the spec as a JSON script element
  // beside a PNG, scripts/notebooks/figure-export.ts): drawn from there like the Plotly MIME type, trusted
  // or not (the sanitizer would leave only the PNG).
  function specInHtml(html) {
    if (Array.isArray(html)) html = html.join('');
    if (typeof html !== 'string') return null;
    var m = /<script type="application\/json" class="sequentia-spec"[^>]*>([^<]*)<\/script>/.exec(html);
    if (!m) return null;
    try {
      return JSON.parse(m[1]);
    } catch (e) {
      return null;
    }
  }
  function figureSpec(data) {
    return data && data[MIME] === undefined ? specInHtml(data['text/html']) : null;
  }
  var appendMime = OutputArea.prototype.append_mime_type;
  function appendStoredFigure(json, element, handle_inserted) {
    var spec = figureSpec(json && json.data);
    if (!spec) return appendMime.apply(this, arguments);
    var toinsert = render(spec, json.metadata || {}, element);
    if (handle_inserted !== undefined) setTimeout(handle_inserted, 0);
    return toinsert;
  }

  // Outputs already drawn before this extension loaded (the notebook loads in parallel with
  // extensions) are drawn again, so a figure never stays as its text/html or PNG fallback.
  function rerenderLoadedOutputs() {
    var nb = Jupyter.notebook;
    if (!nb || !nb._fully_loaded) return;
    nb.get_cells().forEach(function (cell) {
      var oa = cell.output_area;
      if (
        !oa ||
        !oa.outputs ||
        !oa.outputs.some(function (o) {
          return o.data && (o.data[MIME] || figureSpec(o.data));
        })
      )
        return;
      var outputs = oa.toJSON();
      var trusted = oa.trusted; // clear_output() marks the area trusted: keep the saved state
      oa.clear_output(false, true);
      oa.trusted = trusted;
      oa.fromJSON(outputs, {});
    });
  }

  // What autosave compares: every cell's type and text.
  function cellsText(nb) {
    return JSON.stringify(
      nb.get_cells().map(function (c) {
        return [c.cell_type, c.get_text()];
      }),
    );
  }

  // The Notebook object is sealed (no new properties): the state lives here, the timer on its prototype.
  var autosaveInstalled = false;
  function autosaveEditsOnly(nb) {
    if (autosaveInstalled) return;
    autosaveInstalled = true;
    var saved = null; // the cells as last loaded or saved
    var remember = function () {
      saved = cellsText(nb);
    };
    var edited = function () {
      return saved !== null && cellsText(nb) !== saved;
    };
    window.__sequentiaEdited = edited; // for the browser test
    if (nb._fully_loaded) remember();
    nb.events.on('notebook_loaded.Notebook', remember);
    nb.events.on('notebook_saved.Notebook', remember);
    // Notebook.set_autosave_interval's timer, with "and edited" added to its "if dirty".
    Object.getPrototypeOf(nb).set_autosave_interval = function (interval) {
      var that = this;
      if (that.autosave_timer) clearInterval(that.autosave_timer);
      if (!that.writable) interval = 0;
      that.autosave_interval = that.minimum_autosave_interval = interval;
      if (interval) {
        that.autosave_timer = setInterval(function () {
          if (that.dirty && edited()) that.save_notebook();
        }, interval);
        that.events.trigger('autosave_enabled.Notebook', interval);
      } else {
        that.autosave_timer = null;
        that.events.trigger('autosave_disabled.Notebook');
      }
    };
    if (nb.autosave_interval) nb.set_autosave_interval(nb.autosave_interval);
    // Leaving the page autosaves a dirty notebook; with only outputs changed there is nothing to save
    // (they come back by running it), so leave quietly unless the kernel is still busy.
    var leave = window.onbeforeunload;
    window.onbeforeunload = function () {
      if (nb.dirty && !edited()) return nb.kernel_busy ? 'The kernel is busy, outputs may be lost.' : undefined;
      return leave ? leave.apply(this, arguments) : undefined;
    };
  }

  function load_ipython_extension() {
    if (Jupyter.notebook) autosaveEditsOnly(Jupyter.notebook);
    if (OutputArea.prototype.mime_types().indexOf(MIME) < 0) {
      OutputArea.prototype.register_mime_type(MIME, render, { safe: true, index: 0 });
    }
    OutputArea.prototype.append_mime_type = appendStoredFigure;
    rerenderLoadedOutputs();
    withPlotly(
      function () {},
      function () {},
    ); // start fetching plotly.js now
  }

  return { load_ipython_extension: load_ipython_extension };
});
